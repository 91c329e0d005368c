/**
 * A log-bucketed histogram of durations (nanoseconds), small enough to keep one per
 * latency rollup bucket and merge at will.
 *
 * Bucket i holds the values in (γ^(i−1), γ^i] with γ = 1.02; a percentile is read as the
 * bucket's centre 2·γ^i / (γ + 1), so it is within (γ − 1)/(γ + 1) < 1 % of the true
 * sample at that rank (nearest-rank definition), and never above the exact maximum.
 * Values below 1 ns count as bucket 0.
 *
 * Packed, as stored: a flat array `[index, count, index, count, …]`, indexes ascending,
 * counts above 0 — JSON that parses into one array of numbers and is read in one pass. A
 * distribution spanning 10 µs..100 ms touches at most ~470 buckets, a real one far fewer.
 */

export const HISTOGRAM_GAMMA = 1.02;
const LOG_GAMMA = Math.log(HISTOGRAM_GAMMA);

/** `[index, count, …]`, indexes ascending. */
export type LatencyHistogram = number[];

export function histogramIndex(ns: number): number {
  return ns <= 1 ? 0 : Math.ceil(Math.log(ns) / LOG_GAMMA - 1e-9);
}

/** The value a bucket stands for. */
export function histogramValue(index: number): number {
  return (2 * HISTOGRAM_GAMMA ** index) / (HISTOGRAM_GAMMA + 1);
}

/** The histogram of some durations. */
export function histogramOf(values: Iterable<number>): LatencyHistogram {
  const counts = new Map<number, number>();
  for (const ns of values) {
    const i = histogramIndex(ns);
    counts.set(i, (counts.get(i) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => a[0] - b[0]).flat();
}

/** The two histograms' counts added (a new array). */
export function mergeHistograms(a: readonly number[], b: readonly number[]): LatencyHistogram {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]! < b[j]!)) {
      out.push(a[i]!, a[i + 1]!);
      i += 2;
    } else if (i >= a.length || b[j]! < a[i]!) {
      out.push(b[j]!, b[j + 1]!);
      j += 2;
    } else {
      out.push(a[i]!, a[i + 1]! + b[j + 1]!);
      i += 2;
      j += 2;
    }
  }
  return out;
}

/** How many values a histogram counts. */
export function histogramCount(h: readonly number[]): number {
  let n = 0;
  for (let i = 1; i < h.length; i += 2) n += h[i]!;
  return n;
}

/** A stored histogram: packed, or `{"<index>": count}` as the first rollups stored it. */
export function readHistogram(stored: unknown): LatencyHistogram {
  if (Array.isArray(stored)) return stored as number[];
  if (stored && typeof stored === 'object') {
    return Object.entries(stored as Record<string, number>).map(([k, n]) => [Number(k), n]).sort((a, b) => a[0]! - b[0]!).flat();
  }
  return [];
}

/**
 * Quantiles (each 0 < q ≤ 1, ascending) by nearest rank, in one pass: the bucket of the
 * ceil(q·n)-th smallest value, read as its centre and capped at `max` (the exact largest
 * value, when known). Undefined for an empty histogram.
 */
export function histogramQuantiles(h: readonly number[], qs: readonly number[], max = Infinity): (number | undefined)[] {
  const total = histogramCount(h);
  if (total === 0) return qs.map(() => undefined);
  const out: (number | undefined)[] = [];
  let i = 0;
  let seen = h[1]!;
  for (const q of qs) {
    const rank = Math.max(1, Math.ceil(q * total));
    while (seen < rank && i + 2 < h.length) {
      i += 2;
      seen += h[i + 1]!;
    }
    out.push(Math.min(histogramValue(h[i]!), max));
  }
  return out;
}

export function histogramQuantile(h: readonly number[], q: number, max = Infinity): number | undefined {
  return histogramQuantiles(h, [q], max)[0];
}

/** The exact q-quantile of raw values by nearest rank (the same definition). */
export function exactQuantile(sortedAscending: readonly number[], q: number): number | undefined {
  if (sortedAscending.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * sortedAscending.length));
  return sortedAscending[Math.min(rank, sortedAscending.length) - 1];
}
