// The CLI contracts of SYSTEM.md, run as a user would: real processes, real sockets.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './support/child-process.ts';
import { createCache, makeDataDir, startCluster, type Cluster } from './support/cluster.ts';
import { RawClient } from './support/raw-client.ts';
import { PROMPTLY_MS, until } from './support/wait.ts';

async function login(port: number, username: string, password: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  const r = await c.text(`set ${username} 0 0 ${password.length}\r\n${password}\r\n`);
  if (r !== 'STORED\r\n') {
    c.end();
    throw new Error(`login refused: ${r}`);
  }
  return c;
}

async function statOf(c: RawClient, name: string): Promise<number> {
  return Number(new RegExp(`STAT ${name} (\\d+)`).exec(await c.text('stats\r\n', 'END\r\n'))![1]);
}

test('cache create --json without a server prints id, name, servers, username, password', async () => {
  const dir = makeDataDir();
  const c = await createCache(dir, '64mb');
  assert.equal(typeof c.id, 'number');
  assert.match(c.name, /\S/);
  assert.deepEqual(c.servers, ['127.0.0.1:11211']);
  assert.match(c.username, /^\S+$/);
  assert.match(c.password, /^\S{16,}$/);
  assert.equal(c.raw.memory_bytes, 64 * 2 ** 20, 'sizes are binary');
});

test('bad input to the CLI fails with a clear message and exit code 2', async () => {
  const dir = makeDataDir();
  await assert.rejects(runCli(['cache', 'create', '--data', dir, '--memory', 'lots', '--json']), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /invalid size/);
    return true;
  });
  await assert.rejects(runCli(['start', '--data', dir, '--anonymous-cache', '999']), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /no such cache/);
    return true;
  });
});

test('--nodes 2 splits each plan evenly: limit_maxbytes sums to the plan', async () => {
  const dir = makeDataDir();
  const cache = await createCache(dir, '64mb');
  const cluster = await startCluster({ dataDir: dir, nodes: 2 });
  try {
    let sum = 0;
    for (const port of cluster.ports) {
      const c = await login(port, cache.username, cache.password);
      const limit = await statOf(c, 'limit_maxbytes');
      assert.equal(limit, 32 * 2 ** 20);
      sum += limit;
      c.end();
    }
    assert.equal(sum, 64 * 2 ** 20);
  } finally {
    await cluster.stop();
  }
});

test('--anonymous-cache serves unauthenticated connections; a login still gets its own cache', async () => {
  const dir = makeDataDir();
  const anon = await createCache(dir);
  const own = await createCache(dir);
  const cluster = await startCluster({ dataDir: dir, anonymousCacheId: anon.id });
  try {
    const a = await RawClient.connect(cluster.ports[0]!);
    assert.equal(await a.text('set k 0 0 4\r\nanon\r\n'), 'STORED\r\n');
    const b = await login(cluster.ports[0]!, own.username, own.password);
    assert.equal(await b.text('get k\r\n', 'END\r\n'), 'END\r\n');
    const viaLogin = await login(cluster.ports[0]!, anon.username, anon.password);
    assert.equal(await viaLogin.text('get k\r\n', 'END\r\n'), 'VALUE k 0 4\r\nanon\r\nEND\r\n');
    for (const c of [a, b, viaLogin]) c.end();
  } finally {
    await cluster.stop();
  }
});

// One `cachier start` on an empty catalog serves the last two tests (whichever runs first
// starts it): one reads what it printed at start, the other adds a cache while it runs;
// neither touches the other's cache. They come last so it never runs beside another test's
// cluster.
let emptyStart: Promise<Cluster> | undefined;
const onEmptyCatalog = () => (emptyStart ??= startCluster());
after(async () => {
  await (await emptyStart?.catch(() => undefined))?.stop();
});

test('start on an empty catalog creates a first cache and prints working credentials', async () => {
  const cluster = await onEmptyCatalog();
  const out = cluster.stdout();
  const servers = /MEMCACHIER_SERVERS=(\S+)/.exec(out)?.[1];
  const username = /MEMCACHIER_USERNAME=(\S+)/.exec(out)?.[1];
  const password = /MEMCACHIER_PASSWORD=(\S+)/.exec(out)?.[1];
  assert.equal(servers, cluster.servers.join(','));
  assert.ok(username && password);
  assert.match(out, /Dashboard: http:\/\/127\.0\.0\.1:\d+\//);
  const c = await login(cluster.ports[0]!, username!, password!);
  assert.equal(await c.text('set a 0 0 1\r\n1\r\n'), 'STORED\r\n');
  c.end();
});

test('a cache created while the server runs is picked up by the running node', async () => {
  const cluster = await onEmptyCatalog();
  const cache = await createCache(cluster.dataDir, '16mb');
  assert.deepEqual(cache.servers, cluster.servers);
  const c = await until('the new cache logs in', Date.now() + PROMPTLY_MS, () => login(cluster.ports[0]!, cache.username, cache.password));
  assert.equal(await statOf(c, 'limit_maxbytes'), 16 * 2 ** 20);
  c.end();
});
