/**
 * The most frequent keys of a stream over a sliding window: space-saving (Metwally et al.)
 * with per-entry counts kept in sub-windows. `capacity` entries at most; a key not held
 * replaces the entry of smallest count and inherits that count as its error, so a count
 * overestimates by at most the smallest count, and any key more frequent than
 * total / capacity is held. Once full, a key not held replaces an entry only at its second
 * sighting (a filter of hash bits, `admit`), as TinyLFU's doorkeeper does. The window is `slots` sub-windows of `slotMs`; a sub-window
 * that ages out is subtracted from every entry, and entries that fall to zero are freed.
 *
 * Keys are held as latin1 strings (one char per byte: exact for any bytes) and found by a
 * hash of their bytes in an open-addressing table, so a held key costs no allocation.
 * One sub-window more than the window is kept: a count read at time t is the window
 * [t - slots * slotMs, t], the oldest sub-window weighted by the part of it still inside
 * (as if its events were spread evenly), so the window neither shrinks to (slots - 1) sub-windows
 * just after a boundary nor reads up to a sub-window low.
 * Callers sample (event-sampler.ts), so this class sees a bounded number of updates per
 * second; each is still on a busy cache's request path, so the smallest entry is found in
 * a binary min-heap over the totals (a key seen once replaces it, which under a uniform
 * load is nearly every update) rather than by a scan of all entries.
 */

const EMPTY = -1;
/** Bits of the filter a key not held passes before it may replace an entry (admit). */
export const DOOR_BITS = 4096;
/**
 * The filter is cleared after this many keys turned away, so at most an eighth of its bits
 * are set: a key seen once passes for a second sighting by a false positive 1 time in 16 on
 * average. Cleared at half full (1 in 4), a uniform load's replacements cost a busy node
 * ~1 % of its throughput (bench: 20-key gets, fresh pairs of nodes, 2026-12-07).
 */
export const DOOR_RESET = DOOR_BITS / 8;

export interface TopEntry {
  readonly key: string;
  readonly count: number;
}

export class TopKeys {
  private readonly keys: (string | null)[];
  /** Per entry: `width` = slots + 1 sub-window counts. */
  private readonly counts: Float32Array;
  private readonly width: number;
  private readonly totals: Float64Array;
  private readonly hashes: Int32Array;
  private readonly index: Int32Array;
  private readonly mask: number;
  /** Entries [0, used) as a min-heap by total, and each entry's place in it. */
  private readonly heap: Uint16Array;
  private readonly heapAt: Uint16Array;
  private readonly door = new Uint32Array(DOOR_BITS / 32);
  private turnedAway = 0;
  /** The typed arrays' bytes and the key slots: what memoryBytes adds keys to. */
  private readonly fixedBytes: number;
  private used = 0;
  /** The sub-window (absolute: floor(ms / slotMs)) updates go to. */
  private current = -1;
  /** Sum of the held keys' lengths (for memory accounting). */
  keyBytes = 0;

  constructor(readonly capacity: number, readonly slots: number, readonly slotMs: number) {
    this.keys = new Array<string | null>(capacity).fill(null);
    this.width = slots + 1;
    this.counts = new Float32Array(capacity * this.width);
    this.totals = new Float64Array(capacity);
    this.hashes = new Int32Array(capacity);
    let size = 1;
    while (size < capacity * 2) size <<= 1;
    this.index = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
    if (capacity > 0x10000) throw new RangeError('TopKeys: at most 65,536 entries');
    this.heap = new Uint16Array(capacity);
    this.heapAt = new Uint16Array(capacity);
    this.fixedBytes = this.counts.byteLength + this.totals.byteLength + this.hashes.byteLength + this.index.byteLength
      + this.heap.byteLength + this.heapAt.byteLength + this.door.byteLength + capacity * 8;
  }

  /** Empty again, as new, its arrays kept (a state reused for another cache: nothing of the old one stays). */
  reset(): void {
    this.keys.fill(null);
    this.counts.fill(0);
    this.totals.fill(0);
    this.hashes.fill(0);
    this.index.fill(EMPTY);
    this.heap.fill(0);
    this.heapAt.fill(0);
    this.door.fill(0);
    this.turnedAway = 0;
    this.used = 0;
    this.current = -1;
    this.keyBytes = 0;
  }

  /** Bytes this sketch holds, roughly: typed arrays plus the key strings (read after every sampled event). */
  get memoryBytes(): number {
    return this.fixedBytes + this.keyBytes + this.used * 24;
  }

  /** Counts `weight` for the bytes key[start, end), hashed as `h`, at time `ms`. */
  add(key: Buffer, start: number, end: number, h: number, weight: number, ms: number): void {
    this.advance(ms);
    const base = this.current % this.width;
    let e = this.find(key, start, end, h);
    let at: number;
    let replaced = false;
    if (e === EMPTY) {
      if (this.used < this.capacity) {
        // A new leaf (count 0 so far): it rises to its place once counted.
        e = this.used++;
        at = e;
        this.heap[at] = e;
        this.heapAt[e] = at;
      } else {
        if (!this.admit(h)) return;
        replaced = true;
        at = 0;
        e = this.heap[0]!;
        // The newcomer inherits the count it displaced (its error bound), in this sub-window.
        const inherited = this.totals[e]!;
        this.unlink(e);
        this.clearCounts(e);
        this.counts[e * this.width + base] = inherited;
        this.totals[e] = inherited;
      }
      const name = key.toString('latin1', start, end);
      this.keys[e] = name;
      this.keyBytes += name.length;
      this.hashes[e] = h;
      this.link(e, h);
      // Past the filter it is its second sighting (see admit): both count.
      const counted = replaced ? 2 * weight : weight;
      this.counts[e * this.width + base]! += counted;
      this.totals[e]! += counted;
      if (replaced) this.siftDown(0);
      else this.siftUp(at);
      return;
    }
    this.counts[e * this.width + base]! += weight;
    this.totals[e]! += weight;
    this.siftDown(this.heapAt[e]!);
  }

  /** The held keys by count, largest first, at most `limit`, those passing `filter` only. */
  top(limit: number, ms: number, filter?: (key: string) => boolean): TopEntry[] {
    this.advance(ms);
    const out: TopEntry[] = [];
    for (let e = 0; e < this.used; e++) {
      const key = this.keys[e];
      if (key === null || key === undefined) continue;
      const count = Math.round(this.estimate(e, ms));
      if (count <= 0 || (filter && !filter(key))) continue;
      out.push({ key, count });
    }
    out.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));
    return out.length > limit ? out.slice(0, limit) : out;
  }

  /** The window's estimate for one key (0 when not held). */
  countOf(key: Buffer, h: number, ms: number): number {
    this.advance(ms);
    const e = this.find(key, 0, key.length, h);
    return e === EMPTY ? 0 : Math.round(this.estimate(e, ms));
  }

  /** Entry e's count over [ms - window, ms]: the oldest sub-window only for its part inside. */
  private estimate(e: number, ms: number): number {
    const oldest = (this.current + 1) % this.width;
    const outside = (ms % this.slotMs) / this.slotMs;
    return this.totals[e]! - this.counts[e * this.width + oldest]! * outside;
  }

  private find(key: Buffer, start: number, end: number, h: number): number {
    const index = this.index;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = index[i]!;
      if (e === EMPTY) return EMPTY;
      if (this.hashes[e] === h && sameBytes(this.keys[e]!, key, start, end)) return e;
    }
  }

  /**
   * Whether a key not held may replace the smallest entry: only at its second sighting
   * within the last DOOR_RESET keys turned away (a bit per hash, all cleared together).
   * A key seen once never displaces anything: under a load of mostly distinct keys a
   * replacement was nearly every update, the dearest one (cold in the CPU's caches on a
   * busy node), and space-saving's counts for such keys are all the inherited minimum
   * anyway; a key seen twice comes in counting both sightings.
   */
  private admit(h: number): boolean {
    const bit = (h >>> 16) & (DOOR_BITS - 1);
    const word = bit >>> 5;
    const mask = 1 << (bit & 31);
    if ((this.door[word]! & mask) !== 0) return true;
    this.door[word]! |= mask;
    if (++this.turnedAway >= DOOR_RESET) {
      this.door.fill(0);
      this.turnedAway = 0;
    }
    return false;
  }

  /** Moves the heap's entry at `at` towards the leaves while a child's total is smaller. */
  private siftDown(at: number): void {
    const heap = this.heap;
    const totals = this.totals;
    const n = this.used;
    const e = heap[at]!;
    const total = totals[e]!;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && totals[heap[child + 1]!]! < totals[heap[child]!]!) child++;
      const c = heap[child]!;
      if (totals[c]! >= total) break;
      heap[at] = c;
      this.heapAt[c] = at;
      at = child;
    }
    heap[at] = e;
    this.heapAt[e] = at;
  }

  /** Moves the heap's entry at `at` towards the root while its parent's total is larger. */
  private siftUp(at: number): void {
    const heap = this.heap;
    const totals = this.totals;
    const e = heap[at]!;
    const total = totals[e]!;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const p = heap[parent]!;
      if (totals[p]! <= total) break;
      heap[at] = p;
      this.heapAt[p] = at;
      at = parent;
    }
    heap[at] = e;
    this.heapAt[e] = at;
  }

  private link(e: number, h: number): void {
    const index = this.index;
    const mask = this.mask;
    let i = h & mask;
    while (index[i] !== EMPTY) i = (i + 1) & mask;
    index[i] = e;
  }

  /** Takes entry e out of the table; later entries of its probe run move back to stay reachable. */
  private unlink(e: number): void {
    const index = this.index;
    const mask = this.mask;
    let i = this.hashes[e]! & mask;
    while (index[i] !== e) i = (i + 1) & mask;
    index[i] = EMPTY;
    for (let j = (i + 1) & mask; index[j] !== EMPTY; j = (j + 1) & mask) {
      const moved = index[j]!;
      index[j] = EMPTY;
      this.link(moved, this.hashes[moved]!);
    }
    this.keyBytes -= this.keys[e]!.length;
    this.keys[e] = null;
  }

  private clearCounts(e: number): void {
    this.counts.fill(0, e * this.width, (e + 1) * this.width);
    this.totals[e] = 0;
  }

  /** Moves to the sub-window of `ms`, subtracting those that aged out and freeing empty entries. */
  private advance(ms: number): void {
    const now = Math.floor(ms / this.slotMs);
    if (now === this.current) return;
    const first = this.current < 0 ? now : this.current + 1;
    this.current = Math.max(this.current, now);
    if (now < first) return; // the clock stepped back: stay in the newer sub-window
    const steps = Math.min(now - first + 1, this.width);
    const width = this.width;
    for (let e = 0; e < this.used; e++) {
      for (let s = 0; s < steps; s++) {
        const at = e * width + ((first + s) % width);
        this.totals[e]! -= this.counts[at]!;
        this.counts[at] = 0;
      }
    }
    this.compact();
  }

  /** Frees entries whose count fell to zero, keeping entries [0, used) dense. */
  private compact(): void {
    let live = 0;
    for (let e = 0; e < this.used; e++) {
      if (this.totals[e]! > 0.5 && this.keys[e] !== null) {
        if (live !== e) {
          this.keys[live] = this.keys[e]!;
          this.hashes[live] = this.hashes[e]!;
          this.totals[live] = this.totals[e]!;
          this.counts.copyWithin(live * this.width, e * this.width, (e + 1) * this.width);
        }
        live++;
      } else if (this.keys[e] !== null) {
        this.keyBytes -= this.keys[e]!.length;
      }
    }
    for (let e = live; e < this.used; e++) {
      this.keys[e] = null;
      this.clearCounts(e);
    }
    this.used = live;
    this.index.fill(EMPTY);
    for (let e = 0; e < live; e++) this.link(e, this.hashes[e]!);
    // Totals fell by different amounts: the heap is built again (every 30 s at most).
    for (let e = 0; e < live; e++) {
      this.heap[e] = e;
      this.heapAt[e] = e;
    }
    for (let at = (live >> 1) - 1; at >= 0; at--) this.siftDown(at);
  }
}

function sameBytes(s: string, key: Buffer, start: number, end: number): boolean {
  if (s.length !== end - start) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== key[start + i]) return false;
  return true;
}

/**
 * FNV-1a over key[start, end) from a per-sketch random basis, so a tenant cannot choose keys
 * that collide in the table (probe runs are bounded by its size in any case).
 */
export function hashBytes(key: Buffer, start: number, end: number, basis: number): number {
  let h = basis;
  for (let i = start; i < end; i++) h = Math.imul(h ^ key[i]!, FNV_PRIME);
  return h | 0;
}

const FNV_PRIME = 0x01000193;

/**
 * hashBytes of key[start, end) and, in the same pass, of its part before the last byte
 * `separator` marks (not the first byte): `prefixEnd` (-1: none) and `prefixHash`, left in
 * `KEY_AND_PREFIX` (no object made per call).
 */
export const KEY_AND_PREFIX = { hash: 0, prefixEnd: -1, prefixHash: 0 };
export function hashKeyAndPrefix(key: Buffer, start: number, end: number, basis: number, separator: Uint8Array): void {
  let h = basis;
  let p = -1;
  let ph = 0;
  for (let i = start; i < end; i++) {
    const b = key[i]!;
    if (separator[b] === 1 && i > start) {
      p = i;
      ph = h;
    }
    h = Math.imul(h ^ b, FNV_PRIME);
  }
  KEY_AND_PREFIX.hash = h | 0;
  KEY_AND_PREFIX.prefixEnd = p;
  KEY_AND_PREFIX.prefixHash = ph | 0;
}
