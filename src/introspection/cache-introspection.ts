/**
 * One cache's introspection on one node: it listens to the cache's store (StoreListener)
 * and keeps the hot-key sketches, the request ring and the watched prefixes' counters.
 * The sketches and the ring (the "window state") are made at the cache's first request and
 * can be dropped by the node's memory cap (registry.ts) and made again later; the watched
 * prefixes' counters are never dropped (they must stay exact, and are small).
 */
import type { RemovalCause, StoreListener } from '../store/store-listener.ts';
import { EventSampler } from './event-sampler.ts';
import { RequestRing, type RequestLine } from './request-ring.ts';
import { hashBytes, TopKeys, type TopEntry } from './top-keys.ts';
import { WatchedPrefixes, type SlotScanner } from './watched-prefixes.ts';

/** The window popular items cover: 6 sub-windows of 30 s. */
export const WINDOW_MS = 180_000;
const SUB_WINDOWS = 6;
const KEY_CAPACITY = 256;
const PREFIX_CAPACITY = 128;
export const RING_LINES = 1000;

/** Where the automatic prefix of the key key[start, end) ends: its last separator (excluded); -1 for none. */
export function prefixEnd(key: Buffer, start = 0, end = key.length): number {
  for (let i = end - 1; i > start; i--) {
    const b = key[i];
    // : / . _ - | #
    if (b === 0x3a || b === 0x2f || b === 0x2e || b === 0x5f || b === 0x2d || b === 0x7c || b === 0x23) return i;
  }
  return -1;
}

/** Sampled events wait in a batch of at most this many… */
const BATCH_SAMPLES = 32;
/** …whose keys fit in this many bytes together. */
const BATCH_KEY_BYTES = 2048;

/**
 * Sampled events not yet counted. One at a time, a sample found the sketches cold in the
 * CPU's caches (the requests between two samples had moved them out) and cost 3-4 µs
 * instead of 0.6; counted in batches, they stay warm after the first. Readers, and the
 * registry's once-a-second settle, count the batch first, so nothing waits for long.
 */
class SampleBatch {
  readonly keys = Buffer.allocUnsafe(BATCH_KEY_BYTES);
  readonly lengths = new Uint16Array(BATCH_SAMPLES);
  readonly lists = new Uint8Array(BATCH_SAMPLES);
  readonly weights = new Float64Array(BATCH_SAMPLES);
  readonly times = new Float64Array(BATCH_SAMPLES);
  count = 0;
  keyBytes = 0;

  static readonly BYTES = BATCH_KEY_BYTES + BATCH_SAMPLES * (2 + 1 + 8 + 8);
}

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
  /** Drops the state (the budget has taken its charge back); not again before `retryAt` ms. */
  dropWindowState(retryAt: number): void;
}

/** The node's memory cap on window states: every byte a state holds is charged before it is taken. */
export interface WindowStateBudget {
  /** Charges `bytes` more to `owner` (making room by dropping others); false: no room. */
  charge(owner: WindowStateOwner, bytes: number): boolean;
  /** Gives back `bytes` of `owner`'s charge (its state shrank or went). */
  refund(bytes: number): void;
}

class WindowState {
  readonly hits = new TopKeys(KEY_CAPACITY, SUB_WINDOWS, WINDOW_MS / SUB_WINDOWS);
  readonly misses = new TopKeys(KEY_CAPACITY, SUB_WINDOWS, WINDOW_MS / SUB_WINDOWS);
  readonly mutations = new TopKeys(KEY_CAPACITY, SUB_WINDOWS, WINDOW_MS / SUB_WINDOWS);
  readonly prefixes = new TopKeys(PREFIX_CAPACITY, SUB_WINDOWS, WINDOW_MS / SUB_WINDOWS);
  readonly ring: RequestRing;
  readonly batch = new SampleBatch();

  constructor(mayGrow: (bytes: number) => boolean) {
    this.ring = new RequestRing(RING_LINES, mayGrow);
  }

  get memoryBytes(): number {
    return this.hits.memoryBytes + this.misses.memoryBytes + this.mutations.memoryBytes + this.prefixes.memoryBytes
      + this.ring.memoryBytes + SampleBatch.BYTES;
  }
}

/** A fresh state's size before any key is held: what admission asks for. */
const EMPTY_STATE_BYTES = new WindowState(() => true).memoryBytes;
/** A state dropped to keep under the cap is not made again for this long (no drop-and-rebuild churn). */
export const DROPPED_RETRY_MS = 5000;

export class CacheIntrospection implements StoreListener, WindowStateOwner {
  readonly watched = new WatchedPrefixes();
  private readonly sampler = new EventSampler();
  private state: WindowState | null = null;
  /** No state is made before this ms (refused or dropped by the budget). */
  private retryAt = -Infinity;
  charged = 0;
  private readonly basis = (Math.random() * 0x100000000) | 0;
  lastActive = 0;

  constructor(private readonly budget: WindowStateBudget) {}

  get tracksItems(): boolean {
    return this.watched.size !== 0;
  }

  get memoryBytes(): number {
    return this.state === null ? 0 : this.state.memoryBytes;
  }

  get hasWindowState(): boolean {
    return this.state !== null;
  }

  dropWindowState(retryAt: number): void {
    this.state = null;
    this.charged = 0;
    this.retryAt = retryAt;
  }

  /**
   * Counts the batch of samples waiting, and brings the charge to what the state holds
   * now: a grown state pays (or, refused, is dropped), a shrunk one is refunded. After each
   * batch and once a second.
   */
  settle(): void {
    const s = this.state;
    if (s === null) return;
    if (s.batch.count !== 0) this.count(s);
    this.payFor(s);
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

  /** Sampled events a second this cache's sketches may take (registry.ts sets it once a second). */
  setSamplingBudget(perSecond: number): void {
    this.sampler.setBudget(perSecond);
  }

  /** Key events (hits, misses, mutations) seen since the last call, as the sampler estimates them. */
  takeEventCount(): number {
    return this.sampler.takeCounted();
  }

  get samplingBudget(): number {
    return this.sampler.eventsPerSecond;
  }

  /** Drops the state and gives its whole charge back (switched off, or no room for it). */
  release(retryAt: number): void {
    this.budget.refund(this.charged);
    this.dropWindowState(retryAt);
  }

  // ---- StoreListener ----

  hit(key: Buffer): void {
    if (this.watched.size !== 0) this.watched.hit(key);
    if (this.sampler.skip()) return;
    this.sample(key, 0);
  }

  miss(key: Buffer): void {
    if (this.watched.size !== 0) this.watched.miss(key);
    if (this.sampler.skip()) return;
    this.sample(key, 1);
  }

  stored(key: Buffer): void {
    this.mutation(key);
  }

  mutated(key: Buffer): void {
    this.mutation(key);
  }

  removed(key: Buffer, cause: RemovalCause): void {
    if (cause === 'delete') this.mutation(key);
  }

  cleared(): void {
    this.watched.cleared();
  }

  item(slot: number, key: Buffer, before: number, after: number): void {
    this.watched.item(slot, key, before, after);
  }

  // ---- request log ----

  /** One line of the request ring (`command`/`status` index COMMANDS/STATUSES). */
  log(time: number, command: number, status: number, key: Buffer | null, size: number): void {
    const s = this.state ?? this.open(time);
    if (s === null) return;
    this.lastActive = time;
    s.ring.record(time, command, status, key, size);
  }

  /** The lines of a get's reply (RequestRing.recordValues). */
  logValues(time: number, command: number, keys: readonly Buffer[], from: number, items: readonly ({ readonly value: Uint8Array } | null)[]): void {
    const s = this.state ?? this.open(time);
    if (s === null) return;
    this.lastActive = time;
    s.ring.recordValues(time, command, keys, from, items);
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

  private mutation(key: Buffer): void {
    if (this.watched.size !== 0) this.watched.mutation(key);
    if (this.sampler.skip()) return;
    this.sample(key, 2);
  }

  /** A sampled event: `list` 0 hits, 1 misses, 2 mutations; it waits in the batch to be counted. */
  private sample(key: Buffer, list: number): void {
    const ms = Date.now();
    this.sampler.taken(ms);
    const s = this.state ?? this.open(ms);
    if (s === null) return;
    const b = s.batch;
    const len = key.length;
    if (b.keyBytes + len > BATCH_KEY_BYTES) {
      this.settle();
      // A state the charge dropped, or a key longer than a batch (keys are 250 bytes by default).
      if (this.state !== s || len > BATCH_KEY_BYTES) return;
    }
    const at = b.keyBytes;
    const keys = b.keys;
    for (let i = 0; i < len; i++) keys[at + i] = key[i]!;
    const n = b.count;
    b.lengths[n] = len;
    b.lists[n] = list;
    b.weights[n] = this.sampler.weight;
    b.times[n] = ms;
    b.keyBytes = at + len;
    b.count = n + 1;
    if (n + 1 === BATCH_SAMPLES) this.settle();
  }

  /** Counts the batch into the sketches; every event also counts for its key's prefix. */
  private count(s: WindowState): void {
    const b = s.batch;
    const keys = b.keys;
    let at = 0;
    for (let i = 0; i < b.count; i++) {
      const end = at + b.lengths[i]!;
      const list = b.lists[i]!;
      const w = b.weights[i]!;
      const ms = b.times[i]!;
      const sketch = list === 0 ? s.hits : list === 1 ? s.misses : s.mutations;
      sketch.add(keys, at, end, hashBytes(keys, at, end, this.basis), w, ms);
      const p = prefixEnd(keys, at, end);
      if (p > at) s.prefixes.add(keys, at, p, hashBytes(keys, at, p, this.basis), w, ms);
      at = end;
    }
    b.count = 0;
    b.keyBytes = 0;
  }

  private open(ms: number): WindowState | null {
    if (ms < this.retryAt) return null;
    this.lastActive = ms;
    if (!this.budget.charge(this, EMPTY_STATE_BYTES)) {
      this.retryAt = ms + 1000;
      return null;
    }
    this.charged = EMPTY_STATE_BYTES;
    // The ring's key bytes grow only when charged: no state ever holds more than it paid for.
    this.state = new WindowState((bytes) => {
      if (!this.budget.charge(this, bytes)) return false;
      this.charged += bytes;
      return true;
    });
    return this.state;
  }
}
