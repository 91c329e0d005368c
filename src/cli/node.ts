/**
 * `cachier node`: one cache node alone, joining a shared catalog (PostgreSQL with
 * --database-url; the SQLite file under --data works for several nodes on one machine).
 * It serves every cache of its cluster (--cluster, default `default`) with its share of
 * each plan (plan ÷ the cluster's registered nodes), registers itself under its client
 * address (--advertise, or host:port) with its cluster, pid and capacity (--node-memory),
 * and refreshes that registration every 10 s (`lastSeen`; a heartbeat is not a catalog change;
 * clusters.ts says when a node not seen counts as dead).
 *
 * A node that stops stays registered, on purpose: the servers list clients were given
 * still names it, the plan stays split the same way when it comes back, and the API shows
 * it as failed — what an operator wants to see. Taking a machine out of the cluster for
 * good is an explicit act: `cachier node --deregister --advertise host:port` (or the same
 * --host/--port) removes the entry; the other nodes then take a larger share of each plan.
 */
import type { Catalog, NodeRegistration } from '../catalog/catalog.ts';
import { DEFAULT_CLUSTER, NODE_HEARTBEAT_MS } from '../catalog/clusters.ts';
import { hostPort } from '../shared/host-port.ts';
import { openCatalog } from '../catalog/open.ts';
import { createCacheNode } from '../node/cache-node.ts';
import { intOption, parse, UsageError } from './args.ts';
import { NODE_FLAGS, nodeFlagOptions } from './node-flags.ts';
import { LOG_FLAGS, loggerFromFlags } from './log-flags.ts';
import type { Logger } from '../shared/logger.ts';
import { METRICS_TOKEN_FLAG, metricsToken } from './metrics-flags.ts';
import { supervisedChild } from './node-supervisor.ts';
import { LoginThrottle } from '../shared/login-throttle.ts';
import { tuneV8ForServing } from './v8-tuning.ts';

export async function runNode(argv: string[]): Promise<void> {
  tuneV8ForServing();
  const o = parse(argv, {
    'database-url': { type: 'string' },
    data: { type: 'string', default: './data' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    advertise: { type: 'string' },
    'admin-port': { type: 'string' },
    ...NODE_FLAGS,
    ...LOG_FLAGS,
    ...METRICS_TOKEN_FLAG,
    'anonymous-cache': { type: 'string' },
    deregister: { type: 'boolean', default: false },
    // Internal: run by `cachier start` (node-supervisor.ts), which gives the port over IPC.
    supervised: { type: 'boolean', default: false },
  });
  const parent = o.supervised ? supervisedChild() : undefined;
  const host = o.host!;
  let port = intOption(o.port, 'port', 11211, 1);
  const adminPort = intOption(o['admin-port'], 'admin-port', 0);
  const nodeOptions = nodeFlagOptions(o);
  const logger = loggerFromFlags(o);
  const token = metricsToken(o);
  const anonymousCacheId = o['anonymous-cache'] === undefined ? undefined : intOption(o['anonymous-cache'], 'anonymous-cache', 0, 1, 2 ** 31);
  if (o.advertise !== undefined) splitHostPort(o.advertise, 'advertise');
  if (o.advertise === undefined && isWildcard(host) && !parent) {
    throw new UsageError(`--host ${host} listens on every interface: say with --advertise host:port where clients connect`);
  }
  let address = o.advertise ?? hostPort(host, port);

  const catalog = await openCatalog({
    dataDir: o.data, databaseUrl: o['database-url'],
    log: logger.child({ part: 'catalog' }),
  });

  if (o.deregister) {
    try {
      const known = (await catalog.listNodes()).some((n) => n.address === address);
      await catalog.removeNode(address);
      console.log(known ? `cachier node deregistered: ${address}` : `cachier node: ${address} was not registered`);
    } finally {
      await catalog.close();
    }
    return;
  }

  if (anonymousCacheId !== undefined && !(await catalog.getCache(anonymousCacheId))) {
    await catalog.close();
    throw new UsageError(`--anonymous-cache ${anonymousCacheId}: no such cache`);
  }

  if (parent) {
    // Loaded, catalog open: from here a spare becomes a node in milliseconds.
    port = await parent.port();
    address = hostPort(host, port);
  }

  const { limits, tls, io, introspection, capacityBytes } = nodeOptions;
  const cluster = nodeOptions.cluster ?? DEFAULT_CLUSTER;
  // Under start, one failed-login budget for all its nodes (relayed through the parent).
  const loginThrottle = parent ? new LoginThrottle() : undefined;
  if (loginThrottle) parent!.shareThrottle(loginThrottle);
  const node = await createCacheNode({ catalog, limits, anonymousCacheId, loginThrottle, introspection, cluster, capacityBytes, logger: logger.child({ part: 'node' }) })
    .listen({ host, port, advertise: address, adminPort, tls, io, register: false, metricsToken: token });
  // The admin endpoint is reached where clients reach the node, on its own port.
  const adminPortBound = node.adminAddress.slice(node.adminAddress.lastIndexOf(':') + 1);
  const adminAddress = `${splitHostPort(address, 'advertise').host}:${adminPortBound}`;
  const registration: NodeRegistration = { cluster, pid: process.pid, capacityBytes };
  await catalog.registerNode(address, adminAddress, registration);
  await node.sync.syncNow();
  const heartbeat = startHeartbeat(catalog, address, adminAddress, registration, logger.child({ part: 'node', node: address }));

  console.log(`cachier node ready: ${address}${nodeOptions.tls ? ' (TLS)' : ''}`);
  parent?.onSync(() => node.sync.syncNow());
  parent?.ready(address, adminAddress);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(heartbeat);
    await node.close();
    await catalog.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  // Under start, Ctrl-C reaches the whole process group: start stops its nodes in order.
  if (!parent) process.on('SIGINT', () => void stop());
}

function startHeartbeat(catalog: Catalog, address: string, adminAddress: string, registration: NodeRegistration, log: Logger): NodeJS.Timeout {
  const report = logOnce(log, 'heartbeat');
  return setInterval(() => {
    catalog.registerNode(address, adminAddress, registration).then(() => report(undefined), (e: Error) => report(e));
  }, NODE_HEARTBEAT_MS);
}

/** Logs the first error of a run of failures, and the recovery after it. */
function logOnce(log: Logger, what: string): (e: Error | undefined) => void {
  let failing = false;
  return (e) => {
    if (e && !failing) log.warn({ event: `${what}_failing`, err: e }, `${what} failing`);
    else if (!e && failing) log.info({ event: `${what}_recovered` }, `${what} recovered`);
    failing = e !== undefined;
  };
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** host:port or [v6]:port. */
function splitHostPort(value: string, option: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError(`--${option} must be host:port, got "${value}"`);
  return { host: m[1]!, port };
}
