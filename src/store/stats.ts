/**
 * A cache's counters: made as one literal, reset, and snapshotted with the gauges. The
 * names themselves live in src/shared/stat-names.ts.
 */
import { COUNTER_NAMES, STAT_NAMES, type Counters, type GaugeName, type StatName, type StatsSnapshot } from '../shared/stat-names.ts';

export { COUNTER_NAMES, GAUGE_NAMES, STAT_NAMES } from '../shared/stat-names.ts';
export type { CounterName, Counters, GaugeName, StatName, StatsSnapshot } from '../shared/stat-names.ts';

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
