/**
 * The last requests of one cache on this node: time, command family, status, value bytes
 * and key, so recording a request allocates nothing. A line is four 32-bit words side by
 * side (one or two cache lines for a 20-key get, written in order: on a busy node the
 * ring is cold in the CPU's caches by the time it comes round, and separate arrays per
 * field cost a multi-get ~3 % of the node's throughput). The keys go to one byte ring that
 * starts small and doubles (up to what `capacity` keys of the longest length need) when
 * keys are long enough that the oldest lines would lose theirs.
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


/** Words per line: ms since the line before, command | status | key length, value bytes, where the key starts. */
const STRIDE = 4;
const DT = 0;
const META = 1;
const SIZE = 2;
const KEY_AT = 3;
const STATUS_SHIFT = 5; // 17 commands < 32
const LEN_SHIFT = 9; // 11 statuses < 16
if (COMMANDS.length > 1 << STATUS_SHIFT || STATUSES.length > 1 << (LEN_SHIFT - STATUS_SHIFT)) throw new Error('request-ring: packing too narrow');
/** Two lines more than this many ms apart end the ring (the gap is kept in 32 bits, signed). */
const MAX_GAP_MS = 0x7fffffff;

export class RequestRing {
  /**
   * `capacity` lines of STRIDE words. A line's time is kept as the ms since the line before
   * it (the newest line's in `newestTime`); a key's start is its absolute position in the
   * stream of key bytes, modulo 2^32 (the ring is far shorter than that).
   */
  private readonly words: Uint32Array;
  private keys: Buffer;
  private readonly maxKeyBytes: number;
  /** Lines written ever; the next goes to `written % capacity`. */
  private written = 0;
  private keyBytesWritten = 0;
  /** Where the next line goes (written % capacity). */
  private next = 0;
  /** Where the next key byte goes (keyBytesWritten % keys.length). */
  private keyPos = 0;
  private newestTime = 0;
  /** Key bytes before this absolute position are not in the ring (grow keeps only the newest). */
  private validFrom = 0;

  /**
   * `mayGrow(bytes)`: asked before the key ring grows by `bytes` (a memory budget); when it
   * says no, the ring stays as it is and the oldest lines whose keys were overwritten are
   * left out of `lines`.
   */
  constructor(readonly capacity = 1000, private readonly mayGrow: (bytes: number) => boolean = () => true) {
    this.words = new Uint32Array(capacity * STRIDE);
    this.keys = Buffer.alloc(MIN_KEY_BYTES);
    this.maxKeyBytes = capacity * (MAX_KEY_LENGTH + 1); // + a separator: a multi-get's keys are kept as one span
  }

  get memoryBytes(): number {
    return this.words.byteLength + this.keys.length;
  }

  record(time: number, command: number, status: number, key: Buffer | null, size: number): void {
    const dt = this.advanceTime(time);
    const len = key === null ? 0 : Math.min(key.length, MAX_KEY_LENGTH);
    // Indexes kept wrapped rather than taken modulo: this runs once per key of every request.
    const w = this.next * STRIDE;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    const words = this.words;
    words[w + DT] = dt;
    words[w + META] = command | (status << STATUS_SHIFT) | (len << LEN_SHIFT);
    words[w + SIZE] = size;
    words[w + KEY_AT] = this.keyBytesWritten; // modulo 2^32, as the store converts
    this.written++;
    if (len > 0) this.writeKey(key!, len);
  }

  /**
   * The lines of a get's reply: one per key from `keys[from]` on, a hit with its value's
   * size or a miss. One call per request, not per key (the ring is on every get's path).
   * The keys of one text request lie in order in its receive buffer, a space apart: then
   * their whole span is copied at once and each line points into it. Checked as the lines
   * are written (one pass over the keys); keys found elsewhere are recorded one by one.
   */
  recordValues(time: number, command: number, keys: readonly Buffer[], from: number, items: readonly ({ readonly value: Uint8Array } | null)[]): void {
    const n = items.length;
    if (n > 1 && this.recordSpan(time, command, keys, from, items)) return;
    for (let i = 0; i < n; i++) {
      const item = items[i];
      if (item === null || item === undefined) this.record(time, command, MISS, keys[from + i]!, 0);
      else this.record(time, command, HIT, keys[from + i]!, item.value.length);
    }
  }

  /**
   * recordValues when keys[from..] lie in one buffer in order, at most one byte apart:
   * writes their lines and copies the span; false (nothing kept) when they do not.
   */
  private recordSpan(time: number, command: number, keys: readonly Buffer[], from: number, items: readonly ({ readonly value: Uint8Array } | null)[]): boolean {
    const n = items.length;
    const first = keys[from]!;
    // A get's keys are views into one buffer (the request's, or the copy a streamed get keeps,
    // session.ts): the first and the last sharing memory, with every key in order between
    // them, are all in it.
    if (keys[from + n - 1]!.buffer !== first.buffer) return false;
    const base = first.byteOffset;
    const at = this.keyBytesWritten - base;
    const capacity = this.capacity;
    const words = this.words;
    const hitMeta = command | (HIT << STATUS_SHIFT);
    const missMeta = command | (MISS << STATUS_SHIFT);
    const newest = this.newestTime;
    const dt = this.advanceTime(time);
    let end = base;
    let line = this.next;
    for (let i = 0; i < n; i++) {
      const key = keys[from + i]!;
      const offset = key.byteOffset;
      const len = key.length;
      const gap = offset - end;
      // Lines written so far are not counted until the end: leaving here drops them.
      if (len > MAX_KEY_LENGTH || gap < 0 || gap > 1) {
        this.newestTime = newest;
        return false;
      }
      const item = items[i];
      const w = line * STRIDE;
      words[w + DT] = i === 0 ? dt : 0;
      words[w + KEY_AT] = at + offset;
      if (item === null || item === undefined) {
        words[w + META] = missMeta | (len << LEN_SHIFT);
        words[w + SIZE] = 0;
      } else {
        words[w + META] = hitMeta | (len << LEN_SHIFT);
        words[w + SIZE] = item.value.length;
      }
      end = offset + len;
      line = line + 1 === capacity ? 0 : line + 1;
    }
    // The lines are counted before their keys are written: writeKey keeps (growing the ring)
    // the key of the oldest line left after them.
    this.written += n;
    this.next = line;
    this.writeKey(bufferView(first.buffer, base, end - base), end - base);
    return true;
  }

  /**
   * The ms from the newest line to a new one at `time`, negative when the clock stepped
   * back (each line keeps its own time, as read); a gap too long to keep ends the ring first.
   */
  private advanceTime(time: number): number {
    const dt = time - this.newestTime;
    this.newestTime = time;
    if (this.written === 0) return 0;
    if (dt > MAX_GAP_MS || dt < -MAX_GAP_MS) {
      this.clear();
      return 0;
    }
    return dt;
  }

  /** Forgets every line (their times can no longer be told). */
  private clear(): void {
    this.written = 0;
    this.next = 0;
  }

  /** The newest `limit` lines, oldest first. */
  lines(limit: number): RequestLine[] {
    const n = Math.min(limit, this.written, this.capacity);
    const out: RequestLine[] = [];
    const words = this.words;
    const capacity = this.capacity;
    // Times are kept as gaps: walk from the newest line back to the oldest asked for.
    let time = this.newestTime;
    let line = (this.next + capacity - 1) % capacity;
    const kept = Math.min(this.keys.length, this.keyBytesWritten - this.validFrom);
    for (let k = 0; k < n - 1; k++) {
      time -= words[line * STRIDE + DT]! | 0;
      line = line === 0 ? capacity - 1 : line - 1;
    }
    for (let k = 0; k < n; k++) {
      const w = line * STRIDE;
      if (k > 0) time += words[w + DT]! | 0;
      const meta = words[w + META]!;
      const len = meta >>> LEN_SHIFT;
      // How far back in the key stream the key starts (positions are kept modulo 2^32).
      const back = (this.keyBytesWritten - words[w + KEY_AT]!) >>> 0;
      line = line + 1 === capacity ? 0 : line + 1;
      // A line whose key bytes were overwritten already (the ring was refused growth, or
      // grew since: it holds only what the smaller one had) is left out.
      if (len > 0 && back > kept) continue;
      out.push({
        time,
        command: COMMANDS[meta & ((1 << STATUS_SHIFT) - 1)]!,
        status: STATUSES[(meta >>> STATUS_SHIFT) & ((1 << (LEN_SHIFT - STATUS_SHIFT)) - 1)]!,
        key: this.readKey(this.keyBytesWritten - back, len),
        size: words[w + SIZE]!,
      });
    }
    return out;
  }

  private writeKey(key: Buffer, len: number): void {
    // The oldest line still kept must keep its key: grow while keys are long.
    const oldest = this.written >= this.capacity ? this.next : 0;
    // Signed: the oldest line may be one of a span whose keys are being written now (a get of
    // more keys than the ring has lines), its key ahead of what is written.
    const oldestBack = (this.keyBytesWritten - this.words[oldest * STRIDE + KEY_AT]!) | 0;
    while (oldestBack + len > this.keys.length && this.keys.length < this.maxKeyBytes) {
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
    const next = Buffer.alloc(size);
    const keep = Math.min(this.keyBytesWritten, old.length);
    for (let abs = this.keyBytesWritten - keep; abs < this.keyBytesWritten; abs++) next[abs % next.length] = old[abs % old.length]!;
    // Bytes older than these were not in the old ring: the new one has zeros there, not keys.
    this.validFrom = Math.max(this.validFrom, this.keyBytesWritten - keep);
    this.keys = next;
    this.keyPos = this.keyBytesWritten % next.length;
    return true;
  }
}
