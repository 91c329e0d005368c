/**
 * The samples the rings' followers took, held a while so the sketches count them many at a
 * time: on a busy node the sketches are cold in the CPU's caches by the time a follow
 * comes round (every ~750 lines, ~16 samples at the busy budget); counting 256 together
 * gained a 20-key get row ~0.45 % (with the follow from the last line read; fresh pairs of
 * nodes, start order alternated, AMD VM, 2026-12-07; 0.1 % on an Intel VM).
 * One batch per node, holding one cache's samples at a time: a sample of another cache
 * counts the ones held first, so nothing of one cache is ever counted into another's.
 * Each sample's key is copied (the ring overwrites its lines long before the batch is full).
 */
import { MAX_KEY_LENGTH } from './request-ring.ts';

/** Samples held at most before they are counted. */
export const BATCH_SAMPLES = 256;

/** What counts a batch's samples: a cache's sketches (CacheIntrospection.count). */
export interface SampleCounter {
  /** One sample: `meta` as the ring's line had it, its key `keys[start, end)` (valid during the call only). */
  count(meta: number, keys: Buffer, start: number, end: number, ms: number, weight: number): void;
  /** After the samples held for it were counted (whatever called the flush): its sketches grew, and are paid for now. */
  counted(): void;
}

export class SampleBatch {
  private owner: SampleCounter | null = null;
  private n = 0;
  private readonly meta = new Uint32Array(BATCH_SAMPLES);
  private readonly ms = new Float64Array(BATCH_SAMPLES);
  private readonly weight = new Float64Array(BATCH_SAMPLES);
  /** Where sample i's key ends in `keys` (it starts where the one before ended). */
  private readonly ends = new Uint32Array(BATCH_SAMPLES);
  private readonly keys = Buffer.alloc(BATCH_SAMPLES * MAX_KEY_LENGTH);

  /** Holds one sample of `owner` (a key of at most MAX_KEY_LENGTH bytes), counting the held ones first when full or another's. */
  add(owner: SampleCounter, meta: number, keys: Buffer, start: number, end: number, ms: number, weight: number): void {
    if (owner !== this.owner) {
      this.flush();
      this.owner = owner;
    }
    const i = this.n++;
    const at = i === 0 ? 0 : this.ends[i - 1]!;
    if (end - start > MAX_KEY_LENGTH) end = start + MAX_KEY_LENGTH; // the ring's lines hold no longer key
    keys.copy(this.keys, at, start, end);
    this.meta[i] = meta;
    this.ms[i] = ms;
    this.weight[i] = weight;
    this.ends[i] = at + end - start;
    if (this.n === BATCH_SAMPLES) this.flush();
  }

  /** Counts what `owner` has held here (before its counts are read). */
  flushFor(owner: SampleCounter): void {
    if (owner === this.owner) this.flush();
  }

  /**
   * Forgets what `owner` holds here, uncounted, its key bytes zeroed (its window state
   * went: nothing of a cache stays, nor is counted into the state it makes next).
   */
  dropFor(owner: SampleCounter): void {
    if (owner !== this.owner) return;
    if (this.n > 0) this.keys.fill(0, 0, this.ends[this.n - 1]!);
    this.n = 0;
    this.owner = null;
  }

  /** Counts every held sample, oldest first. */
  flush(): void {
    const owner = this.owner;
    const n = this.n;
    this.n = 0;
    this.owner = null;
    if (owner === null) return;
    for (let i = 0, at = 0; i < n; i++) {
      const end = this.ends[i]!;
      owner.count(this.meta[i]!, this.keys, at, end, this.ms[i]!, this.weight[i]!);
      at = end;
    }
    owner.counted();
  }
}
