/**
 * The per-cache stats, named once. Everything that reports stats (the `stats` command,
 * the admin port, the history sampler, the API, the dashboard) reads these lists; the
 * store counts them (src/store/stats.ts).
 */

/** All 31 stats a cache reports per node, in the order the Analytics API shows them. */
export const STAT_NAMES = [
  'auth_cmds', 'auth_errors', 'bytes', 'bytes_read', 'bytes_written',
  'cas_badval', 'cas_hits', 'cas_misses', 'cmd_delete', 'cmd_flush', 'cmd_get', 'cmd_set', 'cmd_touch',
  'curr_connections', 'curr_items', 'decr_hits', 'decr_misses', 'delete_hits', 'delete_misses',
  'evictions', 'expired', 'get_hits', 'get_misses', 'incr_hits', 'incr_misses', 'limit_maxbytes',
  'time', 'total_connections', 'total_items', 'touch_hits', 'touch_misses',
] as const;
export type StatName = (typeof STAT_NAMES)[number];

/** Stats computed at snapshot time from the store's state rather than counted. */
export const GAUGE_NAMES = ['bytes', 'curr_items', 'limit_maxbytes', 'time', 'curr_connections'] as const;
export type GaugeName = (typeof GAUGE_NAMES)[number];

export type CounterName = Exclude<StatName, GaugeName>;
export type Counters = Record<CounterName, number>;
export type StatsSnapshot = Readonly<Record<StatName, number>>;

export const COUNTER_NAMES: readonly CounterName[] = STAT_NAMES.filter(
  (n): n is CounterName => !(GAUGE_NAMES as readonly string[]).includes(n),
);
