// History: the sampler stores every (cache, server) pair's stats each interval; the API
// serves them oldest first in the document's shape; several control planes on one
// catalog do not double the samples; old samples are thinned per the retention policy.
// step, large answers and their streaming: api-history.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { STAT_NAMES } from '../src/shared/stat-names.ts';
import { startControlPlane } from '../src/control/main.ts';
import { NodeClient } from '../src/control/node-client.ts';
import { HistorySampler } from '../src/control/sampler.ts';
import { cliExit } from './support/child-process.ts';
import { until } from './support/wait.ts';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

let t: TestCluster;
let cache: ClusterCache;
let cacheMadeAt: number;
before(async () => {
  t = await startTestCluster({ nodes: 2, historyIntervalSeconds: 1, sampler: true });
  cacheMadeAt = Date.now();
  cache = await t.createCache();
});
after(() => t.close());

interface Rec { memcachier_id: string; server: string; stats: Record<string, number>; timestamp: string }
const history = async (qs = '', c = cache): Promise<Rec[]> => {
  const r = await t.api(`/api/v1/${c.id}/history${qs}`, { auth: c });
  assert.equal(r.status, 200, r.text);
  return r.json();
};

test('1-second samples of every server, oldest first, in the document\'s shape, tracking traffic', async () => {
  const client = await t.textLogin(cache, 0);
  await client.text('set a 0 0 1\r\n1\r\n', 'STORED\r\n');
  // A loaded machine may run a round late, so wait for three samples per server rather
  // than a fixed time; never more than one per interval slot since the cache was made.
  const perServer = (h: Rec[]) => t.addresses.map((server) => h.filter((r) => r.server === server).length);
  const h = await until('3 samples of every server', Date.now() + 20_000, async () => {
    const got = await history();
    return perServer(got).every((n) => n >= 3) ? got : undefined;
  }, 200);
  const slots = Math.ceil((Date.now() - cacheMadeAt) / 1000) + 1;
  for (const [i, n] of perServer(h).entries()) assert.ok(n <= slots, `${t.addresses[i]}: ${n} samples in ${slots} slots`);
  for (const r of h) {
    assert.deepEqual(Object.keys(r).sort(), ['memcachier_id', 'server', 'stats', 'timestamp']);
    assert.equal(r.memcachier_id, String(cache.id));
    assert.match(r.timestamp, /^\d{13}$/);
    assert.deepEqual(Object.keys(r.stats).sort(), [...STAT_NAMES].sort());
  }
  const times = h.map((r) => Number(r.timestamp));
  assert.deepEqual(times, [...times].sort((a, b) => a - b), 'oldest first');
  const latest = h.filter((r) => r.server === t.addresses[0]).at(-1)!;
  assert.equal(latest.stats.curr_items, 1);
  assert.equal(latest.stats.cmd_set, 1);
  assert.equal(latest.stats.limit_maxbytes, 32 << 20);
});

test('since, until and limit (the newest n) select samples; bad values are 400', async () => {
  const all = await history();
  const ts = [...new Set(all.map((r) => Number(r.timestamp)))];
  assert.ok(ts.length >= 3);
  const since = await history(`?since=${ts[1]}`);
  assert.ok(since.every((r) => Number(r.timestamp) >= ts[1]!));
  assert.equal(since.filter((r) => Number(r.timestamp) <= ts[2]!).length, all.filter((r) => [ts[1], ts[2]].includes(Number(r.timestamp))).length);
  const until = await history(`?until=${ts[1]}`);
  assert.ok(until.length > 0 && until.every((r) => Number(r.timestamp) <= ts[1]!));
  const between = await history(`?since=${ts[1]}&until=${ts[1]}`);
  assert.ok(between.length >= 1 && between.every((r) => Number(r.timestamp) === ts[1]));
  // The newest 3 of the range, oldest first (`until` pins the range while the sampler runs).
  const limited = await history(`?limit=3&until=${ts.at(-1)}`);
  assert.deepEqual(limited, all.slice(-3));
  for (const qs of ['?limit=0', '?limit=x', '?since=-5', '?until=soon']) {
    const r = await t.api(`/api/v1/${cache.id}/history${qs}`, { auth: cache });
    assert.equal(r.status, 400, qs);
  }
});

test('a disabled cache is not sampled; another cache has its own history', async () => {
  const off = await t.createCache();
  const on = await t.createCache();
  await t.catalog.updateCache(off.id, { enabled: false });
  const samples = await t.control.sampler.sampleOnce(Date.now() + 10_000);
  assert.ok(!samples.some((s) => s.cacheId === off.id));
  assert.equal(samples.filter((s) => s.cacheId === on.id).length, 2);
  assert.equal((await t.catalog.history(off.id)).length, 0);
  assert.ok((await history('', on)).every((r) => r.memcachier_id === String(on.id)));
});

test('two control planes sampling one slot keep one sample per (cache, server, interval)', async () => {
  const c = await t.createCache();
  const a = new HistorySampler({ catalog: t.catalog, nodes: new NodeClient({ catalog: t.catalog }), intervalMs: 10_000 });
  const b = new HistorySampler({ catalog: t.catalog, nodes: new NodeClient({ catalog: t.catalog }), intervalMs: 10_000 });
  const t0 = (Math.floor(Date.now() / 10_000) + 6) * 10_000; // the start of a future slot
  const stored = async () => (await t.catalog.history(c.id, { since: t0 })).length;
  await a.sampleOnce(t0);
  assert.equal(await stored(), 2, 'one sample per server');
  await b.sampleOnce(t0 + 3_000);
  await a.sampleOnce(t0 + 9_999);
  assert.equal(await stored(), 2, 'same slot: nothing more kept');
  await b.sampleOnce(t0 + 10_000);
  assert.equal(await stored(), 4, 'next slot');
  const kept = await t.catalog.history(c.id, { since: t0 });
  assert.deepEqual([...new Set(kept.map((s) => s.timestamp))], [t0, t0 + 10_000]);
});

test('two running control planes at 1 s write one sample per second per server', async () => {
  const second = await startControlPlane({ catalog: t.catalog, host: '127.0.0.1', port: 0, historyIntervalSeconds: 1 });
  try {
    const c = await t.createCache();
    const start = Date.now();
    const mine = async () => (await t.catalog.history(c.id, { since: start })).filter((s) => s.server === t.addresses[0]);
    // Both planes run every second; wait (bounded) until at least four slots are sampled.
    const samples = await until('4 samples', start + 20_000, async () => {
      const got = await mine();
      return got.length >= 4 ? got : undefined;
    }, 200);
    const slots = samples.map((s) => Math.floor(s.timestamp / 1000));
    assert.equal(new Set(slots).size, slots.length, 'never two samples in one second');
    const elapsedSlots = Math.ceil((Date.now() - start) / 1000) + 1;
    assert.ok(samples.length <= elapsedSlots, `${samples.length} samples in ${elapsedSlots} slots`);
  } finally {
    await second.close();
  }
});

test('thinning keeps raw samples for the raw window, then one per hour, then drops them', async () => {
  const c = await t.createCache();
  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  const now = Date.UTC(2030, 0, 10);
  const stats = Object.fromEntries(STAT_NAMES.map((n) => [n, 0]));
  const at = (ms: number) => ({ cacheId: c.id, server: 'h:1', timestamp: ms, stats });
  const samples = [];
  for (let m = 0; m < 120; m += 10) samples.push(at(now - HOUR / 2 - m * 60_000)); // recent: kept raw
  for (let m = 0; m < 60; m += 10) samples.push(at(now - 2 * DAY - HOUR / 4 + m * 1000)); // one hour-bucket: 6 → 1
  for (let m = 0; m < 60; m += 10) samples.push(at(now - 2 * DAY + 2 * HOUR + m * 1000)); // another: 6 → 1
  samples.push(at(now - 10 * DAY)); // beyond the hourly window: dropped
  await t.catalog.addHistory(samples);
  const sampler = new HistorySampler({
    catalog: t.catalog, nodes: new NodeClient({ catalog: t.catalog }), intervalMs: 1000,
    retention: { rawMs: DAY, hourlyMs: 5 * DAY },
  });
  await sampler.thin(now);
  const left = await t.catalog.history(c.id);
  assert.equal(left.filter((s) => s.timestamp > now - DAY).length, 12);
  assert.equal(left.filter((s) => s.timestamp < now - DAY).length, 2);
});

test('cachier start rejects an hourly window shorter than the raw one', async () => {
  const r = await cliExit(['start', '--data', t.dataDir, '--history-raw-days', '10', '--history-hourly-days', '5'], { timeoutMs: 10_000 });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /history-hourly-days/);
});
