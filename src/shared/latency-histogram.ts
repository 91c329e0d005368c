/**
 * A log-bucketed histogram of durations (nanoseconds), small enough to keep one per
 * latency rollup bucket and merge at will.
 *
 * Bucket i holds the values in (γ^(i−1), γ^i] with γ = 1.02; a percentile is read as the
 * bucket's centre 2·γ^i / (γ + 1), so it is within (γ − 1)/(γ + 1) < 1 % of the true
 * sample at that rank (nearest-rank definition), and never above the exact maximum.
 * Values below 1 ns count as bucket 0. Stored sparse: `{"<index>": count, …}`; a
 * distribution spanning 10 µs..100 ms touches at most ~470 buckets, a real one far fewer.
 */

export const HISTOGRAM_GAMMA = 1.02;
const LOG_GAMMA = Math.log(HISTOGRAM_GAMMA);

/** Sparse counts by bucket index. */
export type LatencyHistogram = Record<string, number>;

export function histogramIndex(ns: number): number {
  return ns <= 1 ? 0 : Math.ceil(Math.log(ns) / LOG_GAMMA - 1e-9);
}

/** The value a bucket stands for. */
export function histogramValue(index: number): number {
  return (2 * HISTOGRAM_GAMMA ** index) / (HISTOGRAM_GAMMA + 1);
}

export function addToHistogram(h: LatencyHistogram, ns: number, count = 1): LatencyHistogram {
  const k = String(histogramIndex(ns));
  h[k] = (h[k] ?? 0) + count;
  return h;
}

/** Adds `from` into `into` and returns it. */
export function mergeHistograms(into: LatencyHistogram, from: Readonly<LatencyHistogram>): LatencyHistogram {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
  return into;
}

/**
 * The q-quantile (0 < q ≤ 1) by nearest rank: the bucket of the ceil(q·n)-th smallest
 * value, read as its centre and capped at `max` (the exact largest value, when known).
 * Undefined for an empty histogram.
 */
export function histogramQuantile(h: Readonly<LatencyHistogram>, q: number, max = Infinity): number | undefined {
  const entries = Object.entries(h).map(([k, n]) => [Number(k), n] as const).filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [i, n] of entries) {
    seen += n;
    if (seen >= rank) return Math.min(histogramValue(i), max);
  }
  return Math.min(histogramValue(entries.at(-1)![0]), max);
}

/** The exact q-quantile of raw values by nearest rank (the same definition). */
export function exactQuantile(sortedAscending: readonly number[], q: number): number | undefined {
  if (sortedAscending.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * sortedAscending.length));
  return sortedAscending[Math.min(rank, sortedAscending.length) - 1];
}
