/**
 * A cache node assembled from its parts: tenants fed by the catalog, Sessions for its
 * memcache connections, and the admin endpoint. Built, then listening, as the control
 * plane's buildApp: `createCacheNode` wires the parts and opens nothing, so a test can
 * read the catalog (`sync.syncNow()`) and drive connections in-process (`accept`);
 * `listen()` opens the ports, registers the node and follows the catalog. It never reads
 * argv or env.
 *
 * The memcache listener is plain TCP on the native socket loop (io/native-listener.ts)
 * where it is available, else a net.Server; or TLS when given a certificate: Sessions see
 * a Connection either way, so picking the protocol from the first byte works the same. The node
 * enforces the connection limits of limits.ts through its ConnectionSlots (logged-in and
 * waiting-to-log-in pools); in anonymous mode, where every connection is served at once,
 * one past `maxConnections` is answered one text error line and closed. One timer sweeps
 * every session once a second for the idle timeout.
 *
 * Its log (a child of the process's logger naming the node's address): a line when it
 * starts (ports, io) and stops, when the native loop is missing under `--io auto`, each
 * catalog change applied (catalog-sync.ts), and per minute the failed logins and
 * connection limits hit (node-events.ts) — never a line per request.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { createServer as createTlsServer } from 'node:tls';
import type { Catalog } from '../catalog/catalog.ts';
import { createArenaStore } from '../store/arena/arena-engine.ts';
import { ERRORS } from '../shared/errors.ts';
import { LoginThrottle } from '../shared/login-throttle.ts';
import { createAdminEndpoint } from './admin-endpoint.ts';
import { createNodeMetrics } from './node-metrics.ts';
import { ConnectionSlots } from './connection-slots.ts';
import type { NodeInfo } from './exec-context.ts';
import { CatalogSync } from './catalog-sync.ts';
import type { Connection } from './io/connection.ts';
import { chooseSocketLoop, type IoMode, type SocketLoopLoad } from './io/native-addon.ts';
import { silentLogger, type Logger } from '../shared/logger.ts';
import { NodeEvents } from './node-events.ts';
import { NativeListener } from './io/native-listener.ts';
import { StreamConnection } from './io/stream-connection.ts';
import { nodeLimits, SWEEP_INTERVAL_MS, type NodeLimits } from './limits.ts';
import { Session } from './session.ts';
import { Tenants } from './tenants.ts';
import { DEFAULT_INTROSPECTION_MEMORY, IntrospectionRegistry, type IntrospectionSettings } from '../introspection/registry.ts';
import { ExpiryCrawler } from './expiry-crawler.ts';
import { hostPort } from '../shared/host-port.ts';

export const NODE_VERSION = '1.6.21-cachier';

/** PEM certificate chain and private key for the memcache port. */
export interface TlsFiles {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface CacheNodeOptions {
  readonly catalog: Catalog;
  /** Request sizes and connection limits (limits.ts); the defaults for any left out. */
  readonly limits?: Partial<NodeLimits>;
  readonly anonymousCacheId?: number;
  /** Failed-login throttle; share one between nodes of one process. A fresh one by default. */
  readonly loginThrottle?: LoginThrottle;
  /** The node's log (a child of the process's logger); silent by default. */
  readonly logger?: Logger;
  /** Loads the native socket loop (tests: one that did not build). */
  readonly loadSocketLoop?: () => SocketLoopLoad;
  /** Introspection (src/introspection): on, with a 64 MiB cap, unless said otherwise. */
  readonly introspection?: IntrospectionSettings;
  /** The cluster it serves (only that cluster's caches); `default` unless said. */
  readonly cluster?: string;
  /** Memory it offers its cluster's caches, registered for placement (catalog DEFAULT_NODE_CAPACITY unless said). */
  readonly capacityBytes?: number;
}

export interface ListenOptions {
  readonly host: string;
  /** Memcache port; 0 picks a free one. */
  readonly port: number;
  /** Address clients are told to use (stats key); defaults to host:port. */
  readonly advertise?: string;
  /** The admin endpoint's port; 0 (default) picks a free one. */
  readonly adminPort?: number;
  /** Serve the memcache port over TLS. */
  readonly tls?: TlsFiles;
  /** Register in the catalog's node list (off for nodes that a caller registers itself). */
  readonly register?: boolean;
  /** Socket I/O for the plain-TCP port (io/native-addon.ts); CACHIER_IO, else `auto`. TLS always uses Node's. */
  readonly io?: IoMode;
  /** Opens GET /metrics on the admin port (src/shared/metrics-access.ts); none: loopback hosts only. */
  readonly metricsToken?: string;
}

export interface CacheNode {
  readonly tenants: Tenants;
  readonly sync: CatalogSync;
  /** The limits in force (the defaults with the options over them). */
  readonly limits: NodeLimits;
  /** Open memcache connections. */
  readonly connectionCount: number;
  /** Of those, connections that have not logged in yet. */
  readonly waitingCount: number;
  /** Whether its memcache port and admin endpoint accept connections: from listen() until close(). */
  readonly listening: boolean;
  /** Serves one client connection, as the listener does each one it accepts. */
  accept(conn: Connection): void;
  /** Opens the memcache port and the admin endpoint, registers the node, and follows the catalog. */
  listen(options: ListenOptions): Promise<ListeningCacheNode>;
  close(): Promise<void>;
}

export interface ListeningCacheNode extends CacheNode {
  /** host:port clients use, the key of this node in stats. */
  readonly address: string;
  readonly port: number;
  readonly adminAddress: string;
}

/** Connections over the limit still being told so; beyond this many more, new ones are dropped unanswered. */
const REFUSING_SLACK = 256;
/** A TLS connection before its handshake completes: it holds a waiting slot, and is closed if it takes too long. */
class Handshake {
  private readonly timer: NodeJS.Timeout;
  private finished = false;

  constructor(private readonly raw: Socket, private readonly onDone: () => void, timeoutMs: number) {
    this.timer = setTimeout(() => this.close('handshake timeout'), timeoutMs).unref();
    raw.once('close', () => this.done());
  }

  /** Handshake over (the Session takes the slot from here) or connection gone. */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.onDone();
  }

  close(_reason: string): void {
    this.done();
    this.raw.destroy();
  }
}

const peerKey = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;

const TOO_MANY_CONNECTIONS = Buffer.from(`${ERRORS.TOO_MANY_CONNECTIONS.text}\r\n`, 'latin1');

export function createCacheNode(opts: CacheNodeOptions): CacheNode {
  const limits = nodeLimits(opts.limits ?? {});
  // Each cache's store counts its own CAS values: a shared counter would leak other tenants' writes.
  const introspection = opts.introspection ?? { enabled: true, memoryBytes: DEFAULT_INTROSPECTION_MEMORY };
  const registry = introspection.enabled ? new IntrospectionRegistry(introspection) : null;
  const tenants = new Tenants(
    (limit) => createArenaStore({ limit, maxItemSize: limits.maxItemSize }), limits.receiveBufferBytes, registry,
  );
  if (opts.cluster !== undefined) tenants.cluster = opts.cluster;
  const sync = new CatalogSync(opts.catalog, tenants);
  // Reaps expired items nobody reads again (expiry is lazy), once a second within a budget.
  const crawler = new ExpiryCrawler(tenants);
  let log = opts.logger ?? silentLogger;
  const events = new NodeEvents(log);
  const sessions = new Set<Session>();
  // `io` says what the memcache port runs on, once it listens.
  const info: { -readonly [K in keyof NodeInfo]: NodeInfo[K] } = {
    version: NODE_VERSION, startedAt: Math.floor(Date.now() / 1000), limits, io: 'stream',
  };
  const slots = new ConnectionSlots(limits, Math.random, (limit, source) => events.limitHit(limit, source));
  const throttle = opts.loginThrottle ?? new LoginThrottle();
  const onError = (e: unknown) => log.error({ event: 'connection_error', err: e }, 'connection closed after an internal error');
  let refusing = 0;
  const accept = (conn: Connection) => {
    if (opts.anonymousCacheId !== undefined && slots.size >= limits.maxConnections) {
      slots.counts.refused++;
      events.limitHit('max_connections', conn.remoteAddress, opts.anonymousCacheId);
      if (refusing >= REFUSING_SLACK) return conn.destroy();
      refusing++;
      return refuseConnection(conn, () => refusing--);
    }
    const s = new Session(conn, {
      tenants, node: info, limits, throttle, slots,
      anonymousCacheId: opts.anonymousCacheId,
      events,
      onError,
      onClose: (x) => sessions.delete(x),
    });
    sessions.add(s);
  };

  let server: Server | undefined;
  let native: NativeListener | undefined;
  let admin: HttpServer | undefined;
  let sweep: NodeJS.Timeout | undefined;
  let open = false;

  const node: CacheNode = {
    tenants, sync, limits, accept,
    get connectionCount() {
      return sessions.size;
    },
    get waitingCount() {
      return slots.waiting;
    },
    get listening() {
      return open && (server ? server.listening : native !== undefined) && admin?.listening === true;
    },
    async listen(where) {
      const { addon, fallback } = where.tls ? {} : chooseSocketLoop(where.io, opts.loadSocketLoop);
      info.io = addon ? 'native' : 'stream';
      let port: number;
      if (addon) {
        native = new NativeListener(addon, where.host, where.port, accept, onError);
        port = native.port;
      } else {
        server = where.tls ? tlsServer(where.tls, limits, slots, accept) : createServer({ noDelay: true, allowHalfOpen: true }, (socket) => accept(new StreamConnection(socket)));
        server.maxConnections = limits.maxConnections + REFUSING_SLACK;
        port = await listenOn(server, where.host, where.port);
      }
      const metrics = {
        registry: createNodeMetrics({ tenants, slots, throttle, native: () => native, io: () => info.io }),
        access: { token: where.metricsToken, host: where.host },
      };
      admin = createAdminEndpoint({ tenants, secret: await sync.trackClusterSecret(), sync: () => sync.syncNow(), metrics });
      const adminPort = await listenOn(admin, where.host, where.adminPort ?? 0);
      const address = where.advertise ?? hostPort(where.host, port);
      const adminAddress = hostPort(where.host, adminPort);
      if (where.register !== false) {
        await opts.catalog.registerNode(address, adminAddress, { cluster: tenants.cluster, pid: process.pid, capacityBytes: opts.capacityBytes });
      }
      log = log.child({ node: address });
      events.setLogger(log);
      sync.log = log;
      if (fallback !== undefined) {
        log.warn({ event: 'native_loop_fallback', reason: fallback }, 'native socket loop not loaded: serving the memcache port on Node sockets (about half the throughput)');
      }
      await sync.start();
      events.start();
      // One timer for every connection's idle and closing deadlines.
      sweep = setInterval(() => {
        const now = Date.now();
        for (const s of sessions) s.sweep(now);
      }, SWEEP_INTERVAL_MS).unref();
      crawler.start();
      open = true;
      log.info({
        event: 'node_start', address, port, admin: adminAddress, io: info.io, tls: where.tls !== undefined,
        limits: { max_connections: limits.maxConnections, max_cache_connections: limits.maxCacheConnections, max_pending_connections: limits.maxPendingConnections },
      }, 'node started');
      return Object.defineProperties(node, {
        address: { value: address, enumerable: true },
        port: { value: port, enumerable: true },
        adminAddress: { value: adminAddress, enumerable: true },
      }) as ListeningCacheNode;
    },
    async close() {
      const wasOpen = open;
      open = false;
      events.stop();
      if (wasOpen) log.info({ event: 'node_stop', connections: sessions.size }, 'node stopping');
      if (sweep) clearInterval(sweep);
      crawler.stop();
      registry?.close();
      sync.stop();
      for (const s of sessions) s.close('node stopping');
      native?.close();
      await Promise.all([server ? closeServer(server) : undefined, admin ? closeServer(admin) : undefined]);
    },
  };
  return node;
}

/**
 * The memcache port over TLS. Before its handshake a TLS connection is no Session yet, but
 * it waits all the same: it takes a waiting slot (so a flood of silent connections is
 * displaced like any other) and is dropped at the auth timeout, which Node's handshake
 * timer does not do for a client that never sends its hello.
 */
function tlsServer(tls: TlsFiles, limits: NodeLimits, slots: ConnectionSlots, accept: (conn: Connection) => void): Server {
  const handshakes = new Map<string, Handshake>();
  const server = createTlsServer({ cert: tls.cert, key: tls.key, noDelay: true, handshakeTimeout: limits.authTimeoutMs }, (socket) => {
    handshakes.get(peerKey(socket))?.done();
    // Half-open only from here (see StreamConnection): a FIN before the handshake still
    // closes at once rather than waiting out the handshake timeout.
    socket.allowHalfOpen = true;
    accept(new StreamConnection(socket));
  });
  server.on('connection', (raw: Socket) => {
    const key = peerKey(raw);
    const h = new Handshake(raw, () => {
      handshakes.delete(key);
      slots.release(h);
    }, limits.authTimeoutMs);
    handshakes.set(key, h);
    slots.wait(h, raw.remoteAddress ?? '');
  });
  return server;
}

/** Past the node's limit: one text line (the protocol is not known yet), then close. */
function refuseConnection(conn: Connection, onClosed: () => void): void {
  const timer = setTimeout(() => conn.destroy(), 2000).unref();
  // Whatever the client sends is dropped; its FIN (or the timer) closes the connection.
  conn.bind({ data() {}, drain() {}, end() {}, close() {
    clearTimeout(timer);
    onClosed();
  } });
  conn.write(TOO_MANY_CONNECTIONS);
  conn.end();
}

function listenOn(server: Server | HttpServer, host: string, port: number): Promise<number> {
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
