// The node's admin endpoint answers only the cluster secret, never a tenant's password.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminFetch } from './support/admin-client.ts';
import { startTestNode, type TestCache, type TestNode } from './support/test-node.ts';

let t: TestNode;
let cache: TestCache;
let base: string;
let secret: string;
before(async () => {
  t = await startTestNode();
  cache = await t.createCache();
  base = `http://${t.node.adminAddress}`;
  secret = await t.catalog.clusterSecret();
});
after(() => t.close());

test('without the cluster secret every route is refused', async () => {
  for (const auth of [undefined, `Bearer ${cache.password}`, `Basic ${Buffer.from(`${cache.username}:${cache.password}`).toString('base64')}`, `Bearer ${secret}x`]) {
    const headers: Record<string, string> = auth ? { authorization: auth } : {};
    const r = await fetch(`${base}/caches/${cache.id}/stats`, { headers });
    assert.equal(r.status, 401);
    const f = await fetch(`${base}/caches/${cache.id}/flush`, { method: 'POST', headers });
    assert.equal(f.status, 401);
  }
});

test('with the secret: stats of any cache, and flush', async () => {
  const c = await t.textLogin(cache);
  await c.text('set k 0 0 1\r\n1\r\n');
  const stats = await (await adminFetch(t, `/caches/${cache.id}/stats`)).json();
  assert.equal(stats.curr_items, 1);
  assert.equal(stats.cmd_set, 1);
  assert.equal((await adminFetch(t, `/caches/${cache.id}/flush`, { method: 'POST' })).status, 200);
  assert.equal(await c.text('get k\r\n', 'END\r\n'), 'END\r\n');
  assert.equal((await adminFetch(t, '/caches/99999/stats')).status, 404);
});

test('the admin port is not the memcache port', () => {
  assert.notEqual(t.node.adminAddress, t.node.address);
});
