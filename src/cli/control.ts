/**
 * `cachier control`: one control plane alone (HTTP API, dashboard, history sampling) over
 * a shared catalog, with no cache node of its own. Run several behind a load balancer;
 * they share everything through the catalog.
 */
import { openCatalog } from '../catalog/open.ts';
import { startControlPlane } from '../control/main.ts';
import { intOption, parse } from './args.ts';
import { HISTORY_FLAGS, historyOptions } from './history-flags.ts';
import { IDLE_FLAGS, idleOptions } from './idle-flags.ts';
import { ALERT_FLAGS, alertOptions } from './alert-flags.ts';
import { METRICS_FLAGS, metricsOptions } from './metrics-flags.ts';
import { HTTPS_FLAGS, httpsOption } from './node-flags.ts';
import { LOG_FLAGS, loggerFromFlags } from './log-flags.ts';

export async function runControl(argv: string[]): Promise<void> {
  const o = parse(argv, {
    'database-url': { type: 'string' },
    data: { type: 'string', default: './data' },
    host: { type: 'string', default: '127.0.0.1' },
    'http-port': { type: 'string' },
    ...HISTORY_FLAGS,
    ...IDLE_FLAGS,
    ...ALERT_FLAGS,
    ...HTTPS_FLAGS,
    ...LOG_FLAGS,
    ...METRICS_FLAGS,
  });
  const host = o.host!;
  const httpPort = intOption(o['http-port'], 'http-port', 8080);
  const history = historyOptions(o);
  const alerts = alertOptions(o);
  const https = httpsOption(o);
  const logger = loggerFromFlags(o);
  const metrics = metricsOptions(o);

  const catalog = await openCatalog({ dataDir: o.data, databaseUrl: o['database-url'], log: logger.child({ part: 'catalog' }) });
  const control = await startControlPlane({ catalog, host, port: httpPort, ...history, ...idleOptions(o), ...alerts, ...metrics, https, logger });
  if (control.operatorToken) console.log(`Operator API token (shown only this once; keep it): ${control.operatorToken}`);
  console.log(`cachier control ready: ${control.scheme}=${host}:${control.port}`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await control.close();
    await catalog.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}
