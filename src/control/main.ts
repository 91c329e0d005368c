/**
 * Starts the control plane: the HTTP app on a port plus the history sampler, and makes
 * the operator token on first start (returned once, in clear, for the caller to print).
 */
import type { Catalog, RetentionPolicy } from '../catalog/catalog.ts';
import type { LoginThrottle } from '../shared/login-throttle.ts';
import { buildApp } from './app.ts';
import { NodeClient } from './node-client.ts';
import { DEFAULT_RETENTION, HistorySampler } from './sampler.ts';
import { IdleWatcher } from './idle.ts';
import { DEFAULT_LATENCY_INTERVAL_S, LatencyProber } from './insight/latency-prober.ts';
import type { RollupRetention } from '../catalog/rollups.ts';
import type { LocalNode } from './readiness.ts';
import { AlertEvaluator, DEFAULT_ALERT_INTERVAL_S } from './alerts/evaluator.ts';
import { AlertDeliverer, type DelivererOptions } from './alerts/deliverer.ts';
import { AlertSenders } from './alerts/senders.ts';
import { silentLogger, type Logger } from '../shared/logger.ts';
import { ControlMetrics, countCatalogErrors } from './metrics.ts';

const DAY_MS = 86_400_000;

export interface ControlPlaneOptions {
  readonly catalog: Catalog;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly historyIntervalSeconds: number;
  /** Days of full-resolution history (default 7). */
  readonly historyRawDays?: number;
  /** Days of hourly history (default 90); older samples are dropped. */
  readonly historyHourlyDays?: number;
  /** How long insight's rollups are kept per level (default DEFAULT_ROLLUP_RETENTION, rollups.ts). */
  readonly rollupRetention?: RollupRetention;
  /** Seconds between latency probes of every node (default 20). */
  readonly latencyIntervalSeconds?: number;
  /** Off for tests that drive the sampler themselves. */
  readonly sampler?: boolean;
  /** Latency probes; default: on whenever the sampler is. */
  readonly latencyProbes?: boolean;
  /** Serve HTTPS with this PEM certificate chain and key (plain HTTP without). */
  readonly https?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Throttles failed Basic logins; a fresh one by default. */
  readonly loginThrottle?: LoginThrottle;
  /** Disable caches without memcache traffic for this many days (idle.ts); default never. */
  readonly disableIdleDays?: number;
  /** The cache nodes this process runs, for /readyz and the operator's node states (readiness.ts). */
  readonly localNodes?: () => readonly LocalNode[];
  /** Seconds between alert evaluations (default 60). */
  readonly alertIntervalSeconds?: number;
  /** Alert evaluation and delivery; default: on whenever the sampler is. */
  readonly alerts?: boolean;
  /** SMTP server for email alerts, `smtp://user:pass@host:port` (smtps:// for TLS). */
  readonly smtpUrl?: string;
  /** From address of alert emails. */
  readonly smtpFrom?: string;
  /** The dashboard link in notifications; default this control plane's own URL. */
  readonly dashboardUrl?: string;
  /** Let Slack and webhook targets be loopback, private, link-local… addresses (default refused: target-guard.ts). */
  readonly alertAllowPrivateTargets?: boolean;
  /** `--metrics-token`: a bearer token that opens GET /metrics (the operator token does too); see src/shared/metrics-access.ts. */
  readonly metricsToken?: string;
  /** `--metrics-per-cache`: cache stats per cache rather than summed over caches (metrics.ts). */
  readonly metricsPerCache?: boolean;
  /** The process's logger: the plane logs through children (part control, sampler, alerts); silent by default. */
  readonly logger?: Logger;
  /** Delivery tuning (tests): deadline of a send, retry backoff, concurrency, poll. */
  readonly alertDelivery?: Partial<Pick<DelivererOptions, 'retryBaseMs' | 'retryMaxMs' | 'giveUpAfterMs' | 'concurrency' | 'pollMs'>> & { timeoutMs?: number };
}

export interface ControlPlane {
  readonly port: number;
  readonly scheme: 'http' | 'https';
  readonly sampler: HistorySampler;
  readonly latency: LatencyProber;
  readonly alertEvaluator: AlertEvaluator;
  readonly alertDeliverer: AlertDeliverer;
  readonly metrics: ControlMetrics;
  /** The operator token, only on the start that created it. */
  readonly operatorToken: string | undefined;
  close(): Promise<void>;
}

export async function startControlPlane(given: ControlPlaneOptions): Promise<ControlPlane> {
  const metrics = new ControlMetrics({ perCache: given.metricsPerCache });
  // Every failed catalog call is counted (cachier_catalog_errors_total).
  const opts: ControlPlaneOptions = { ...given, catalog: countCatalogErrors(given.catalog, metrics) };
  const nodes = new NodeClient({ catalog: opts.catalog });
  const log = opts.logger ?? silentLogger;
  const controlLog = log.child({ part: 'control' });
  const samplerLog = log.child({ part: 'sampler' });
  const alertsLog = log.child({ part: 'alerts' });
  const retention: RetentionPolicy = {
    rawMs: opts.historyRawDays === undefined ? DEFAULT_RETENTION.rawMs : opts.historyRawDays * DAY_MS,
    hourlyMs: opts.historyHourlyDays === undefined ? DEFAULT_RETENTION.hourlyMs : opts.historyHourlyDays * DAY_MS,
    ...(opts.rollupRetention ? { rollupMs: opts.rollupRetention } : {}),
  };
  const sampler = new HistorySampler({
    catalog: opts.catalog, nodes, retention,
    intervalMs: Math.max(1, opts.historyIntervalSeconds) * 1000,
    onError: (e) => samplerLog.warn({ event: 'sampler_round_failed', err: e }, 'history sampler round failed'),
    idle: IdleWatcher.fromDays({
      catalog: opts.catalog, nodes, days: opts.disableIdleDays,
      onDisabled: (ids, days) => samplerLog.info({ event: 'caches_disabled_idle', caches: ids, days }, `disabled ${ids.length} idle cache${ids.length === 1 ? '' : 's'}`),
    }),
  });
  const latency = new LatencyProber({
    catalog: opts.catalog,
    intervalMs: Math.max(1, opts.latencyIntervalSeconds ?? DEFAULT_LATENCY_INTERVAL_S) * 1000,
    onError: (e) => samplerLog.warn({ event: 'latency_round_failed', err: e }, 'latency probe round failed'),
    onProbe: (server, ns) => metrics.observeProbe(server, ns),
  });
  let dashboardUrl = opts.dashboardUrl ?? '';
  const senders = new AlertSenders({ smtpUrl: opts.smtpUrl, smtpFrom: opts.smtpFrom, timeoutMs: opts.alertDelivery?.timeoutMs, allowPrivateTargets: opts.alertAllowPrivateTargets });
  const alertDeliverer = new AlertDeliverer({
    catalog: opts.catalog, senders, dashboardUrl: () => dashboardUrl, ...opts.alertDelivery, log: alertsLog,
    onError: (e) => alertsLog.error({ event: 'alert_delivery_error', err: e }, 'alert delivery round failed'),
  });
  const alertEvaluator = new AlertEvaluator({
    catalog: opts.catalog,
    intervalMs: Math.max(1, opts.alertIntervalSeconds ?? DEFAULT_ALERT_INTERVAL_S) * 1000,
    onClaimed: () => alertDeliverer.wake(),
    onError: (e) => alertsLog.error({ event: 'alert_evaluation_failed', err: e }, 'alert evaluation round failed'),
  });
  metrics.sources.sampler = sampler;
  metrics.sources.deliveries = alertDeliverer.counts;
  const app = buildApp({
    catalog: opts.catalog, nodes, https: opts.https, loginThrottle: opts.loginThrottle, localNodes: opts.localNodes, logger: controlLog,
    alerts: { senders, dashboardUrl: () => dashboardUrl },
    metrics, metricsAccess: { token: opts.metricsToken, host: opts.host },
  });
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  controlLog.info({ event: 'control_start', host: opts.host, port, scheme: opts.https ? 'https' : 'http' }, 'control plane listening');
  if (!dashboardUrl) {
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
    dashboardUrl = `${opts.https ? 'https' : 'http'}://${host}:${port}/`;
  }
  // Only once listening, so a start that fails cannot swallow the one showing of the token.
  let operatorToken: string | undefined;
  try {
    operatorToken = await opts.catalog.ensureOperatorToken();
  } catch (e) {
    await app.close();
    throw e;
  }
  if (opts.sampler !== false) sampler.start();
  if (opts.latencyProbes ?? opts.sampler !== false) latency.start();
  if (opts.alerts ?? opts.sampler !== false) {
    alertEvaluator.start();
    alertDeliverer.start();
  }
  return {
    port, sampler, latency, operatorToken, alertEvaluator, alertDeliverer, metrics,
    scheme: opts.https ? 'https' : 'http',
    async close() {
      await sampler.stop();
      await latency.stop();
      await alertEvaluator.stop();
      await alertDeliverer.stop();
      senders.close();
      controlLog.info({ event: 'control_stop' }, 'control plane stopping');
      await app.close();
    },
  };
}
