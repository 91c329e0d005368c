/**
 * One cache's memory on one node: a Map index over item records, one LRU list, and a
 * byte budget that `bytes` never exceeds.
 *
 * Policy:
 * - No size classes. Every item costs exactly key + value + ITEM_OVERHEAD bytes and any
 *   freed byte can hold any later item, so a shift in item sizes can never starve a
 *   class (memcached's slab calcification). Making room evicts from the LRU tail of this
 *   store only; a dead (expired or flushed) item near the tail is reclaimed first.
 * - Expiry is lazy: a dead item is removed when a lookup or the eviction scan meets it.
 *   Removing an expired item counts `expired`; removing a flushed one counts nothing.
 * - A delayed flush records the moment it takes effect (`flushAt`). From then on every
 *   item stored at or before that moment is dead; the first call after the moment drops
 *   them all, so `bytes` comes back down without a timer.
 * - Values are kept by reference (callers hand over buffers they no longer use) and are
 *   never written in place: append, prepend and incr build new buffers, so an ItemView
 *   handed out earlier keeps its bytes.
 *
 * Everything about memory layout stays in this folder: the node sees only TenantStore.
 */
import type { ArithResult, StoreResult, TenantStore } from './store-api.ts';
import type { DeleteStatus, ItemView, StoreMode } from '../protocol/command.ts';
import { createCounters, type Counters } from './stats.ts';
import { isExpired, toAbsoluteExptime } from './expiry.ts';
import { LruList, type LruNode } from './lru.ts';
import { ITEM_OVERHEAD, RECLAIM_SEARCH_DEPTH } from './item-cost.ts';
import { parseCounter } from './counter-value.ts';
import {
  ARITH_EXISTS, ARITH_NON_NUMERIC, ARITH_NOT_FOUND, EXISTS, NO_MEMORY, NOT_FOUND, NOT_STORED, TOO_LARGE,
} from './store-results.ts';

export { ITEM_OVERHEAD } from './item-cost.ts';

const LIVE = 0;
const EXPIRED = 1;
const FLUSHED = 2;
type Liveness = typeof LIVE | typeof EXPIRED | typeof FLUSHED;

/** One stored item. Fields are all set in the constructor so every record has one shape. */
class ItemRecord implements LruNode<ItemRecord> {
  prev: ItemRecord | null = null;
  next: ItemRecord | null = null;
  /** The index key: the key bytes as latin1 (one char per byte, lossless). */
  readonly keyStr: string;
  value: Buffer;
  flags: number;
  cas: number;
  /** Absolute unix seconds, 0 = never. */
  exptime: number;
  /** Accounted size: key + value + ITEM_OVERHEAD. */
  size: number;
  /** When the current value was written; a delayed flush kills items stored up to its moment. */
  storedAt: number;
  lastAccess: number;
  fetched: boolean;
  /** Read since it last reached the LRU head: eviction gives it a second chance. */
  active: boolean;

  constructor(keyStr: string, value: Buffer, flags: number, cas: number, exptime: number, size: number, now: number) {
    this.keyStr = keyStr;
    this.value = value;
    this.flags = flags;
    this.cas = cas;
    this.exptime = exptime;
    this.size = size;
    this.storedAt = now;
    this.lastAccess = now;
    this.fetched = false;
    this.active = false;
  }
}

export interface MemoryTenantStoreOptions {
  /** This node's share of the cache's plan, in bytes. */
  readonly limit: number;
  /** Largest key + value accepted (memcached's item size max, 1 MiB by default). */
  readonly maxItemSize: number;
  /**
   * CAS source; by default the store's own sequence 1, 2, 3… Never share one between
   * caches: the gaps would show a tenant how much others write (issue 10, §6).
   */
  readonly nextCas?: () => number;
}

export class MemoryTenantStore implements TenantStore {
  readonly counters: Counters = createCounters();

  private readonly index = new Map<string, ItemRecord>();
  private readonly lru = new LruList<ItemRecord>();
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

  constructor(options: MemoryTenantStoreOptions) {
    this.maxBytes = Math.max(0, options.limit);
    this.maxItemSize = options.maxItemSize;
    let cas = 0;
    this.nextCas = options.nextCas ?? (() => ++cas);
  }

  get bytes(): number {
    return this.usedBytes;
  }

  get items(): number {
    return this.index.size;
  }

  get limit(): number {
    return this.maxBytes;
  }

  get(key: Buffer, now: number): ItemView | null {
    this.tick(now);
    const c = this.counters;
    c.cmd_get++;
    const rec = this.findLive(key.toString('latin1'), now);
    if (rec === null) {
      c.get_misses++;
      return null;
    }
    c.get_hits++;
    const view = viewOf(rec, key);
    this.markAccessed(rec, now);
    return view;
  }

  getAndTouch(key: Buffer, exptime: number, now: number): ItemView | null {
    this.tick(now);
    const c = this.counters;
    c.cmd_get++;
    c.cmd_touch++;
    const rec = this.findLive(key.toString('latin1'), now);
    if (rec === null) {
      c.get_misses++;
      c.touch_misses++;
      return null;
    }
    c.get_hits++;
    c.touch_hits++;
    rec.exptime = toAbsoluteExptime(exptime, now);
    const view = viewOf(rec, key);
    this.markAccessed(rec, now);
    this.dropIfExpired(rec, now);
    return view;
  }

  peek(key: Buffer, now: number): ItemView | null {
    this.tick(now);
    const rec = this.findLive(key.toString('latin1'), now);
    return rec === null ? null : viewOf(rec, key);
  }

  store(
    mode: StoreMode, key: Buffer, value: Buffer, flags: number, exptime: number, now: number, cas?: number,
  ): StoreResult {
    this.tick(now);
    const c = this.counters;
    c.cmd_set++;
    const keyStr = key.toString('latin1');
    const withCas = cas !== undefined;

    // Refused before any lookup, as memcached does when it cannot allocate the item. A
    // failed plain set also drops the old value so a reader never sees stale data.
    if (key.length + value.length > this.maxItemSize) {
      if (mode === 'set' && !withCas) this.dropKey(keyStr, now);
      return TOO_LARGE;
    }

    const old = this.findLive(keyStr, now);
    if (withCas) {
      if (old === null) {
        c.cas_misses++;
        return NOT_FOUND;
      }
      if (old.cas !== cas) {
        c.cas_badval++;
        return EXISTS;
      }
      c.cas_hits++;
    } else if (mode === 'add') {
      if (old !== null) {
        this.lru.moveToHead(old); // memcached promotes the item a failed add collided with
        return NOT_STORED;
      }
    } else if (mode !== 'set' && old === null) {
      return NOT_STORED; // replace, append, prepend need an existing item
    }

    let newValue = value;
    let newFlags = flags;
    let newExptime: number;
    if (mode === 'append' || mode === 'prepend') {
      // old is non-null here: without cas the check above returned, with cas it matched.
      const prior = old!;
      if (key.length + prior.value.length + value.length > this.maxItemSize) return TOO_LARGE;
      newValue = mode === 'append' ? Buffer.concat([prior.value, value]) : Buffer.concat([value, prior.value]);
      newFlags = prior.flags;
      newExptime = prior.exptime;
    } else {
      newExptime = toAbsoluteExptime(exptime, now);
    }

    const size = key.length + newValue.length + ITEM_OVERHEAD;
    if (size > this.maxBytes) {
      if (mode === 'set' && !withCas && old !== null) this.removeRecord(old);
      return NO_MEMORY;
    }

    const newCas = this.nextCas();
    c.total_items++;
    if (isExpired(newExptime, now)) {
      // Dead on arrival (negative exptime): the old value goes, nothing is kept.
      if (old !== null) this.removeRecord(old);
      return { status: 'stored', cas: newCas };
    }
    const rec = this.write(old, keyStr, newValue, newFlags, newCas, newExptime, size, now);
    rec.lastAccess = now;
    rec.fetched = false;
    return { status: 'stored', cas: newCas };
  }

  delete(key: Buffer, now: number, cas?: number): DeleteStatus {
    this.tick(now);
    const c = this.counters;
    c.cmd_delete++;
    const rec = this.findLive(key.toString('latin1'), now);
    if (rec === null) {
      c.delete_misses++;
      return 'not_found';
    }
    if (cas !== undefined && rec.cas !== cas) {
      c.delete_misses++; // as memcached's meta delete
      return 'exists';
    }
    c.delete_hits++;
    this.removeRecord(rec);
    return 'deleted';
  }

  arith(
    incr: boolean, key: Buffer, delta: bigint, now: number, initial?: bigint, exptime?: number, cas?: number,
  ): ArithResult {
    this.tick(now);
    const c = this.counters;
    const keyStr = key.toString('latin1');
    const rec = this.findLive(keyStr, now);

    if (rec === null) {
      if (incr) c.incr_misses++;
      else c.decr_misses++;
      if (initial === undefined) return ARITH_NOT_FOUND;
      // Binary incr/decr and meta `N`: create the item holding `initial` (delta unused).
      const value = BigInt.asUintN(64, initial);
      const buf = Buffer.from(value.toString(), 'latin1');
      const size = key.length + buf.length + ITEM_OVERHEAD;
      if (key.length + buf.length > this.maxItemSize || size > this.maxBytes) return ARITH_NOT_FOUND;
      const absExptime = toAbsoluteExptime(exptime ?? 0, now);
      const newCas = this.nextCas();
      c.total_items++;
      if (isExpired(absExptime, now)) return { status: 'ok', value, item: null };
      const created = this.write(null, keyStr, buf, 0, newCas, absExptime, size, now);
      const view = viewOf(created, key);
      created.lastAccess = now;
      return { status: 'ok', value, item: view };
    }

    if (cas !== undefined && rec.cas !== cas) return ARITH_EXISTS;
    const current = parseCounter(rec.value);
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
      this.removeRecord(rec);
      return ARITH_NOT_FOUND;
    }
    const lastAccess = rec.lastAccess;
    this.write(rec, keyStr, buf, rec.flags, this.nextCas(), rec.exptime, size, now);
    const view = viewOf(rec, key, lastAccess);
    rec.lastAccess = now;
    return { status: 'ok', value, item: view };
  }

  touch(key: Buffer, exptime: number, now: number): boolean {
    this.tick(now);
    const c = this.counters;
    c.cmd_touch++;
    const rec = this.findLive(key.toString('latin1'), now);
    if (rec === null) {
      c.touch_misses++;
      return false;
    }
    c.touch_hits++;
    rec.exptime = toAbsoluteExptime(exptime, now);
    this.markAccessed(rec, now);
    this.dropIfExpired(rec, now);
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

  private liveness(rec: ItemRecord, now: number): Liveness {
    if (this.flushAt !== 0 && now >= this.flushAt && rec.storedAt <= this.flushAt) return FLUSHED;
    if (rec.exptime !== 0 && rec.exptime <= now) return EXPIRED;
    return LIVE;
  }

  /** The live item under keyStr, or null; a dead one found on the way is removed. */
  private findLive(keyStr: string, now: number): ItemRecord | null {
    const rec = this.index.get(keyStr);
    if (rec === undefined) return null;
    const state = this.liveness(rec, now);
    if (state === LIVE) return rec;
    if (state === EXPIRED) this.counters.expired++;
    this.removeRecord(rec);
    return null;
  }

  private dropKey(keyStr: string, now: number): void {
    const rec = this.findLive(keyStr, now);
    if (rec !== null) this.removeRecord(rec);
  }

  /** After a touch to a past time: the item is gone now rather than at its next lookup. */
  private dropIfExpired(rec: ItemRecord, now: number): void {
    if (isExpired(rec.exptime, now)) {
      this.counters.expired++;
      this.removeRecord(rec);
    }
  }

  /** A read marks the item active rather than moving it (as the arena store does: see there). */
  private markAccessed(rec: ItemRecord, now: number): void {
    rec.lastAccess = now;
    rec.fetched = true;
    rec.active = true;
  }

  /**
   * Puts a new value at the LRU head, reusing `rec` when the key already has a record.
   * The caller has checked that `size` fits in the whole limit. The old record leaves the
   * list and the byte count before room is made, so eviction can never pick it.
   */
  private write(
    rec: ItemRecord | null, keyStr: string, value: Buffer, flags: number, cas: number, exptime: number,
    size: number, now: number,
  ): ItemRecord {
    if (rec !== null) {
      this.lru.unlink(rec);
      this.usedBytes -= rec.size;
    }
    this.makeRoom(size, now);
    if (rec === null) {
      rec = new ItemRecord(keyStr, value, flags, cas, exptime, size, now);
      this.index.set(keyStr, rec);
    } else {
      rec.value = value;
      rec.flags = flags;
      rec.cas = cas;
      rec.exptime = exptime;
      rec.size = size;
      rec.storedAt = now;
      rec.active = false;
    }
    if (now > this.newestStoredAt) this.newestStoredAt = now;
    this.usedBytes += size;
    this.lru.pushHead(rec);
    return rec;
  }

  /** Evicts from the LRU tail until `size` more bytes fit. Needs size <= limit. */
  private makeRoom(size: number, now: number): void {
    const c = this.counters;
    while (this.usedBytes + size > this.maxBytes) {
      const tail = this.lru.tail;
      if (tail === null) throw new Error('store accounting broken: bytes over limit with no items');
      let victim: ItemRecord | null = tail;
      let depth = 0;
      let reclaimed = false;
      while (victim !== null && depth < RECLAIM_SEARCH_DEPTH) {
        const state = this.liveness(victim, now);
        if (state !== LIVE) {
          if (state === EXPIRED) c.expired++;
          this.removeRecord(victim);
          reclaimed = true;
          break;
        }
        victim = victim.prev;
        depth++;
      }
      if (!reclaimed) {
        if (tail.active) {
          tail.active = false;
          this.lru.moveToHead(tail);
          continue;
        }
        c.evictions++;
        this.removeRecord(tail);
      }
    }
  }

  private removeRecord(rec: ItemRecord): void {
    this.index.delete(rec.keyStr);
    this.lru.unlink(rec);
    this.usedBytes -= rec.size;
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
    for (let rec = this.lru.tail; rec !== null;) {
      const prev: ItemRecord | null = rec.prev;
      if (rec.storedAt <= at) this.removeRecord(rec);
      rec = prev;
    }
  }

  private dropAll(): void {
    this.index.clear();
    this.lru.clear();
    this.usedBytes = 0;
    this.newestStoredAt = 0;
  }
}

/**
 * The view a caller sees, taken before the access updates the record. The caller's own
 * key buffer stands in for the stored key: the bytes are equal and nothing is copied.
 */
function viewOf(rec: ItemRecord, key: Buffer, lastAccess = rec.lastAccess): ItemView {
  return {
    key,
    value: rec.value,
    flags: rec.flags,
    cas: rec.cas,
    exptime: rec.exptime,
    lastAccess,
    fetched: rec.fetched,
  };
}
