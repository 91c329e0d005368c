/**
 * An in-process cache node on a real loopback port over a fresh SQLite catalog in a temp
 * dir, for black-box tests that speak bytes to it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Capabilities } from '../../src/catalog/catalog.ts';
import { openSqliteCatalog, type SqliteCatalog } from '../../src/catalog/sqlite.ts';
import { createCacheNode, type ListeningCacheNode } from '../../src/node/cache-node.ts';
import type { Logger } from '../../src/shared/logger.ts';
import type { IoMode } from '../../src/node/io/native-addon.ts';
import type { IntrospectionSettings } from '../../src/introspection/registry.ts';
import type { NodeLimits } from '../../src/node/limits.ts';
import { RawClient } from './raw-client.ts';

export interface TestCache {
  id: number;
  username: string;
  password: string;
}

export interface TestNode {
  node: ListeningCacheNode;
  catalog: SqliteCatalog;
  port: number;
  dataDir: string;
  createCache(memoryBytes?: number): Promise<TestCache>;
  addCredential(cacheId: number, caps: Partial<Capabilities>): Promise<TestCache>;
  /** A raw client already logged in (ASCII set-login) to `cache`. */
  textLogin(cache: TestCache): Promise<RawClient>;
  connect(): Promise<RawClient>;
  close(): Promise<void>;
}

export async function startTestNode(
  opts: {
    anonymous?: boolean; authTimeoutMs?: number; memoryBytes?: number; io?: IoMode; maxConnections?: number; logger?: Logger;
    introspection?: IntrospectionSettings;
    /** Any other node limits (limits.ts). */
    limits?: Partial<NodeLimits>;
  } = {},
): Promise<TestNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cachier-node-'));
  const catalog = openSqliteCatalog(dataDir);
  let anonymousCacheId: number | undefined;
  if (opts.anonymous) anonymousCacheId = (await catalog.createCache({ memoryBytes: opts.memoryBytes ?? 64 << 20 })).cache.id;
  const limits = { ...opts.limits, authTimeoutMs: opts.authTimeoutMs ?? opts.limits?.authTimeoutMs, maxConnections: opts.maxConnections ?? opts.limits?.maxConnections };
  const node = await createCacheNode({ catalog, anonymousCacheId, limits, logger: opts.logger, introspection: opts.introspection })
    .listen({ host: '127.0.0.1', port: 0, io: opts.io });
  const clients: RawClient[] = [];
  const t: TestNode = {
    node, catalog, port: node.port, dataDir,
    async createCache(memoryBytes = 64 << 20) {
      const { cache, credential, password } = await catalog.createCache({ memoryBytes });
      await node.sync.syncNow();
      return { id: cache.id, username: credential.username, password };
    },
    async addCredential(cacheId, caps) {
      const { credential, password } = await catalog.createCredential(cacheId, caps);
      await node.sync.syncNow();
      return { id: cacheId, username: credential.username, password };
    },
    async connect() {
      const c = await RawClient.connect(node.port);
      clients.push(c);
      return c;
    },
    async textLogin(cache) {
      const c = await t.connect();
      const r = await c.text(`set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\n`);
      if (r !== 'STORED\r\n') throw new Error(`login failed: ${r}`);
      return c;
    },
    async close() {
      for (const c of clients) c.end();
      await node.close();
      await catalog.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}
