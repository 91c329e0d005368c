/**
 * The node's background expiry crawler, as memcached 1.6's LRU crawler: expiry is lazy in
 * the store (an item is removed when something meets it), so a cache whose TTL'd keys are
 * never read again would count them in curr_items, bytes and its watched prefixes forever.
 * Once a second this walks a bounded number of each cache's slots and reaps the dead ones
 * (TenantStore.reap: the same removal a lookup does, so `expired`, the listener's
 * `removed(key, 'expire')` and `item` events are exactly as for a lazy expiry).
 *
 * Cost is bounded per second whatever the node holds: at most `maxSlots` slots and about
 * `maxMs` of CPU, whichever comes first, taken in turns of `turnSlots` per cache,
 * round-robin over the caches and starting where the last second stopped, so every cache's
 * dead items go within (its slots / its share of the budget) seconds and a big cache
 * cannot starve the others. Each cache keeps its own cursor between seconds.
 */
import type { TenantStore } from '../store/tenant-store.ts';
import type { Tenants } from './tenants.ts';

export interface ExpiryCrawlerOptions {
  /** Slots visited per run at most, over all caches. */
  readonly maxSlots?: number;
  /** Milliseconds of work per run at most (checked after each turn). */
  readonly maxMs?: number;
  /** Slots one cache's turn visits at most before the next cache's turn. */
  readonly turnSlots?: number;
  readonly intervalMs?: number;
}

export const EXPIRY_CRAWL_MAX_SLOTS = 65_536;
export const EXPIRY_CRAWL_MAX_MS = 2;
const TURN_SLOTS = 4096;
const INTERVAL_MS = 1000;

export class ExpiryCrawler {
  private readonly maxSlots: number;
  private readonly maxMs: number;
  private readonly turnSlots: number;
  private readonly intervalMs: number;
  /** Where each cache's next turn starts (a store replaced by another cache's is a new key). */
  private readonly cursors = new WeakMap<TenantStore, number>();
  /** The cache id whose turn comes first in the next run (round-robin across runs). */
  private nextId = -1;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly tenants: Pick<Tenants, 'all'>, opts: ExpiryCrawlerOptions = {}) {
    this.maxSlots = opts.maxSlots ?? EXPIRY_CRAWL_MAX_SLOTS;
    this.maxMs = opts.maxMs ?? EXPIRY_CRAWL_MAX_MS;
    this.turnSlots = opts.turnSlots ?? TURN_SLOTS;
    this.intervalMs = opts.intervalMs ?? INTERVAL_MS;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.run(Date.now()), this.intervalMs).unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One run at `nowMs`; returns the slots visited (tests). */
  run(nowMs: number): number {
    // By id, so "where the last run stopped" survives caches coming and going.
    const caches = [...this.tenants.all()].sort((a, b) => a.id - b.id);
    const n = caches.length;
    if (n === 0) return 0;
    const now = Math.floor(nowMs / 1000);
    const started = performance.now();
    let first = caches.findIndex((t) => t.id >= this.nextId);
    if (first < 0) first = 0;
    // A cache whose pass ended in this run waits for the next run (a small cache is not rescanned in a loop).
    const passed = new Uint8Array(n);
    let passing = n;
    let budget = this.maxSlots;
    let i = first;
    while (budget > 0 && passing > 0) {
      if (passed[i] === 0) {
        const store = caches[i]!.store;
        const from = this.cursors.get(store) ?? 0;
        const span = store.slotSpan;
        const start = from < span ? from : 0;
        const step = Math.min(this.turnSlots, budget);
        const next = store.reap(start, step, now);
        budget -= next === 0 ? Math.max(1, Math.min(step, span - start)) : next - start;
        this.cursors.set(store, next);
        if (next === 0) {
          passed[i] = 1;
          passing--;
        }
        if (performance.now() - started >= this.maxMs) {
          i = (i + 1) % n;
          break;
        }
      }
      i = (i + 1) % n;
    }
    this.nextId = caches[i]!.id;
    return this.maxSlots - budget;
  }
}
