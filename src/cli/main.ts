/** Entry point of the `cachier` command: picks the subcommand. */
import { UsageError } from './args.ts';

const USAGE = `usage:
  cachier start [--data DIR | --database-url URL] [--host H] [--http-port P] [--port P] [--nodes N|auto]
                [--anonymous-cache ID] [--disable-idle-days D] [--history-interval S] [--history-raw-days D]
                [--history-hourly-days D] [INSIGHT] [ALERTS] [METRICS] [--memory SIZE] [NODE LIMITS] [--https-cert F --https-key F]
  cachier node [--database-url URL | --data DIR] [--host H] [--port P] [--advertise HOST:PORT]
               [--admin-port P] [--anonymous-cache ID] [NODE LIMITS] [--metrics-token T]
  cachier node --deregister [--database-url URL | --data DIR] (--advertise HOST:PORT | --host H --port P)
  cachier control [--database-url URL | --data DIR] [--host H] [--http-port P] [--disable-idle-days D] [--history-interval S]
                  [--history-raw-days D] [--history-hourly-days D] [INSIGHT] [ALERTS] [METRICS] [--https-cert F --https-key F]
  cachier cache create [--data DIR | --database-url URL] [--memory 64mb] [--name NAME] [--cluster NAME] [--json]
  cachier cache list [--data DIR | --database-url URL] [--json]
  cachier cache show|disable|enable|delete ID [--data DIR | --database-url URL] [--json]
  cachier cache resize ID --memory SIZE [--data DIR | --database-url URL] [--json]
  cachier cache move ID --cluster NAME [--data DIR | --database-url URL] [--json]
  cachier cluster list|create NAME [--data DIR | --database-url URL] [--json]
  cachier credentials list|create CACHE_ID [--data DIR | --database-url URL] [--json]   (create: [--primary])
  cachier credentials delete CACHE_ID CRED [--data DIR | --database-url URL] [--json]
  cachier cluster-secret rotate [--data DIR | --database-url URL]
NODE LIMITS: [--max-connections N (4096)] [--max-pending-connections N (1024)] [--max-pending-per-source N (256)]
  [--max-cache-connections N (1024)] [--idle-timeout S (0 = off)] [--auth-timeout S (5)]
  [--max-item-size SIZE (1mb)] [--max-reply-queue SIZE (4mb)] [--max-receive-buffer SIZE (64mb, per cache)]
  [--tls-cert F --tls-key F]
  [--io auto|native|stream (auto: the native socket loop where it is built, else Node sockets)]
  [--no-introspection] [--introspection-memory SIZE (64mb: hot keys and request logs of all caches together)]
  [--cluster NAME (default: the cluster whose caches the node serves; made if missing)]
  [--node-memory SIZE (1gb: what a node offers its cluster's caches; new caches go where most is unallocated)]
LOGS (start, control, node; JSON lines on stderr): [--log-level fatal|error|warn|info|debug|trace|silent (info)]
  [--log-format json|pretty (pretty on a terminal, else json)]
METRICS (GET /metrics; README, Metrics): [--metrics-token T (start, control, node; else CACHIER_METRICS_TOKEN; none: open on a loopback
  --host, 404 elsewhere)] [--metrics-per-cache (start, control: cache stats per cache, not summed)]
INSIGHT: [--latency-interval S (20)] [--rollup-days M,T,H,D (2,15,366,1096: days of 1 min, 10 min, 1 h, 1 day rollups)]
ALERTS: [--alert-interval S (60)] [--smtp-url smtp://user:pass@host:port (or smtps://)] [--smtp-from ADDRESS (cachier@localhost)]
  [--dashboard-url URL (the control plane's own)] [--alert-allow-private-targets (off: Slack and webhook URLs only to public addresses)]
PostgreSQL URLs may carry ?schema=NAME to keep the tables in their own schema.`;

const [command, ...rest] = process.argv.slice(2);
try {
  // Each subcommand loads only its own modules: `cachier cache create` need not load the
  // control plane's HTTP stack and the node (a second saved on every short command).
  if (command === 'start') await (await import('./start.ts')).runStart(rest);
  else if (command === 'cache') await (await import('./cache.ts')).runCache(rest);
  else if (command === 'cluster-secret') await (await import('./cluster-secret.ts')).runClusterSecret(rest);
  else if (command === 'cluster') await (await import('./cluster.ts')).runCluster(rest);
  else if (command === 'credentials') await (await import('./credentials.ts')).runCredentials(rest);
  else if (command === 'node') await (await import('./node.ts')).runNode(rest);
  else if (command === 'control') await (await import('./control.ts')).runControl(rest);
  else if (command === undefined || command === 'help' || command === '--help') console.log(USAGE);
  else throw new UsageError(`unknown command "${command}"`);
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`cachier: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(`cachier: ${(e as Error).message}`);
  process.exit(1);
}
