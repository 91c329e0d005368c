/**
 * A cache node assembled from its parts: tenants fed by the catalog, a memcache listener
 * whose connections are Sessions, and the admin endpoint. `createCacheNode` builds and
 * listens; it never reads argv or env, so tests run nodes in-process.
 *
 * The memcache listener is plain TCP, or TLS when given a certificate: Sessions read the
 * decrypted stream, so picking the protocol from the first byte works the same. The node
 * enforces the connection limits of limits.ts: past `maxConnections` a new connection is
 * answered one text error line and closed; one timer sweeps every session once a second
 * for the idle timeout.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { createServer as createTlsServer } from 'node:tls';
import type { Catalog } from '../catalog/catalog.ts';
import { DEFAULT_LIMITS, type ProtocolLimits } from '../protocol/command.ts';
import { ArenaTenantStore } from '../store/arena/arena-store.ts';
import { ERRORS } from '../shared/errors.ts';
import { LoginThrottle } from '../shared/login-throttle.ts';
import { createAdminServer } from './admin.ts';
import { CatalogSync } from './catalog-sync.ts';
import { nodeLimits, SWEEP_INTERVAL_MS, type NodeLimits } from './limits.ts';
import { Session } from './session.ts';
import { Tenants } from './tenants.ts';

export const NODE_VERSION = '1.6.21-cachier';

/** PEM certificate chain and private key for the memcache port. */
export interface TlsFiles {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface CacheNodeOptions extends Partial<NodeLimits> {
  readonly catalog: Catalog;
  readonly host: string;
  /** Memcache port; 0 picks a free one. */
  readonly port: number;
  /** Address clients are told to use (stats key); defaults to host:port. */
  readonly advertise?: string;
  readonly adminPort?: number;
  readonly anonymousCacheId?: number;
  readonly limits?: ProtocolLimits;
  /** Serve the memcache port over TLS. */
  readonly tls?: TlsFiles;
  /** Failed-login throttle; share one between nodes of one process. A fresh one by default. */
  readonly loginThrottle?: LoginThrottle;
  /** Register in the catalog's node list (off for nodes that a caller registers itself). */
  readonly register?: boolean;
}

export interface CacheNode {
  /** host:port clients use, the key of this node in stats. */
  readonly address: string;
  readonly adminAddress: string;
  readonly port: number;
  readonly tenants: Tenants;
  readonly sync: CatalogSync;
  /** The limits in force (the defaults with the options over them). */
  readonly nodeLimits: NodeLimits;
  /** Open memcache connections. */
  readonly connectionCount: number;
  close(): Promise<void>;
}

/** Connections over the limit still being told so; beyond this many more, new ones are dropped unanswered. */
const REFUSING_SLACK = 256;
const TOO_MANY_CONNECTIONS = Buffer.from(`${ERRORS.TOO_MANY_CONNECTIONS.text}\r\n`, 'latin1');

export async function createCacheNode(opts: CacheNodeOptions): Promise<CacheNode> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  let cas = 0;
  const nextCas = () => ++cas;
  const tenants = new Tenants((limit) => new ArenaTenantStore({ limit, maxItemSize: limits.maxItemSize, nextCas }));
  const sync = new CatalogSync(opts.catalog, tenants);

  const sessions = new Set<Session>();
  const node = { version: NODE_VERSION, startedAt: Math.floor(Date.now() / 1000), limits };
  const connLimits = nodeLimits(opts, limits.maxItemSize);
  const throttle = opts.loginThrottle ?? new LoginThrottle();
  const onSocket = (socket: Socket) => {
    if (sessions.size >= connLimits.maxConnections) return refuseConnection(socket);
    const s = new Session(socket, {
      tenants, node, limits, nodeLimits: connLimits, throttle,
      anonymousCacheId: opts.anonymousCacheId,
      onError: (e) => console.error('cachier node: connection closed after an internal error:', e instanceof Error ? e.stack : e),
      onClose: (x) => sessions.delete(x),
    });
    sessions.add(s);
  };
  const server = opts.tls
    ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key, noDelay: true, handshakeTimeout: connLimits.authTimeoutMs }, onSocket)
    : createServer({ noDelay: true }, onSocket);
  server.maxConnections = connLimits.maxConnections + REFUSING_SLACK;
  const admin = createAdminServer({ tenants, secret: await opts.catalog.clusterSecret(), sync: () => sync.syncNow() });

  const port = await listen(server, opts.host, opts.port);
  const adminPort = await listen(admin, opts.host, opts.adminPort ?? 0);
  const address = opts.advertise ?? `${opts.host}:${port}`;
  const adminAddress = `${opts.host}:${adminPort}`;
  if (opts.register !== false) await opts.catalog.registerNode(address, adminAddress);
  await sync.start();
  // One timer for every connection's idle and closing deadlines.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const s of sessions) s.sweep(now);
  }, SWEEP_INTERVAL_MS).unref();

  return {
    address, adminAddress, port, tenants, sync, nodeLimits: connLimits,
    get connectionCount() {
      return sessions.size;
    },
    async close() {
      clearInterval(sweep);
      sync.stop();
      for (const s of sessions) s.close('node stopping');
      await Promise.all([closeServer(server), closeServer(admin)]);
    },
  };
}

/** Past the node's limit: one text line (the protocol is not known yet), then close. */
function refuseConnection(socket: Socket): void {
  socket.on('error', () => socket.destroy());
  socket.setTimeout(2000, () => socket.destroy());
  socket.end(TOO_MANY_CONNECTIONS);
  // Read and drop whatever the client sends, so its FIN closes the socket.
  socket.resume();
}

function listen(server: Server | HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
