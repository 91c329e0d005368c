// A node applies catalog changes as deltas: with 2,000 credentials over 20
// caches, one more change reads only that change, never a whole snapshot, and every
// documented effect still reaches open connections (promptly: deadlines are generous,
// see support/wait.ts; the 1 s figure is the soak's and the benchmarks').
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_CREDENTIALS_PER_CACHE, type Catalog, type CatalogChanges } from '../src/catalog/catalog.ts';
import { openSqliteCatalog, type SqliteCatalog } from '../src/catalog/sqlite.ts';
import { createCacheNode, type ListeningCacheNode } from '../src/node/cache-node.ts';
import { RawClient } from './support/raw-client.ts';
import { PROMPTLY_MS } from './support/wait.ts';

/** What the node read from the catalog. */
const reads = { snapshots: 0, deltas: [] as CatalogChanges[] };

/** The node's view of the catalog, counting what it reads. */
function spied(catalog: Catalog): Catalog {
  return new Proxy(catalog, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop === 'snapshot') {
        return async () => {
          reads.snapshots++;
          return target.snapshot();
        };
      }
      if (prop === 'changesSince') {
        return async (rev: number) => {
          const d = await target.changesSince(rev);
          if (d) reads.deltas.push(d);
          return d;
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

let dir: string;
let nodeCatalog: SqliteCatalog;
/** Another connection to the same file, as the CLI or a control plane would have. */
let admin: SqliteCatalog;
let node: ListeningCacheNode;
const caches: { id: number; username: string; password: string }[] = [];
const clients: RawClient[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cachier-delta-'));
  admin = openSqliteCatalog(dir);
  for (let i = 0; i < 20; i++) {
    const { cache, credential, password } = await admin.createCache({ memoryBytes: 8 << 20 });
    caches.push({ id: cache.id, username: credential.username, password });
    for (let j = 1; j < MAX_CREDENTIALS_PER_CACHE; j++) await admin.createCredential(cache.id);
  }
  nodeCatalog = openSqliteCatalog(dir);
  node = await createCacheNode({ catalog: spied(nodeCatalog) }).listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  for (const c of clients) c.end();
  await node.close();
  await nodeCatalog.close();
  await admin.close();
  rmSync(dir, { recursive: true, force: true });
});

async function login(username: string, password: string): Promise<RawClient> {
  const c = await RawClient.connect(node.port);
  clients.push(c);
  assert.equal(await c.text(`set ${username} 0 0 ${password.length}\r\n${password}\r\n`), 'STORED\r\n');
  return c;
}

async function eventually(what: string, cond: () => Promise<boolean> | boolean, ms = PROMPTLY_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The deltas read from here on, once the node has caught up with the catalog. */
async function deltasOf(change: () => Promise<unknown>): Promise<CatalogChanges[]> {
  const from = reads.deltas.length;
  await change();
  const target = await admin.revision();
  await eventually('the node to apply the change', () => reads.deltas.some((d) => d.revision >= target));
  return reads.deltas.slice(from);
}

test('the node started from one snapshot of 2,000 credentials', () => {
  assert.equal(reads.snapshots, 1);
});

/** Rows a set of deltas carried (nodes aside). */
const rowsOf = (deltas: CatalogChanges[]) =>
  deltas.reduce((n, d) => n + d.credentials.length + d.caches.length + d.removedCredentials.length + d.removedCaches.length, 0);

test('a capability change reads one credential and applies to an open connection from its next command', async () => {
  const cache = caches[7]!;
  const c = await login(cache.username, cache.password);
  assert.equal(await c.text('set k 0 0 1\r\nv\r\n'), 'STORED\r\n');
  const { id } = (await admin.findCredential(cache.username))!;
  const deltas = await deltasOf(() => admin.updateCredential(id, { write: false }));
  assert.equal(rowsOf(deltas), 1, 'one row read, not 2,000');
  assert.deepEqual(deltas.flatMap((d) => d.credentials.map((x) => x.username)), [cache.username]);
  assert.match(await c.text('set k 0 0 1\r\nw\r\n'), /^CLIENT_ERROR permission denied/);
  await deltasOf(() => admin.updateCredential(id, { write: true }));
  assert.equal(await c.text('set k 0 0 1\r\nw\r\n'), 'STORED\r\n');
});

test('a deleted credential: its connection closes, and the node read only that deletion', async () => {
  const cache = caches[3]!;
  const [, spare] = await admin.listCredentials(cache.id);
  await deltasOf(() => admin.deleteCredential(spare!.id));
  const { credential, password } = await admin.createCredential(cache.id, { flush: false });
  await deltasOf(async () => {});
  const c = await login(credential.username, password);
  const deltas = await deltasOf(() => admin.deleteCredential(credential.id));
  assert.equal(rowsOf(deltas), 1);
  assert.deepEqual(deltas.flatMap((d) => d.removedCredentials), [credential.username]);
  assert.equal(await c.waitClosed(PROMPTLY_MS), true);
  const again = await RawClient.connect(node.port);
  clients.push(again);
  assert.match(await again.text(`set ${credential.username} 0 0 ${password.length}\r\n${password}\r\n`), /^CLIENT_ERROR /);
});

test('a disabled cache: its connections close; enabled again, it logs in', async () => {
  const cache = caches[5]!;
  const c = await login(cache.username, cache.password);
  const deltas = await deltasOf(() => admin.updateCache(cache.id, { enabled: false }));
  assert.equal(rowsOf(deltas), 1);
  assert.equal(await c.waitClosed(PROMPTLY_MS), true);
  await deltasOf(() => admin.updateCache(cache.id, { enabled: true }));
  await login(cache.username, cache.password);
});

test('a deleted cache: connections close, data and credentials are dropped', async () => {
  const cache = caches[9]!;
  const c = await login(cache.username, cache.password);
  assert.equal(await c.text('set gone 0 0 1\r\nx\r\n'), 'STORED\r\n');
  const store = node.tenants.get(cache.id)!.store;
  assert.equal(store.items, 1);
  const deltas = await deltasOf(() => admin.deleteCache(cache.id));
  assert.deepEqual(deltas.flatMap((d) => d.removedCaches), [cache.id]);
  assert.equal(rowsOf(deltas), 1, 'its 100 credentials are not read one by one');
  assert.equal(await c.waitClosed(PROMPTLY_MS), true);
  assert.equal(node.tenants.get(cache.id), undefined);
  assert.equal(store.items, 0);
  assert.equal(node.tenants.tenantOfUsername(cache.username), undefined);
});

test('a node registering halves every cache share; leaving restores it', async () => {
  const cache = caches[11]!;
  const c = await login(cache.username, cache.password);
  const limit = async () => Number(/STAT limit_maxbytes (\d+)/.exec(await c.text('stats\r\n', 'END\r\n'))![1]);
  assert.equal(await limit(), 8 << 20);
  const deltas = await deltasOf(() => admin.registerNode('127.0.0.1:1', '127.0.0.1:2'));
  assert.equal(deltas.at(-1)!.nodes?.length, 2);
  assert.equal(rowsOf(deltas), 0);
  assert.equal(await limit(), 4 << 20);
  await deltasOf(() => admin.removeNode('127.0.0.1:1'));
  assert.equal(await limit(), 8 << 20);
});

test('after all that, still the one snapshot taken at start', () => {
  assert.equal(reads.snapshots, 1);
});
