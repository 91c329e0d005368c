/**
 * The 36 processed stats of insight (`GET …/insight/processed_stats`), their formulas in
 * one place: the table of ../shared/spec/analytics-api-v2.md §3.4 as cachier's decisions
 * fix it. Pure: a bucket's aggregates in, a number (or null) out.
 *
 * A bucket's aggregates (BucketStats) come from the rollups (src/catalog/rollups.ts): for
 * each counter the sum of its deltas between consecutive samples (never negative: a
 * counter that went down — reset_stats, a node restart — counts from zero), the seconds
 * those deltas cover, and the last sample's gauges.
 *
 * - Rates are per second over the bucket: Δcounter ÷ covered seconds; null when the
 *   bucket covers no time (it holds only a cache's first sample).
 * - Ratios (`*_hit_rate`, `hit_rate`, `*_fraction`) are 0..1, null when the denominator is 0.
 * - Gauges (`bytes`, `items`, `connections`, `max_bytes`) are the bucket's last sample.
 * - Whole cache (`combineServers`): sum the counters first, then divide — over the
 *   longest time any server covers in the bucket; gauges summed over the servers.
 *
 * Choices where §3.4 offers two: `delete_rate` counts delete_hits + delete_misses (not
 * cmd_delete); `hit_rate`'s misses are the `*_misses` counters (cas_badval is neither a
 * hit nor a miss there, though `cas_hit_rate` counts it in its denominator, as §3.4 says).
 */
import type { RollupCounter, RollupGauge } from '../catalog/rollups.ts';

/** One bucket of one server, or of the whole cache. */
export interface BucketStats {
  /** Seconds the deltas cover. */
  readonly seconds: number;
  /** Sum of each counter's deltas. */
  readonly counters: Readonly<Record<RollupCounter, number>>;
  /** The last sample's gauges (null when missing). */
  readonly gauges: Readonly<Record<RollupGauge, number | null>>;
}

/** The 36 names, as §2.13 lists them (note `bytes_write_rate`, not `bytes_written_rate`). */
export const PROCESSED_STAT_NAMES = [
  'auth_cmds_rate', 'auth_errors_rate', 'bytes', 'bytes_read_rate', 'bytes_write_rate', 'cas_badval_rate', 'cas_fraction',
  'cas_hit_rate', 'cas_rate', 'connection_rate', 'connections', 'decr_fraction', 'decr_hit_rate', 'decr_rate',
  'delete_fraction', 'delete_hit_rate', 'delete_rate', 'eviction_rate', 'flush_fraction', 'flush_rate', 'get_expired_rate',
  'get_fraction', 'get_hit_rate', 'get_rate', 'hit_rate', 'incr_fraction', 'incr_hit_rate', 'incr_rate', 'items',
  'max_bytes', 'request_rate', 'set_fraction', 'set_rate', 'touch_fraction', 'touch_hit_rate', 'touch_rate',
] as const;
export type ProcessedStatName = (typeof PROCESSED_STAT_NAMES)[number];

export const isProcessedStatName = (name: string): name is ProcessedStatName =>
  (PROCESSED_STAT_NAMES as readonly string[]).includes(name);

type Formula = (b: BucketStats) => number | null;

/** a ÷ b, or null when b is 0. */
const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);
/** Δ(sum of counters) per second. */
const rate = (...counters: RollupCounter[]): Formula => (b) =>
  b.seconds > 0 ? counters.reduce((s, c) => s + b.counters[c], 0) / b.seconds : null;
const gauge = (g: RollupGauge): Formula => (b) => b.gauges[g];

/** The operations request_rate adds up, and the counters each one's rate counts. */
const OPERATIONS = {
  get: ['cmd_get'],
  set: ['cmd_set'],
  delete: ['delete_hits', 'delete_misses'],
  incr: ['incr_hits', 'incr_misses'],
  decr: ['decr_hits', 'decr_misses'],
  cas: ['cas_hits', 'cas_misses', 'cas_badval'],
  touch: ['cmd_touch'],
  flush: ['cmd_flush'],
} as const satisfies Record<string, readonly RollupCounter[]>;
type Operation = keyof typeof OPERATIONS;

const operationCount = (b: BucketStats, op: Operation): number => OPERATIONS[op].reduce((s, c) => s + b.counters[c], 0);
const requestCount = (b: BucketStats): number => (Object.keys(OPERATIONS) as Operation[]).reduce((s, op) => s + operationCount(b, op), 0);
/** An operation's share of all requests: its Δ over all requests' Δ (the same as rate ÷ request_rate). */
const fraction = (op: Operation): Formula => (b) => ratio(operationCount(b, op), requestCount(b));
/** hits ÷ (hits + misses) of one operation. */
const hitRate = (hits: RollupCounter, ...misses: RollupCounter[]): Formula => (b) =>
  ratio(b.counters[hits], b.counters[hits] + misses.reduce((s, c) => s + b.counters[c], 0));

const HIT_PAIRS = [
  ['get_hits', 'get_misses'], ['delete_hits', 'delete_misses'], ['incr_hits', 'incr_misses'],
  ['decr_hits', 'decr_misses'], ['cas_hits', 'cas_misses'], ['touch_hits', 'touch_misses'],
] as const satisfies readonly (readonly [RollupCounter, RollupCounter])[];

export const PROCESSED_STATS: Readonly<Record<ProcessedStatName, Formula>> = {
  get_rate: rate('cmd_get'),
  set_rate: rate('cmd_set'),
  flush_rate: rate('cmd_flush'),
  touch_rate: rate('cmd_touch'),
  delete_rate: rate(...OPERATIONS.delete),
  incr_rate: rate(...OPERATIONS.incr),
  decr_rate: rate(...OPERATIONS.decr),
  cas_rate: rate(...OPERATIONS.cas),
  request_rate: (b) => (b.seconds > 0 ? requestCount(b) / b.seconds : null),

  get_fraction: fraction('get'),
  set_fraction: fraction('set'),
  delete_fraction: fraction('delete'),
  incr_fraction: fraction('incr'),
  decr_fraction: fraction('decr'),
  cas_fraction: fraction('cas'),
  touch_fraction: fraction('touch'),
  flush_fraction: fraction('flush'),

  get_hit_rate: hitRate('get_hits', 'get_misses'),
  delete_hit_rate: hitRate('delete_hits', 'delete_misses'),
  incr_hit_rate: hitRate('incr_hits', 'incr_misses'),
  decr_hit_rate: hitRate('decr_hits', 'decr_misses'),
  touch_hit_rate: hitRate('touch_hits', 'touch_misses'),
  cas_hit_rate: hitRate('cas_hits', 'cas_misses', 'cas_badval'),
  hit_rate: (b) => {
    const hits = HIT_PAIRS.reduce((s, [h]) => s + b.counters[h], 0);
    return ratio(hits, hits + HIT_PAIRS.reduce((s, [, m]) => s + b.counters[m], 0));
  },

  cas_badval_rate: rate('cas_badval'),
  auth_cmds_rate: rate('auth_cmds'),
  auth_errors_rate: rate('auth_errors'),
  eviction_rate: rate('evictions'),
  bytes_read_rate: rate('bytes_read'),
  bytes_write_rate: rate('bytes_written'),
  connection_rate: rate('total_connections'),
  get_expired_rate: rate('expired'),

  bytes: gauge('bytes'),
  items: gauge('curr_items'),
  connections: gauge('curr_connections'),
  max_bytes: gauge('limit_maxbytes'),
};

export function processedStat(name: ProcessedStatName, b: BucketStats): number | null {
  const v = PROCESSED_STATS[name](b);
  return v === null || !Number.isFinite(v) ? null : v;
}

/**
 * One bucket of the whole cache from its servers' buckets: counters summed, the covered
 * time the longest any server covers, each gauge the sum over the servers that have it.
 */
export function combineServers(buckets: readonly BucketStats[]): BucketStats {
  const counters = {} as Record<RollupCounter, number>;
  const gauges = {} as Record<RollupGauge, number | null>;
  let seconds = 0;
  for (const b of buckets) {
    seconds = Math.max(seconds, b.seconds);
    for (const [c, v] of Object.entries(b.counters) as [RollupCounter, number][]) counters[c] = (counters[c] ?? 0) + v;
    for (const [g, v] of Object.entries(b.gauges) as [RollupGauge, number | null][]) {
      gauges[g] = v === null ? (gauges[g] ?? null) : (gauges[g] ?? 0) + v;
    }
  }
  return { seconds, counters, gauges };
}
