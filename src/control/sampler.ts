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
 * Caches with watched prefixes (and introspection on) also have each node's cumulative
 * prefix counters read and stored the same way (`addPrefixHistory`, one row per cache,
 * prefix, server and slot): introspection's prefix stats are built from them. A node that
 * does not answer leaves a gap, as for the stats.
 *
 * Each round's stats also go to the idle watcher (idle.ts): it records which caches had
 * memcache traffic and, with --disable-idle-days, disables those idle too long.
 *
 * The last round's stats stay in memory (`latest`) with the rounds' counts (`counts`):
 * the control plane's /metrics serves those (metrics.ts), so a scrape never asks a node.
 */
import type { CacheRecord, Catalog, HistorySample, NodeRecord, PrefixSample, RetentionPolicy } from '../catalog/catalog.ts';
import type { NodeClient } from './node-client.ts';
import type { ServerStats } from '../api/v1.ts';
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

/** The stats of the last round that finished, per cache id, then per server. */
export interface LatestStats {
  /** When that round started (ms); 0 before the first. */
  readonly at: number;
  readonly caches: ReadonlyMap<number, ReadonlyMap<string, ServerStats>>;
}

export interface SamplerCounts {
  rounds: number;
  /** Rounds that failed outright (the catalog did not answer…). */
  roundErrors: number;
  /** (cache, server) samples offered to the catalog. */
  samples: number;
  /** (cache, server) stats requests a node did not answer. */
  nodeFailures: number;
  /** Thinning passes, and the samples they removed. */
  thins: number;
  thinned: number;
}

export class HistorySampler {
  latest: LatestStats = { at: 0, caches: new Map() };
  readonly counts: SamplerCounts = { rounds: 0, roundErrors: 0, samples: 0, nodeFailures: 0, thins: 0, thinned: 0 };
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
      this.counts.roundErrors++;
      this.opts.onError?.(e);
    }
  }

  /** One round: returns the samples it offered (the catalog keeps the first per slot). */
  async sampleOnce(now = this.now()): Promise<HistorySample[]> {
    const { catalog, nodes: client, intervalMs } = this.opts;
    const [caches, nodes] = await Promise.all([catalog.listCaches(), catalog.listNodes()]);
    const round: CacheRound[] = [];
    const latest = new Map<number, ReadonlyMap<string, ServerStats>>();
    const perCache = await Promise.all(
      caches.filter((c) => c.enabled).map(async (cache) => {
        const serving = nodes.filter((n) => n.cluster === cache.cluster);
        const [{ ok, failed }] = await Promise.all([client.stats(cache.id, serving), this.samplePrefixes(cache, serving, now).catch((e) => this.opts.onError?.(e))]);
        round.push({ cacheId: cache.id, stats: ok, incomplete: failed.length > 0 });
        latest.set(cache.id, ok);
        this.counts.nodeFailures += failed.length;
        this.counts.samples += ok.size;
        const samples = [...ok].map(([server, stats]): HistorySample => ({ cacheId: cache.id, server, timestamp: now, stats }));
        if (samples.length) await catalog.addHistory(samples, intervalMs);
        return samples;
      }),
    );
    this.latest = { at: now, caches: latest };
    this.counts.rounds++;
    await this.opts.idle?.observe(now, round);
    return perCache.flat();
  }

  /** Stores each node's counters of the cache's watched prefixes (none asked for a cache without). */
  private async samplePrefixes(cache: CacheRecord, nodes: readonly NodeRecord[], now: number): Promise<void> {
    if (cache.introspection === false || cache.watchedPrefixes.length === 0) return;
    const watched = new Set(cache.watchedPrefixes.map((p) => p.id));
    const { ok } = await this.opts.nodes.prefixCounters(cache.id, nodes);
    const rows: PrefixSample[] = [];
    for (const [server, counters] of ok) {
      for (const c of counters) {
        // A node may still count a prefix unwatched since it last synced: not stored. (One
        // unwatched during this round may still get a row; ids are never reused, so no
        // answer shows it, and retention drops it.)
        if (!watched.has(c.id)) continue;
        rows.push({
          cacheId: cache.id, prefixId: c.id, server, timestamp: now,
          keys: c.keys, bytes: c.bytes, hits: c.hits, misses: c.misses, mutations: c.mutations,
        });
      }
    }
    if (rows.length) await this.opts.catalog.addPrefixHistory(rows, this.opts.intervalMs);
  }

  /** Applies the retention policy; returns the number of samples removed. */
  async thin(now = this.now()): Promise<number> {
    const removed = await this.opts.catalog.thinHistory(this.retention, now);
    this.counts.thins++;
    this.counts.thinned += removed;
    return removed;
  }
}
