/**
 * Chooses which key events of one cache reach its sketches, so that their work per second
 * stays within a budget however busy the cache is. Below the budget every event is taken
 * (weight 1); above it each event is taken with probability p = budget / rate and counts
 * 1/p, so counts stay unbiased and the top keys of a busy cache (which have many samples)
 * keep their accuracy. Gaps between taken events are drawn from the geometric
 * distribution, so the events passed over cost nothing (`nextTaken` jumps them), and no periodic pattern in the
 * traffic can line up with the sampling.
 */

/**
 * Sampled events per second the node's sketches take at most (on average) while the node
 * has time to spare, shared by its active caches (registry.ts): a cache below its share
 * is counted exactly. 20,000 (the budget per cache until 2026-12-07) sampled the memjs
 * accuracy test's ~45,000 events a second per node once the machine was fast enough, and
 * a 3-second burst sampled by half misses "within 5 %". At 0.2-1 µs a sample (up to
 * 2-4 µs cold) this is 2-10 % of a core (up to 20-40 %) while the node has
 * time to spare; a node whose loop is 80 % busy with 20,000 events or more per CPU second
 * turns busy (registry.ts).
 */
export const SAMPLED_EVENTS_PER_SECOND = 100_000;
/**
 * …and while the node is busy, shared by its active caches (registry.ts): a sample costs
 * 2-4 µs on a busy node (the sketches are cold in the CPU's caches by then), so this keeps
 * introspection near 1 % of a core, and a 3-minute window still holds 720,000 samples.
 */
export const BUSY_SAMPLED_EVENTS_PER_SECOND = 4_000;

/**
 * The rate is measured again after at most this many samples: a get of thousands of keys
 * is counted a few thousand at a time before sampling starts, not a quarter of the calm
 * budget (25,000 samples, ~25 ms of one request) at once.
 */
const RECHECK_SAMPLES = 5000;

export class EventSampler {
  /** Events until the next taken one (that one included). */
  private gap = 1;
  /** The gap drawn last: events it stands for. */
  private drawn = 1;
  /** What the event taken now counts for. */
  weight = 1;
  private p = 1;
  /** ln(1 - p), for the geometric gaps: changes only when p does. */
  private logSkip = 0;
  private blockStart = -1;
  private blockEvents = 0;
  private blockTaken = 0;

  constructor(private budget = SAMPLED_EVENTS_PER_SECOND, private readonly random: () => number = Math.random) {}

  /** A new budget (events a second), in force from the next measurement of the rate. */
  setBudget(budget: number): void {
    this.budget = budget;
  }

  /**
   * Of the next `n` events, how many are passed over before the one taken next (then call
   * `taken`); -1 when none of the n is taken. (nextTaken(1) === 0: this one event is taken.)
   */
  nextTaken(n: number): number {
    const g = this.gap;
    if (g > n) {
      this.gap = g - n;
      return -1;
    }
    return g - 1;
  }

  /**
   * After an event is taken, at time `ms`: adjusts the probability and draws the next gap.
   * The rate is measured again once a second, or sooner once a quarter of a second's
   * budget (at most RECHECK_SAMPLES) was taken: a burst (or a node's first second under
   * load) is sampled after 5,000 events at the calm budget (1,000 at the busy one), not
   * after a whole second of taking every event; fewer events than that are always counted
   * exactly.
   */
  taken(ms: number): void {
    this.weight = 1 / this.p;
    this.blockEvents += this.drawn;
    this.blockTaken++;
    if (this.blockStart < 0) this.blockStart = ms;
    const elapsed = ms - this.blockStart;
    if (elapsed >= 1000 || this.blockTaken >= Math.min(this.budget / 4, RECHECK_SAMPLES)) {
      // Milliseconds are the clock's grain: a block within one counts as one.
      const rate = (this.blockEvents * 1000) / Math.max(elapsed, 1);
      this.p = rate <= this.budget ? 1 : this.budget / rate;
      this.logSkip = this.p >= 1 ? 0 : Math.log(1 - this.p);
      this.blockStart = ms;
      this.blockEvents = 0;
      this.blockTaken = 0;
    }
    this.drawn = this.p >= 1 ? 1 : 1 + Math.floor(Math.log(1 - this.random()) / this.logSkip);
    this.gap = this.drawn;
  }

  /** Events a second it takes at most now. */
  get eventsPerSecond(): number {
    return this.budget;
  }

  /** The probability events are taken with now (1 under the budget). */
  get probability(): number {
    return this.p;
  }
}
