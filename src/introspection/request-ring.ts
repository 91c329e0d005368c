/**
 * The last requests of one cache on this node: time, command family, status, value bytes
 * and key, in typed arrays and one byte ring for the keys, so recording a request
 * allocates nothing. The key ring starts small and doubles (up to what `capacity`
 * keys of the longest length need) when keys are long enough that the oldest lines would
 * lose theirs.
 */

import { bufferView } from '../shared/buffer-view.ts';

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

const MIN_KEY_BYTES = 16 * 1024;
const MAX_KEY_LENGTH = 250;

/**
 * The length of the bytes from keys[from] to the end of keys[from + n - 1] when all n
 * keys lie in order in one buffer with at most one separator byte between them (a text
 * request's tokens); 0 otherwise.
 */
function keySpan(keys: readonly Buffer[], from: number, n: number): number {
  const first = keys[from]!;
  // A get's keys are views into one buffer (the request's, or the copy a streamed get keeps,
  // session.ts): the first and the last sharing memory, with every key in order between
  // them, are all in it.
  if (keys[from + n - 1]!.buffer !== first.buffer) return 0;
  let end = first.byteOffset + first.length;
  for (let i = 1; i < n; i++) {
    const k = keys[from + i]!;
    const gap = k.byteOffset - end;
    if (gap < 0 || gap > 1 || k.length > MAX_KEY_LENGTH) return 0;
    end = k.byteOffset + k.length;
  }
  return first.length > MAX_KEY_LENGTH ? 0 : end - first.byteOffset;
}

const HIT = ST.HIT;
const MISS = ST.MISS;

export interface RequestLine {
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly command: CommandName;
  readonly status: StatusName;
  /** The key's bytes (empty for commands without one). */
  readonly key: Buffer;
  readonly size: number;
}


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
    this.maxKeyBytes = capacity * (MAX_KEY_LENGTH + 1); // + a separator: a multi-get's keys are kept as one span
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
    const len = key === null ? 0 : Math.min(key.length, MAX_KEY_LENGTH);
    this.putLine(i, time, command, status, size, len, this.keyBytesWritten);
    this.written++;
    if (len > 0) this.writeKey(key!, len);
  }

  /**
   * The lines of a get's reply: one per key from `keys[from]` on, a hit with its value's
   * size or a miss. One call per request, not per key (the ring is on every get's path).
   * The keys of one text request lie in order in its receive buffer, a space apart: then
   * their whole span is copied at once and each line points into it.
   */
  recordValues(time: number, command: number, keys: readonly Buffer[], from: number, items: readonly ({ readonly value: Uint8Array } | null)[]): void {
    const n = items.length;
    const span = n > 1 ? keySpan(keys, from, n) : 0;
    if (span === 0) {
      for (let i = 0; i < n; i++) {
        const item = items[i];
        if (item === null || item === undefined) this.record(time, command, MISS, keys[from + i]!, 0);
        else this.record(time, command, HIT, keys[from + i]!, item.value.length);
      }
      return;
    }
    const first = keys[from]!;
    const at = this.keyBytesWritten;
    const capacity = this.capacity;
    let line = this.next;
    for (let i = 0; i < n; i++) {
      const item = items[i];
      const key = keys[from + i]!;
      const hit = item !== null && item !== undefined;
      this.putLine(line, time, command, hit ? HIT : MISS, hit ? item.value.length : 0, key.length, at + (key.byteOffset - first.byteOffset));
      line = line + 1 === capacity ? 0 : line + 1;
    }
    // The lines are counted before their keys are written: writeKey keeps (growing the ring)
    // the key of the oldest line left after them.
    this.written += n;
    this.next = line;
    this.writeKey(bufferView(first.buffer, first.byteOffset, span), span);
  }

  /** Writes line `i`; its key's bytes are written apart (writeKey). */
  private putLine(i: number, time: number, command: number, status: number, size: number, keyLen: number, keyAt: number): void {
    this.times[i] = time;
    this.commands[i] = command;
    this.statuses[i] = status;
    this.sizes[i] = size;
    this.keyLens[i] = keyLen;
    this.keyAt[i] = keyAt;
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
    let at = this.keyPos;
    let src = key;
    let n = len;
    if (n > ring.length) {
      // A multi-get's span longer than the ring could grow to (its cap, or the node's
      // introspection budget): only its last ring-full is kept; lines() leaves out the
      // lines whose keys went.
      const skip = n - ring.length;
      src = key.subarray(skip, n);
      n = ring.length;
      at = (this.keyBytesWritten + skip) % ring.length;
    }
    const first = Math.min(n, ring.length - at);
    if (n <= 32 && first === n) {
      for (let j = 0; j < n; j++) ring[at + j] = src[j]!;
    } else {
      ring.set(src.subarray(0, first), at);
      if (first < n) ring.set(src.subarray(first, n), 0);
    }
    this.keyBytesWritten += len;
    const pos = at + n;
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
