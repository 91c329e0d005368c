/**
 * A whole cluster in-process for the HTTP API tests: a fresh catalog (SQLite in a temp
 * dir, or a PostgreSQL schema with CACHIER_TEST_CATALOG=postgres), N cache nodes on loopback ports, and a control plane (startControlPlane, the same
 * code `cachier start` runs) listening on a real port. Requests go over real HTTP.
 */
import type { Capabilities, Catalog } from '../../src/catalog/catalog.ts';
import { openTestCatalog } from './test-catalog.ts';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../../src/control/main.ts';
import { createCacheNode, type ListeningCacheNode } from '../../src/node/cache-node.ts';
import { RawClient } from './raw-client.ts';
import { OpenApiChecker } from './openapi-check.ts';

export interface ClusterCache {
  id: number;
  username: string;
  password: string;
  /** The credential's id in the catalog. */
  credentialId: number;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (throws if it is not). */
  json<T = any>(): T;
}

export type Auth = { username: string; password: string } | null;

export interface ApiRequest {
  method?: string;
  /** Basic credentials; default none. */
  auth?: Auth;
  /** Sent as JSON (Content-Type application/json). */
  json?: unknown;
  /** Sent verbatim with `contentType` (default application/x-www-form-urlencoded). */
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface TestCluster {
  catalog: Catalog;
  dataDir: string;
  /** CLI arguments that reach this catalog (`--data DIR` or `--database-url URL`). */
  cliArgs: readonly string[];
  /** Index i is undefined while node i is stopped. */
  nodes: (ListeningCacheNode | undefined)[];
  /** Node client addresses, host:port, by index (stable across restarts). */
  addresses: string[];
  control: ControlPlane;
  url: string;
  createCache(memoryBytes?: number, name?: string): Promise<ClusterCache>;
  addCredential(cacheId: number, caps?: Partial<Capabilities>): Promise<ClusterCache>;
  api(path: string, req?: ApiRequest): Promise<ApiResponse>;
  /** A raw memcache client logged in (ASCII set-login) to `cache` on node `index`. */
  textLogin(cache: { username: string; password: string }, index?: number): Promise<RawClient>;
  stopNode(index: number): Promise<void>;
  /** Starts node `index` again on the same address. */
  restartNode(index: number): Promise<void>;
  syncNodes(): Promise<void>;
  close(): Promise<void>;
}

export interface TestClusterOptions {
  nodes?: number;
  historyIntervalSeconds?: number;
  /** Run the history sampler (default off: tests drive it). */
  sampler?: boolean;
  control?: Partial<ControlPlaneOptions>;
}

export async function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  const testCatalog = await openTestCatalog('cachier-api-');
  const { catalog, dataDir } = testCatalog;
  const nodes: (ListeningCacheNode | undefined)[] = [];
  const ports: number[] = [];
  for (let i = 0; i < (opts.nodes ?? 1); i++) {
    const node = await createCacheNode({ catalog }).listen({ host: '127.0.0.1', port: 0 });
    nodes.push(node);
    ports.push(node.port);
  }
  const addresses = ports.map((p) => `127.0.0.1:${p}`);
  const syncNodes = async () => {
    await Promise.all(nodes.map((n) => n?.sync.syncNow()));
  };
  await syncNodes();
  const control = await startControlPlane({
    catalog, host: '127.0.0.1', port: 0,
    historyIntervalSeconds: opts.historyIntervalSeconds ?? 60,
    sampler: opts.sampler ?? false,
    ...opts.control,
  });
  const url = `http://127.0.0.1:${control.port}`;
  const clients: RawClient[] = [];
  // Every api() answer is checked against the server's own OpenAPI document (openapi-check.ts).
  let openapi: Promise<OpenApiChecker> | undefined;

  const t: TestCluster = {
    catalog, dataDir, nodes, addresses, control, url, syncNodes, cliArgs: testCatalog.cliArgs,
    async createCache(memoryBytes = 64 << 20, name) {
      const { cache, credential, password } = await catalog.createCache({ memoryBytes, name });
      await syncNodes();
      return { id: cache.id, username: credential.username, password, credentialId: credential.id };
    },
    async addCredential(cacheId, caps = {}) {
      const { credential, password } = await catalog.createCredential(cacheId, caps);
      await syncNodes();
      return { id: cacheId, username: credential.username, password, credentialId: credential.id };
    },
    async api(path, req = {}) {
      const headers: Record<string, string> = { ...req.headers };
      if (req.auth) headers.authorization = basic(req.auth.username, req.auth.password);
      let body: string | undefined;
      if (req.json !== undefined) {
        body = JSON.stringify(req.json);
        headers['content-type'] = 'application/json';
      } else if (req.body !== undefined) {
        body = req.body;
        headers['content-type'] = req.contentType ?? 'application/x-www-form-urlencoded';
      }
      const res = await fetch(url + path, { method: req.method ?? 'GET', headers, body, signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      (await (openapi ??= OpenApiChecker.load(url))).check(req.method ?? 'GET', path, res.status, res.headers.get('content-type'), text);
      return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
    },
    async textLogin(cache, index = 0) {
      const node = nodes[index];
      if (!node) throw new Error(`node ${index} is stopped`);
      const c = await RawClient.connect(node.port);
      clients.push(c);
      const r = await c.text(`set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\n`);
      if (r !== 'STORED\r\n') throw new Error(`login failed: ${r}`);
      return c;
    },
    async stopNode(index) {
      await nodes[index]?.close();
      nodes[index] = undefined;
    },
    async restartNode(index) {
      if (nodes[index]) throw new Error(`node ${index} is running`);
      nodes[index] = await createCacheNode({ catalog }).listen({ host: '127.0.0.1', port: ports[index]! });
    },
    async close() {
      for (const c of clients) c.end();
      await control.close();
      await Promise.all(nodes.map((n) => n?.close()));
      await testCatalog.dispose();
    },
  };
  return t;
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export const NOT_AUTHORIZED = '"You are not authorized to perform this action."';
export const NO_CACHE = '"No cache found."';

/** Parses the text `stats` reply of a node into numbers. */
export function parseTextStats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\r\n')) {
    const p = line.split(' ');
    if (p[0] === 'STAT') out[p[1]!] = Number(p[2]);
  }
  return out;
}
