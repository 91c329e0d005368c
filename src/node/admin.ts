/**
 * The node's admin endpoint for the control plane: read any cache's stats, flush any
 * cache, ask for an immediate catalog sync. It listens on its own port, separate from
 * the memcache port tenants use, and answers only requests bearing the cluster secret.
 * Three routes of internal JSON, so plain node:http rather than a framework.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Tenants } from './tenants.ts';

export interface AdminOptions {
  readonly tenants: Tenants;
  readonly secret: string;
  /** Applies the catalog's latest state now. */
  readonly sync: () => Promise<void>;
}

export function createAdminServer(opts: AdminOptions): Server {
  const expected = Buffer.from(`Bearer ${opts.secret}`);
  return createServer((req, res) => {
    void handle(req, res).catch(() => send(res, 500, { error: 'internal error' }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return send(res, 401, { error: 'cluster secret required' });
    }
    const url = new URL(req.url ?? '/', 'http://node');
    const m = /^\/caches\/(\d+)\/(stats|flush)$/.exec(url.pathname);
    if (req.method === 'POST' && url.pathname === '/sync') {
      await opts.sync();
      return send(res, 200, { ok: true });
    }
    if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { ok: true });
    if (!m) return send(res, 404, { error: 'not found' });
    await opts.sync();
    const tenant = opts.tenants.get(Number(m[1]));
    if (!tenant) return send(res, 404, { error: 'no such cache on this node' });
    const now = Math.floor(Date.now() / 1000);
    if (m[2] === 'stats' && req.method === 'GET') return send(res, 200, opts.tenants.stats(tenant, now));
    if (m[2] === 'flush' && req.method === 'POST') {
      tenant.store.flush(0, now);
      return send(res, 200, { ok: true });
    }
    send(res, 405, { error: 'method not allowed' });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}
