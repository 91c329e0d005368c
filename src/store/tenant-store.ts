/**
 * One cache's memory on one node: the cache policy, written once, over an engine that
 * holds the item bytes and the key index (store-engine.ts), as memcached's items.c over
 * slabs.c. Counters, expiry, flush_all, CAS, arithmetic, touch, eviction, the items'
 * fields and recency list (item-table.ts) and the observer's events (store-listener.ts)
 * all live here; the engine only stores bytes and finds keys.
 *
 * Policy:
 * - No size classes. Every item costs key + value + ITEM_OVERHEAD against the limit and
 *   `bytes` never exceeds it; any freed byte can hold any later item, so a shift in item
 *   sizes can never starve a class (memcached's slab calcification). Making room evicts
 *   from this store's LRU tail only; a dead (expired or flushed) item among the last
 *   RECLAIM_SEARCH_DEPTH is reclaimed first.
 * - Recency is CLOCK-like, as memcached's: a read or touch only marks the item active
 *   (moving it would touch two more rows on every hit); eviction moves an active tail to
 *   the head once, clearing the mark, instead of evicting it. A store, and an add that
 *   collides with an item, move the item to the head at once.
 * - Expiry is lazy: a dead item is removed when a lookup or the eviction scan meets it,
 *   or when the node's background crawler reaps its slot (`reap`, as memcached's LRU
 *   crawler). Removing an expired item counts `expired`; removing a flushed one counts nothing.
 * - A delayed flush records the moment it takes effect (`flushAt`). From then on every
 *   item stored at or before that moment is dead; the first call after the moment drops
 *   them all, so `bytes` comes back down without a timer.
 * - `ItemView.value` may be a view into engine memory, valid until the next write call
 *   (store, arith, delete, touch, flushAll, setLimit, clear). Reads (get, getAndTouch,
 *   peek) never move or overwrite bytes, so the views of one multi-key get all stay valid
 *   together; each returns a fresh small ItemView for the same reason. A value passed to
 *   store() must not itself be a view this store handed out.
 * - Time comes in as `now` (unix seconds), so expiry is testable without sleeping.
 */
import type {
  ArithRequest, DeleteRequest, DeleteStatus, FlushRequest, ItemView, StoreRequest, TouchRequest,
} from '../shared/cache-operations.ts';
import { parseCounter } from './counter-value.ts';
import { isExpired, toAbsoluteExptime } from './expiry.ts';
import { ITEM_OVERHEAD, RECLAIM_SEARCH_DEPTH } from './item-cost.ts';
import { ItemTable, MAX_KEY_LENGTH, MAX_VALUE_LENGTH, NONE } from './item-table.ts';
import { createCounters, type Counters } from './stats.ts';
import type { EngineFactory, StoreEngine } from './store-engine.ts';
import type { RemovalCause, StoreListener } from './store-listener.ts';
import { WALK_MIN_SLOTS, WALK_SLOTS_PER_ITEM, type WalkItem, type WalkPage } from './walk.ts';
import {
  ARITH_EXISTS, ARITH_NON_NUMERIC, ARITH_NOT_FOUND, EXISTS, NO_MEMORY, NOT_FOUND, NOT_STORED, TOO_LARGE,
  type ArithResult, type StoreResult,
} from './store-results.ts';

const LIVE = 0;
const EXPIRED = 1;
const FLUSHED = 2;
type Liveness = typeof LIVE | typeof EXPIRED | typeof FLUSHED;

export interface TenantStoreOptions {
  /** This node's share of the cache's plan, in bytes. */
  readonly limit: number;
  /** Largest key + value accepted (memcached's item size max, 1 MiB by default). */
  readonly maxItemSize: number;
  /**
   * CAS source; by default the store's own sequence 1, 2, 3… Never share one between
   * caches: the gaps would show a tenant how much others write.
   */
  readonly nextCas?: () => number;
}

export class TenantStore<E extends StoreEngine = StoreEngine> {
  readonly counters: Counters = createCounters();
  /** Told of every hit, miss, store, mutation and removal; null when nobody listens. */
  listener: StoreListener | null = null;
  /** Where the item bytes live (tests and benchmarks look inside; the node never does). */
  readonly engine: E;
  private readonly table = new ItemTable();

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

  constructor(makeEngine: EngineFactory<E>, options: TenantStoreOptions) {
    this.engine = makeEngine(this.table);
    this.maxBytes = Math.max(0, options.limit);
    this.maxItemSize = Math.min(options.maxItemSize, MAX_VALUE_LENGTH);
    let cas = 0;
    this.nextCas = options.nextCas ?? (() => ++cas);
  }

  /** Bytes its items use, per-item overhead included. Never above `limit`. */
  get bytes(): number {
    return this.usedBytes;
  }

  get items(): number {
    return this.table.count;
  }

  /** This node's share of the cache's plan, in bytes. */
  get limit(): number {
    return this.maxBytes;
  }

  /** Counts cmd_get and get_hits/get_misses. */
  get(key: Buffer, now: number): ItemView | null {
    const slot = this.read(key, now);
    if (slot === NONE) return null;
    const t = this.table;
    const view = this.viewOf(slot, key, t.exptime(slot), t.lastAccess(slot));
    t.markRead(slot, now);
    return view;
  }

  /** get-and-touch: counts cmd_get, cmd_touch, get_* and touch_*. The view shows the new exptime. */
  getAndTouch(req: TouchRequest, now: number): ItemView | null {
    const key = req.key;
    const slot = this.read(key, now);
    if (!this.countTouch(slot)) return null;
    const exptime = toAbsoluteExptime(req.exptime, now);
    const view = this.viewOf(slot, key, exptime, this.table.lastAccess(slot));
    this.setExptimeOrDrop(slot, key, exptime, now);
    return view;
  }

  /** Looks without counting or marking (meta `me`). */
  peek(key: Buffer, now: number): ItemView | null {
    const slot = this.lookup(key, now);
    if (slot === NONE) return null;
    return this.viewOf(slot, key, this.table.exptime(slot), this.table.lastAccess(slot));
  }

  /** set, add, replace, append, prepend, and each with a CAS. Counts cmd_set, and cas_* when `req.cas` is given. */
  store(req: StoreRequest, now: number): StoreResult {
    this.tick(now);
    const c = this.counters;
    const t = this.table;
    const { mode, key, value } = req;
    const cas = req.cas;
    const withCas = cas !== undefined;
    c.cmd_set++;
    const h = this.engine.hashOf(key);

    // Refused before any lookup, as memcached does when it cannot allocate the item. A
    // failed plain set also drops the old value so a reader never sees stale data.
    if (key.length + value.length > this.maxItemSize || key.length > MAX_KEY_LENGTH) {
      if (mode === 'set' && !withCas) {
        const stale = this.findLive(key, h, now);
        if (stale !== NONE) this.remove(stale, key, 'delete');
      }
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
    let flags = req.flags;
    let exptime: number;
    if (mode === 'append' || mode === 'prepend') {
      // old is a live slot here: without cas the check above returned, with cas it matched.
      if (key.length + t.valueLen(old) + value.length > this.maxItemSize) return TOO_LARGE;
      // Copied out first: making room for the result may move the old bytes.
      const prior = this.engine.value(old);
      newValue = mode === 'append' ? Buffer.concat([prior, value]) : Buffer.concat([value, prior]);
      flags = t.flags(old);
      exptime = t.exptime(old);
    } else {
      exptime = toAbsoluteExptime(req.exptime, now);
    }

    const size = key.length + newValue.length + ITEM_OVERHEAD;
    if (size > this.maxBytes) {
      if (mode === 'set' && !withCas && old !== NONE) this.remove(old, key, 'delete');
      return NO_MEMORY;
    }

    const newCas = this.nextCas();
    c.total_items++;
    const l = this.listener;
    if (isExpired(exptime, now)) {
      // Dead on arrival (negative exptime): the old value goes, nothing is kept.
      if (old !== NONE) this.forget(old, key);
      if (l !== null) {
        l.stored(key, size);
        l.removed(key, 'expire');
      }
      this.engine.compactStep();
      return { status: 'stored', cas: newCas };
    }
    const slot = this.write(old, key, h, newValue, now);
    t.setFlags(slot, flags);
    t.setCas(slot, newCas);
    t.setExptime(slot, exptime);
    t.markWritten(slot, now);
    if (l !== null) l.stored(key, size);
    this.engine.compactStep();
    return { status: 'stored', cas: newCas };
  }

  /** Counts cmd_delete and delete_*; with `req.cas`, deletes only a matching item. */
  delete(req: DeleteRequest, now: number): DeleteStatus {
    const c = this.counters;
    const key = req.key;
    c.cmd_delete++;
    const slot = this.lookup(key, now);
    if (slot === NONE || (req.cas !== undefined && this.table.cas(slot) !== req.cas)) {
      c.delete_misses++; // a CAS mismatch too, as memcached's meta delete
      return slot === NONE ? 'not_found' : 'exists';
    }
    c.delete_hits++;
    this.remove(slot, key, 'delete');
    this.engine.compactStep();
    return 'deleted';
  }

  /** incr / decr. Counts incr_* / decr_*. With `req.initial`, a miss creates the item with that value. */
  arith(req: ArithRequest, now: number): ArithResult {
    this.tick(now);
    const c = this.counters;
    const t = this.table;
    const { key, incr } = req;
    const h = this.engine.hashOf(key);
    const slot = this.findLive(key, h, now);
    const l = this.listener;

    if (slot === NONE) {
      if (incr) c.incr_misses++;
      else c.decr_misses++;
      const initial = req.initial;
      if (initial === undefined) return ARITH_NOT_FOUND;
      // Binary incr/decr and meta `N`: create the item holding `initial` (delta unused).
      const value = BigInt.asUintN(64, initial);
      const digits = Buffer.from(value.toString(), 'latin1');
      const size = key.length + digits.length + ITEM_OVERHEAD;
      if (key.length + digits.length > this.maxItemSize || key.length > MAX_KEY_LENGTH || size > this.maxBytes) {
        return ARITH_NOT_FOUND;
      }
      const exptime = toAbsoluteExptime(req.exptime, now);
      const newCas = this.nextCas();
      c.total_items++;
      if (isExpired(exptime, now)) return { status: 'ok', value, item: null };
      const created = this.write(NONE, key, h, digits, now);
      t.setFlags(created, 0);
      t.setCas(created, newCas);
      t.setExptime(created, exptime);
      t.markWritten(created, now);
      const view = this.viewOf(created, key, t.exptime(created), now);
      if (l !== null) l.stored(key, size);
      this.engine.compactStep();
      return { status: 'ok', value, item: view };
    }

    if (req.cas !== undefined && t.cas(slot) !== req.cas) return ARITH_EXISTS;
    const start = this.engine.valueStart(slot);
    const current = parseCounter(this.engine.bytesOf(slot), start, start + t.valueLen(slot));
    if (current === null) return ARITH_NON_NUMERIC;

    let value: bigint;
    if (incr) {
      c.incr_hits++;
      value = BigInt.asUintN(64, current + req.delta);
    } else {
      c.decr_hits++;
      value = req.delta >= current ? 0n : current - req.delta;
    }
    const digits = Buffer.from(value.toString(), 'latin1');
    if (key.length + digits.length + ITEM_OVERHEAD > this.maxBytes) {
      // Only reachable with a limit smaller than one counter item: it cannot be kept.
      this.remove(slot, key, 'evict');
      return ARITH_NOT_FOUND;
    }
    const lastAccess = t.lastAccess(slot);
    // Same slot: flags and exptime stay, the fetched mark too.
    this.write(slot, key, h, digits, now);
    t.setCas(slot, this.nextCas());
    const view = this.viewOf(slot, key, t.exptime(slot), lastAccess);
    t.setLastAccess(slot, now);
    if (l !== null) l.mutated(key);
    this.engine.compactStep();
    return { status: 'ok', value, item: view };
  }

  /** Counts cmd_touch and touch_*. */
  touch(req: TouchRequest, now: number): boolean {
    const key = req.key;
    const slot = this.lookup(key, now);
    if (!this.countTouch(slot)) return false;
    this.setExptimeOrDrop(slot, key, toAbsoluteExptime(req.exptime, now), now);
    this.engine.compactStep();
    return true;
  }

  /** flush_all. Counts cmd_flush. Delay 0 empties now; otherwise items stored up to now+delay die then. */
  flushAll(req: FlushRequest, now: number): void {
    this.tick(now);
    this.counters.cmd_flush++;
    // A pending flush that is due this very second must act before it is replaced.
    if (this.flushAt !== 0 && now >= this.flushAt) this.completeFlush();
    // As memcached's flush_all, a delay over 30 days is an absolute unix time.
    const delay = req.delay;
    const at = delay <= 0 ? 0 : toAbsoluteExptime(delay, now);
    if (at <= now) {
      this.flushAt = 0;
      this.flushEverything();
    } else {
      this.flushAt = at; // replaces a pending one, as memcached's oldest_live does
    }
  }

  /** Resize (plan change or node count change); shrinking evicts LRU items. */
  setLimit(bytes: number): void {
    this.maxBytes = Math.max(0, bytes);
    this.makeRoom(0, this.lastNow);
    this.engine.compactStep();
  }

  /** Frees everything (the cache was deleted). Neither a flush nor a removal the listener hears of. */
  clear(): void {
    this.flushAt = 0;
    this.forgetAll();
  }

  /**
   * Visits the items of slots [from, from + max) in slot order with a view of the key and
   * the item's size as `bytes` counts it, live or not yet reaped; returns where to go on,
   * or -1 past the last slot. For observers that count existing items in (a watched
   * prefix): together with `StoreListener.item` for the slots already visited, each item
   * is counted exactly once.
   */
  scanSlots(from: number, max: number, visit: (slot: number, key: Buffer, size: number) => void): number {
    const t = this.table;
    const end = Math.min(from + max, t.highWater);
    for (let s = from; s < end; s++) if (!t.isFree(s)) visit(s, this.engine.key(s), this.sizeOf(s));
    return end >= t.highWater ? -1 : end;
  }

  /** Slots a walk or reap goes over (in use or freed, below the highest ever used). */
  get slotSpan(): number {
    return this.table.highWater;
  }

  /**
   * The background expiry crawler's step (src/node/expiry-crawler.ts): removes the dead
   * (expired or flushed) items of slots [from, from + max) exactly as a lookup meeting
   * them would (`expired` counted, the listener told `removed(key, 'expire')` and `item`),
   * so bytes, curr_items and watched-prefix counts come back down without a client reading
   * them. Returns the slot to go on from, 0 once past the last (the next pass starts over).
   */
  reap(from: number, max: number, now: number): number {
    this.tick(now);
    const t = this.table;
    const end = Math.min(from + max, t.highWater);
    let removed = false;
    for (let s = from; s < end; s++) {
      if (t.isFree(s)) continue;
      const state = this.liveness(s, now);
      if (state === LIVE) continue;
      this.removeDead(s, null, state);
      removed = true;
    }
    if (removed) this.engine.compactStep();
    return end >= t.highWater ? 0 : end;
  }

  /**
   * Cross-checks the engine and the table against the policy's books (tests): every listed
   * item is found by its key, the list holds every item once, the sizes add up to `bytes`.
   * Returns the item count.
   */
  verify(): number {
    const t = this.table;
    const e = this.engine;
    let n = 0;
    let bytes = 0;
    for (let s = t.lruTail; s !== NONE; s = t.prev(s)) {
      if (n > t.count) throw new Error('LRU list has a cycle');
      n++;
      bytes += this.sizeOf(s);
      const key = Buffer.from(e.key(s));
      if (e.find(key, e.hashOf(key)) !== s) throw new Error(`slot ${s} not found by its key`);
    }
    if (n !== t.count) throw new Error(`LRU holds ${n} of ${t.count} items`);
    if (bytes !== this.usedBytes) throw new Error(`bytes ${this.usedBytes} but items add up to ${bytes}`);
    e.verify(n);
    return n;
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

  /** The live slot holding `key`, or NONE, after the call's clock bookkeeping. */
  private lookup(key: Buffer, now: number): number {
    this.tick(now);
    return this.findLive(key, this.engine.hashOf(key), now);
  }

  /** A read's lookup (get, gat): counts cmd_get and the hit or miss, and tells the listener. */
  private read(key: Buffer, now: number): number {
    const c = this.counters;
    c.cmd_get++;
    const slot = this.lookup(key, now);
    const l = this.listener;
    if (slot === NONE) {
      c.get_misses++;
      if (l !== null) l.miss(key);
    } else {
      c.get_hits++;
      if (l !== null) l.hit(key);
    }
    return slot;
  }

  /** Counts a touch (touch, gat) and whether it found its item. */
  private countTouch(slot: number): boolean {
    const c = this.counters;
    c.cmd_touch++;
    if (slot === NONE) {
      c.touch_misses++;
      return false;
    }
    c.touch_hits++;
    return true;
  }

  /** The live slot holding `key` (hash h), or NONE; a dead one found on the way is removed. */
  private findLive(key: Buffer, h: number, now: number): number {
    const slot = this.engine.find(key, h);
    if (slot === NONE) return NONE;
    const state = this.liveness(slot, now);
    if (state === LIVE) return slot;
    this.removeDead(slot, key, state);
    return NONE;
  }

  private removeDead(slot: number, key: Buffer | null, state: Liveness): void {
    if (state === EXPIRED) {
      this.counters.expired++;
      this.remove(slot, key, 'expire');
    } else {
      this.remove(slot, key, 'flush');
    }
  }

  /** touch / gat: a new exptime and an access; touching to a past time ends the item now. */
  private setExptimeOrDrop(slot: number, key: Buffer, exptime: number, now: number): void {
    this.table.markRead(slot, now);
    if (isExpired(exptime, now)) {
      this.counters.expired++;
      this.remove(slot, key, 'expire');
      return;
    }
    this.table.setExptime(slot, exptime);
    const l = this.listener;
    if (l !== null) l.mutated(key);
  }

  private sizeOf(slot: number): number {
    return this.table.keyLen(slot) + this.table.valueLen(slot) + ITEM_OVERHEAD;
  }

  /**
   * The view a caller sees, taken before the access updates the slot. The caller's own
   * key buffer stands in for the stored key: the bytes are equal and nothing is copied.
   */
  private viewOf(slot: number, key: Buffer, exptime: number, lastAccess: number): ItemView {
    const t = this.table;
    return {
      key,
      value: this.engine.value(slot),
      flags: t.flags(slot),
      cas: t.cas(slot),
      exptime,
      lastAccess,
      fetched: t.fetched(slot),
    };
  }

  /**
   * Puts a new value at the LRU head, in `old`'s slot when the key has one (NONE: a new
   * slot), and returns the slot; the caller sets its fields. The caller has checked that
   * it fits in the whole limit. The old value leaves the list and the byte count before
   * room is made, so eviction never picks it.
   */
  private write(old: number, key: Buffer, h: number, value: Buffer, now: number): number {
    const t = this.table;
    const e = this.engine;
    const size = key.length + value.length + ITEM_OVERHEAD;
    const before = old === NONE ? 0 : this.sizeOf(old);
    if (old !== NONE) {
      this.usedBytes -= before;
      t.unlink(old);
      e.release(old);
    }
    this.makeRoom(size, now);
    let slot = old;
    if (slot === NONE) {
      slot = t.allocate();
      t.setKeyLen(slot, key.length);
      t.newValue(slot, value.length, now);
      e.add(slot, key, h, value);
    } else {
      t.newValue(slot, value.length, now);
      e.rewrite(slot, key, value);
    }
    t.pushHead(slot);
    if (now > this.newestStoredAt) this.newestStoredAt = now;
    this.usedBytes += size;
    const l = this.listener;
    if (l !== null && l.tracksItems) l.item(slot, key, before, size);
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
          this.removeDead(victim, null, state);
          reclaimed = true;
          break;
        }
        victim = t.prev(victim);
        depth++;
      }
      if (reclaimed) continue;
      if (t.active(tail)) {
        // Read since it was last at the head: a second chance (each item once per pass).
        t.clearActive(tail);
        t.moveToHead(tail);
        continue;
      }
      c.evictions++;
      this.remove(tail, null, 'evict');
    }
  }

  /** Takes an item out and tells the listener why; `key` is the caller's copy of its key, or null to read it. */
  private remove(slot: number, key: Buffer | null, cause: RemovalCause): void {
    const l = this.listener;
    if (l !== null) {
      key ??= this.engine.key(slot);
      l.removed(key, cause);
    }
    this.forget(slot, key);
  }

  private forget(slot: number, key: Buffer | null): void {
    const t = this.table;
    const l = this.listener;
    if (l !== null && l.tracksItems) l.item(slot, key ?? this.engine.key(slot), this.sizeOf(slot), 0);
    this.usedBytes -= this.sizeOf(slot);
    this.engine.remove(slot);
    t.unlink(slot);
    t.free(slot);
  }

  /** The delayed flush's moment has passed: drop every item stored at or before it. */
  private completeFlush(): void {
    const at = this.flushAt;
    this.flushAt = 0;
    if (this.newestStoredAt <= at) {
      this.flushEverything();
      return;
    }
    // Only with a clock that stepped back; otherwise everything stored so far is due.
    const t = this.table;
    for (let s = t.lruTail; s !== NONE;) {
      const prev = t.prev(s);
      if (t.storedAt(s) <= at) this.remove(s, null, 'flush');
      s = prev;
    }
  }

  private flushEverything(): void {
    this.forgetAll();
    const l = this.listener;
    if (l !== null) l.cleared();
  }

  private forgetAll(): void {
    this.table.reset();
    this.engine.clear();
    this.usedBytes = 0;
    this.newestStoredAt = 0;
  }

  /**
   * Up to `limit` live items from slot `cursor` on, in slot order, whose key starts with
   * `prefix` (walk.ts). Visits at most max(WALK_MIN_SLOTS, limit * WALK_SLOTS_PER_ITEM)
   * slots, so a page may come back short with a cursor to go on from. Dead items (expired,
   * flushed) are skipped, not removed, and nothing is counted or marked: a walk is not a
   * read, and must not change what it walks over.
   */
  walk(cursor: number, limit: number, now: number, prefix?: Buffer): WalkPage {
    const t = this.table;
    const e = this.engine;
    const end = t.highWater;
    const want = Math.max(1, limit);
    let s = cursor > 0 ? Math.floor(cursor) : 0;
    const stop = Math.min(end, s + Math.max(WALK_MIN_SLOTS, want * WALK_SLOTS_PER_ITEM));
    const plen = prefix === undefined ? 0 : prefix.length;
    const items: WalkItem[] = [];
    for (; s < stop && items.length < want; s++) {
      if (t.isFree(s) || t.keyLen(s) < plen || this.liveness(s, now) !== LIVE) continue;
      const key = e.key(s);
      if (plen > 0 && key.compare(prefix!, 0, plen, 0, plen) !== 0) continue;
      items.push({
        key: Buffer.from(key),
        size: t.valueLen(s),
        exptime: t.exptime(s),
        lastAccess: t.lastAccess(s),
        flags: t.flags(s),
        cas: t.cas(s),
        fetched: t.fetched(s),
      });
    }
    return { items, next: s >= end ? null : s };
  }
}
