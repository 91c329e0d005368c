/**
 * A node's introspection: one CacheIntrospection per cache, a cap on the memory their
 * window states take together (`--introspection-memory`), and the background walks that
 * count a newly watched prefix's existing keys in. Over the cap, the states of the least
 * recently active caches are dropped first (they are made again at their next request);
 * a cap too small for one state leaves windows off.
 */
import { CacheIntrospection, type WindowStateBudget, type WindowStateOwner } from './cache-introspection.ts';
import type { SlotScanner } from './watched-prefixes.ts';

export const DEFAULT_INTROSPECTION_MEMORY = 64 * 1024 * 1024;
/** Slots a watched prefix's walk visits per cache per turn of the event loop. */
const SCAN_SLOTS_PER_TURN = 4096;
/** After an eviction the states take at most this share of the cap, so evictions come in batches. */
const REFILL_SHARE = 0.9;

export interface IntrospectionSettings {
  /** False: `--no-introspection`, nothing is kept on this node. */
  readonly enabled: boolean;
  readonly memoryBytes: number;
}

export class IntrospectionRegistry implements WindowStateBudget {
  private readonly caches = new Set<CacheIntrospection>();
  private readonly walking = new Map<CacheIntrospection, SlotScanner>();
  private walkScheduled = false;
  private readonly timer: NodeJS.Timeout;
  /** Window states dropped to keep under the cap (a metric and a test's evidence). */
  dropped = 0;

  constructor(readonly settings: IntrospectionSettings) {
    this.timer = setInterval(() => this.enforce(), 1000);
    this.timer.unref();
  }

  /** A cache's introspection, or null when the node has it off. */
  create(): CacheIntrospection | null {
    if (!this.settings.enabled) return null;
    const ci = new CacheIntrospection(this);
    this.caches.add(ci);
    return ci;
  }

  /** The cache went, or an operator switched its introspection off. */
  release(ci: CacheIntrospection): void {
    ci.dropWindowState();
    this.caches.delete(ci);
    this.walking.delete(ci);
  }

  /** Starts (or continues) the walk of a cache whose watched prefixes changed. */
  walk(ci: CacheIntrospection, store: SlotScanner): void {
    if (!ci.watched.scanning) return;
    this.walking.set(ci, store);
    if (this.walkScheduled) return;
    this.walkScheduled = true;
    setImmediate(() => this.walkTurn());
  }

  get memoryBytes(): number {
    let sum = 0;
    for (const ci of this.caches) sum += ci.memoryBytes;
    return sum;
  }

  /** Caches holding a window state now. */
  get activeCaches(): number {
    let n = 0;
    for (const ci of this.caches) if (ci.hasWindowState) n++;
    return n;
  }

  admit(owner: WindowStateOwner, bytes: number): boolean {
    const cap = this.settings.memoryBytes;
    if (bytes > cap) return false;
    if (this.memoryBytes + bytes > cap) this.shrinkTo(cap * REFILL_SHARE - bytes, owner);
    return this.memoryBytes + bytes <= cap;
  }

  close(): void {
    clearInterval(this.timer);
    this.walking.clear();
  }

  /** Once a second: states grow as they hold more keys, so the cap is checked again. */
  enforce(): void {
    const cap = this.settings.memoryBytes;
    if (this.memoryBytes > cap) this.shrinkTo(cap * REFILL_SHARE, null);
  }

  private shrinkTo(target: number, keep: WindowStateOwner | null): void {
    const holders = [...this.caches].filter((ci) => ci.hasWindowState && ci !== keep);
    holders.sort((a, b) => a.lastActive - b.lastActive);
    let total = this.memoryBytes;
    for (const ci of holders) {
      if (total <= target) break;
      total -= ci.memoryBytes;
      ci.dropWindowState();
      this.dropped++;
    }
  }

  private walkTurn(): void {
    for (const [ci, store] of this.walking) {
      ci.scanStep(store, SCAN_SLOTS_PER_TURN);
      if (!ci.watched.scanning) this.walking.delete(ci);
    }
    this.walkScheduled = this.walking.size > 0;
    if (this.walkScheduled) setImmediate(() => this.walkTurn());
  }
}
