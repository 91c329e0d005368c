/**
 * When an alert notifies, as cachier's decisions fix it (a pure function, unit-tested):
 *
 * - `hit_rate` is bad while the cache's get hit rate over the last 10 minutes is below
 *   the threshold; `memory_usage` while bytes / limit_maxbytes is above it (percent).
 * - ok → bad: one `firing` notification. Then nothing until the value is back on the good
 *   side by HYSTERESIS_POINTS (hit rate ≥ threshold + 5, memory ≤ threshold − 5, clamped
 *   to 0–100 so every threshold can resolve): one `resolved`. While it stays firing, a
 *   `reminder` every REMINDER_MS after the last notification.
 * - No value (no gets in the window, no recent sample) changes nothing.
 */
import type { AlertRecord, AlertState, NotificationKind } from '../../catalog/alerts.ts';
import type { RollupRow } from '../../catalog/rollups.ts';

export const HYSTERESIS_POINTS = 5;
export const REMINDER_MS = 24 * 3_600_000;
/** The hit rate's window. */
export const HIT_RATE_WINDOW_MS = 10 * 60_000;

export function isBad(alert: Pick<AlertRecord, 'triggerType' | 'threshold'>, value: number): boolean {
  return alert.triggerType === 'hit_rate' ? value < alert.threshold : value > alert.threshold;
}

export function isRecovered(alert: Pick<AlertRecord, 'triggerType' | 'threshold'>, value: number): boolean {
  if (alert.triggerType === 'hit_rate') return value >= Math.min(alert.threshold + HYSTERESIS_POINTS, 100) && !isBad(alert, value);
  return value <= Math.max(alert.threshold - HYSTERESIS_POINTS, 0) && !isBad(alert, value);
}

/** The notification this evaluation makes, if any. */
export function nextNotification(
  alert: Pick<AlertRecord, 'triggerType' | 'threshold'>, state: AlertState, value: number | undefined, now: number,
): NotificationKind | undefined {
  if (value === undefined || !Number.isFinite(value)) return undefined;
  if (state.state === 'ok') return isBad(alert, value) ? 'firing' : undefined;
  if (isRecovered(alert, value)) return 'resolved';
  if (state.lastNotifiedAt !== null && now - state.lastNotifiedAt >= REMINDER_MS) return 'reminder';
  return undefined;
}

export interface CacheMeasures {
  /** Percent of gets that hit over the window; undefined without gets. */
  readonly hitRate: number | undefined;
  /** bytes / limit_maxbytes now, percent, over the servers' latest samples; undefined without one. */
  readonly memoryUsage: number | undefined;
}

/**
 * From a cache's 1-minute rollup rows of the last HIT_RATE_WINDOW_MS (every server): the
 * hit rate sums the get hits and misses of the window; memory sums each server's latest
 * bytes and limit_maxbytes.
 */
export function measuresOf(rows: readonly RollupRow[]): CacheMeasures {
  let hits = 0;
  let misses = 0;
  const latest = new Map<string, RollupRow>();
  for (const r of rows) {
    hits += r.counters.get_hits;
    misses += r.counters.get_misses;
    if (r.gauges.bytes === null || r.gauges.limit_maxbytes === null) continue;
    const seen = latest.get(r.server);
    if (!seen || r.gaugeTs > seen.gaugeTs) latest.set(r.server, r);
  }
  let bytes = 0;
  let limit = 0;
  for (const r of latest.values()) {
    bytes += r.gauges.bytes!;
    limit += r.gauges.limit_maxbytes!;
  }
  return {
    hitRate: hits + misses > 0 ? (100 * hits) / (hits + misses) : undefined,
    memoryUsage: limit > 0 ? (100 * bytes) / limit : undefined,
  };
}

export function valueFor(alert: Pick<AlertRecord, 'triggerType'>, m: CacheMeasures): number | undefined {
  return alert.triggerType === 'hit_rate' ? m.hitRate : m.memoryUsage;
}
