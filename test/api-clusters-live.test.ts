// Only clusters with live nodes count (either catalog, CACHIER_TEST_CATALOG=postgres): a
// cluster with no node, or whose nodes were last seen longer ago than NODE_STALE_MS, has
// no capacity in the operator API, gets no new cache, does not make v2 `can_switch` true,
// and switch_cluster onto it is a 403 — until one of its nodes is seen again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NODE_STALE_MS } from '../src/catalog/clusters.ts';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

const GB = 2 ** 30;
const GHOST = '10.255.0.1:11211';

let t: TestCluster;
let op: Record<string, string>;
let cache: ClusterCache;

/** Registers GHOST in cluster `gone` as if its last heartbeat were `ageMs` ago. */
async function registerGhost(ageMs: number): Promise<void> {
  const realNow = Date.now;
  const then = realNow() - ageMs;
  Date.now = () => then;
  try {
    await t.catalog.registerNode(GHOST, '10.255.0.1:9000', { cluster: 'gone', capacityBytes: 8 * GB });
  } finally {
    Date.now = realNow;
  }
}

before(async () => {
  t = await startTestCluster({ nodes: 1 });
  op = { authorization: `Bearer ${t.control.operatorToken!}` };
  assert.equal((await t.api('/api/operator/clusters', { method: 'POST', headers: op, json: { name: 'empty' } })).status, 200);
  await registerGhost(NODE_STALE_MS + 5000);
  cache = await t.createCache(16 << 20);
});
after(() => t?.close());

test('a cluster of stale nodes has no nodes and no capacity, and a new cache does not go there', async () => {
  const clusters = (await t.api('/api/operator/clusters', { headers: op })).json() as { name: string; nodes: number; capacity_bytes: number }[];
  const gone = clusters.find((c) => c.name === 'gone')!;
  assert.deepEqual([gone.nodes, gone.capacity_bytes], [0, 0], 'its 8 GiB node was not seen for longer than the staleness window');
  const made = await t.api('/api/operator/caches', { method: 'POST', headers: op, json: { memory: '8mb' } });
  assert.equal(made.status, 200, made.text);
  assert.equal(made.json().cluster, 'default', 'placed where a node is live');
});

test('no other cluster with live nodes: can_switch is false and switch_cluster is a 403, the cache stays', async () => {
  const info = (await t.api(`/api/v2/caches/${cache.id}/info`, { auth: cache })).json();
  assert.deepEqual([info.cluster_name, info.can_switch], ['default', false]);
  const r = await t.api(`/api/v2/caches/${cache.id}/switch_cluster`, { auth: cache, method: 'POST' });
  assert.equal(r.status, 403, r.text);
  assert.deepEqual(r.json(), { message: 'Not allowed to switch the cluster of this cache: no other cluster has live nodes.' });
  assert.equal((await t.catalog.getCache(cache.id))!.cluster, 'default');
});

test('once a node of the other cluster is seen again, can_switch is true and switch_cluster goes there', async () => {
  await registerGhost(0);
  const info = (await t.api(`/api/v2/caches/${cache.id}/info`, { auth: cache })).json();
  assert.equal(info.can_switch, true);
  const r = await t.api(`/api/v2/caches/${cache.id}/switch_cluster`, { auth: cache, method: 'POST' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json(), 'gone', 'the live cluster, never the empty one');
});
