/**
 * `cachier start`: everything on one machine — the SQLite catalog under --data (or the
 * shared PostgreSQL one with --database-url), N cache nodes on consecutive ports, and the
 * control plane's HTTP port. Each node runs in a process of its own (`cachier node`,
 * supervised by node-supervisor.ts: restarted when it dies, stopped with this one), so N
 * nodes use N cores; `--nodes auto` runs one per core. On an empty catalog it
 * creates a first cache and prints how to connect to it; on a non-empty one it says how to
 * get a credential (`cachier credentials create`), never printing a password.
 */
import { serversOf } from '../catalog/catalog.ts';
import { openCatalog } from '../catalog/open.ts';
import { availableParallelism } from 'node:os';
import { startControlPlane } from '../control/main.ts';
import { parseSize } from '../shared/sizes.ts';
import { intOption, parse, UsageError } from './args.ts';
import { HISTORY_FLAGS, historyOptions } from './history-flags.ts';
import { IDLE_FLAGS, idleOptions } from './idle-flags.ts';
import { ALERT_FLAGS, alertOptions } from './alert-flags.ts';
import { METRICS_FLAGS, metricsOptions } from './metrics-flags.ts';
import { HTTPS_FLAGS, httpsOption, NODE_FLAGS, nodeFlagOptions } from './node-flags.ts';
import { LOG_FLAGS, loggerFromFlags } from './log-flags.ts';
import { NodeSupervisor } from './node-supervisor.ts';
import { NODE_STALE_MS } from '../catalog/clusters.ts';
import { hostPort } from '../shared/host-port.ts';
import { DataDirLockedError, lockDataDir } from './data-lock.ts';

/** Most nodes one `start` runs. */
const MAX_NODES = 256;

export async function runStart(argv: string[]): Promise<void> {
  const o = parse(argv, {
    data: { type: 'string', default: './data' },
    'database-url': { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'http-port': { type: 'string' },
    port: { type: 'string' },
    nodes: { type: 'string' },
    'anonymous-cache': { type: 'string' },
    ...HISTORY_FLAGS,
    ...IDLE_FLAGS,
    ...ALERT_FLAGS,
    ...NODE_FLAGS,
    ...LOG_FLAGS,
    ...HTTPS_FLAGS,
    ...METRICS_FLAGS,
    memory: { type: 'string', default: '64mb' },
  });
  const host = o.host!;
  const httpPort = intOption(o['http-port'], 'http-port', 8080);
  const port = intOption(o.port, 'port', 11211, 1);
  const nodeCount = o.nodes === 'auto' ? Math.min(MAX_NODES, availableParallelism()) : (() => {
    try {
      return intOption(o.nodes, 'nodes', 1, 1, MAX_NODES);
    } catch {
      throw new UsageError(`--nodes must be auto (one per core) or an integer from 1 to ${MAX_NODES}`);
    }
  })();
  if (port + nodeCount - 1 > 65535) throw new UsageError(`--port ${port} with ${nodeCount} nodes runs past port 65535`);
  const history = historyOptions(o);
  const alerts = alertOptions(o);
  const nodeOptions = nodeFlagOptions(o);
  const https = httpsOption(o);
  const logger = loggerFromFlags(o);
  const metrics = metricsOptions(o);
  const anonymousCacheId = o['anonymous-cache'] === undefined ? undefined : intOption(o['anonymous-cache'], 'anonymous-cache', 0, 1, 2 ** 31);
  const firstCacheBytes = (() => {
    try {
      return parseSize(o.memory!);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  })();

  const databaseUrl = o['database-url'];
  const catalog = await openCatalog({ dataDir: o.data, databaseUrl, log: logger.child({ part: 'catalog' }) });
  // One start per --data (the catalog made the directory): a second would run beside the first.
  let unlock = () => {};
  if (!databaseUrl) {
    try {
      unlock = lockDataDir(o.data!);
    } catch (e) {
      await catalog.close();
      if (e instanceof DataDirLockedError) {
        console.error(`cachier: ${e.message}`);
        process.exit(1);
      }
      throw e;
    }
  }
  if (anonymousCacheId !== undefined && !(await catalog.getCache(anonymousCacheId))) {
    unlock();
    throw new UsageError(`--anonymous-cache ${anonymousCacheId}: no such cache`);
  }
  // With SQLite this process owns the embedded cluster: forget nodes of earlier runs on
  // other ports — only dead ones (not seen within NODE_STALE_MS), as a `cachier node` on the
  // same catalog is alive and heartbeating. A shared PostgreSQL catalog: leave it be.
  if (!databaseUrl) {
    const addresses = Array.from({ length: nodeCount }, (_, i) => hostPort(host, port + i));
    const deadBefore = Date.now() - NODE_STALE_MS;
    for (const n of await catalog.listNodes()) {
      if (!addresses.includes(n.address) && n.lastSeen < deadBefore) await catalog.removeNode(n.address);
    }
  }

  // Every node flag the user gave goes to every node process as given (they were checked above).
  const passed: string[] = databaseUrl ? ['--database-url', databaseUrl] : ['--data', o.data!];
  passed.push('--host', host);
  const given = o as Record<string, string | boolean | undefined>;
  for (const flag of new Set([...Object.keys(NODE_FLAGS), ...Object.keys(LOG_FLAGS), 'anonymous-cache', 'cluster'])) {
    const v = given[flag];
    if (v === true) passed.push(`--${flag}`);
    else if (typeof v === 'string') passed.push(`--${flag}`, v);
  }
  const supervisor = new NodeSupervisor({
    host, ports: Array.from({ length: nodeCount }, (_, i) => port + i), args: passed,
    // The metrics token by environment, so it is not in the process list.
    env: metrics.metricsToken === undefined ? {} : { CACHIER_METRICS_TOKEN: metrics.metricsToken },
    log: logger.child({ part: 'supervisor' }),
  });
  let control: Awaited<ReturnType<typeof startControlPlane>> | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await control?.close();
    await supervisor.stop();
    await catalog.close();
    unlock();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  let first: string[] = [];
  try {
    await supervisor.start();
    const existing = await catalog.listCaches();
    if (existing.length > 0) {
      // Passwords are shown once and stored hashed: say how to get a credential again, never print one.
      const where = databaseUrl ? '--database-url URL' : `--data ${o.data}`;
      const some = existing[0]!.id;
      first = [
        `This catalog has ${existing.length} cache${existing.length === 1 ? '' : 's'} (cachier cache list ${where}); passwords are shown only when made.`,
        `A new credential for a cache: npx cachier credentials create CACHE_ID ${where} [--primary] (e.g. CACHE_ID ${some}),`
          + ` or POST /api/operator/caches/CACHE_ID/credentials with the operator token.`,
      ];
    } else {
      const { cache, credential, password } = await catalog.createCache({ memoryBytes: firstCacheBytes });
      first = [
        `Created your first cache (id ${cache.id}). Connect with:`,
        `MEMCACHIER_SERVERS=${serversOf(await catalog.listNodes(cache.cluster)).join(',')}`,
        `MEMCACHIER_USERNAME=${credential.username}`,
        `MEMCACHIER_PASSWORD=${password}`,
      ];
    }
    // Every node has registered: bring all of them to the same view of the cluster.
    await supervisor.syncAll();
    control = await startControlPlane({ catalog, host, port: httpPort, ...history, ...idleOptions(o), ...alerts, ...metrics, https, localNodes: () => supervisor.nodes, logger });
  } catch (e) {
    if (stopping) return new Promise(() => {}); // a signal's stop() is under way and exits
    stopping = true;
    await control?.close();
    await supervisor.stop();
    await catalog.close();
    unlock();
    throw e;
  }

  if (!control) return;
  for (const line of first) console.log(line);
  if (control.operatorToken) console.log(`Operator API token (shown only this once; keep it): ${control.operatorToken}`);
  console.log(`Dashboard: ${control.scheme}://${hostPort(host, control.port)}/`);
  console.log(`cachier ready: ${control.scheme}=${hostPort(host, control.port)} nodes=${supervisor.nodes.map((n) => n.address).join(',')}${nodeOptions.tls ? ' (TLS)' : ''}`);
}
