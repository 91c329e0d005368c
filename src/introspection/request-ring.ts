/**
 * The last requests of one cache on this node: time, command family, status, value bytes
 * and key, in typed arrays and one byte ring for the keys, so recording a request
 * allocates nothing. The key ring starts small and doubles (up to what `capacity`
 * keys of the longest length need) when keys are long enough that the oldest lines would
 * lose theirs.
 */

export const COMMANDS = [
  'GET', 'SET', 'ADD', 'REPLACE', 'APPEND', 'PREPEND', 'CAS', 'INCR', 'DECR', 'DELETE', 'TOUCH', 'GAT', 'FLUSH',
  'STATS', 'AUTH', 'VERSION', 'NOOP',
] as const;
export const STATUSES = [
  'HIT', 'MISS', 'STORED', 'NOT_STORED', 'EXISTS', 'NOT_FOUND', 'DELETED', 'TOUCHED', 'OK', 'ERROR', 'DENIED',
] as const;
export type CommandName = (typeof COMMANDS)[number];
export type StatusName = (typeof STATUSES)[number];

/** Indexes into COMMANDS / STATUSES, for callers on the request path. */
export const CMD = Object.fromEntries(COMMANDS.map((c, i) => [c, i])) as { readonly [K in CommandName]: number };
export const ST = Object.fromEntries(STATUSES.map((s, i) => [s, i])) as { readonly [K in StatusName]: number };

export interface RequestLine {
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly command: CommandName;
  readonly status: StatusName;
  /** The key's bytes (empty for commands without one). */
  readonly key: Buffer;
  readonly size: number;
}

const MIN_KEY_BYTES = 16 * 1024;
const MAX_KEY_LENGTH = 250;

export class RequestRing {
  private readonly times: Float64Array;
  private readonly commands: Uint8Array;
  private readonly statuses: Uint8Array;
  private readonly sizes: Uint32Array;
  private readonly keyLens: Uint8Array;
  /** Absolute position of each line's key in the stream of key bytes written. */
  private readonly keyAt: Float64Array;
  private keys: Buffer;
  private readonly maxKeyBytes: number;
  /** Lines written ever; the next goes to `written % capacity`. */
  private written = 0;
  private keyBytesWritten = 0;
  /** Where the next line goes (written % capacity). */
  private next = 0;
  /** Where the next key byte goes (keyBytesWritten % keys.length). */
  private keyPos = 0;

  /**
   * `mayGrow(bytes)`: asked before the key ring grows by `bytes` (a memory budget); when it
   * says no, the ring stays as it is and the oldest lines whose keys were overwritten are
   * left out of `lines`.
   */
  constructor(readonly capacity = 1000, private readonly mayGrow: (bytes: number) => boolean = () => true) {
    this.times = new Float64Array(capacity);
    this.commands = new Uint8Array(capacity);
    this.statuses = new Uint8Array(capacity);
    this.sizes = new Uint32Array(capacity);
    this.keyLens = new Uint8Array(capacity);
    this.keyAt = new Float64Array(capacity);
    this.keys = Buffer.allocUnsafe(MIN_KEY_BYTES);
    this.maxKeyBytes = capacity * MAX_KEY_LENGTH;
  }

  get memoryBytes(): number {
    return this.capacity * (8 + 1 + 1 + 4 + 1 + 8) + this.keys.length;
  }

  /** Milliseconds of the newest line, 0 when empty. */
  get lastTime(): number {
    return this.written === 0 ? 0 : this.times[(this.written - 1) % this.capacity]!;
  }

  record(time: number, command: number, status: number, key: Buffer | null, size: number): void {
    // Indexes kept wrapped rather than taken modulo: this runs once per key of every request.
    const i = this.next;
    this.next = i + 1 === this.capacity ? 0 : i + 1;
    this.times[i] = time;
    this.commands[i] = command;
    this.statuses[i] = status;
    this.sizes[i] = size;
    const len = key === null ? 0 : Math.min(key.length, MAX_KEY_LENGTH);
    this.keyLens[i] = len;
    this.keyAt[i] = this.keyBytesWritten;
    if (len > 0) this.writeKey(key!, len);
    this.written++;
  }

  /** The newest `limit` lines, oldest first. */
  lines(limit: number): RequestLine[] {
    const n = Math.min(limit, this.written, this.capacity);
    const out: RequestLine[] = [];
    for (let w = this.written - n; w < this.written; w++) {
      const i = w % this.capacity;
      const len = this.keyLens[i]!;
      const at = this.keyAt[i]!;
      // A line whose key bytes were overwritten already (only while the ring is growing) is left out.
      if (len > 0 && at < this.keyBytesWritten - this.keys.length) continue;
      out.push({
        time: this.times[i]!,
        command: COMMANDS[this.commands[i]!]!,
        status: STATUSES[this.statuses[i]!]!,
        key: this.readKey(at, len),
        size: this.sizes[i]!,
      });
    }
    return out;
  }

  private writeKey(key: Buffer, len: number): void {
    // The oldest line still kept must keep its key: grow while keys are long.
    const oldest = this.written >= this.capacity ? this.next : 0;
    while (this.keyAt[oldest]! < this.keyBytesWritten + len - this.keys.length && this.keys.length < this.maxKeyBytes) {
      if (!this.grow()) break;
    }
    const ring = this.keys;
    const at = this.keyPos;
    const first = Math.min(len, ring.length - at);
    if (len <= 32 && first === len) {
      for (let j = 0; j < len; j++) ring[at + j] = key[j]!;
    } else {
      ring.set(key.subarray(0, first), at);
      if (first < len) ring.set(key.subarray(first, len), 0);
    }
    this.keyBytesWritten += len;
    const pos = at + len;
    this.keyPos = pos >= ring.length ? pos - ring.length : pos;
  }

  private readKey(at: number, len: number): Buffer {
    const out = Buffer.allocUnsafe(len);
    const ring = this.keys;
    const start = at % ring.length;
    const first = Math.min(len, ring.length - start);
    ring.copy(out, 0, start, start + first);
    if (first < len) ring.copy(out, first, 0, len - first);
    return out;
  }

  /** Doubles the key ring, keeping the bytes written last at their absolute positions. */
  private grow(): boolean {
    const old = this.keys;
    const size = Math.min(old.length * 2, this.maxKeyBytes);
    if (!this.mayGrow(size - old.length)) return false;
    const next = Buffer.allocUnsafe(size);
    const keep = Math.min(this.keyBytesWritten, old.length);
    for (let abs = this.keyBytesWritten - keep; abs < this.keyBytesWritten; abs++) next[abs % next.length] = old[abs % old.length]!;
    this.keys = next;
    this.keyPos = this.keyBytesWritten % next.length;
    return true;
  }
}
