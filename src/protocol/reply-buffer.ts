/**
 * Where encoders write replies: one growing buffer per batch of requests, so a session
 * answers a whole pipelined batch with a single socket write. Values are copied in,
 * which also keeps replies valid after the store reuses the memory they came from.
 */
const NONE = Buffer.alloc(0);

export class ReplyBuffer {
  // Allocated on first use: an idle connection (10,000 of them, say) holds no buffer.
  private buf: Buffer = NONE;
  private len = 0;

  constructor(private readonly initialSize = 16 * 1024) {}

  get length(): number {
    return this.len;
  }

  private reserve(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, this.initialSize);
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Appends a latin1/ASCII string (command lines, numbers, stat names). */
  ascii(s: string): this {
    this.reserve(s.length);
    this.len += this.buf.write(s, this.len, 'latin1');
    return this;
  }

  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
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

  /** Overwrites 4 bytes already written (binary body length, known only after the body). */
  patchUint32(offset: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, offset);
  }

  /** Takes the bytes written so far (a copy the caller owns) and empties the buffer. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.len));
    this.len = 0;
    return out;
  }
}
