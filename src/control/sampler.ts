/**
 * History: every `intervalMs` the sampler reads each enabled cache's stats from each node
 * (through the admin endpoints) and stores them raw, stamped with the sample time; once
 * an hour (and at start) it thins old samples per the retention policy: full resolution
 * for `rawMs`, then one sample per hour per (cache, server) until `hourlyMs`, then gone.
 *
 * Several control planes may share one catalog. They do not coordinate: rounds start on
 * multiples of the interval, and the catalog keeps one sample per (cache, server, interval
 * slot), atomically, so N planes together still write exactly one sample per interval.
 *
 * Each round's stats also go to the idle watcher (idle.ts): it records which caches had
 * memcache traffic and, with --disable-idle-days, disables those idle too long.
 */
import type { Catalog, HistorySample, RetentionPolicy } from '../catalog/catalog.ts';
import type { NodeClient } from './node-client.ts';
import type { CacheRound, IdleWatcher } from './idle.ts';
import { SlotRounds } from './slot-rounds.ts';

const DAY_MS = 86_400_000;
export const DEFAULT_RETENTION: RetentionPolicy = { rawMs: 7 * DAY_MS, hourlyMs: 90 * DAY_MS };

export interface SamplerOptions {
  readonly catalog: Catalog;
  readonly nodes: NodeClient;
  readonly intervalMs: number;
  readonly retention?: RetentionPolicy;
  /** How often to thin; default one hour. */
  readonly thinEveryMs?: number;
  readonly now?: () => number;
  /** Unexpected failures of a round (a node not answering is not one). */
  readonly onError?: (error: unknown) => void;
  /** Shown each round's stats: records memcache traffic, disables idle caches (idle.ts). */
  readonly idle?: IdleWatcher;
}

export class HistorySampler {
  private lastThin = -Infinity;
  private readonly now: () => number;
  private readonly rounds: SlotRounds;
  readonly retention: RetentionPolicy;

  constructor(private readonly opts: SamplerOptions) {
    this.now = opts.now ?? Date.now;
    this.retention = opts.retention ?? DEFAULT_RETENTION;
    this.rounds = new SlotRounds(opts.intervalMs, this.now, () => this.runRound(this.now()));
  }

  /** Samples now, then at each next multiple of the interval (slot-rounds.ts). */
  start(): void {
    this.rounds.start();
  }

  /** Stops the timer and waits for a round in flight. */
  stop(): Promise<void> {
    return this.rounds.stop();
  }

  private async runRound(now: number): Promise<void> {
    try {
      await this.sampleOnce(now);
      if (now - this.lastThin >= (this.opts.thinEveryMs ?? 3_600_000)) {
        this.lastThin = now;
        await this.thin(now);
      }
    } catch (e) {
      this.opts.onError?.(e);
    }
  }

  /** One round: returns the samples it offered (the catalog keeps the first per slot). */
  async sampleOnce(now = this.now()): Promise<HistorySample[]> {
    const { catalog, nodes: client, intervalMs } = this.opts;
    const [caches, nodes] = await Promise.all([catalog.listCaches(), catalog.listNodes()]);
    const round: CacheRound[] = [];
    const perCache = await Promise.all(
      caches.filter((c) => c.enabled).map(async (cache) => {
        const { ok, failed } = await client.stats(cache.id, nodes);
        round.push({ cacheId: cache.id, stats: ok, incomplete: failed.length > 0 });
        const samples = [...ok].map(([server, stats]): HistorySample => ({ cacheId: cache.id, server, timestamp: now, stats }));
        if (samples.length) await catalog.addHistory(samples, intervalMs);
        return samples;
      }),
    );
    await this.opts.idle?.observe(now, round);
    return perCache.flat();
  }

  /** Applies the retention policy; returns the number of samples removed. */
  thin(now = this.now()): Promise<number> {
    return this.opts.catalog.thinHistory(this.retention, now);
  }
}
