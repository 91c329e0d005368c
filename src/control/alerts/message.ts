/**
 * What a notification says, for every channel (a pure function). The text names the
 * cache, the alert, the value, the threshold and the dashboard:
 *
 *   [cachier] FIRING: memory usage 91.3% > 80% on cache mc-3 (id 3)
 *
 *   Alert 7 (memory_usage above 80%) on cache mc-3 (id 3) is FIRING: memory usage is 91.3%, threshold 80%.
 *   Description: cache nearly full
 *   Since: 2026-12-06T13:40:00.000Z
 *   Dashboard: http://127.0.0.1:8080/
 *
 * A reminder says STILL FIRING and "Still firing at: <time>"; a resolution RESOLVED and
 * "Resolved: <time>". The webhook's JSON body carries the same facts as fields (and the text).
 */
import type { AlertDelivery } from '../../catalog/alerts.ts';

export interface AlertMessage {
  readonly subject: string;
  readonly text: string;
  /** The webhook's body (before serialization). */
  readonly payload: Readonly<Record<string, unknown>>;
}

const LABEL = { hit_rate: 'hit rate', memory_usage: 'memory usage' } as const;
const STATE = { firing: 'FIRING', reminder: 'STILL FIRING', resolved: 'RESOLVED' } as const;

export const formatPercent = (v: number): string => `${Math.round(v * 10) / 10}%`;

export function alertMessage(d: AlertDelivery, cache: { id: number; name: string }, dashboardUrl: string): AlertMessage {
  const label = LABEL[d.triggerType];
  const op = d.triggerType === 'hit_rate' ? '<' : '>';
  const side = d.triggerType === 'hit_rate' ? 'below' : 'above';
  const state = STATE[d.kind];
  const where = `cache ${cache.name} (id ${cache.id})`;
  const subject = d.kind === 'resolved'
    ? `[cachier] RESOLVED: ${label} ${formatPercent(d.value)} on ${where}`
    : `[cachier] ${state}: ${label} ${formatPercent(d.value)} ${op} ${d.threshold}% on ${where}`;
  const at = new Date(d.at).toISOString();
  const text = [
    `Alert ${d.alertId} (${d.triggerType} ${side} ${d.threshold}%) on ${where} is ${state}: ${label} is ${formatPercent(d.value)}, threshold ${d.threshold}%.`,
    ...(d.description ? [`Description: ${d.description}`] : []),
    `${{ firing: 'Since', reminder: 'Still firing at', resolved: 'Resolved' }[d.kind]}: ${at}`,
    `Dashboard: ${dashboardUrl}`,
  ].join('\n');
  return {
    subject,
    text,
    payload: {
      event: d.kind,
      state: d.kind === 'resolved' ? 'ok' : 'firing',
      cache: { id: cache.id, name: cache.name },
      alert: { id: d.alertId, trigger_type: d.triggerType, trigger_threshold: d.threshold, description: d.description },
      value: d.value,
      threshold: d.threshold,
      time: at,
      notification: { id: d.id, seq: d.seq },
      dashboard_url: dashboardUrl,
      text: `${subject}\n${text}`,
    },
  };
}
