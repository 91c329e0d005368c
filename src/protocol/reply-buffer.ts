/**
 * Where encoders write replies: one growing buffer per batch of requests, so a session
 * answers a whole pipelined batch with a single socket write. Values are copied in,
 * which also keeps replies valid after the store reuses the memory they came from.
 */
import { bufferView } from '../shared/buffer-view.ts';

const NONE = Buffer.alloc(0);
/** Strings up to this length are copied by a JS loop (see ascii). */
const SHORT_STRING = 48;
/** Byte arrays up to this length are copied by a JS loop (see bytes). */
const SHORT_BYTES = 32;

export class ReplyBuffer {
  // Allocated on first use: an idle connection (10,000 of them, say) holds no buffer.
  private buf: Buffer = NONE;
  /** `buf`'s ArrayBuffer and where `buf` starts in it, kept so take() need not ask (see buffer-view.ts). */
  private arrayBuffer: ArrayBufferLike = NONE.buffer;
  private base = NONE.byteOffset;
  /** Bytes before `start` were handed out by take() and may still be queued on a socket: never rewritten. */
  private start = 0;
  private len = 0;

  constructor(private readonly initialSize = 16 * 1024) {}

  get length(): number {
    return this.len - this.start;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    // Out of room: move what is not yet taken to a new buffer; the old one stays with the
    // slices already taken and is freed once they are written.
    const used = this.len - this.start;
    const need = used + n;
    let size = Math.max(used * 2, this.initialSize);
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.start, this.len);
    this.buf = next;
    this.arrayBuffer = next.buffer;
    this.base = next.byteOffset;
    this.start = 0;
    this.len = used;
  }

  /** Appends a latin1/ASCII string (command lines, numbers, stat names). */
  ascii(s: string): this {
    const n = s.length;
    this.reserve(n);
    if (n <= SHORT_STRING) {
      // A JS loop beats the native latin1 write's call overhead for short lines.
      const buf = this.buf;
      let at = this.len;
      for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
      this.len = at;
    } else {
      this.len += this.buf.write(s, this.len, 'latin1');
    }
    return this;
  }

  bytes(b: Uint8Array): this {
    const n = b.length;
    this.reserve(n);
    if (n <= SHORT_BYTES) {
      // Short constants and keys: a JS loop beats TypedArray.set's call overhead.
      const buf = this.buf;
      let at = this.len;
      for (let i = 0; i < n; i++) buf[at++] = b[i]!;
      this.len = at;
    } else {
      this.buf.set(b, this.len);
      this.len += n;
    }
    return this;
  }

  /** Appends a non-negative safe integer in ASCII decimal, without making a string. */
  decimal(v: number): this {
    if (v >= 1e15) return this.ascii(String(v)); // rare (CAS values late in life): powers of ten stay exact below
    let digits = 1;
    for (let p = 10; p <= v; p *= 10) digits++;
    this.reserve(digits);
    const buf = this.buf;
    let at = this.len + digits;
    this.len = at;
    do {
      const q = Math.floor(v / 10);
      buf[--at] = 48 + (v - q * 10);
      v = q;
    } while (v > 0);
    return this;
  }

  uint8(v: number): this {
    this.reserve(1);
    this.buf[this.len++] = v;
    return this;
  }

  uint16(v: number): this {
    this.reserve(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
    return this;
  }

  uint32(v: number): this {
    this.reserve(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
    return this;
  }

  /** 64-bit unsigned from a non-negative safe integer (CAS values). */
  uint64(v: number): this {
    this.reserve(8);
    this.buf.writeUInt32BE(Math.floor(v / 0x100000000), this.len);
    this.buf.writeUInt32BE(v >>> 0, this.len + 4);
    this.len += 8;
    return this;
  }

  uint64Big(v: bigint): this {
    this.reserve(8);
    this.buf.writeBigUInt64BE(v, this.len);
    this.len += 8;
    return this;
  }

  /** Overwrites 4 bytes already written, `offset` counted like `length` (binary body length, known only after the body). */
  patchUint32(offset: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, this.start + offset);
  }

  /**
   * Takes the bytes written since the last take and empties the buffer. No copy: the caller
   * gets a view that later writes never touch (they go after it, or into a new buffer), so
   * it stays valid while a socket holds it.
   */
  take(): Buffer {
    const out = bufferView(this.arrayBuffer, this.base + this.start, this.len - this.start);
    this.start = this.len;
    return out;
  }

  /**
   * Starts over at the beginning of the same memory: for a caller done with every view
   * take() gave (its socket copied them). Keeps a busy connection's replies in the few
   * cache lines it already touched, instead of walking through fresh memory.
   */
  rewind(): void {
    this.start = 0;
    this.len = 0;
  }
}
