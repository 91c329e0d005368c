/**
 * One cache's memory on one node, packed: key and value bytes in page buffers
 * (page-arena.ts), item metadata in one 48-byte typed-array row per item (item-table.ts),
 * a bucket index over the key bytes (hash-index.ts). No object, string or Buffer exists per item, so a
 * million 100-byte items cost about what memcached's slabs cost, and the garbage
 * collector never walks them.
 *
 * Semantics are MemoryTenantStore's (tenant-store.ts), rule for rule:
 * - Every item costs key + value + ITEM_OVERHEAD against the limit and `bytes` never
 *   exceeds it. Making room evicts from this store's LRU tail only; a dead (expired or
 *   flushed) item near the tail is reclaimed first. The arena never decides what goes:
 *   it packs whatever the store keeps, and any freed byte serves any later size, so
 *   there are no size classes to calcify.
 * - Expiry is lazy; a delayed flush records its moment and the first call after it
 *   drops every item stored up to it.
 * - `ItemView.value` is a view into a page, valid until the next write call (store,
 *   arith, delete, touch, flush, setLimit, clear). Reads (get, getAndTouch, peek) never
 *   move or overwrite bytes, so the views of one multi-key get all stay valid together.
 *   Each call returns a fresh small ItemView object for the same reason. A value
 *   passed to store() must not itself be a view this store handed out.
 *
 * The limits of the packing: keys up to 255 bytes (the protocols allow 250; longer ones
 * are refused as too_large), exptimes as uint32 unix seconds (the wire formats cannot
 * say more), 65535 pages per store (beyond that chunks get buffers of their own).
 */
import type { ArithResult, StoreResult, TenantStore } from '../store-api.ts';
import type { DeleteStatus, ItemView, StoreMode } from '../../protocol/command.ts';
import { createCounters, type Counters } from '../stats.ts';
import { isExpired, toAbsoluteExptime } from '../expiry.ts';
import { ITEM_OVERHEAD, RECLAIM_SEARCH_DEPTH } from '../item-cost.ts';
import { parseCounter } from '../counter-value.ts';
import {
  ARITH_EXISTS, ARITH_NON_NUMERIC, ARITH_NOT_FOUND, EXISTS, NO_MEMORY, NOT_FOUND, NOT_STORED, TOO_LARGE,
} from '../store-results.ts';
import { ItemTable, MAX_KEY_LENGTH, MAX_VALUE_LENGTH, NONE } from './item-table.ts';
import { PageArena, pageSizeFor, type ArenaStats } from './page-arena.ts';
import { HashIndex, type KeyHash } from './hash-index.ts';

const LIVE = 0;
const EXPIRED = 1;
const FLUSHED = 2;
type Liveness = typeof LIVE | typeof EXPIRED | typeof FLUSHED;

/** Exptimes are kept as uint32 unix seconds (year 2106); later ones are clamped to it. */
const MAX_EXPTIME = 0xffffffff;

export interface ArenaTenantStoreOptions {
  /** This node's share of the cache's plan, in bytes. */
  readonly limit: number;
  /** Largest key + value accepted (memcached's item size max, 1 MiB by default). */
  readonly maxItemSize: number;
  /**
   * CAS source; by default the store's own sequence 1, 2, 3… Never share one between
   * caches: the gaps would show a tenant how much others write (issue 10, §6).
   */
  readonly nextCas?: () => number;
  /** Arena page size; by default about limit/32 within 64 KiB..1 MiB. For tests. */
  readonly pageSize?: number;
  /** A fixed key hash, kept across re-keys; tests pass a poor one to force collisions. */
  readonly hash?: KeyHash;
  /** Makes the index's hash at start and at each re-key; by default HalfSipHash-1-3 under a random key. */
  readonly newHash?: () => KeyHash;
}

export interface ArenaMemory {
  readonly arena: ArenaStats;
  /** Bytes of the item table's columns. */
  readonly table: number;
  /** Bytes of the hash buckets. */
  readonly index: number;
}

export class ArenaTenantStore implements TenantStore {
  readonly counters: Counters = createCounters();

  private readonly table = new ItemTable();
  private readonly arena: PageArena;
  private readonly index: HashIndex;
  private readonly maxItemSize: number;
  private readonly nextCas: () => number;
  private maxBytes: number;
  private usedBytes = 0;
  /** Moment a delayed flush takes effect (unix seconds), 0 when none is pending. */
  private flushAt = 0;
  /** Latest storedAt of any item, so a due flush can drop everything without a scan. */
  private newestStoredAt = 0;
  /** Latest `now` seen; setLimit has no clock of its own. */
  private lastNow = 0;

  constructor(options: ArenaTenantStoreOptions) {
    this.maxBytes = Math.max(0, options.limit);
    this.maxItemSize = Math.min(options.maxItemSize, MAX_VALUE_LENGTH);
    let cas = 0;
    this.nextCas = options.nextCas ?? (() => ++cas);
    this.arena = new PageArena(this.table, options.pageSize ?? pageSizeFor(this.maxBytes));
    const hash = options.hash;
    this.index = new HashIndex(this.table, this.arena, hash ? () => hash : options.newHash);
  }

  get bytes(): number {
    return this.usedBytes;
  }

  get items(): number {
    return this.table.count;
  }

  get limit(): number {
    return this.maxBytes;
  }

  /** What the store's structures hold in memory (benchmarks, tests). */
  memory(): ArenaMemory {
    return { arena: this.arena.stats(), table: this.table.footprint, index: this.index.bucketCount * 4 };
  }

  /** The index's chains and re-keys (tests); `chain` is the length of the chain `key` hashes to. */
  indexStats(key?: Buffer): { maxChain: number; rekeys: number; chain: number } {
    const i = this.index;
    return { maxChain: i.maxChainLength(), rekeys: i.rekeys, chain: key ? i.chainLength(key) : 0 };
  }

  /** Cross-checks arena, table, index and byte count (tests). Returns the item count. */
  verify(): number {
    const chunks = this.arena.verify();
    const t = this.table;
    let n = 0;
    let bytes = 0;
    for (let s = t.lruHead; s !== NONE; s = t.next(s)) {
      if (n > t.count) throw new Error('LRU list has a cycle');
      n++;
      bytes += this.sizeOf(s);
      const key = Buffer.from(this.keyOf(s));
      if (this.index.find(key, this.index.hashOf(key)) !== s) throw new Error(`slot ${s} not found by its key`);
    }
    if (n !== t.count) throw new Error(`LRU holds ${n} of ${t.count} items`);
    if (bytes !== this.usedBytes) throw new Error(`bytes ${this.usedBytes} but items add up to ${bytes}`);
    if (chunks + this.arena.stats().largeChunks !== n) throw new Error(`${chunks} packed chunks for ${n} items`);
    return n;
  }

  get(key: Buffer, now: number): ItemView | null {
    this.tick(now);
    const c = this.counters;
    c.cmd_get++;
    const slot = this.findLive(key, this.index.hashOf(key), now);
    if (slot === NONE) {
      c.get_misses++;
      return null;
    }
    c.get_hits++;
    const view = this.viewOf(slot, key, this.table.exptime(slot), this.table.lastAccess(slot));
    this.markAccessed(slot, now);
    return view;
  }

  getAndTouch(key: Buffer, exptime: number, now: number): ItemView | null {
    this.tick(now);
    const c = this.counters;
    c.cmd_get++;
    c.cmd_touch++;
    const slot = this.findLive(key, this.index.hashOf(key), now);
    if (slot === NONE) {
      c.get_misses++;
      c.touch_misses++;
      return null;
    }
    c.get_hits++;
    c.touch_hits++;
    const abs = toAbsoluteExptime(exptime, now);
    const view = this.viewOf(slot, key, abs, this.table.lastAccess(slot));
    this.setExptimeOrDrop(slot, abs, now);
    return view;
  }

  peek(key: Buffer, now: number): ItemView | null {
    this.tick(now);
    const slot = this.findLive(key, this.index.hashOf(key), now);
    return slot === NONE ? null : this.viewOf(slot, key, this.table.exptime(slot), this.table.lastAccess(slot));
  }

  store(
    mode: StoreMode, key: Buffer, value: Buffer, flags: number, exptime: number, now: number, cas?: number,
  ): StoreResult {
    this.tick(now);
    const c = this.counters;
    const t = this.table;
    c.cmd_set++;
    const h = this.index.hashOf(key);
    const withCas = cas !== undefined;

    // Refused before any lookup, as memcached does when it cannot allocate the item. A
    // failed plain set also drops the old value so a reader never sees stale data.
    if (key.length + value.length > this.maxItemSize || key.length > MAX_KEY_LENGTH) {
      if (mode === 'set' && !withCas) this.dropKey(key, h, now);
      return TOO_LARGE;
    }

    const old = this.findLive(key, h, now);
    if (withCas) {
      if (old === NONE) {
        c.cas_misses++;
        return NOT_FOUND;
      }
      if (t.cas(old) !== cas) {
        c.cas_badval++;
        return EXISTS;
      }
      c.cas_hits++;
    } else if (mode === 'add') {
      if (old !== NONE) {
        t.moveToHead(old); // memcached promotes the item a failed add collided with
        return NOT_STORED;
      }
    } else if (mode !== 'set' && old === NONE) {
      return NOT_STORED; // replace, append, prepend need an existing item
    }

    let newValue = value;
    let newFlags = flags;
    let newExptime: number;
    if (mode === 'append' || mode === 'prepend') {
      // old is a live slot here: without cas the check above returned, with cas it matched.
      if (key.length + t.valueLen(old) + value.length > this.maxItemSize) return TOO_LARGE;
      // Copied out of the arena first: making room for the result may move the old bytes.
      const prior = this.valueOf(old);
      newValue = mode === 'append' ? Buffer.concat([prior, value]) : Buffer.concat([value, prior]);
      newFlags = t.flags(old);
      newExptime = t.exptime(old);
    } else {
      newExptime = toAbsoluteExptime(exptime, now);
    }

    const size = key.length + newValue.length + ITEM_OVERHEAD;
    if (size > this.maxBytes) {
      if (mode === 'set' && !withCas && old !== NONE) this.removeSlot(old);
      return NO_MEMORY;
    }

    const newCas = this.nextCas();
    c.total_items++;
    if (isExpired(newExptime, now)) {
      // Dead on arrival (negative exptime): the old value goes, nothing is kept.
      if (old !== NONE) this.removeSlot(old);
      this.arena.compactStep();
      return { status: 'stored', cas: newCas };
    }
    const slot = this.write(old, key, h, newValue, newFlags, newCas, newExptime, size, now);
    t.setLastAccess(slot, now);
    t.setFetched(slot, false);
    this.arena.compactStep();
    return { status: 'stored', cas: newCas };
  }

  delete(key: Buffer, now: number, cas?: number): DeleteStatus {
    this.tick(now);
    const c = this.counters;
    c.cmd_delete++;
    const slot = this.findLive(key, this.index.hashOf(key), now);
    if (slot === NONE) {
      c.delete_misses++;
      return 'not_found';
    }
    if (cas !== undefined && this.table.cas(slot) !== cas) {
      c.delete_misses++; // as memcached's meta delete
      return 'exists';
    }
    c.delete_hits++;
    this.removeSlot(slot);
    this.arena.compactStep();
    return 'deleted';
  }

  arith(
    incr: boolean, key: Buffer, delta: bigint, now: number, initial?: bigint, exptime?: number, cas?: number,
  ): ArithResult {
    this.tick(now);
    const c = this.counters;
    const t = this.table;
    const h = this.index.hashOf(key);
    const slot = this.findLive(key, h, now);

    if (slot === NONE) {
      if (incr) c.incr_misses++;
      else c.decr_misses++;
      if (initial === undefined) return ARITH_NOT_FOUND;
      // Binary incr/decr and meta `N`: create the item holding `initial` (delta unused).
      const value = BigInt.asUintN(64, initial);
      const buf = Buffer.from(value.toString(), 'latin1');
      const size = key.length + buf.length + ITEM_OVERHEAD;
      if (key.length + buf.length > this.maxItemSize || key.length > MAX_KEY_LENGTH || size > this.maxBytes) {
        return ARITH_NOT_FOUND;
      }
      const absExptime = toAbsoluteExptime(exptime ?? 0, now);
      const newCas = this.nextCas();
      c.total_items++;
      if (isExpired(absExptime, now)) return { status: 'ok', value, item: null };
      const created = this.write(NONE, key, h, buf, 0, newCas, absExptime, size, now);
      t.setLastAccess(created, now);
      t.setFetched(created, false);
      const view = this.viewOf(created, key, t.exptime(created), now);
      return { status: 'ok', value, item: view };
    }

    if (cas !== undefined && t.cas(slot) !== cas) return ARITH_EXISTS;
    const start = this.arena.dataStart(slot) + t.keyLen(slot);
    const current = parseCounter(this.arena.bufferOf(slot), start, start + t.valueLen(slot));
    if (current === null) return ARITH_NON_NUMERIC;

    let value: bigint;
    if (incr) {
      c.incr_hits++;
      value = BigInt.asUintN(64, current + delta);
    } else {
      c.decr_hits++;
      value = delta >= current ? 0n : current - delta;
    }
    const buf = Buffer.from(value.toString(), 'latin1');
    const size = key.length + buf.length + ITEM_OVERHEAD;
    if (size > this.maxBytes) {
      // Only reachable with a limit smaller than one counter item: it cannot be kept.
      this.removeSlot(slot);
      return ARITH_NOT_FOUND;
    }
    const lastAccess = t.lastAccess(slot);
    this.write(slot, key, h, buf, t.flags(slot), this.nextCas(), t.exptime(slot), size, now);
    const view = this.viewOf(slot, key, t.exptime(slot), lastAccess);
    t.setLastAccess(slot, now);
    this.arena.compactStep();
    return { status: 'ok', value, item: view };
  }

  touch(key: Buffer, exptime: number, now: number): boolean {
    this.tick(now);
    const c = this.counters;
    c.cmd_touch++;
    const slot = this.findLive(key, this.index.hashOf(key), now);
    if (slot === NONE) {
      c.touch_misses++;
      return false;
    }
    c.touch_hits++;
    this.setExptimeOrDrop(slot, toAbsoluteExptime(exptime, now), now);
    this.arena.compactStep();
    return true;
  }

  flush(delay: number, now: number): void {
    this.tick(now);
    this.counters.cmd_flush++;
    // A pending flush that is due this very second must act before it is replaced.
    if (this.flushAt !== 0 && now >= this.flushAt) this.completeFlush();
    // As memcached's flush_all, a delay over 30 days is an absolute unix time.
    const at = delay <= 0 ? 0 : toAbsoluteExptime(delay, now);
    if (at <= now) {
      this.flushAt = 0;
      this.dropAll();
    } else {
      this.flushAt = at; // replaces a pending one, as memcached's oldest_live does
    }
  }

  setLimit(bytes: number): void {
    this.maxBytes = Math.max(0, bytes);
    this.makeRoom(0, this.lastNow);
    this.arena.compactStep();
  }

  clear(): void {
    this.flushAt = 0;
    this.dropAll();
  }

  // ---- internals ----

  /** Per-call clock bookkeeping: remember the time and finish a delayed flush whose moment passed. */
  private tick(now: number): void {
    if (now > this.lastNow) this.lastNow = now;
    if (this.flushAt !== 0 && now > this.flushAt) this.completeFlush();
  }

  private liveness(slot: number, now: number): Liveness {
    const t = this.table;
    if (this.flushAt !== 0 && now >= this.flushAt && t.storedAt(slot) <= this.flushAt) return FLUSHED;
    const exptime = t.exptime(slot);
    if (exptime !== 0 && exptime <= now) return EXPIRED;
    return LIVE;
  }

  /** The live slot holding `key` (hash h), or NONE; a dead one found on the way is removed. */
  private findLive(key: Buffer, h: number, now: number): number {
    const slot = this.index.find(key, h);
    if (slot === NONE) return NONE;
    const state = this.liveness(slot, now);
    if (state === LIVE) return slot;
    if (state === EXPIRED) this.counters.expired++;
    this.removeSlot(slot);
    return NONE;
  }

  private dropKey(key: Buffer, h: number, now: number): void {
    const slot = this.findLive(key, h, now);
    if (slot !== NONE) this.removeSlot(slot);
  }

  /** touch / gat: a new exptime and an access; touching to a past time ends the item now. */
  private setExptimeOrDrop(slot: number, abs: number, now: number): void {
    this.markAccessed(slot, now);
    if (isExpired(abs, now)) {
      this.counters.expired++;
      this.removeSlot(slot);
    } else {
      this.table.setExptime(slot, Math.min(abs, MAX_EXPTIME));
    }
  }

  /**
   * A read marks the item active instead of moving it to the LRU head: the move touches
   * two neighbours' rows, random memory on every hit. Eviction gives an active tail a
   * second chance instead (makeRoom), so a read item still outlives unread ones.
   */
  private markAccessed(slot: number, now: number): void {
    const t = this.table;
    t.setLastAccess(slot, now);
    t.setFetched(slot, true);
    t.setActive(slot, true);
  }

  private sizeOf(slot: number): number {
    return this.table.keyLen(slot) + this.table.valueLen(slot) + ITEM_OVERHEAD;
  }

  private keyOf(slot: number): Buffer {
    return this.arena.view(slot, 0, this.table.keyLen(slot));
  }

  private valueOf(slot: number): Buffer {
    return this.arena.view(slot, this.table.keyLen(slot), this.table.valueLen(slot));
  }

  /**
   * The view a caller sees, taken before the access updates the slot. The caller's own
   * key buffer stands in for the stored key: the bytes are equal and nothing is copied.
   */
  private viewOf(slot: number, key: Buffer, exptime: number, lastAccess: number): ItemView {
    return {
      key,
      value: this.valueOf(slot),
      flags: this.table.flags(slot),
      cas: this.table.cas(slot),
      exptime,
      lastAccess,
      fetched: this.table.fetched(slot),
    };
  }

  /**
   * Puts a new value at the LRU head, reusing `slot` when the key already has one. The
   * caller has checked that `size` fits in the whole limit. The old value leaves the
   * list, the byte count and the arena before room is made, so eviction never picks it.
   */
  private write(
    slot: number, key: Buffer, h: number, value: Buffer, flags: number, cas: number, exptime: number,
    size: number, now: number,
  ): number {
    const t = this.table;
    const isNew = slot === NONE;
    if (!isNew) {
      // Same key, so the row's key length and tag stay.
      t.unlink(slot);
      this.usedBytes -= this.sizeOf(slot);
      this.arena.release(slot); // the slot stays in the index; its new key bytes are the same
    }
    this.makeRoom(size, now);
    if (isNew) {
      slot = t.allocate();
      t.setKeyTag(slot, HashIndex.keyTag(key.length, h));
    }
    t.setValueLen(slot, value.length);
    this.arena.place(slot, key.length + value.length);
    const buf = this.arena.bufferOf(slot);
    const at = this.arena.dataStart(slot);
    buf.set(key, at);
    buf.set(value, at + key.length);
    t.setFlags(slot, flags);
    t.setCas(slot, cas);
    t.setExptime(slot, Math.min(exptime, MAX_EXPTIME));
    t.setStoredAt(slot, now);
    if (isNew) this.index.insert(slot, h);
    if (now > this.newestStoredAt) this.newestStoredAt = now;
    this.usedBytes += size;
    t.pushHead(slot);
    return slot;
  }

  /** Evicts from the LRU tail until `size` more bytes fit. Needs size <= limit. */
  private makeRoom(size: number, now: number): void {
    const c = this.counters;
    const t = this.table;
    while (this.usedBytes + size > this.maxBytes) {
      const tail = t.lruTail;
      if (tail === NONE) throw new Error('store accounting broken: bytes over limit with no items');
      let victim = tail;
      let depth = 0;
      let reclaimed = false;
      while (victim !== NONE && depth < RECLAIM_SEARCH_DEPTH) {
        const state = this.liveness(victim, now);
        if (state !== LIVE) {
          if (state === EXPIRED) c.expired++;
          this.removeSlot(victim);
          reclaimed = true;
          break;
        }
        victim = t.prev(victim);
        depth++;
      }
      if (!reclaimed) {
        if (t.active(tail)) {
          // Read since it was last at the head: a second chance (each item once per pass).
          t.setActive(tail, false);
          t.moveToHead(tail);
          continue;
        }
        c.evictions++;
        this.removeSlot(tail);
      }
    }
  }

  private removeSlot(slot: number): void {
    const t = this.table;
    this.index.remove(slot);
    t.unlink(slot);
    this.usedBytes -= this.sizeOf(slot);
    this.arena.release(slot);
    t.release(slot);
  }

  /** The delayed flush's moment has passed: drop every item stored at or before it. */
  private completeFlush(): void {
    const at = this.flushAt;
    this.flushAt = 0;
    if (this.newestStoredAt <= at) {
      this.dropAll();
      return;
    }
    // Only with a clock that stepped back; otherwise everything stored so far is due.
    const t = this.table;
    for (let s = t.lruTail; s !== NONE;) {
      const prev = t.prev(s);
      if (t.storedAt(s) <= at) this.removeSlot(s);
      s = prev;
    }
  }

  private dropAll(): void {
    this.table.reset();
    this.index.reset();
    this.arena.reset();
    this.usedBytes = 0;
    this.newestStoredAt = 0;
  }
}
