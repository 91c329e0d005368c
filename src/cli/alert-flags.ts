/**
 * The alert flags every command that runs a control plane takes (`start`, `control`):
 * `--alert-interval S` (default 60) between evaluations; `--smtp-url
 * smtp://user:pass@host:port` (smtps:// for TLS from the start) and `--smtp-from ADDRESS`
 * for email delivery; `--dashboard-url URL`, the link notifications carry (default the
 * control plane's own address); `--alert-allow-private-targets` lets Slack and webhook
 * URLs reach loopback, private and link-local addresses (off: refused, target-guard.ts).
 */
import { DEFAULT_ALERT_INTERVAL_S } from '../control/alerts/evaluator.ts';
import { intOption, UsageError } from './args.ts';

export const ALERT_FLAGS = {
  'alert-interval': { type: 'string' },
  'smtp-url': { type: 'string' },
  'smtp-from': { type: 'string' },
  'dashboard-url': { type: 'string' },
  'alert-allow-private-targets': { type: 'boolean' },
} as const;

export interface AlertOptions {
  readonly alertIntervalSeconds: number;
  readonly smtpUrl?: string;
  readonly smtpFrom?: string;
  readonly dashboardUrl?: string;
  readonly alertAllowPrivateTargets?: boolean;
}

export function alertOptions(o: { 'alert-interval'?: string; 'smtp-url'?: string; 'smtp-from'?: string; 'dashboard-url'?: string; 'alert-allow-private-targets'?: boolean }): AlertOptions {
  const alertIntervalSeconds = intOption(o['alert-interval'], 'alert-interval', DEFAULT_ALERT_INTERVAL_S, 1, 86400);
  const smtpUrl = o['smtp-url'];
  if (smtpUrl !== undefined && !/^smtps?:\/\/[^/]+/.test(smtpUrl)) {
    throw new UsageError('--smtp-url takes smtp://[user:pass@]host[:port] (or smtps:// for TLS)');
  }
  const dashboardUrl = o['dashboard-url'];
  if (dashboardUrl !== undefined && !/^https?:\/\/\S+$/.test(dashboardUrl)) throw new UsageError('--dashboard-url takes an http(s) URL');
  return {
    alertIntervalSeconds,
    ...(smtpUrl !== undefined ? { smtpUrl } : {}),
    ...(o['smtp-from'] !== undefined ? { smtpFrom: o['smtp-from'] } : {}),
    ...(dashboardUrl !== undefined ? { dashboardUrl } : {}),
    ...(o['alert-allow-private-targets'] ? { alertAllowPrivateTargets: true } : {}),
  };
}
