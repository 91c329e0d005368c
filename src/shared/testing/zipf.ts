/**
 * Zipf(s) over `n` ranks by inverse CDF: each call draws a rank from 0 (the most frequent)
 * to n - 1, rank i with weight 1 / (i + 1)^s, using `rand` (e.g. seededRandom) for [0, 1).
 */
export function zipf(n: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / Math.pow(i + 1, s);
  return () => {
    const u = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
