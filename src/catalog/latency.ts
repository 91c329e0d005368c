/**
 * Latency probes: the control plane times one `version` round trip to each node over its
 * memcache port every --latency-interval seconds (src/control/insight/latency-prober.ts).
 *
 * Stored per server (host:port) as raw probes, one per (server, slot of the interval) so
 * several control planes on one catalog keep one probe per interval, and rolled up per
 * bucket of 10 min, 1 h and 1 day: count, sum, max and a log-bucketed histogram
 * (src/shared/latency-histogram.ts), so p50/p99 over any bucket are within 1 %. The 20 s
 * buckets insight serves for ranges up to a day are computed from the raw probes, exactly.
 * Rollups are written in the same transaction as the probes they count, only for
 * probes actually inserted.
 */
import { histogramOf, type LatencyHistogram } from '../shared/latency-histogram.ts';
import { bucketOf } from './rollups.ts';

/** Bucket widths of the latency rollups, ms (20 s buckets come from the raw probes). */
export const LATENCY_LEVELS = [600_000, 3_600_000, 86_400_000] as const;
export type LatencyLevel = (typeof LATENCY_LEVELS)[number];

/** One round trip. */
export interface LatencyProbe {
  /** host:port of the node's memcache port. */
  readonly server: string;
  /** When the probe started, ms since the epoch. */
  readonly timestamp: number;
  /** The round trip, nanoseconds. */
  readonly ns: number;
}

/** One bucket of one server's probes at one level. */
export interface LatencyRollupRow {
  readonly server: string;
  readonly level: LatencyLevel;
  /** Bucket start, ms. */
  readonly bucket: number;
  readonly count: number;
  readonly sumNs: number;
  readonly maxNs: number;
  /** Packed log histogram (latency-histogram.ts). */
  readonly histogram: LatencyHistogram;
}

/** Probes summed per (server, level, bucket): what a batch adds to the rollups. */
export function latencyRollupsOf(probes: readonly LatencyProbe[]): LatencyRollupRow[] {
  const rows = new Map<string, { server: string; level: LatencyLevel; bucket: number; ns: number[] }>();
  for (const p of probes) {
    for (const level of LATENCY_LEVELS) {
      const bucket = bucketOf(p.timestamp, level);
      const key = `${p.server}\u0000${level}\u0000${bucket}`;
      const r = rows.get(key);
      if (r) r.ns.push(p.ns);
      else rows.set(key, { server: p.server, level, bucket, ns: [p.ns] });
    }
  }
  return [...rows.values()].map(({ server, level, bucket, ns }) => ({
    server, level, bucket, count: ns.length, sumNs: ns.reduce((s, v) => s + v, 0), maxNs: Math.max(...ns), histogram: histogramOf(ns),
  }));
}
