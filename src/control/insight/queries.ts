/**
 * Insight's answers, from the catalog's rollups: the time range and bucket of a request,
 * processed stats (whole cache or per server) and latency, as InfluxDB-1 series.
 *
 * - Range: `startTime` (default now − 24 h) to `endTime` (default now), RFC 3339; a
 *   reversed range or one over MAX_RANGE_MS is refused. A row's `time` is its bucket's
 *   start (RFC 3339 UTC); the buckets are those overlapping the range, so the first may
 *   start before `startTime`. Buckets without samples are left out.
 * - Processed stats: bucket by span (PROCESSED_BUCKETS), formulas in
 *   src/api/insight-formulas.ts, the whole cache summing its servers' counters first.
 * - Latency: one series per server of the cache; 20 s buckets (≤ 24 h) from the raw
 *   probes, exact; longer spans from the rollups' histograms (p50/p99 within 1 %).
 *   `duration` is the mean, then cachier's `p50`, `p99`, `max`, all in nanoseconds.
 */
import type { Catalog } from '../../catalog/catalog.ts';
import type { LatencyLevel } from '../../catalog/latency.ts';
import type { RollupLevel, RollupRow } from '../../catalog/rollups.ts';
import { combineServers, processedStat, type ProcessedStatName } from '../../api/insight-formulas.ts';
import { exactQuantile, histogramQuantiles } from '../../shared/latency-histogram.ts';

const DAY_MS = 86_400_000;

/** The longest range insight answers: two years (a leap day included). */
export const MAX_RANGE_MS = 731 * DAY_MS;
/** `startTime` when left out: this long before `endTime`'s default, now. */
export const DEFAULT_SPAN_MS = DAY_MS;

/** Processed stats' bucket by span: ≤ 24 h → 1 min, ≤ 7 d → 10 min, ≤ 92 d → 1 h, longer → 1 day. */
export function processedBucket(spanMs: number): RollupLevel {
  if (spanMs <= DAY_MS) return 60_000;
  if (spanMs <= 7 * DAY_MS) return 600_000;
  if (spanMs <= 92 * DAY_MS) return 3_600_000;
  return 86_400_000;
}

/** Latency's bucket by span: ≤ 24 h → 20 s (raw probes), then as processed stats. */
export function latencyBucket(spanMs: number): 20_000 | LatencyLevel {
  return spanMs <= DAY_MS ? 20_000 : (processedBucket(spanMs) as LatencyLevel);
}

/** Why a time range was refused (the route answers 400 with it). */
export class RangeError400 extends Error {}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch of an RFC 3339 date-time, or undefined when it is not one (a 30 February included). */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const ms = Date.parse(text.toUpperCase());
  if (!Number.isFinite(ms)) return undefined;
  // Date.parse rolls 2023-02-30 over to March: the fields must name a real date and time.
  const days = new Date(Date.UTC(y!, mo! - 1, d!)).getUTCDate() === d && mo! >= 1 && mo! <= 12;
  if (!days || h! > 23 || mi! > 59 || s! > 59) return undefined;
  return ms;
}

export const formatTime = (ms: number): string => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');

/** The request's range in ms; throws RangeError400 naming what is wrong. */
export function parseRange(q: { startTime?: string; endTime?: string }, now: number): { from: number; to: number } {
  const read = (name: 'startTime' | 'endTime'): number | undefined => {
    const text = q[name];
    if (text === undefined) return undefined;
    const ms = parseRfc3339(text);
    if (ms === undefined) throw new RangeError400(`${name} "${text}" is not an RFC 3339 time such as 2026-12-06T07:20:00Z`);
    return ms;
  };
  const to = read('endTime') ?? now;
  const from = read('startTime') ?? now - DEFAULT_SPAN_MS;
  if (from > to) {
    throw new RangeError400(`startTime ${formatTime(from)} is after endTime ${formatTime(to)}${q.startTime === undefined ? ' (startTime defaults to 24 hours ago)' : ''}`);
  }
  if (to - from > MAX_RANGE_MS) throw new RangeError400('the range is longer than 2 years (731 days)');
  return { from, to };
}

/** An InfluxDB-1 series. */
export interface Series {
  readonly name: string;
  readonly tags?: { readonly server: string };
  readonly columns: readonly string[];
  readonly values: (string | number | null)[][];
}

/** `servers` first (the cache's, in order), then any other that has rows, sorted. */
function serverOrder(servers: readonly string[], withRows: Iterable<string>): string[] {
  const extra = [...new Set(withRows)].filter((s) => !servers.includes(s)).sort();
  return [...servers, ...extra];
}

function rowsByBucket(rows: readonly RollupRow[]): Map<number, RollupRow[]> {
  const out = new Map<number, RollupRow[]>();
  for (const r of rows) {
    const list = out.get(r.bucket);
    if (list) list.push(r);
    else out.set(r.bucket, [r]);
  }
  return out;
}

/**
 * `processed_stats` (one series, the whole cache) or `per_server` (one series per server:
 * the cache's servers, then any other server with samples in the range).
 */
export async function processedStatsSeries(
  catalog: Catalog, cacheId: number, names: readonly ProcessedStatName[], range: { from: number; to: number },
  perServer: false | { servers: readonly string[] },
): Promise<Series[]> {
  const level = processedBucket(range.to - range.from);
  const rows = await catalog.historyRollups(cacheId, level, range.from, range.to);
  const columns = ['time', ...names];
  const row = (bucket: number, b: Parameters<typeof processedStat>[1]) => [formatTime(bucket), ...names.map((n) => processedStat(n, b))];
  if (!perServer) {
    const values = [...rowsByBucket(rows)].sort((a, b) => a[0] - b[0]).map(([bucket, list]) => row(bucket, combineServers(list)));
    return [{ name: 'processed_stats', columns, values }];
  }
  return serverOrder(perServer.servers, rows.map((r) => r.server)).map((server) => ({
    name: 'processed_stats',
    tags: { server },
    columns,
    values: rows.filter((r) => r.server === server).map((r) => row(r.bucket, r)),
  }));
}

export const LATENCY_COLUMNS = ['time', 'duration', 'p50', 'p99', 'max'] as const;

/** `latency`: one series per server of the cache (rows in ns). */
export async function latencySeries(catalog: Catalog, servers: readonly string[], range: { from: number; to: number }): Promise<Series[]> {
  const level = latencyBucket(range.to - range.from);
  const values = new Map<string, (string | number | null)[][]>(servers.map((s) => [s, []]));
  if (level === 20_000) {
    // Probes come by time: each server's buckets fill in order.
    const open = new Map<string, { bucket: number; ns: number[] }>();
    const close = (server: string, b: { bucket: number; ns: number[] }) => {
      const ns = b.ns.sort((x, y) => x - y);
      const mean = ns.reduce((s, v) => s + v, 0) / ns.length;
      values.get(server)?.push([formatTime(b.bucket), mean, exactQuantile(ns, 0.5)!, exactQuantile(ns, 0.99)!, ns.at(-1)!]);
    };
    for (const p of await catalog.latencyProbes(servers, Math.floor(range.from / level) * level, range.to)) {
      const bucket = Math.floor(p.timestamp / level) * level;
      const b = open.get(p.server);
      if (b?.bucket === bucket) b.ns.push(p.ns);
      else {
        if (b) close(p.server, b);
        open.set(p.server, { bucket, ns: [p.ns] });
      }
    }
    for (const [server, b] of open) close(server, b);
  } else {
    for (const r of await catalog.latencyRollups(servers, level, range.from, range.to)) {
      const [p50, p99] = histogramQuantiles(r.histogram, [0.5, 0.99], r.maxNs);
      values.get(r.server)?.push([formatTime(r.bucket), r.sumNs / r.count, Math.round(p50!), Math.round(p99!), r.maxNs]);
    }
  }
  return servers.map((server) => ({ name: 'latency', tags: { server }, columns: [...LATENCY_COLUMNS], values: values.get(server)! }));
}
