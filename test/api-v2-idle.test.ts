// --disable-idle-days over a real two-node cluster (the sampler driven by the test, with
// sample times in the past): a cache without memcache traffic for D days is disabled with
// reason idle (logins fail, the API answers 404 but for info and enable_cache); one with
// traffic is not; reset_stats is no traffic; a round where a server does not answer
// disables nothing; enable_cache brings it back and counts as traffic.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

const DAY = 86_400_000;
let t: TestCluster;
before(async () => {
  t = await startTestCluster({ nodes: 2, control: { disableIdleDays: 3 } });
});
after(() => t.close());

const v2 = (c: ClusterCache, action: string) => `/api/v2/caches/${c.id}/${action}`;

async function use(c: ClusterCache, node = 0): Promise<void> {
  const client = await t.textLogin(c, node);
  assert.equal(await client.text('set k 0 0 1\r\nx\r\n'), 'STORED\r\n');
  client.end();
}

test('idle for D days: disabled with reason idle; a cache with traffic stays; enable_cache re-enables', async () => {
  const busy = await t.createCache();
  const idle = await t.createCache();
  const t0 = Date.now() - 20 * DAY;
  const sampler = t.control.sampler;
  await sampler.sampleOnce(t0); // first look: both count as seen now
  assert.equal((await t.catalog.cacheStatus(idle.id))!.lastTrafficAt, t0);

  await use(busy, 1);
  await sampler.sampleOnce(t0 + 2 * DAY);
  assert.equal((await t.catalog.getCache(idle.id))!.enabled, true, 'idle 2 days < 3');
  await use(busy, 0);
  await sampler.sampleOnce(t0 + 4 * DAY);

  const status = (await t.catalog.cacheStatus(idle.id))!;
  assert.equal(status.enabled, false);
  assert.equal(status.disabledReason, 'idle');
  assert.equal(status.disabledAt, t0 + 4 * DAY);
  assert.equal(status.lastTrafficAt, t0);
  assert.equal((await t.catalog.cacheStatus(busy.id))!.enabled, true);
  assert.equal((await t.catalog.cacheStatus(busy.id))!.lastTrafficAt, t0 + 4 * DAY);

  // Disabled: logins fail on every node, the API is 404 but for info and enable_cache.
  for (const node of [0, 1]) await assert.rejects(t.textLogin(idle, node));
  assert.equal((await t.api(v2(idle, 'stats'), { auth: idle })).status, 404);
  const info = await t.api(v2(idle, 'info'), { auth: idle });
  assert.equal(info.json().enabled, false);

  const r = await t.api(v2(idle, 'enable_cache'), { auth: idle, method: 'POST' });
  assert.equal(r.status, 200, r.text);
  await use(idle, 1);
  // Re-enabling counts as traffic: the next round (now) does not disable it again.
  await sampler.sampleOnce(Date.now());
  assert.equal((await t.catalog.getCache(idle.id))!.enabled, true);
});

test('reset_stats is not traffic; a round with a silent server disables nothing', async () => {
  const c = await t.createCache();
  const t0 = Date.now() - 20 * DAY;
  const sampler = t.control.sampler;
  await use(c);
  await sampler.sampleOnce(t0);
  assert.equal((await t.api(v2(c, 'reset_stats'), { auth: c, method: 'POST' })).status, 204);
  await sampler.sampleOnce(t0 + DAY);
  assert.equal((await t.catalog.cacheStatus(c.id))!.lastTrafficAt, t0, 'counters back to zero: no traffic');

  await t.stopNode(1);
  try {
    await sampler.sampleOnce(t0 + 5 * DAY);
    assert.equal((await t.catalog.getCache(c.id))!.enabled, true, 'node 1 did not answer: nothing is disabled this round');
  } finally {
    await t.restartNode(1);
    await t.syncNodes();
  }
  await sampler.sampleOnce(t0 + 5 * DAY + 60_000);
  assert.equal((await t.catalog.cacheStatus(c.id))!.disabledReason, 'idle');
});

test('an operator-disabled cache is left alone by the sampler and cannot be re-enabled by its owner', async () => {
  const c = await t.createCache();
  await t.catalog.updateCache(c.id, { enabled: false });
  await t.control.sampler.sampleOnce(Date.now());
  const r = await t.api(v2(c, 'enable_cache'), { auth: c, method: 'POST' });
  assert.equal(r.status, 403);
  assert.deepEqual(r.json(), { message: 'Not allowed to enable this cache.' });
  assert.equal((await t.catalog.cacheStatus(c.id))!.disabledReason, 'operator');
});
