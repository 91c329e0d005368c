/**
 * A connection's bytes read but not yet parsed. It grows by doubling and appends in
 * place, so a large frame that arrives in many small reads costs O(1) copies per byte:
 * joining each read to everything before it would copy a 1 MiB value once per read,
 * quadratic in its size (a client sending one byte at a time would make the node copy
 * terabytes). Parsed bytes are dropped from the front; the buffer is compacted before it
 * grows, and a large one is let go once empty.
 */
import { bufferView } from '../shared/buffer-view.ts';

const EMPTY = Buffer.alloc(0);
const MIN_CAPACITY = 4096;
/** An empty buffer bigger than this is freed rather than kept for the next frame. */
const KEEP_CAPACITY = 64 * 1024;

export class Inbox {
  private buf: Buffer = EMPTY;
  private start = 0;
  private end = 0;
  /** Bytes copied in all (appends and moves): linear in what arrived, which tests check. */
  copied = 0;

  get size(): number {
    return this.end - this.start;
  }

  /**
   * The memory it holds for unparsed bytes: its whole buffer while anything is held. A
   * buffer reused from the allocator is resident as a whole, so this, not `size`, is what
   * a receive budget must count (growth by doubling could otherwise hold twice the budget).
   */
  get footprint(): number {
    return this.end > this.start ? this.buf.length : 0;
  }

  /** The unparsed bytes: a view valid until the next append or consume. */
  view(): Buffer {
    return bufferView(this.buf.buffer, this.buf.byteOffset + this.start, this.end - this.start);
  }

  /** Copies chunk[from, end) in after what is held. */
  append(chunk: Uint8Array, from = 0): void {
    const n = chunk.length - from;
    if (n <= 0) return;
    if (this.end + n > this.buf.length) this.makeRoom(n);
    this.buf.set(from === 0 ? chunk : chunk.subarray(from), this.end);
    this.end += n;
    this.copied += n;
  }

  /**
   * Makes room for a frame of `n` bytes starting at the first held byte, growing once to
   * exactly that: a 1 MiB value then costs one buffer, not a doubling series of them that
   * wait for the garbage collector.
   */
  reserve(n: number): void {
    if (this.start + n <= this.buf.length) return;
    this.moveTo(n <= this.buf.length ? this.buf.length : Math.max(MIN_CAPACITY, n));
  }

  /** Drops the first `n` held bytes (they were parsed). */
  consume(n: number): void {
    this.start += n;
    if (this.start >= this.end) this.clear();
  }

  clear(): void {
    this.start = 0;
    this.end = 0;
    if (this.buf.length > KEEP_CAPACITY) this.buf = EMPTY;
  }

  private makeRoom(n: number): void {
    const held = this.end - this.start;
    const compact = held + n <= this.buf.length && this.start >= this.buf.length / 2;
    this.moveTo(compact ? this.buf.length : Math.max(MIN_CAPACITY, this.buf.length * 2, held + n));
  }

  /** Moves the held bytes to the front of a buffer of `capacity` bytes (this one when it is that size). */
  private moveTo(capacity: number): void {
    const held = this.end - this.start;
    this.copied += held;
    if (capacity === this.buf.length) {
      this.buf.copyWithin(0, this.start, this.end);
    } else {
      const next = Buffer.allocUnsafe(capacity);
      this.buf.copy(next, 0, this.start, this.end);
      this.buf = next;
    }
    this.start = 0;
    this.end = held;
  }
}
