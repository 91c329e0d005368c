/**
 * The history flags every command that runs a control plane takes (`start`, `control`):
 * sampling interval and retention (raw samples for --history-raw-days, then one per hour
 * per server until --history-hourly-days, then dropped); insight's rollup retention
 * (--rollup-days M,T,H,D: days of the 1 min, 10 min, 1 h and 1 day buckets) and the
 * latency probes' interval (--latency-interval S).
 */
import { DEFAULT_ROLLUP_RETENTION, ROLLUP_LEVELS, type RollupRetention } from '../catalog/rollups.ts';
import { DEFAULT_LATENCY_INTERVAL_S } from '../control/insight/latency-prober.ts';
import { intOption, UsageError } from './args.ts';

const DAY_MS = 86_400_000;

export const HISTORY_FLAGS = {
  'history-interval': { type: 'string' },
  'history-raw-days': { type: 'string' },
  'history-hourly-days': { type: 'string' },
  'rollup-days': { type: 'string' },
  'latency-interval': { type: 'string' },
} as const;

export interface HistoryOptions {
  readonly historyIntervalSeconds: number;
  readonly historyRawDays: number;
  readonly historyHourlyDays: number;
  readonly rollupRetention: RollupRetention;
  readonly latencyIntervalSeconds: number;
}

export function historyOptions(o: {
  'history-interval'?: string; 'history-raw-days'?: string; 'history-hourly-days'?: string; 'rollup-days'?: string; 'latency-interval'?: string;
}): HistoryOptions {
  const historyIntervalSeconds = intOption(o['history-interval'], 'history-interval', 60, 1, 86400);
  const historyRawDays = intOption(o['history-raw-days'], 'history-raw-days', 7, 1, 36500);
  const historyHourlyDays = intOption(o['history-hourly-days'], 'history-hourly-days', Math.max(90, historyRawDays), 1, 36500);
  if (historyHourlyDays < historyRawDays) throw new UsageError('--history-hourly-days must be at least --history-raw-days');
  const latencyIntervalSeconds = intOption(o['latency-interval'], 'latency-interval', DEFAULT_LATENCY_INTERVAL_S, 1, 86400);
  return { historyIntervalSeconds, historyRawDays, historyHourlyDays, rollupRetention: rollupDays(o['rollup-days']), latencyIntervalSeconds };
}

/** `--rollup-days 2,15,366,1096`: days kept of the 1 min, 10 min, 1 h and 1 day rollups (default as shown). */
function rollupDays(text: string | undefined): RollupRetention {
  if (text === undefined) return DEFAULT_ROLLUP_RETENTION;
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length !== ROLLUP_LEVELS.length || parts.some((p) => !/^\d{1,5}$/.test(p) || Number(p) < 1)) {
    throw new UsageError('--rollup-days takes four whole numbers of days, at least 1, for the 1 min, 10 min, 1 h and 1 day buckets (default 2,15,366,1096)');
  }
  return Object.fromEntries(ROLLUP_LEVELS.map((level, i) => [level, Number(parts[i]) * DAY_MS])) as unknown as RollupRetention;
}
