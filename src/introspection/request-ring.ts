/**
 * The last requests of one cache on this node: time, command family, status, value bytes
 * and key, so recording a request allocates nothing. A line is four 32-bit words side by
 * side (one or two cache lines for a 20-key get, written in order: on a busy node the
 * ring is cold in the CPU's caches by the time it comes round, and separate arrays per
 * field cost a multi-get ~3 % of the node's throughput). The keys go to one byte ring that
 * starts small and doubles (up to what `capacity` keys of the longest length need) when
 * keys are long enough that the oldest lines would lose theirs.
 *
 * The ring is also what the hot-key sketches count from: a follower (`follow`) reads the
 * lines written since it last looked, a few hundred at a time, and hands the ones its
 * sampler takes to a sink. The request path pays for one line per key and nothing more.
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

const MIN_KEY_BYTES = 16 * 1024;
/**
 * `follow` reads the ring once fewer than this many lines are left before unread ones would
 * be overwritten (every 744 lines of a 1,000-line ring): few follows, and a get of up to
 * this many keys still fits. (Following every 256 lines cost a 20-key get 0.8 % when each
 * follow's samples were counted at once, cold; they wait in a batch now, sample-batch.ts.)
 */
export const FOLLOW_ROOM = 256;
/** The store's longest key (item-table.ts): a longer one is kept as its first 255 bytes. */
export const MAX_KEY_LENGTH = 255;

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

/** Where `follow` hands the lines its sampler took. */
export interface LineSink {
  /**
   * One line taken, counting for `weight` lines: `meta & LINE_KIND_MASK` indexes
   * LINE_KIND; its key is `keys[start, end)` (a view valid during the call only).
   */
  take(meta: number, keys: Buffer, start: number, end: number, ms: number, weight: number): void;
}

/** What a line tells the hot-key sketches, by `meta & LINE_KIND_MASK` (command | status). */
export const LINE_HIT = 1;
export const LINE_MISS = 2;
export const LINE_MUTATION = 4;
export const LINE_KIND_MASK = (1 << LEN_SHIFT) - 1;
export const LINE_KIND = new Uint8Array(1 << LEN_SHIFT);
for (const command of [CMD.GET, CMD.GAT]) {
  LINE_KIND[command | (ST.HIT << STATUS_SHIFT)] = LINE_HIT;
  LINE_KIND[command | (ST.MISS << STATUS_SHIFT)] = LINE_MISS;
}
// A gat that found its item also changed its exptime (the store's `mutated`).
LINE_KIND[CMD.GAT | (ST.HIT << STATUS_SHIFT)] |= LINE_MUTATION;
for (const command of [CMD.SET, CMD.ADD, CMD.REPLACE, CMD.APPEND, CMD.PREPEND, CMD.CAS]) LINE_KIND[command | (ST.STORED << STATUS_SHIFT)] = LINE_MUTATION;
LINE_KIND[CMD.INCR | (ST.OK << STATUS_SHIFT)] = LINE_MUTATION;
LINE_KIND[CMD.DECR | (ST.OK << STATUS_SHIFT)] = LINE_MUTATION;
LINE_KIND[CMD.DELETE | (ST.DELETED << STATUS_SHIFT)] = LINE_MUTATION;
LINE_KIND[CMD.TOUCH | (ST.TOUCHED << STATUS_SHIFT)] = LINE_MUTATION;

/** What `follow` needs of a sampler (event-sampler.ts): which lines to take, and what each counts for. */
export interface LineSampler {
  /** Of the next `n` lines, how many come before the one taken next; -1: none of them is taken. */
  nextTaken(n: number): number;
  taken(ms: number): void;
  readonly weight: number;
}

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
  /** Lines before this one were forgotten (`clear`), and where it went. */
  private firstKept = 0;
  private firstKeptAt = 0;
  /** Lines before this one, and key bytes before this position, were read by `follow`. */
  private followed = 0;
  private followedKeyBytes = 0;
  /** The time of line `followed - 1` (the newest when `follow` last read). */
  private followedTime = 0;
  /** Key bytes may be written up to this absolute position without asking makeKeyRoom. */
  private keyRoomEnd = 0;
  /** Where `follow` copies a key that wraps around the end of the key ring. */
  private readonly scratch = Buffer.alloc(MAX_KEY_LENGTH);

  /**
   * `mayGrow(bytes)`: asked before the key ring grows by `bytes` (a memory budget); when it
   * says no, the ring stays as it is and the oldest lines whose keys were overwritten are
   * left out of `lines`. The owner sets it again when the ring is reused for another cache.
   */
  constructor(readonly capacity = 1000, public mayGrow: (bytes: number) => boolean = () => true) {
    this.words = new Uint32Array(capacity * STRIDE);
    this.keys = Buffer.alloc(MIN_KEY_BYTES);
    this.maxKeyBytes = capacity * (MAX_KEY_LENGTH + 1); // + a separator: a get's keys are kept as their span
  }

  get memoryBytes(): number {
    return this.words.byteLength + this.keys.length;
  }

  /**
   * Empty again, as new: zeroed, so nothing of the cache it served before stays, and a key
   * ring grown for that cache's long keys back to its first size (the next cache is
   * charged for what its own keys need, not for the last one's).
   */
  reset(): void {
    this.words.fill(0);
    if (this.keys.length > MIN_KEY_BYTES) this.keys = Buffer.alloc(MIN_KEY_BYTES);
    else this.keys.fill(0);
    this.scratch.fill(0);
    this.written = 0;
    this.keyBytesWritten = 0;
    this.next = 0;
    this.keyPos = 0;
    this.newestTime = 0;
    this.validFrom = 0;
    this.firstKept = 0;
    this.firstKeptAt = 0;
    this.followed = 0;
    this.followedKeyBytes = 0;
    this.followedTime = 0;
    this.keyRoomEnd = 0;
  }

  record(time: number, command: number, status: number, key: Buffer | null, size: number): void {
    this.line(this.advanceTime(time), command | (status << STATUS_SHIFT), key, size);
  }

  /**
   * The lines of a get's reply: one per key from `keys[from]` on, a hit with its value's
   * size or a miss. One call per request, not per key (the ring is on every get's path).
   * With `span` (GetCommand.span: the keys as they lie in a text request, one space apart)
   * a whole reply's keys are copied at once, separators included.
   */
  recordValues(
    time: number, command: number, keys: readonly Buffer[], from: number, items: readonly ({ readonly value: Uint8Array } | null)[],
    span?: Buffer,
  ): void {
    if (items.length === 0) return; // no line: the time must not move either (lines keep gaps)
    if (span !== undefined && from === 0 && items.length === keys.length && items.length <= this.capacity / 2 && this.recordSpan(time, command, keys, items, span)) return;
    let dt = this.advanceTime(time);
    const hit = command | (HIT << STATUS_SHIFT);
    const miss = command | (MISS << STATUS_SHIFT);
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (item === null || item === undefined) this.line(dt, miss, keys[from + i]!, 0);
      else this.line(dt, hit, keys[from + i]!, item.value.length);
      dt = 0;
    }
  }

  /**
   * recordValues with the keys' span: each line's key starts one byte after the one before
   * ends; false (nothing written) when a key is longer than a line keeps or the span is not
   * exactly the keys and their separators.
   */
  private recordSpan(time: number, command: number, keys: readonly Buffer[], items: readonly ({ readonly value: Uint8Array } | null)[], span: Buffer): boolean {
    const n = items.length;
    let total = n - 1;
    for (let i = 0; i < n; i++) {
      const len = keys[i]!.length;
      if (len > MAX_KEY_LENGTH) return false;
      total += len;
    }
    if (total !== span.length) return false;
    const dt = this.advanceTime(time);
    const capacity = this.capacity;
    const words = this.words;
    const hit = command | (HIT << STATUS_SHIFT);
    const miss = command | (MISS << STATUS_SHIFT);
    let at = this.keyBytesWritten;
    let line = this.next;
    for (let i = 0; i < n; i++) {
      const len = keys[i]!.length;
      const item = items[i];
      const w = line * STRIDE;
      words[w + DT] = i === 0 ? dt : 0;
      words[w + KEY_AT] = at; // modulo 2^32, as the store converts
      if (item === null || item === undefined) {
        words[w + META] = miss | (len << LEN_SHIFT);
        words[w + SIZE] = 0;
      } else {
        words[w + META] = hit | (len << LEN_SHIFT);
        words[w + SIZE] = item.value.length;
      }
      at += len + 1;
      line = line + 1 === capacity ? 0 : line + 1;
    }
    // Counted before the keys are written: writeKey keeps (growing the ring) the key of the
    // oldest line left after them (n is at most half the ring: an older line's).
    this.written += n;
    this.next = line;
    this.writeKey(span, span.length);
    return true;
  }

  /** Writes one line (`dt` ms after the one before), and its key. */
  private line(dt: number, meta: number, key: Buffer | null, size: number): void {
    const len = key === null ? 0 : Math.min(key.length, MAX_KEY_LENGTH);
    // Indexes kept wrapped rather than taken modulo: this runs once per key of every request.
    const w = this.next * STRIDE;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    const words = this.words;
    words[w + DT] = dt;
    words[w + META] = meta | (len << LEN_SHIFT);
    words[w + SIZE] = size;
    words[w + KEY_AT] = this.keyBytesWritten; // modulo 2^32, as the store converts
    this.written++;
    if (len > 0) this.writeKey(key!, len);
  }

  /**
   * The ms from the newest line to a new one at `time`, negative when the clock stepped
   * back (each line keeps its own time, as read); a gap too long to keep ends the ring first.
   */
  private advanceTime(time: number): number {
    const dt = time - this.newestTime;
    this.newestTime = time;
    if (this.written === this.firstKept) return 0;
    if (dt > MAX_GAP_MS || dt < -MAX_GAP_MS) {
      this.clear();
      return 0;
    }
    return dt;
  }

  /** Forgets every line (their times can no longer be told). */
  private clear(): void {
    this.firstKept = this.written;
    this.firstKeptAt = this.next;
  }

  /** Lines written since `follow` last read. */
  get unfollowed(): number {
    return this.written - this.followed;
  }

  /** Key bytes written since `follow` last read, and the key ring's size now. */
  get unfollowedKeyBytes(): number {
    return this.keyBytesWritten - this.followedKeyBytes;
  }

  get keyRingBytes(): number {
    return this.keys.length;
  }

  /**
   * Time to `follow`: less than FOLLOW_ROOM lines of room left, or key bytes enough to fill
   * half the key ring written since it last read (a ring the budget kept small would
   * otherwise overwrite keys of lines not yet read).
   */
  get followDue(): boolean {
    return this.written - this.followed >= this.capacity - FOLLOW_ROOM || this.keyBytesWritten - this.followedKeyBytes > this.keys.length >> 1;
  }

  /**
   * Reads the lines written since the last call, oldest first, and hands those `sampler`
   * takes to `sink` with their key and time. Passing over the lines the sampler leaves
   * costs a word read each (their time gap). Lines the ring lost before it looked (a get of more keys
   * than it has lines, a clear) are passed over, as are keys it lost.
   */
  follow(sampler: LineSampler, sink: LineSink): void {
    const end = this.written;
    const capacity = this.capacity;
    const from = this.followed;
    let k = Math.max(from, end - capacity, this.firstKept);
    const fromTime = this.followedTime;
    this.followed = end;
    this.followedKeyBytes = this.keyBytesWritten;
    this.followedTime = this.newestTime;
    if (k >= end) return;
    const words = this.words;
    const ring = this.keys;
    const size = ring.length;
    const kept = Math.min(size, this.keyBytesWritten - this.validFrom);
    // Each taken line at its own time (the sampler measures the rate with them): times are
    // kept as gaps, so a line's time is the one before's plus its own gap. The walk starts
    // at the line before k: the last one read, whose time was the newest then; when lines
    // were lost or forgotten since, its time is the newest's less the gaps after it.
    let line = (this.next + capacity - (end - k) - 1 + capacity) % capacity;
    let time = fromTime;
    if (k !== from || k <= this.firstKept) {
      time = this.newestTime;
      for (let j = this.next, n = end; n > k; n--) {
        j = j === 0 ? capacity - 1 : j - 1;
        time -= words[j * STRIDE + DT]! | 0;
      }
    }
    while (k < end) {
      const skipped = sampler.nextTaken(end - k);
      if (skipped < 0) return;
      // Walk to the taken line, adding the gaps of the lines on the way.
      for (let n = skipped + 1; n > 0; n--) {
        line = line + 1 === capacity ? 0 : line + 1;
        time += words[line * STRIDE + DT]! | 0;
      }
      k += skipped + 1;
      sampler.taken(time);
      const w = line * STRIDE;
      const meta = words[w + META]!;
      const len = meta >>> LEN_SHIFT;
      const back = (this.keyBytesWritten - words[w + KEY_AT]!) >>> 0;
      if (len === 0 || back > kept || LINE_KIND[meta & LINE_KIND_MASK] === 0) continue;
      const start = (this.keyBytesWritten - back) % size;
      if (start + len <= size) {
        sink.take(meta, ring, start, start + len, time, sampler.weight);
      } else {
        const head = size - start;
        ring.copy(this.scratch, 0, start, size);
        ring.copy(this.scratch, head, 0, len - head);
        sink.take(meta, this.scratch, 0, len, time, sampler.weight);
      }
    }
  }

  /** The newest `limit` lines, oldest first. */
  lines(limit: number): RequestLine[] {
    const n = Math.min(limit, this.written - this.firstKept, this.capacity);
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

  /**
   * Copies a key (or a get's span of keys) into the key ring: by TypedArray#set where it fits
   * before the ring's end (no view made), byte by byte where it wraps.
   */
  private writeKey(key: Buffer, len: number): void {
    if (this.keyBytesWritten + len > this.keyRoomEnd) this.makeKeyRoom(len);
    const ring = this.keys;
    const size = ring.length;
    // A span longer than the ring could grow to (its cap, or the node's budget): only its
    // last ring-full is kept; lines() and follow() leave out the lines whose keys went.
    const skip = len > size ? len - size : 0;
    const at = skip === 0 ? this.keyPos : (this.keyBytesWritten + skip) % size;
    const n = len - skip;
    if (skip === 0 && at + n <= size && n === key.length) {
      ring.set(key, at);
    } else {
      const first = Math.min(n, size - at);
      for (let j = 0; j < first; j++) ring[at + j] = key[skip + j]!;
      for (let j = first; j < n; j++) ring[j - first] = key[skip + j]!;
    }
    this.keyBytesWritten += len;
    const pos = at + n;
    this.keyPos = pos >= size ? pos - size : pos;
  }

  /**
   * The oldest line still kept must keep its key: grows the key ring while keys are long,
   * and notes how far keys may be written before this is asked again (the oldest kept
   * line only moves on, so the bound stays safe). Not asked on every write: the oldest
   * line is cold in the CPU's caches, and waiting for it cost a busy node ~1 %.
   */
  private makeKeyRoom(len: number): void {
    const oldest = this.written - this.firstKept >= this.capacity ? this.next : this.firstKeptAt;
    const oldestBack = (this.keyBytesWritten - this.words[oldest * STRIDE + KEY_AT]!) >>> 0;
    while (oldestBack + len > this.keys.length && this.keys.length < this.maxKeyBytes) {
      if (!this.grow()) break;
    }
    this.keyRoomEnd = this.keyBytesWritten - oldestBack + this.keys.length;
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
