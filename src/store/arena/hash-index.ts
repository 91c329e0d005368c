/**
 * Key -> slot index of the arena store: chained buckets in one Int32Array, the chains
 * threaded through the item table's `hashNext`. Keys are hashed and compared as the
 * bytes they are, in place in the arena: a lookup makes no string and no Buffer.
 * The bucket count is a power of two at least the item count (load factor <= 1); it
 * doubles as items arrive, rehashing from the stored key bytes (no hash is kept per slot,
 * which would cost 4 bytes an item).
 */
import { MAX_KEY_LENGTH, NONE, type ItemTable } from './item-table.ts';
import type { PageArena } from './page-arena.ts';

/** Hash of buf[start, end). Must spread its result over all 32 bits. */
export type KeyHash = (buf: Uint8Array, start: number, end: number) => number;

/** FNV-1a over the bytes, finished with murmur3's fmix32 so the low bits (the bucket) mix well. */
export function hashKey(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const INITIAL_BUCKETS = 64;

export class HashIndex {
  private buckets = new Int32Array(0);
  private mask = 0;
  private size = 0;
  private readonly table: ItemTable;
  private readonly arena: PageArena;
  private readonly hash: KeyHash;

  constructor(table: ItemTable, arena: PageArena, hash: KeyHash = hashKey) {
    this.table = table;
    this.arena = arena;
    this.hash = hash;
    this.reset();
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  /**
   * What a slot row keeps of a key: its length and the top 8 bits of its hash (which
   * the bucket number, taken from the low bits, does not use below 2^24 buckets), so a
   * chain walk reads key bytes only for a likely match.
   */
  static keyTag(keyLength: number, h: number): number {
    return ((h >>> 24) << 8) | keyLength;
  }

  /** Hash of a caller's key, to pass to find and insert. */
  hashOf(key: Buffer): number {
    return this.hash(key, 0, key.length);
  }

  /** The slot holding `key` (whose hash is h), or NONE. */
  find(key: Buffer, h: number): number {
    const t = this.table;
    const len = key.length;
    if (len > MAX_KEY_LENGTH) return NONE; // never stored, and its tag would not fit
    const tag = HashIndex.keyTag(len, h);
    for (let s = this.buckets[h & this.mask]!; s !== NONE; s = t.hashNext(s)) {
      if (t.keyTag(s) !== tag) continue;
      const buf = this.arena.bufferOf(s);
      const at = this.arena.dataStart(s);
      let i = 0;
      while (i < len && buf[at + i] === key[i]) i++;
      if (i === len) return s;
    }
    return NONE;
  }

  /** Adds a slot whose key bytes are already in the arena and whose row has keyTag(len, h). */
  insert(slot: number, h: number): void {
    this.size++;
    if (this.size > this.buckets.length) {
      // Rebuilding from the table links every slot in use, this new one included.
      this.rebuild(this.buckets.length * 2);
      return;
    }
    const b = h & this.mask;
    this.table.setHashNext(slot, this.buckets[b]!);
    this.buckets[b] = slot;
  }

  /** Unlinks a slot; its key bytes must still be in the arena. */
  remove(slot: number): void {
    const t = this.table;
    const b = this.slotHash(slot) & this.mask;
    let s = this.buckets[b]!;
    if (s === slot) {
      this.buckets[b] = t.hashNext(slot);
    } else {
      while (s !== NONE && t.hashNext(s) !== slot) s = t.hashNext(s);
      if (s === NONE) throw new Error(`hash index broken: slot ${slot} not in its bucket`);
      t.setHashNext(s, t.hashNext(slot));
    }
    t.setHashNext(slot, NONE);
    this.size--;
  }

  /** Forgets everything and shrinks back. */
  reset(): void {
    this.buckets = new Int32Array(INITIAL_BUCKETS).fill(NONE);
    this.mask = INITIAL_BUCKETS - 1;
    this.size = 0;
  }

  private slotHash(slot: number): number {
    const at = this.arena.dataStart(slot);
    return this.hash(this.arena.bufferOf(slot), at, at + this.table.keyLen(slot));
  }

  /**
   * Relinks every slot in use into `count` buckets. Walks the table in slot order, which
   * is roughly arena order, so hashing the stored keys reads memory sequentially.
   */
  private rebuild(count: number): void {
    const t = this.table;
    const buckets = new Int32Array(count).fill(NONE);
    const mask = count - 1;
    for (let s = 0; s < t.highWater; s++) {
      if (t.isFree(s)) continue;
      const b = this.slotHash(s) & mask;
      t.setHashNext(s, buckets[b]!);
      buckets[b] = s;
    }
    this.buckets = buckets;
    this.mask = mask;
  }
}
