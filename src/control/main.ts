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
}

export interface ControlPlane {
  readonly port: number;
  readonly scheme: 'http' | 'https';
  readonly sampler: HistorySampler;
  readonly latency: LatencyProber;
  /** The operator token, only on the start that created it. */
  readonly operatorToken: string | undefined;
  close(): Promise<void>;
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const nodes = new NodeClient({ catalog: opts.catalog });
  const retention: RetentionPolicy = {
    rawMs: opts.historyRawDays === undefined ? DEFAULT_RETENTION.rawMs : opts.historyRawDays * DAY_MS,
    hourlyMs: opts.historyHourlyDays === undefined ? DEFAULT_RETENTION.hourlyMs : opts.historyHourlyDays * DAY_MS,
    ...(opts.rollupRetention ? { rollupMs: opts.rollupRetention } : {}),
  };
  const sampler = new HistorySampler({
    catalog: opts.catalog, nodes, retention,
    intervalMs: Math.max(1, opts.historyIntervalSeconds) * 1000,
    onError: (e) => console.error('cachier history sampler:', (e as Error).message),
    idle: IdleWatcher.fromDays({ catalog: opts.catalog, nodes, days: opts.disableIdleDays }),
  });
  const latency = new LatencyProber({
    catalog: opts.catalog,
    intervalMs: Math.max(1, opts.latencyIntervalSeconds ?? DEFAULT_LATENCY_INTERVAL_S) * 1000,
    onError: (e) => console.error('cachier latency probes:', (e as Error).message),
  });
  const app = buildApp({ catalog: opts.catalog, nodes, https: opts.https, loginThrottle: opts.loginThrottle });
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
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
  return {
    port, sampler, latency, operatorToken,
    scheme: opts.https ? 'https' : 'http',
    async close() {
      await sampler.stop();
      await latency.stop();
      await app.close();
    },
  };
}
