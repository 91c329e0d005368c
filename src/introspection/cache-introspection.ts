/**
 * One cache's introspection on one node: the request ring (fed by the dispatch), the
 * hot-key sketches (counted from the ring's lines) and the watched prefixes' counters
 * (which listen to the store: they must be exact).
 * The sketches and the ring (the "window state") are made at the cache's first request and
 * can be dropped by the node's memory cap (registry.ts) and made again later; the watched
 * prefixes' counters are never dropped (they must stay exact, and are small).
 */
import { EventSampler } from './event-sampler.ts';
import { LINE_HIT, LINE_KIND, LINE_KIND_MASK, LINE_MISS, LINE_MUTATION, MAX_KEY_LENGTH, RequestRing, type LineSink, type RequestLine } from './request-ring.ts';
import { SampleBatch, type SampleCounter } from './sample-batch.ts';
import { hashBytes, hashKeyAndPrefix, KEY_AND_PREFIX, TopKeys, type TopEntry } from './top-keys.ts';
import { WatchedPrefixes, type SlotScanner } from './watched-prefixes.ts';

/** The window popular items cover: 6 sub-windows of 30 s. */
export const WINDOW_MS = 180_000;
const SUB_WINDOWS = 6;
const KEY_CAPACITY = 256;
const PREFIX_CAPACITY = 128;
export const RING_LINES = 1000;

/** The bytes that end an automatic prefix (the key's part before its last one): `: / . _ - | #`. */
const SEPARATOR = new Uint8Array(256);
for (const c of ':/._-|#') SEPARATOR[c.charCodeAt(0)] = 1;

export interface PopularLists {
  readonly hit: TopEntry[];
  readonly miss: TopEntry[];
  readonly mutated: TopEntry[];
  readonly prefixes: TopEntry[];
}

/** What the node-wide registry sees of a cache's state. */
export interface WindowStateOwner {
  /** Milliseconds of the last request that touched the state. */
  readonly lastActive: number;
  /** Bytes charged to the budget for its state now. */
  readonly charged: number;
  /**
   * Drops the state (the budget has taken its charge back); not again before `retryAt` ms.
   * Returns it, for the budget to empty and hand to another cache (`reuse`).
   */
  dropWindowState(retryAt: number): WindowState | null;
}

/** The node's memory cap on window states: every byte a state holds is charged before it is taken. */
export interface WindowStateBudget {
  /** Charges `bytes` more to `owner` (making room by dropping others); false: no room. */
  charge(owner: WindowStateOwner, bytes: number): boolean;
  /** Gives back `bytes` of `owner`'s charge (its state shrank or went). */
  refund(bytes: number): void;
  /**
   * A state dropped from another cache, emptied, now charged to `owner` (its memoryBytes);
   * null: charge a new one. New states for a node's many caches come from the states they
   * displace, not from fresh memory while the displaced ones wait for the garbage collector.
   */
  reuse(owner: WindowStateOwner): WindowState | null;
}

/** A cache's hot-key sketches and request ring: what the node-wide cap charges for. */
export class WindowState {
  readonly hits = new TopKeys(KEY_CAPACITY, SUB_WINDOWS, WINDOW_MS / SUB_WINDOWS);
  readonly misses = new TopKeys(KEY_CAPACITY, SUB_WINDOWS, WINDOW_MS / SUB_WINDOWS);
  readonly mutations = new TopKeys(KEY_CAPACITY, SUB_WINDOWS, WINDOW_MS / SUB_WINDOWS);
  readonly prefixes = new TopKeys(PREFIX_CAPACITY, SUB_WINDOWS, WINDOW_MS / SUB_WINDOWS);
  readonly ring = new RequestRing(RING_LINES);

  /** Empty again, its memory kept (see WindowStateBudget.reuse). */
  reset(): void {
    this.hits.reset();
    this.misses.reset();
    this.mutations.reset();
    this.prefixes.reset();
    this.ring.reset();
  }

  get memoryBytes(): number {
    return this.hits.memoryBytes + this.misses.memoryBytes + this.mutations.memoryBytes + this.prefixes.memoryBytes
      + this.ring.memoryBytes;
  }
}

/** A fresh state's size before any key is held: what admission asks for. */
export const EMPTY_STATE_BYTES = new WindowState().memoryBytes;
/** A state dropped to keep under the cap is not made again for this long (no drop-and-rebuild churn). */
export const DROPPED_RETRY_MS = 5000;

export class CacheIntrospection implements LineSink, SampleCounter, WindowStateOwner {
  readonly watched = new WatchedPrefixes();
  private readonly sampler = new EventSampler();
  private state: WindowState | null = null;
  /** No state is made before this ms (refused or dropped by the budget). */
  private retryAt = -Infinity;
  charged = 0;
  private readonly basis = (Math.random() * 0x100000000) | 0;
  lastActive = 0;
  /** Key events the lines taken since takeEventCount stood for. */
  private events = 0;

  /**
   * `batch`: where the samples its ring's follower takes wait to be counted (sample-batch.ts),
   * the node's one batch (registry.ts); a cache on its own gets its own.
   */
  constructor(private readonly budget: WindowStateBudget, private readonly batch = new SampleBatch()) {}


  get memoryBytes(): number {
    return this.state === null ? 0 : this.state.memoryBytes;
  }

  get hasWindowState(): boolean {
    return this.state !== null;
  }

  dropWindowState(retryAt: number): WindowState | null {
    const s = this.state;
    this.state = null;
    this.batch.dropFor(this);
    this.charged = 0;
    this.retryAt = retryAt;
    return s;
  }

  /**
   * Counts the ring's lines not yet counted, and the samples of them the node's batch still
   * holds; each brings the charge to what the state holds then: a grown state pays (or,
   * refused, is dropped), a shrunk one is refunded. Before every read and at every look of
   * the registry (LOOK_MS).
   */
  settle(): void {
    this.followRing();
    this.batch.flushFor(this);
  }

  /**
   * Reads the ring's new lines (the samples it takes go to the batch, which counts them
   * later and pays for them then: `counted`) and pays for the ring: as the ring fills.
   */
  private followRing(): void {
    const s = this.state;
    if (s === null) return;
    s.ring.follow(this.sampler, this);
    // The batch may have changed hands meanwhile, and another cache's charge for its
    // counted samples made room by dropping this state: nothing is charged for it then.
    if (this.state === s) this.payFor(s);
  }

  private payFor(s: WindowState): void {
    const delta = s.memoryBytes - this.charged;
    if (delta > 0) {
      if (this.budget.charge(this, delta)) this.charged += delta;
      else this.release(Date.now() + DROPPED_RETRY_MS);
    } else if (delta < 0) {
      this.budget.refund(-delta);
      this.charged += delta;
    }
  }

  /** Sampled events a second this cache's sketches may take (registry.ts sets it at every look). */
  setSamplingBudget(perSecond: number): void {
    this.sampler.setBudget(perSecond);
  }

  /** Key events (hit, miss and mutation lines) counted since the last call, as the sampled lines estimate them. */
  takeEventCount(): number {
    const n = this.events;
    this.events = 0;
    return n;
  }

  get samplingBudget(): number {
    return this.sampler.eventsPerSecond;
  }

  /** Drops the state and gives its whole charge back (switched off, or no room for it). */
  release(retryAt: number): void {
    this.budget.refund(this.charged);
    this.dropWindowState(retryAt);
  }

  // ---- request log ----

  /** One line of the request ring (`command`/`status` index COMMANDS/STATUSES). */
  log(time: number, command: number, status: number, key: Buffer | null, size: number): void {
    const s = this.state ?? this.open(time);
    if (s === null) return;
    this.lastActive = time;
    s.ring.record(time, command, status, key, size);
    if (s.ring.followDue) this.followRing();
  }

  /** The lines of a get's reply (RequestRing.recordValues). */
  logValues(time: number, command: number, keys: readonly Buffer[], from: number, items: readonly ({ readonly value: Uint8Array } | null)[], span?: Buffer): void {
    const s = this.state ?? this.open(time);
    if (s === null) return;
    this.lastActive = time;
    // A text get's key bytes are its span's length; otherwise summed (a binary get has one key).
    let bytes = span !== undefined ? span.length : 0;
    if (span === undefined) for (let i = 0; i < items.length; i++) bytes += keys[from + i]!.length;
    if (s.ring.unfollowed + items.length > RING_LINES || s.ring.unfollowedKeyBytes + bytes > s.ring.keyRingBytes) {
      this.logLongValues(s, time, command, keys, from, items);
      return;
    }
    s.ring.recordValues(time, command, keys, from, items, span);
    if (s.ring.followDue) this.followRing();
  }

  /**
   * A reply whose lines or keys would overwrite ones not yet counted (a get of hundreds of
   * keys or more, or long keys in a key ring the cap keeps small): written a ring's room
   * at a time, each part followed before the next, so every key is counted (the ring itself
   * keeps only the last 1,000).
   */
  private logLongValues(s: WindowState, time: number, command: number, keys: readonly Buffer[], from: number, items: readonly ({ readonly value: Uint8Array } | null)[]): void {
    for (let done = 0; done < items.length;) {
      this.followRing();
      // The charge may have been refused and the state dropped: nothing more is written.
      if (this.state !== s) return;
      // At most the ring's room in lines, and in key bytes (a key ring the cap keeps small
      // would overwrite this part's first keys before they are counted); one key at least.
      const lines = Math.min(items.length - done, RING_LINES - s.ring.unfollowed);
      let n = 0;
      for (let part = 0; n < lines; n++) {
        part += Math.min(keys[from + done + n]!.length, MAX_KEY_LENGTH);
        if (n > 0 && part > s.ring.keyRingBytes) break;
      }
      s.ring.recordValues(time, command, keys, from + done, items.slice(done, done + n));
      done += n;
    }
    if (s.ring.followDue) this.followRing();
  }

  // ---- reading ----

  popular(limit: number, ms: number, prefix?: Buffer): PopularLists {
    this.settle();
    const s = this.state;
    if (s === null) return { hit: [], miss: [], mutated: [], prefixes: [] };
    const p = prefix?.toString('latin1');
    const filter = p === undefined ? undefined : (key: string) => key.startsWith(p);
    return {
      hit: s.hits.top(limit, ms, filter),
      miss: s.misses.top(limit, ms, filter),
      mutated: s.mutations.top(limit, ms, filter),
      prefixes: s.prefixes.top(limit, ms, filter),
    };
  }

  /** The window's estimates for one key. */
  keyCounts(key: Buffer, ms: number): { hits: number; misses: number; mutations: number } {
    this.settle();
    const s = this.state;
    if (s === null) return { hits: 0, misses: 0, mutations: 0 };
    const h = hashBytes(key, 0, key.length, this.basis);
    return { hits: s.hits.countOf(key, h, ms), misses: s.misses.countOf(key, h, ms), mutations: s.mutations.countOf(key, h, ms) };
  }

  recent(limit: number): RequestLine[] {
    return this.state === null ? [] : this.state.ring.lines(limit);
  }

  /** Walks a slice of the cache for prefixes still counting existing keys in. */
  scanStep(store: SlotScanner, maxSlots: number, deadline: number): void {
    this.watched.scanStep(store, maxSlots, deadline);
  }

  // ---- internals ----

  /** A line the sampler took (LineSink): into the node's batch, to be counted with others. */
  take(meta: number, keys: Buffer, start: number, end: number, ms: number, weight: number): void {
    this.events += weight;
    this.batch.add(this, meta, keys, start, end, ms, weight);
  }

  /** A sample from the batch (SampleCounter): counted for its key and its key's prefix. (The state it was taken for, or none: the batch drops a cache's samples when its state goes.) */
  count(meta: number, keys: Buffer, start: number, end: number, ms: number, weight: number): void {
    const s = this.state;
    if (s === null) return;
    const kind = LINE_KIND[meta & LINE_KIND_MASK]!;
    hashKeyAndPrefix(keys, start, end, this.basis, SEPARATOR);
    const h = KEY_AND_PREFIX.hash;
    const p = KEY_AND_PREFIX.prefixEnd;
    if (kind & LINE_HIT) s.hits.add(keys, start, end, h, weight, ms);
    if (kind & LINE_MISS) s.misses.add(keys, start, end, h, weight, ms);
    if (kind & LINE_MUTATION) s.mutations.add(keys, start, end, h, weight, ms);
    if (p > start) s.prefixes.add(keys, start, p, KEY_AND_PREFIX.prefixHash, weight, ms);
  }

  /** The batch counted this cache's samples (SampleCounter): the sketches' new keys are charged now, wherever the flush came from. */
  counted(): void {
    if (this.state !== null) this.payFor(this.state);
  }

  private open(ms: number): WindowState | null {
    if (ms < this.retryAt) return null;
    this.lastActive = ms;
    let state = this.budget.reuse(this);
    if (state !== null) {
      this.charged = state.memoryBytes;
    } else {
      if (!this.budget.charge(this, EMPTY_STATE_BYTES)) {
        this.retryAt = ms + 1000;
        return null;
      }
      this.charged = EMPTY_STATE_BYTES;
      state = new WindowState();
    }
    // The ring's key bytes grow only when charged: no state ever holds more than it paid
    // for, and a state dropped since (its charge given back) is charged nothing more.
    const mine = state;
    state.ring.mayGrow = (bytes) => {
      if (this.state !== mine || !this.budget.charge(this, bytes)) return false;
      this.charged += bytes;
      return true;
    };
    this.state = state;
    return state;
  }
}
