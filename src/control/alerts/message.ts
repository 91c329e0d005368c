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

/**
 * A test notification (POST …/alerts/configs/<id>/test), sent the way a real one is:
 *
 *   [cachier] TEST: notification from cache mc-3 (id 3)
 *
 *   This is a test notification from cachier for cache mc-3 (id 3), sent to its slack delivery config 5.
 *   Alerts that use this config will be delivered the same way.
 *   Sent: 2026-12-06T13:40:00.000Z
 *   Dashboard: http://127.0.0.1:8080/
 *
 * The webhook body has `event` and `state` "test", the cache, `config_id`, `time`, `dashboard_url` and the text.
 */
export function testMessage(cache: { id: number; name: string }, config: { id: number; type: string }, at: number, dashboardUrl: string): AlertMessage {
  const where = `cache ${cache.name} (id ${cache.id})`;
  const subject = `[cachier] TEST: notification from ${where}`;
  const time = new Date(at).toISOString();
  const text = [
    `This is a test notification from cachier for ${where}, sent to its ${config.type} delivery config ${config.id}.`,
    'Alerts that use this config will be delivered the same way.',
    `Sent: ${time}`,
    `Dashboard: ${dashboardUrl}`,
  ].join('\n');
  return {
    subject,
    text,
    payload: {
      event: 'test', state: 'test', cache: { id: cache.id, name: cache.name }, config_id: config.id, time, dashboard_url: dashboardUrl,
      text: `${subject}\n${text}`,
    },
  };
}
