/**
 * Every item's fields and the recency list, for the policy (tenant-store.ts): one 48-byte
 * row per item slot, all rows in one ArrayBuffer. No object, string or Buffer exists per
 * item, so a million items cost the garbage collector nothing, and one lookup touches one
 * row (one or two cache lines) rather than a dozen parallel arrays. The row also holds
 * the engine's words for the item (where its bytes are, its index chain and hash tag),
 * for the same reason. Rows double as items arrive; `reset` shrinks the table back, so a
 * flushed cache gives the memory up.
 *
 * Row layout, in uint32 words:
 *   0-1  cas (float64)           6  flags
 *   2    hash chain next (int32) 7  exptime (unix s, 0 = never)
 *   3    page (bits 0-15) | key length (16-23) | hash tag (24-31)
 *   4    chunk offset in its page 8  last access (unix s)
 *   5    value length (low 30) | active (bit 30) | fetched (bit 31)
 *   9    stored at (unix s)      10  LRU prev (int32)  11  LRU next (int32)
 *
 * Words 2, 3 (page and tag) and 4 are the arena engine's (arena/); an engine that keeps
 * bytes elsewhere leaves them alone. The LRU list runs from lruHead (most recent) to
 * lruTail (evicted first). Free slots are chained through `next` and marked by prev = FREE.
 */

/** "No slot": a miss, the end of a chain or list. */
export const NONE = -1;
/** Marks a free row (in `prev`). */
const FREE = -2;

/** uint32 words per row. */
const STRIDE = 12;
export const BYTES_PER_SLOT = STRIDE * 4;
const W_CAS = 0;
const W_HASH_NEXT = 2;
const W_PAGE_KEY = 3;
const W_OFFSET = 4;
const W_VALUE = 5;
const W_FLAGS = 6;
const W_EXPTIME = 7;
const W_LAST_ACCESS = 8;
const W_STORED_AT = 9;
const W_PREV = 10;
const W_NEXT = 11;

const FETCHED = 0x80000000;
const ACTIVE = 0x40000000;
const VALUE_LENGTH = 0x3fffffff;
/** Longest key a row can say (the protocols allow 250). */
export const MAX_KEY_LENGTH = 0xff;
/** Longest value a row can say. */
export const MAX_VALUE_LENGTH = VALUE_LENGTH;
/** Exptimes are kept as uint32 unix seconds (year 2106); later ones are clamped to it. */
const MAX_EXPTIME = 0xffffffff;

const INITIAL_CAPACITY = 64;

export class ItemTable {
  private u32 = new Uint32Array(0);
  private i32 = new Int32Array(0);
  private f64 = new Float64Array(0);

  /** Most recently used slot. */
  lruHead = NONE;
  /** Least recently used slot: evicted first. */
  lruTail = NONE;
  /** Slots in use. */
  count = 0;
  /** Slots below this index have been handed out at least once. */
  highWater = 0;

  private capacity = 0;
  private freeHead = NONE;

  constructor() {
    this.reset();
  }

  /** Bytes the rows take (capacity, not count: what the process holds). */
  get footprint(): number {
    return this.capacity * BYTES_PER_SLOT;
  }

  /** A fresh slot, not linked anywhere. */
  allocate(): number {
    this.count++;
    let slot = this.freeHead;
    if (slot !== NONE) {
      this.freeHead = this.i32[slot * STRIDE + W_NEXT]!;
    } else {
      if (this.highWater === this.capacity) this.resize(this.capacity * 2);
      slot = this.highWater++;
    }
    this.i32[slot * STRIDE + W_PREV] = NONE;
    return slot;
  }

  /** Returns a slot already unlinked from the LRU list and the hash chains. */
  free(slot: number): void {
    this.count--;
    this.i32[slot * STRIDE + W_PREV] = FREE;
    this.i32[slot * STRIDE + W_NEXT] = this.freeHead;
    this.freeHead = slot;
  }

  isFree(slot: number): boolean {
    return this.i32[slot * STRIDE + W_PREV] === FREE;
  }

  /** Forgets every slot and gives the memory back. */
  reset(): void {
    this.capacity = 0;
    this.highWater = 0;
    this.freeHead = NONE;
    this.count = 0;
    this.lruHead = NONE;
    this.lruTail = NONE;
    this.resize(INITIAL_CAPACITY);
  }

  // ---- fields ----

  keyLen(s: number): number {
    return (this.u32[s * STRIDE + W_PAGE_KEY]! >>> 16) & 0xff;
  }
  setKeyLen(s: number, keyLen: number): void {
    const w = s * STRIDE + W_PAGE_KEY;
    this.u32[w] = ((this.u32[w]! & 0xff00ffff) | (keyLen << 16)) >>> 0;
  }
  valueLen(s: number): number {
    return this.u32[s * STRIDE + W_VALUE]! & VALUE_LENGTH;
  }
  /** A new value of `valueLen` bytes stored at `now`: not active (unread since it reached the head), fetched kept. */
  newValue(s: number, valueLen: number, now: number): void {
    const w = s * STRIDE + W_VALUE;
    this.u32[w] = ((this.u32[w]! & FETCHED) | valueLen) >>> 0;
    this.u32[s * STRIDE + W_STORED_AT] = now;
  }
  /** When the current value was stored (a delayed flush kills items stored up to its moment). */
  storedAt(s: number): number {
    return this.u32[s * STRIDE + W_STORED_AT]!;
  }
  /** Read since the value was written (meta `h`). */
  fetched(s: number): boolean {
    return (this.u32[s * STRIDE + W_VALUE]! & FETCHED) !== 0;
  }
  /** Read since it last reached the LRU head (the policy's second chance). */
  active(s: number): boolean {
    return (this.u32[s * STRIDE + W_VALUE]! & ACTIVE) !== 0;
  }
  /** A read at `now`: fetched and active. */
  markRead(s: number, now: number): void {
    const w = s * STRIDE + W_VALUE;
    this.u32[w] = (this.u32[w]! | FETCHED | ACTIVE) >>> 0;
    this.u32[s * STRIDE + W_LAST_ACCESS] = now;
  }
  /** A value stored at `now`: not fetched yet. */
  markWritten(s: number, now: number): void {
    const w = s * STRIDE + W_VALUE;
    this.u32[w] = (this.u32[w]! & ~FETCHED) >>> 0;
    this.u32[s * STRIDE + W_LAST_ACCESS] = now;
  }
  clearActive(s: number): void {
    const w = s * STRIDE + W_VALUE;
    this.u32[w] = (this.u32[w]! & ~ACTIVE) >>> 0;
  }
  flags(s: number): number {
    return this.u32[s * STRIDE + W_FLAGS]!;
  }
  setFlags(s: number, flags: number): void {
    this.u32[s * STRIDE + W_FLAGS] = flags;
  }
  cas(s: number): number {
    return this.f64[(s * STRIDE + W_CAS) >>> 1]!;
  }
  setCas(s: number, cas: number): void {
    this.f64[(s * STRIDE + W_CAS) >>> 1] = cas;
  }
  exptime(s: number): number {
    return this.u32[s * STRIDE + W_EXPTIME]!;
  }
  setExptime(s: number, exptime: number): void {
    this.u32[s * STRIDE + W_EXPTIME] = Math.min(exptime, MAX_EXPTIME);
  }
  lastAccess(s: number): number {
    return this.u32[s * STRIDE + W_LAST_ACCESS]!;
  }
  setLastAccess(s: number, now: number): void {
    this.u32[s * STRIDE + W_LAST_ACCESS] = now;
  }

  // ---- the arena engine's words ----

  page(s: number): number {
    return this.u32[s * STRIDE + W_PAGE_KEY]! & 0xffff;
  }
  offset(s: number): number {
    return this.u32[s * STRIDE + W_OFFSET]!;
  }
  /** Where the slot's chunk lies. */
  setPlace(s: number, page: number, offset: number): void {
    const w = s * STRIDE;
    this.u32[w + W_PAGE_KEY] = ((this.u32[w + W_PAGE_KEY]! & 0xffff0000) | page) >>> 0;
    this.u32[w + W_OFFSET] = offset;
  }
  /** keyLen | tag << 8: what an index lookup compares before it reads any key byte. */
  keyTag(s: number): number {
    return this.u32[s * STRIDE + W_PAGE_KEY]! >>> 16;
  }
  /** The index's 8-bit tag of the key's hash (hash-index.ts). */
  setHashTag(s: number, tag: number): void {
    const w = s * STRIDE + W_PAGE_KEY;
    this.u32[w] = ((this.u32[w]! & 0x00ffffff) | (tag << 24)) >>> 0;
  }
  hashNext(s: number): number {
    return this.i32[s * STRIDE + W_HASH_NEXT]!;
  }
  setHashNext(s: number, next: number): void {
    this.i32[s * STRIDE + W_HASH_NEXT] = next;
  }

  // ---- LRU ----

  /** Towards the LRU head (more recent). */
  prev(s: number): number {
    return this.i32[s * STRIDE + W_PREV]!;
  }
  /** Towards the LRU tail (less recent). */
  next(s: number): number {
    return this.i32[s * STRIDE + W_NEXT]!;
  }

  pushHead(s: number): void {
    const i32 = this.i32;
    const head = this.lruHead;
    i32[s * STRIDE + W_PREV] = NONE;
    i32[s * STRIDE + W_NEXT] = head;
    if (head !== NONE) i32[head * STRIDE + W_PREV] = s;
    else this.lruTail = s;
    this.lruHead = s;
  }

  unlink(s: number): void {
    const i32 = this.i32;
    const p = i32[s * STRIDE + W_PREV]!;
    const n = i32[s * STRIDE + W_NEXT]!;
    if (p !== NONE) i32[p * STRIDE + W_NEXT] = n;
    else this.lruHead = n;
    if (n !== NONE) i32[n * STRIDE + W_PREV] = p;
    else this.lruTail = p;
    i32[s * STRIDE + W_PREV] = NONE;
    i32[s * STRIDE + W_NEXT] = NONE;
  }

  moveToHead(s: number): void {
    if (this.lruHead === s) return;
    this.unlink(s);
    this.pushHead(s);
  }

  private resize(capacity: number): void {
    const buffer = new ArrayBuffer(capacity * BYTES_PER_SLOT);
    const u32 = new Uint32Array(buffer);
    if (this.highWater > 0) u32.set(this.u32.subarray(0, this.highWater * STRIDE));
    this.u32 = u32;
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.capacity = capacity;
  }
}
