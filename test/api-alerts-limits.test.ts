// How many alerts and delivery configs one cache may have, over real HTTP (both catalogs).
// Without a bound a tenant could create thousands of alerts on one webhook and make the
// control plane send thousands of posts (each retried for an hour) on every transition,
// to a receiver of their choosing, and grow every evaluation round. At most 100 of each
// per cache: the 101st is a 400 and creates nothing; deleting one makes room again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

let t: TestCluster;
let cache: ClusterCache;
let other: ClusterCache;
before(async () => {
  t = await startTestCluster();
  cache = await t.createCache();
  other = await t.createCache();
});
after(async () => {
  await t.close();
});

const v2 = (c: ClusterCache, path: string) => `/api/v2/caches/${c.id}/${path}`;
const post = (c: ClusterCache, path: string, json: Record<string, unknown>) => t.api(v2(c, path), { auth: c, method: 'POST', json });

test('at most 100 delivery configs and 100 alerts per cache; the next is a 400 that creates nothing', async () => {
  const configs: number[] = [];
  for (let i = 0; i < 100; i++) {
    const r = await post(cache, 'alerts/configs', { delivery_type: 'email', email: `ops${i}@example.com` });
    assert.equal(r.status, 201, r.text);
    configs.push(r.json().id);
  }
  const tooManyConfigs = await post(cache, 'alerts/configs', { delivery_type: 'email', email: 'one-more@example.com' });
  assert.equal(tooManyConfigs.status, 400, tooManyConfigs.text);
  assert.equal(tooManyConfigs.json().message, 'The alert delivery config could not be added: a cache has at most 100 delivery configs');
  assert.equal((await t.api(v2(cache, 'alerts/configs'), { auth: cache })).json().length, 100);

  const ids: number[] = [];
  for (let i = 0; i < 100; i++) {
    const r = await post(cache, 'alerts', { trigger_type: 'memory_usage', trigger_threshold: 50, delivery_config_id: configs[0] });
    assert.equal(r.status, 201, r.text);
    ids.push(r.json().id);
  }
  const tooMany = await post(cache, 'alerts', { trigger_type: 'hit_rate', trigger_threshold: 50, delivery_config_id: configs[0] });
  assert.equal(tooMany.status, 400, tooMany.text);
  assert.equal(tooMany.json().message, 'The alert could not be added: a cache has at most 100 alerts');
  assert.equal((await t.api(v2(cache, 'alerts'), { auth: cache })).json().length, 100);

  // Another cache is not affected; deleting one makes room.
  const own = await post(other, 'alerts/configs', { delivery_type: 'email', email: 'ops@example.com' });
  assert.equal(own.status, 201, own.text);
  assert.equal((await post(other, 'alerts', { trigger_type: 'hit_rate', trigger_threshold: 50, delivery_config_id: own.json().id })).status, 201);
  assert.equal((await t.api(v2(cache, `alerts/${ids[0]}`), { auth: cache, method: 'DELETE' })).status, 201);
  assert.equal((await post(cache, 'alerts', { trigger_type: 'hit_rate', trigger_threshold: 50, delivery_config_id: configs[0] })).status, 201);
  assert.equal((await t.api(v2(cache, `alerts/configs/${configs[99]}`), { auth: cache, method: 'DELETE' })).status, 204);
  assert.equal((await post(cache, 'alerts/configs', { delivery_type: 'email', email: 'one-more@example.com' })).status, 201);
});
