/**
 * The history flags every command that runs a control plane takes (`start`, `control`):
 * sampling interval and retention (raw samples for --history-raw-days, then one per hour
 * per server until --history-hourly-days, then dropped).
 */
import { intOption, UsageError } from './args.ts';

export const HISTORY_FLAGS = {
  'history-interval': { type: 'string' },
  'history-raw-days': { type: 'string' },
  'history-hourly-days': { type: 'string' },
} as const;

export interface HistoryOptions {
  readonly historyIntervalSeconds: number;
  readonly historyRawDays: number;
  readonly historyHourlyDays: number;
}

export function historyOptions(o: { 'history-interval'?: string; 'history-raw-days'?: string; 'history-hourly-days'?: string }): HistoryOptions {
  const historyIntervalSeconds = intOption(o['history-interval'], 'history-interval', 60, 1, 86400);
  const historyRawDays = intOption(o['history-raw-days'], 'history-raw-days', 7, 1, 36500);
  const historyHourlyDays = intOption(o['history-hourly-days'], 'history-hourly-days', Math.max(90, historyRawDays), 1, 36500);
  if (historyHourlyDays < historyRawDays) throw new UsageError('--history-hourly-days must be at least --history-raw-days');
  return { historyIntervalSeconds, historyRawDays, historyHourlyDays };
}
