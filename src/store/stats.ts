/**
 * The per-cache stats, named once. Everything that reports stats (the `stats` command,
 * the admin port, the history sampler, the dashboard) reads these lists.
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
type GaugeName = (typeof GAUGE_NAMES)[number];

export type CounterName = Exclude<StatName, GaugeName>;
export type Counters = Record<CounterName, number>;
export type StatsSnapshot = Readonly<Record<StatName, number>>;

export const COUNTER_NAMES: readonly CounterName[] = STAT_NAMES.filter(
  (n): n is CounterName => !(GAUGE_NAMES as readonly string[]).includes(n),
);

/**
 * A fresh set of counters. Written as one literal on purpose: V8 gives an object built by
 * adding 26 properties one by one dictionary-mode storage, and every `counters.x++` on
 * the request path then went through a generic property lookup. The type makes the
 * compiler check the literal names every counter exactly once.
 */
export function createCounters(): Counters {
  return {
    auth_cmds: 0, auth_errors: 0, bytes_read: 0, bytes_written: 0, cas_badval: 0, cas_hits: 0,
    cas_misses: 0, cmd_delete: 0, cmd_flush: 0, cmd_get: 0, cmd_set: 0, cmd_touch: 0,
    decr_hits: 0, decr_misses: 0, delete_hits: 0, delete_misses: 0, evictions: 0, expired: 0,
    get_hits: 0, get_misses: 0, incr_hits: 0, incr_misses: 0, total_connections: 0,
    total_items: 0, touch_hits: 0, touch_misses: 0,
  };
}

export function resetCounters(c: Counters): void {
  for (const n of COUNTER_NAMES) c[n] = 0;
}

export function snapshotStats(c: Counters, gauges: Record<GaugeName, number>): StatsSnapshot {
  const s = {} as Record<StatName, number>;
  for (const n of STAT_NAMES) s[n] = (gauges as Record<string, number>)[n] ?? (c as Record<string, number>)[n];
  return s;
}
