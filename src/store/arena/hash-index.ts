/**
 * Key -> slot index of the arena store: chained buckets in one Int32Array, the chains
 * threaded through the item table's `hashNext`. Keys are hashed and compared as the
 * bytes they are, in place in the arena: a lookup makes no string and no Buffer.
 * The bucket count is a power of two at least the item count (load factor <= 1); it
 * doubles as items arrive, rehashing from the stored key bytes (no hash is kept per slot,
 * which would cost 4 bytes an item).
 *
 * Keys are chosen by clients, so the hash is keyed (HalfSipHash-1-3, keyed-hash.ts) with
 * a random key per index: nobody can compute keys that share a bucket, so no client can
 * turn one cache's lookups into chain walks that stall every tenant of the node.
 * Should chains grow long anyway (a leaked key), the index takes a new key and rebuilds;
 * see insert.
 */
import { MAX_KEY_LENGTH, NONE, type ItemTable } from '../item-table.ts';
import type { PageArena } from './page-arena.ts';
import { keyedHash, type KeyHash } from './keyed-hash.ts';

export type { KeyHash } from './keyed-hash.ts';

/**
 * A find that walks more entries than this sets off a re-key. At load factor <= 1 a
 * random hash gives a bucket this many keys with odds of about e^-1/33! (1e-37): such a
 * chain means keys chosen to collide.
 */
export const MAX_CHAIN_WALK = 32;

/** Fewest inserts between two re-keys: see insert. */
export const REKEY_MIN_INSERTS = 1024;

const INITIAL_BUCKETS = 64;

export class HashIndex {
  private buckets = new Int32Array(0);
  private mask = 0;
  private size = 0;
  private readonly table: ItemTable;
  private readonly arena: PageArena;
  private readonly newHash: () => KeyHash;
  private hash: KeyHash;
  /** A find walked more than MAX_CHAIN_WALK entries since the last re-key. */
  private longChain = false;
  /** Inserts since the last re-key; the first re-key may come at once. */
  private insertsSinceRekey = Infinity;
  private rekeyCount = 0;

  /** `newHash` makes the hash, again at every re-key: a fresh random key by default. */
  constructor(table: ItemTable, arena: PageArena, newHash: () => KeyHash = keyedHash) {
    this.table = table;
    this.arena = arena;
    this.newHash = newHash;
    this.hash = newHash();
    this.reset();
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  /** Times the index took a new hash key (tests). */
  get rekeys(): number {
    return this.rekeyCount;
  }

  /**
   * What a slot row keeps of a key (ItemTable.keyTag): its length and the top 8 bits of
   * its hash (which the bucket number, taken from the low bits, does not use below 2^24
   * buckets), so a chain walk reads key bytes only for a likely match.
   */
  static keyTag(keyLength: number, h: number): number {
    return ((h >>> 24) << 8) | keyLength;
  }

  /** Hash of a caller's key, to pass to find and insert; valid until the next insert. */
  hashOf(key: Buffer): number {
    return this.hash(key, 0, key.length);
  }

  /** The slot holding `key` (whose hash is h), or NONE. */
  find(key: Buffer, h: number): number {
    const t = this.table;
    const len = key.length;
    if (len > MAX_KEY_LENGTH) return NONE; // never stored, and its tag would not fit
    const tag = HashIndex.keyTag(len, h);
    let steps = 0;
    for (let s = this.buckets[h & this.mask]!; s !== NONE; s = t.hashNext(s)) {
      steps++;
      if (t.keyTag(s) !== tag) continue;
      const buf = this.arena.bufferOf(s);
      const at = this.arena.dataStart(s);
      let i = 0;
      while (i < len && buf[at + i] === key[i]) i++;
      if (i === len) {
        if (steps > MAX_CHAIN_WALK) this.longChain = true;
        return s;
      }
    }
    if (steps > MAX_CHAIN_WALK) this.longChain = true;
    return NONE;
  }

  /**
   * Adds a slot whose key bytes are already in the arena and whose row has its key length.
   *
   * The store finds a key before it inserts it, so a long chain is seen before it grows.
   * Then the index re-keys here, where no caller holds a hash of the old key: every
   * stored key is hashed again and every row's tag rewritten. That costs as much as a
   * doubling, so it is allowed once per max(items, REKEY_MIN_INSERTS) inserts, the first
   * at once: at most about one extra key hashed per insert, however the keys are chosen,
   * and never a lever to make the node rehash on every request. A long chain seen while
   * the allowance is spent waits for the next insert; a doubling that comes first takes
   * the new key for free.
   */
  insert(slot: number, h: number): void {
    this.table.setHashTag(slot, h >>> 24);
    this.size++;
    this.insertsSinceRekey++;
    if (this.size > this.buckets.length) {
      // Rebuilding from the table links every slot in use, this new one included.
      this.rebuild(this.buckets.length * 2, this.longChain);
      return;
    }
    const b = h & this.mask;
    this.table.setHashNext(slot, this.buckets[b]!);
    this.buckets[b] = slot;
    if (this.longChain && this.insertsSinceRekey >= Math.max(this.size, REKEY_MIN_INSERTS)) {
      this.rebuild(this.buckets.length, true);
    }
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

  /** Length of the chain `key` hashes to (tests). */
  chainLength(key: Buffer): number {
    let n = 0;
    for (let s = this.buckets[this.hashOf(key) & this.mask]!; s !== NONE; s = this.table.hashNext(s)) n++;
    return n;
  }

  /** Length of the longest chain (tests). */
  maxChainLength(): number {
    let max = 0;
    for (let b = 0; b < this.buckets.length; b++) {
      let n = 0;
      for (let s = this.buckets[b]!; s !== NONE; s = this.table.hashNext(s)) n++;
      if (n > max) max = n;
    }
    return max;
  }

  private slotHash(slot: number): number {
    const at = this.arena.dataStart(slot);
    return this.hash(this.arena.bufferOf(slot), at, at + this.table.keyLen(slot));
  }

  /**
   * Relinks every slot in use into `count` buckets, under a new hash key when `rekey`
   * (then every row's tag changes too). Walks the table in slot order, which is roughly
   * arena order, so hashing the stored keys reads memory sequentially.
   */
  private rebuild(count: number, rekey: boolean): void {
    if (rekey) {
      this.hash = this.newHash();
      this.longChain = false;
      this.insertsSinceRekey = 0;
      this.rekeyCount++;
    }
    const t = this.table;
    const buckets = new Int32Array(count).fill(NONE);
    const mask = count - 1;
    for (let s = 0; s < t.highWater; s++) {
      if (t.isFree(s)) continue;
      const h = this.slotHash(s);
      if (rekey) t.setHashTag(s, h >>> 24);
      const b = h & mask;
      t.setHashNext(s, buckets[b]!);
      buckets[b] = s;
    }
    this.buckets = buckets;
    this.mask = mask;
  }
}
