// The operator API (/api/operator/…, bearer token) and the matching CLI subcommands
// (cachier cache show|resize|disable|enable|delete), both straight on the catalog.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliExit } from './support/child-process.ts';
import { createCache as cliCreateCache, startCluster } from './support/cluster.ts';
import { NO_CACHE, startTestCluster, type TestCluster } from './support/control.ts';
import { PROMPTLY_MS } from './support/wait.ts';

let t: TestCluster;
let token: string;
before(async () => {
  t = await startTestCluster({ nodes: 2 });
  token = t.control.operatorToken!;
});
after(() => t.close());

const op = (path: string, req: Parameters<TestCluster['api']>[1] = {}) =>
  t.api(`/api/operator${path}`, { ...req, headers: { authorization: `Bearer ${token}`, ...req.headers } });

const cli = (...args: string[]) => cliExit(args);

test('the token is made on first start and shown then only; without it (or with a wrong one) every route is 401', async () => {
  assert.match(token, /^\S{20,}$/);
  assert.equal(await t.catalog.ensureOperatorToken(), undefined);
  for (const headers of [{} as Record<string, string>, { authorization: 'Bearer nope' }, { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` }]) {
    for (const [method, path] of [['GET', '/caches'], ['POST', '/caches'], ['GET', '/caches/1'], ['DELETE', '/caches/1'], ['GET', '/nodes']]) {
      const r = await t.api(`/api/operator${path}`, { method, headers });
      assert.equal(r.status, 401, `${method} ${path}`);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
  }
});

test('create a cache: id, name, servers, username, password that work on every node and on the API', async () => {
  const r = await op('/caches', { method: 'POST', json: { memory: '32mb', name: 'shop' } });
  assert.equal(r.status, 200, r.text);
  const c = r.json();
  assert.equal(c.name, 'shop');
  assert.equal(c.memory, '32mb');
  assert.equal(c.memory_bytes, 32 << 20);
  assert.equal(c.enabled, true);
  assert.deepEqual(c.servers, t.addresses);
  for (const i of [0, 1]) await t.textLogin(c, i);
  assert.deepEqual((await t.api('/api/v1/login', { auth: c })).json(), { cache_id: c.id });
  const s = (await t.api(`/api/v1/${c.id}/stats`, { auth: c })).json();
  assert.equal(Object.values<{ limit_maxbytes: number }>(s).reduce((a, e) => a + e.limit_maxbytes, 0), 32 << 20);

  const bytes = await op('/caches', { method: 'POST', json: { memory: 1 << 20 } });
  assert.equal(bytes.status, 200);
  assert.equal(bytes.json().memory_bytes, 1 << 20);
  assert.match(bytes.json().name, /^mc-\d+$/);
  const noBody = await op('/caches', { method: 'POST' });
  assert.equal(noBody.status, 200);
  assert.equal(noBody.json().memory_bytes, 64 << 20);

  assert.equal((await op('/caches', { method: 'POST', json: { name: 'shop' } })).status, 409);
  for (const json of [{ memory: 'lots' }, { memory: 0 }, { memory: '64mb', extra: 1 }, { name: 'bad name!' }]) {
    const bad = await op('/caches', { method: 'POST', json });
    assert.equal(bad.status, 400, JSON.stringify(json));
  }
});

test('list and show (credentials without passwords); unknown ids 404', async () => {
  const made = (await op('/caches', { method: 'POST', json: { memory: '16mb' } })).json();
  const list = (await op('/caches')).json();
  const row = list.find((c: { id: number }) => c.id === made.id);
  assert.deepEqual(Object.keys(row).sort(), ['cluster', 'created_at', 'enabled', 'id', 'introspection', 'memory', 'memory_bytes', 'name', 'servers']);
  const shown = await op(`/caches/${made.id}`);
  assert.equal(shown.status, 200);
  assert.ok(!shown.text.includes(made.password));
  const detail = shown.json();
  assert.equal(detail.credentials.length, 1);
  assert.equal(detail.credentials[0].sasl_username, made.username);
  assert.equal(detail.credentials[0].primary, true);
  const missing = await op('/caches/999999');
  assert.equal(missing.status, 404);
  assert.equal(missing.text, NO_CACHE);
  const nodes = (await op('/nodes')).json();
  assert.deepEqual(nodes.map((n: { address: string }) => n.address), t.addresses);
});

test('resize: the nodes apply the new plan and keep the data', async () => {
  const made = (await op('/caches', { method: 'POST', json: { memory: '8mb' } })).json();
  const client = await t.textLogin(made, 0);
  await client.text('set kept 0 0 4\r\ndata\r\n', 'STORED\r\n');
  const r = await op(`/caches/${made.id}/resize`, { method: 'POST', json: { memory: '64mb' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json().memory_bytes, 64 << 20);
  const s = (await t.api(`/api/v1/${made.id}/stats`, { auth: made })).json();
  for (const a of t.addresses) assert.equal(s[a].limit_maxbytes, 32 << 20, a);
  assert.equal(await client.text('get kept\r\n', 'END\r\n'), 'VALUE kept 0 4\r\ndata\r\nEND\r\n');
  const p = await op(`/caches/${made.id}`, { method: 'PATCH', json: { memory: 4 << 20, name: 'renamed' } });
  assert.equal(p.status, 200);
  assert.equal(p.json().name, 'renamed');
  assert.equal((await op('/caches/999999/resize', { method: 'POST', json: { memory: '1mb' } })).status, 404);
  assert.equal((await op(`/caches/${made.id}/resize`, { method: 'POST', json: {} })).status, 400);
});

test('introspection: on for a new cache; PATCH {"introspection": false} turns it off for GET and the list, true back on', async () => {
  const made = (await op('/caches', { method: 'POST', json: {} })).json();
  assert.equal(made.introspection, true);
  const off = await op(`/caches/${made.id}`, { method: 'PATCH', json: { introspection: false } });
  assert.equal(off.status, 200, off.text);
  assert.deepEqual([off.json().introspection, off.json().enabled, off.json().memory_bytes], [false, true, made.memory_bytes]);
  assert.equal((await op(`/caches/${made.id}`)).json().introspection, false);
  assert.equal((await op('/caches')).json().find((c: { id: number }) => c.id === made.id).introspection, false);
  assert.equal((await op(`/caches/${made.id}`, { method: 'PATCH', json: { name: 'still-off' } })).json().introspection, false);
  assert.equal((await op(`/caches/${made.id}`, { method: 'PATCH', json: { introspection: 'no' } })).status, 400);
  assert.equal((await op('/caches/999999', { method: 'PATCH', json: { introspection: false } })).status, 404);
  assert.equal((await op(`/caches/${made.id}`, { method: 'PATCH', json: { introspection: true } })).json().introspection, true);
  assert.equal((await op(`/caches/${made.id}`)).json().introspection, true);
});

test('disable closes the door (API 404, memcache login refused); enable opens it', async () => {
  const made = (await op('/caches', { method: 'POST', json: {} })).json();
  const client = await t.textLogin(made, 1);
  const d = await op(`/caches/${made.id}/disable`, { method: 'POST' });
  assert.equal(d.status, 200);
  assert.equal(d.json().enabled, false);
  assert.ok(await client.waitClosed(PROMPTLY_MS), 'open connection closed');
  assert.equal((await t.api('/api/v1/login', { auth: made })).status, 404);
  await assert.rejects(t.textLogin(made, 0));
  const e = await op(`/caches/${made.id}/enable`, { method: 'POST' });
  assert.equal(e.json().enabled, true);
  await t.textLogin(made, 0);
  assert.equal((await t.api('/api/v1/login', { auth: made })).status, 200);
});

test('delete: 200 empty, then the cache is gone everywhere', async () => {
  const made = (await op('/caches', { method: 'POST', json: {} })).json();
  const client = await t.textLogin(made, 0);
  const r = await op(`/caches/${made.id}`, { method: 'DELETE' });
  assert.equal(r.status, 200);
  assert.equal(r.text, '');
  assert.ok(await client.waitClosed(PROMPTLY_MS));
  assert.equal((await op(`/caches/${made.id}`)).status, 404);
  assert.equal((await t.api(`/api/v1/${made.id}/stats`, { auth: made })).status, 404);
  assert.equal((await op(`/caches/${made.id}`, { method: 'DELETE' })).status, 404);
});

test('CLI: cache show|resize|disable|enable|delete on the catalog, picked up by running nodes', async () => {
  const made = (await op('/caches', { method: 'POST', json: { memory: '8mb', name: 'clitest' } })).json();
  const data = [...t.cliArgs];

  const shown = await cli('cache', 'show', String(made.id), ...data, '--json');
  assert.equal(shown.code, 0, shown.stderr);
  const s = JSON.parse(shown.stdout);
  assert.equal(s.name, 'clitest');
  assert.equal(s.credentials[0].sasl_username, made.username);
  assert.ok(!shown.stdout.includes(made.password));
  const text = await cli('cache', 'show', '--id', String(made.id), ...data);
  assert.match(text.stdout, new RegExp(`MEMCACHIER_SERVERS=${t.addresses.join(',')}`));

  const resized = await cli('cache', 'resize', String(made.id), '--memory', '16mb', ...data, '--json');
  assert.equal(resized.code, 0, resized.stderr);
  assert.equal(JSON.parse(resized.stdout).memory_bytes, 16 << 20);
  await t.syncNodes();
  const st = (await t.api(`/api/v1/${made.id}/stats`, { auth: made })).json();
  assert.equal(st[t.addresses[0]!].limit_maxbytes, 8 << 20);

  const disabled = await cli('cache', 'disable', String(made.id), ...data);
  assert.equal(disabled.code, 0);
  assert.match(disabled.stdout, /disabled/);
  assert.equal((await t.api('/api/v1/login', { auth: made })).status, 404);
  assert.equal((await cli('cache', 'enable', String(made.id), ...data)).code, 0);
  assert.equal((await t.api('/api/v1/login', { auth: made })).status, 200);

  const deleted = await cli('cache', 'delete', String(made.id), ...data);
  assert.equal(deleted.code, 0);
  assert.equal(await t.catalog.getCache(made.id), undefined);
  const gone = await cli('cache', 'show', String(made.id), ...data);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /no cache/);
  assert.equal((await cli('cache', 'resize', '1', ...data)).code, 2, 'resize without --memory is a usage error');
  assert.equal((await cli('cache', 'show', ...data)).code, 2, 'no id is a usage error');
});

test('cachier start prints the operator token on its first start only; the token works over HTTP', async (ctx) => {
  // Our own directory: the cluster helper removes the ones it makes when a cluster stops.
  const dataDir = mkdtempSync(join(tmpdir(), 'cachier-optoken-'));
  ctx.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const made = await cliCreateCache(dataDir, '32mb');
  assert.ok(made.id && made.name && made.servers.length && made.username && made.password, 'cache create --json contract');
  const first = await startCluster({ dataDir });
  let firstToken: string;
  try {
    const m = /Operator API token[^:]*: (\S+)/.exec(first.stdout());
    assert.ok(m, first.stdout());
    firstToken = m[1]!;
    const r = await fetch(`http://${first.host}:${first.httpPort}/api/operator/caches`, { headers: { authorization: `Bearer ${firstToken}` } });
    assert.equal(r.status, 200);
    assert.deepEqual((await r.json()).map((c: { id: number }) => c.id), [made.id]);
  } finally {
    await first.stop();
  }
  const second = await startCluster({ dataDir });
  try {
    assert.doesNotMatch(second.stdout(), /Operator API token/);
    const r = await fetch(`http://${second.host}:${second.httpPort}/api/operator/nodes`, { headers: { authorization: `Bearer ${firstToken}` } });
    assert.equal(r.status, 200);
  } finally {
    await second.stop();
  }
});

test('a cache id past PostgreSQL\'s integer (2147483648) is a 400 on every operator route that takes one, never a 500', async () => {
  const big = '2147483648';
  for (const [method, path, json] of [
    ['GET', `/caches/${big}`], ['PATCH', `/caches/${big}`, { name: 'x' }], ['DELETE', `/caches/${big}`],
    ['POST', `/caches/${big}/rotate_sso`], ['POST', `/caches/${big}/credentials`, {}], ['DELETE', `/caches/${big}/credentials/x`],
  ] as [string, string, unknown?][]) {
    const r = await op(path, { method, ...(json === undefined ? {} : { json }) });
    assert.equal(r.status, 400, `${method} ${path}: ${r.text}`);
  }
});
