/**
 * Exact counters of the prefixes a cache watches: keys and bytes under the prefix (gauges),
 * hits, misses and mutations since watching (counters). The gauges start from a walk over
 * the cache's slots (`scanStep`, a bounded slice at a time): an item counts once the walk
 * has passed its slot, and the store's item events adjust only slots below the walk's
 * cursor, so an item that changes while the walk runs is counted exactly once.
 *
 * It is the store's listener while the cache watches a prefix (and only then: the
 * listener's calls are on every request's path).
 */
import type { WatchedPrefixCounters } from '../shared/prefix-counters.ts';
import type { RemovalCause, StoreListener } from '../store/store-listener.ts';

/** What a walk step needs of the store (TenantStore.scanSlots). */
export interface SlotScanner {
  scanSlots(from: number, max: number, visit: (slot: number, key: Buffer, size: number) => void): number;
}

interface Watch {
  readonly id: number;
  readonly prefix: Buffer;
  keys: number;
  bytes: number;
  hits: number;
  misses: number;
  mutations: number;
  /** Next slot the walk visits; -1 once it is done. */
  cursor: number;
}

export class WatchedPrefixes implements StoreListener {
  private watches: Watch[] = [];

  get size(): number {
    return this.watches.length;
  }

  get tracksItems(): boolean {
    return this.watches.length !== 0;
  }

  /** True while some watch's walk has slots left. */
  get scanning(): boolean {
    for (const w of this.watches) if (w.cursor !== -1) return true;
    return false;
  }

  /** Follows the catalog's list: new prefixes start (with a walk), gone ones are dropped, kept ones keep counting. */
  follow(list: readonly { readonly id: number; readonly name: string }[]): void {
    const byId = new Map(this.watches.map((w) => [w.id, w]));
    this.watches = list.map((p) => {
      const prefix = Buffer.from(p.name, 'utf8');
      const cur = byId.get(p.id);
      if (cur && cur.prefix.equals(prefix)) return cur;
      return { id: p.id, prefix, keys: 0, bytes: 0, hits: 0, misses: 0, mutations: 0, cursor: 0 };
    });
  }

  counters(): WatchedPrefixCounters[] {
    return this.watches.map((w) => ({
      id: w.id, keys: w.keys, bytes: w.bytes, hits: w.hits, misses: w.misses, mutations: w.mutations, scanning: w.cursor !== -1,
    }));
  }

  hit(key: Buffer): void {
    for (const w of this.watches) if (under(key, w.prefix)) w.hits++;
  }

  miss(key: Buffer): void {
    for (const w of this.watches) if (under(key, w.prefix)) w.misses++;
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

  private mutation(key: Buffer): void {
    for (const w of this.watches) if (under(key, w.prefix)) w.mutations++;
  }

  item(slot: number, key: Buffer, before: number, after: number): void {
    for (const w of this.watches) {
      if ((w.cursor !== -1 && slot >= w.cursor) || !under(key, w.prefix)) continue;
      w.bytes += after - before;
      w.keys += (after > 0 ? 1 : 0) - (before > 0 ? 1 : 0);
    }
  }

  /** The cache was emptied at once: nothing is left to count or to walk. */
  cleared(): void {
    for (const w of this.watches) {
      w.keys = 0;
      w.bytes = 0;
      w.cursor = -1;
    }
  }

  /** Walks up to `maxSlots` slots for each watch still walking, until `deadline` (performance.now() ms). */
  scanStep(store: SlotScanner, maxSlots: number, deadline = Infinity): void {
    for (const w of this.watches) {
      if (w.cursor === -1) continue;
      if (performance.now() >= deadline) return;
      w.cursor = store.scanSlots(w.cursor, maxSlots, (_slot, key, size) => {
        if (!under(key, w.prefix)) return;
        w.keys++;
        w.bytes += size;
      });
    }
  }
}

function under(key: Buffer, prefix: Buffer): boolean {
  const n = prefix.length;
  if (key.length < n) return false;
  for (let i = 0; i < n; i++) if (key[i] !== prefix[i]) return false;
  return true;
}
