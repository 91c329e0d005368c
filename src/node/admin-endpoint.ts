/**
 * The node's admin endpoint for the control plane: read any cache's stats, flush any
 * cache, reset its counters (as `stats reset`), ask for an immediate catalog sync. It
 * listens on its own port, separate from the memcache port tenants use, and answers only
 * requests bearing the cluster secret.
 * The secret can be rotated (`cachier cluster-secret rotate`): the node follows the
 * catalog, and a request bearing a secret it does not know yet makes it catch up once
 * before refusing, so a control plane that read the new secret first is not turned away.
 * A few routes of internal JSON, so plain node:http rather than a framework.
 *
 * `GET /metrics` (Prometheus text, node-metrics.ts) is the one route a scraper reaches:
 * it takes the metrics token (`--metrics-token`) or the cluster secret, and without a
 * metrics token it is open on a loopback host and 404 elsewhere (src/shared/metrics-access.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { resetCounters } from '../store/stats.ts';
import { decideMetricsAccess, sameSecret, type MetricsAccessOptions } from '../shared/metrics-access.ts';
import type { Tenants } from './tenants.ts';
import { isIntrospectionRoute, serveIntrospection } from './admin-introspection.ts';
import { serveKeyList } from './admin-keys.ts';
import type { MetricsText } from './node-metrics.ts';

export interface AdminEndpointOptions {
  readonly tenants: Tenants;
  /** The cluster secret, or a getter for the current one (it changes on rotation). */
  readonly secret: string | (() => string);
  /** Applies the catalog's latest state (the secret included) now. */
  readonly sync: () => Promise<void>;
  /** What GET /metrics serves, and who may read it; no /metrics without. */
  readonly metrics?: { readonly registry: MetricsText; readonly access: MetricsAccessOptions };
}

/** Control planes keep a few connections each; anything idle this long is dropped. */
const ADMIN_TIMEOUT_MS = 10_000;
const ADMIN_MAX_CONNECTIONS = 256;

export function createAdminEndpoint(opts: AdminEndpointOptions): Server {
  const secret = opts.secret;
  const authorized = (req: IncomingMessage) => {
    const expected = Buffer.from(`Bearer ${typeof secret === 'function' ? secret() : secret}`);
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  const server = createServer({ headersTimeout: ADMIN_TIMEOUT_MS, requestTimeout: ADMIN_TIMEOUT_MS, keepAliveTimeout: ADMIN_TIMEOUT_MS }, (req, res) => {
    void handle(req, res).catch(() => send(res, 500, { error: 'internal error' }));
  });
  // The port is reachable before the secret is checked: idle or slow connections must not
  // hold the process's file descriptors (the memcache port shares them).
  server.timeout = ADMIN_TIMEOUT_MS;
  server.maxConnections = ADMIN_MAX_CONNECTIONS;
  return server;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (opts.metrics && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) return serveMetrics(req, res, opts.metrics);
    if (!authorized(req)) {
      // Perhaps rotated since our last poll: catch up (one shared catalog read), then decide.
      await opts.sync().catch(() => {});
      if (!authorized(req)) return send(res, 401, { error: 'cluster secret required' });
    }
    const url = new URL(req.url ?? '/', 'http://node');
    const m = /^\/caches\/(\d+)\/(stats|flush|reset_stats)$/.exec(url.pathname);
    if (req.method === 'POST' && url.pathname === '/sync') {
      await opts.sync();
      return send(res, 200, { ok: true });
    }
    if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { ok: true });
    const intro = /^\/caches\/(\d+)\/introspection\/([a-z]+)$/.exec(url.pathname);
    if (intro && req.method === 'GET' && intro[2] === 'keys') {
      const tenant = opts.tenants.get(Number(intro[1]));
      if (!tenant) return send(res, 404, { error: 'no such cache on this node' });
      const answer = serveKeyList(tenant, url.searchParams, Math.floor(Date.now() / 1000));
      return send(res, answer.status, answer.body);
    }
    if (intro && req.method === 'GET' && isIntrospectionRoute(intro[2]!)) {
      const tenant = opts.tenants.get(Number(intro[1]));
      if (!tenant) return send(res, 404, { error: 'no such cache on this node' });
      const answer = serveIntrospection(tenant, intro[2], url.searchParams, Math.floor(Date.now() / 1000));
      return send(res, answer.status, answer.body);
    }
    if (!m) return send(res, 404, { error: 'not found' });
    await opts.sync();
    const tenant = opts.tenants.get(Number(m[1]));
    if (!tenant) return send(res, 404, { error: 'no such cache on this node' });
    const now = Math.floor(Date.now() / 1000);
    if (m[2] === 'stats' && req.method === 'GET') return send(res, 200, opts.tenants.stats(tenant, now));
    if (m[2] === 'flush' && req.method === 'POST') {
      // The call memcache's flush_all makes (commands/whole-cache.ts), without a delay.
      tenant.store.flushAll({ delay: 0 }, now);
      return send(res, 200, { ok: true });
    }
    if (m[2] === 'reset_stats' && req.method === 'POST') {
      // What the memcache `stats reset` does: counters to zero, gauges untouched.
      resetCounters(tenant.store.counters);
      return send(res, 200, { ok: true });
    }
    send(res, 405, { error: 'method not allowed' });
  }

  async function serveMetrics(req: IncomingMessage, res: ServerResponse, m: NonNullable<AdminEndpointOptions['metrics']>): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    const decision = await decideMetricsAccess(m.access, req.headers.authorization,
      (bearer) => sameSecret(bearer, typeof secret === 'function' ? secret() : secret));
    if (decision === 'off') return send(res, 404, { error: 'not found' });
    if (decision === 'unauthorized') {
      res.setHeader('www-authenticate', 'Bearer realm="cachier metrics"');
      return send(res, 401, { error: 'metrics token required' });
    }
    const text = await m.registry.text();
    res.writeHead(200, { 'content-type': m.registry.contentType, 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}
