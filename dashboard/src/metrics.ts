/**
 * What the views show, computed from the API's raw numbers: totals over a cache's
 * servers, hit rates and their colour band, and the history as chart series.
 *
 * History rates are computed per server, from each server's own consecutive samples
 * ((counter now − counter before) ÷ seconds between them), then summed at each sample
 * time. That stays right when servers are sampled at different moments (several control
 * planes), across a node restart (a counter that went down restarted from zero), and for
 * downsampled history (long ranges ask the API for one sample per `step`): the kept
 * samples are the last of each bucket, so a delta is exact and the time between kept
 * samples, however uneven, is what it divides by.
 */
import type { HistoryRecord, ServerStats, StatsResponse } from './api-client.ts';

export type Stats = ServerStats;
export type StatKey = keyof Stats;

/** Sum of every stat over the servers (`time` becomes the newest). */
export function totalStats(stats: StatsResponse): Stats | undefined {
  const list = Object.values(stats);
  if (!list.length) return undefined;
  const total = { ...list[0]! } as Record<string, number>;
  for (const s of list.slice(1)) {
    for (const [k, v] of Object.entries(s)) total[k] = k === 'time' ? Math.max(total[k] ?? 0, v) : (total[k] ?? 0) + v;
  }
  return total as Stats;
}

export function ratio(hits: number, misses: number): number | null {
  const all = hits + misses;
  return all > 0 ? hits / all : null;
}

export type Band = 'good' | 'fair' | 'poor' | 'none';

/** ≥ 80 % good, ≥ 50 % fair, below that poor; no gets yet: none. */
export function hitBand(rate: number | null): Band {
  if (rate === null) return 'none';
  return rate >= 0.8 ? 'good' : rate >= 0.5 ? 'fair' : 'poor';
}

export const BAND_LABEL: Record<Band, string> = { good: 'Good', fair: 'Fair', poor: 'Poor', none: 'No data' };

/** The commands whose hits and misses memcached counts, in the order MemCachier lists them. */
export const HIT_MISS_COMMANDS = [
  { name: 'get', hits: 'get_hits', misses: 'get_misses' },
  { name: 'delete', hits: 'delete_hits', misses: 'delete_misses' },
  { name: 'incr', hits: 'incr_hits', misses: 'incr_misses' },
  { name: 'decr', hits: 'decr_hits', misses: 'decr_misses' },
  { name: 'cas', hits: 'cas_hits', misses: 'cas_misses' },
  { name: 'touch', hits: 'touch_hits', misses: 'touch_misses' },
] as const satisfies readonly { name: string; hits: StatKey; misses: StatKey }[];

/** Requests per command for the rate chart: each is a sum of counters. */
export const COMMAND_RATES = [
  { name: 'get', counters: ['cmd_get'] },
  { name: 'set', counters: ['cmd_set'] },
  { name: 'delete', counters: ['cmd_delete'] },
  { name: 'incr', counters: ['incr_hits', 'incr_misses'] },
  { name: 'decr', counters: ['decr_hits', 'decr_misses'] },
  { name: 'cas', counters: ['cas_hits', 'cas_misses', 'cas_badval'] },
  { name: 'touch', counters: ['cmd_touch'] },
  { name: 'flush', counters: ['cmd_flush'] },
] as const satisfies readonly { name: string; counters: readonly StatKey[] }[];

/** Counters whose per-second rate the charts need. */
const RATE_COUNTERS = [
  'cmd_get', 'cmd_set', 'cmd_delete', 'cmd_touch', 'cmd_flush', 'incr_hits', 'incr_misses', 'decr_hits', 'decr_misses',
  'cas_hits', 'cas_misses', 'cas_badval', 'get_hits', 'get_misses', 'evictions', 'expired', 'total_connections',
] as const satisfies readonly StatKey[];
type RateCounter = (typeof RATE_COUNTERS)[number];
type Rates = Record<RateCounter, number>;

/** Chart-ready columns, one entry per sample time (seconds, as uPlot wants). */
export interface HistorySeries {
  readonly t: number[];
  readonly bytes: number[];
  readonly limit: number[];
  readonly items: number[];
  readonly connections: number[];
  /** Hit rate of the gets in each interval, as a percentage; null without gets. */
  readonly hitRate: (number | null)[];
  readonly newConnections: (number | null)[];
  readonly evictions: (number | null)[];
  readonly expired: (number | null)[];
  /** Requests per second, by COMMAND_RATES name. */
  readonly commands: Record<string, (number | null)[]>;
}

interface ServerState {
  stats: Record<string, number>;
  at: number;
  rates: Rates | null;
}

/** Typical time between two samples of one server, from the newest gaps (median); undefined if unknown. */
export function samplingIntervalMs(records: readonly HistoryRecord[]): number | undefined {
  const last = new Map<string, number>();
  const gaps: number[] = [];
  for (const r of records) {
    const t = Number(r.timestamp);
    const prev = last.get(r.server);
    if (prev !== undefined && t > prev) gaps.push(t - prev);
    last.set(r.server, t);
  }
  if (!gaps.length) return undefined;
  const recent = gaps.slice(-30).sort((a, b) => a - b);
  return recent[Math.floor(recent.length / 2)];
}

/** At most this many samples per server are fetched for a chart; longer ranges ask for a `step`. */
export const MAX_CHART_POINTS = 2000;
/** About this many points per server when downsampling. */
const TARGET_CHART_POINTS = 1500;

/**
 * The `step` (ms) to fetch a range of history with: undefined while the range holds at
 * most MAX_CHART_POINTS samples per server at the sampling interval (unknown: assume the
 * finest, 1 s); otherwise a whole multiple of the interval, so the kept samples are evenly
 * spaced, giving about TARGET_CHART_POINTS per server.
 */
export function historyStepMs(rangeMs: number, intervalMs = 1000): number | undefined {
  const unit = Math.max(1000, Math.round(intervalMs / 1000) * 1000);
  if (rangeMs / unit <= MAX_CHART_POINTS) return undefined;
  return Math.ceil(rangeMs / TARGET_CHART_POINTS / unit) * unit;
}

/**
 * Records kept so far plus freshly fetched ones, oldest first, from `cutoff` on: one per
 * (server, timestamp), or with `stepMs` one per (server, bucket), the newest, as the API
 * keeps them (a refresh brings a newer last sample of the newest bucket).
 */
export function mergeHistory(
  old: readonly HistoryRecord[], fresh: readonly HistoryRecord[], cutoff: number, stepMs?: number,
): HistoryRecord[] {
  const kept = new Map<string, HistoryRecord>();
  for (const r of [...old, ...fresh]) {
    const t = Number(r.timestamp);
    if (t < cutoff) continue;
    const key = `${r.server}\u0000${stepMs ? Math.floor(t / stepMs) : t}`;
    const cur = kept.get(key);
    if (!cur || Number(cur.timestamp) < t) kept.set(key, r);
  }
  // Usually already in order; the overlap can interleave.
  return [...kept.values()].sort((a, b) => Number(a.timestamp) - Number(b.timestamp));
}

/**
 * Records sorted by time (the API sends them oldest first already). `intervalMs` is the
 * expected time between one server's records (the sampling interval, or the step of
 * downsampled history): a server silent for five of those no longer counts.
 */
export function historySeries(records: readonly HistoryRecord[], intervalMs = 60_000): HistorySeries {
  const commands: Record<string, (number | null)[]> = {};
  for (const c of COMMAND_RATES) commands[c.name] = [];
  const out = {
    t: [] as number[], bytes: [] as number[], limit: [] as number[], items: [] as number[], connections: [] as number[],
    hitRate: [] as (number | null)[], newConnections: [] as (number | null)[], evictions: [] as (number | null)[],
    expired: [] as (number | null)[], commands,
  };
  const servers = new Map<string, ServerState>();
  // A server not heard from for this long no longer counts (a node that left).
  const staleMs = Math.max(intervalMs * 5, 5_000);

  let i = 0;
  while (i < records.length) {
    const at = Number(records[i]!.timestamp);
    for (; i < records.length && Number(records[i]!.timestamp) === at; i++) {
      const r = records[i]!;
      const prev = servers.get(r.server);
      const stats = r.stats as Record<string, number>;
      let rates: Rates | null = null;
      if (prev && at > prev.at) {
        const dt = (at - prev.at) / 1000;
        rates = {} as Rates;
        for (const k of RATE_COUNTERS) {
          const now = stats[k] ?? 0;
          const before = prev.stats[k] ?? 0;
          rates[k] = (now >= before ? now - before : now) / dt;
        }
      }
      servers.set(r.server, { stats, at, rates });
    }
    for (const [name, s] of servers) if (at - s.at > staleMs) servers.delete(name);

    let bytes = 0, limit = 0, items = 0, connections = 0;
    let sum: Rates | null = null;
    for (const s of servers.values()) {
      bytes += s.stats.bytes ?? 0;
      limit += s.stats.limit_maxbytes ?? 0;
      items += s.stats.curr_items ?? 0;
      connections += s.stats.curr_connections ?? 0;
      if (s.rates) {
        sum ??= Object.fromEntries(RATE_COUNTERS.map((k) => [k, 0])) as Rates;
        for (const k of RATE_COUNTERS) sum[k] += s.rates[k];
      }
    }
    out.t.push(at / 1000);
    out.bytes.push(bytes);
    out.limit.push(limit);
    out.items.push(items);
    out.connections.push(connections);
    const rate = sum ? ratio(sum.get_hits, sum.get_misses) : null;
    out.hitRate.push(rate === null ? null : rate * 100);
    out.newConnections.push(sum ? sum.total_connections : null);
    out.evictions.push(sum ? sum.evictions : null);
    out.expired.push(sum ? sum.expired : null);
    for (const c of COMMAND_RATES) {
      commands[c.name]!.push(sum ? c.counters.reduce((a, k) => a + sum![k], 0) : null);
    }
  }
  return out;
}

/** The newest sample of each server. */
export function latestSamples(records: readonly HistoryRecord[]): Map<string, HistoryRecord> {
  const latest = new Map<string, HistoryRecord>();
  for (const r of records) {
    const cur = latest.get(r.server);
    if (!cur || Number(r.timestamp) >= Number(cur.timestamp)) latest.set(r.server, r);
  }
  return latest;
}

/**
 * How much a counter grew since the newest history sample, summed over servers
 * (a counter below its sample restarted from zero: its whole value is new).
 */
export function growthSinceSample(stats: StatsResponse, latest: Map<string, HistoryRecord>, key: StatKey): number | undefined {
  let total = 0;
  let any = false;
  for (const [server, s] of Object.entries(stats)) {
    const sample = latest.get(server);
    if (!sample) continue;
    any = true;
    const before = (sample.stats as Record<string, number>)[key] ?? 0;
    const now = s[key];
    total += now >= before ? now - before : now;
  }
  return any ? total : undefined;
}
