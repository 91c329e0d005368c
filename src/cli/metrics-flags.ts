/**
 * `--metrics-token T` (`start`, `control`, `node`): the bearer token that opens every
 * `/metrics` endpoint (the control plane's, and each node's on its admin port); without
 * it /metrics is open on a loopback --host and answers 404 elsewhere
 * (src/shared/metrics-access.ts). The value may also come from CACHIER_METRICS_TOKEN, so
 * it need not sit in a process list.
 * `--metrics-per-cache` (`start`, `control`): the control plane's cache stats one series
 * per cache rather than summed over caches (src/control/metrics.ts says the cardinality).
 */
import { UsageError } from './args.ts';

export const METRICS_TOKEN_FLAG = {
  'metrics-token': { type: 'string' },
} as const;

export const METRICS_FLAGS = {
  ...METRICS_TOKEN_FLAG,
  'metrics-per-cache': { type: 'boolean' },
} as const;

export function metricsToken(o: { 'metrics-token'?: string }): string | undefined {
  const token = o['metrics-token'] ?? (process.env.CACHIER_METRICS_TOKEN || undefined);
  if (token !== undefined && !/^[\x21-\x7e]{16,}$/.test(token)) {
    throw new UsageError('--metrics-token must be at least 16 printable characters without spaces');
  }
  return token;
}

export function metricsOptions(o: { 'metrics-token'?: string; 'metrics-per-cache'?: boolean }): { metricsToken?: string; metricsPerCache?: boolean } {
  return { metricsToken: metricsToken(o), metricsPerCache: o['metrics-per-cache'] === true };
}
