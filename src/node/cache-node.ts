/**
 * A cache node assembled from its parts: tenants fed by the catalog, a memcache listener
 * whose connections are Sessions, and the admin endpoint. `createCacheNode` builds and
 * listens; it never reads argv or env, so tests run nodes in-process.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Catalog } from '../catalog/catalog.ts';
import { DEFAULT_LIMITS, type ProtocolLimits } from '../protocol/command.ts';
import { MemoryTenantStore } from '../store/tenant-store.ts';
import { createAdminServer } from './admin.ts';
import { CatalogSync } from './catalog-sync.ts';
import { Session } from './session.ts';
import { Tenants } from './tenants.ts';

export const NODE_VERSION = '1.6.21-cachier';

export interface CacheNodeOptions {
  readonly catalog: Catalog;
  readonly host: string;
  /** Memcache port; 0 picks a free one. */
  readonly port: number;
  /** Address clients are told to use (stats key); defaults to host:port. */
  readonly advertise?: string;
  readonly adminPort?: number;
  readonly anonymousCacheId?: number;
  readonly authTimeoutMs?: number;
  readonly limits?: ProtocolLimits;
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
  close(): Promise<void>;
}

export async function createCacheNode(opts: CacheNodeOptions): Promise<CacheNode> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  let cas = 0;
  const nextCas = () => ++cas;
  const tenants = new Tenants((limit) => new MemoryTenantStore({ limit, maxItemSize: limits.maxItemSize, nextCas }));
  const sync = new CatalogSync(opts.catalog, tenants);

  const sessions = new Set<Session>();
  const node = { version: NODE_VERSION, startedAt: Math.floor(Date.now() / 1000) };
  const server = createServer((socket) => {
    const s = new Session(socket, {
      tenants, node, limits,
      authTimeoutMs: opts.authTimeoutMs ?? 5000,
      anonymousCacheId: opts.anonymousCacheId,
      onClose: (x) => sessions.delete(x),
    });
    sessions.add(s);
  });
  const admin = createAdminServer({ tenants, secret: await opts.catalog.clusterSecret(), sync: () => sync.syncNow() });

  const port = await listen(server, opts.host, opts.port);
  const adminPort = await listen(admin, opts.host, opts.adminPort ?? 0);
  const address = opts.advertise ?? `${opts.host}:${port}`;
  const adminAddress = `${opts.host}:${adminPort}`;
  if (opts.register !== false) await opts.catalog.registerNode(address, adminAddress);
  await sync.start();

  return {
    address, adminAddress, port, tenants, sync,
    async close() {
      sync.stop();
      for (const s of sessions) s.close('node stopping');
      await Promise.all([closeServer(server), closeServer(admin)]);
    },
  };
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
