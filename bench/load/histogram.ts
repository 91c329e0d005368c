/**
 * Latency histogram in microseconds, HdrHistogram-style log-linear buckets: exact below
 * 128 µs, then 64 buckets per power of two (relative error under 1.6 %). Fixed size, so
 * recording millions of samples costs one array increment each and no allocation.
 */
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS; // buckets per power of two
const LINEAR = SUB * 2; // values below this have a bucket each
const MAX_US = 2 ** 31 - 1;
const BUCKETS = indexOf(MAX_US) + 1;

function indexOf(us: number): number {
  if (us < LINEAR) return us;
  const exp = 31 - Math.clz32(us); // floor(log2(us)) >= 7
  const shift = exp - SUB_BITS;
  return shift * SUB + (us >>> shift);
}

/** [low, high] of the values that land in bucket `i`. */
function rangeOf(i: number): [number, number] {
  if (i < LINEAR) return [i, i];
  const shift = (i >>> SUB_BITS) - 1;
  const mantissa = i - shift * SUB;
  return [mantissa * 2 ** shift, (mantissa + 1) * 2 ** shift - 1];
}

export interface LatencySummary {
  readonly count: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sum = 0;
  private max = 0;

  /** Records one latency given in milliseconds (what performance.now() differences are). */
  recordMs(ms: number): void {
    let us = Math.round(ms * 1000);
    if (us < 0) us = 0;
    else if (us > MAX_US) us = MAX_US;
    this.counts[indexOf(us)]!++;
    this.total++;
    this.sum += us;
    if (us > this.max) this.max = us;
  }

  get count(): number {
    return this.total;
  }

  /** The value at quantile q (0..1): the middle of the bucket that holds it. */
  quantileUs(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const [lo, hi] = rangeOf(i);
        return Math.min(this.max, (lo + hi) / 2);
      }
    }
    return this.max;
  }

  summary(): LatencySummary {
    return {
      count: this.total,
      meanUs: this.total ? round1(this.sum / this.total) : 0,
      p50Us: round1(this.quantileUs(0.5)),
      p90Us: round1(this.quantileUs(0.9)),
      p99Us: round1(this.quantileUs(0.99)),
      p999Us: round1(this.quantileUs(0.999)),
      maxUs: this.max,
    };
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
