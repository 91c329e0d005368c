// API v2 insight from a running control plane: the latency probes reach every node over
// its memcache port (a stopped node records nothing), and processed stats built by the
// sampler through traffic and a reset_stats are exactly what the stored samples give
// (src/catalog/rollups.ts + src/api/insight-formulas.ts), never negative.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HistorySample } from '../src/catalog/catalog.ts';
import { rollupsOf } from '../src/catalog/rollups.ts';
import { combineServers, PROCESSED_STAT_NAMES, processedStat } from '../src/api/insight-formulas.ts';
import { historyOptions } from '../src/cli/history-flags.ts';
import { PROMPTLY_MS, sleep, until } from './support/wait.ts';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

let t: TestCluster;
before(async () => {
  t = await startTestCluster({ nodes: 2, historyIntervalSeconds: 1, sampler: true, control: { latencyIntervalSeconds: 1 } });
});
after(() => t.close());

const v2 = (c: ClusterCache, path: string) => `/api/v2/caches/${c.id}/${path}`;
async function getJson(c: ClusterCache, path: string): Promise<any> {
  const r = await t.api(v2(c, path), { auth: c });
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.json();
}

test('latency: every node is probed each interval, a row per server; a stopped node records nothing until it is back', async () => {
  const cache = await t.createCache();
  const count = async (server: string) => (await t.catalog.latencyProbes([server], Date.now() - 10 * MIN, Date.now() + MIN)).length;
  await until('3 probes of every node', Date.now() + 3 * PROMPTLY_MS, async () => {
    for (const a of t.addresses) if ((await count(a)) < 3) return undefined;
    return true;
  }, 200);
  const series = await getJson(cache, 'insight/latency');
  assert.deepEqual(series.map((s: any) => s.tags.server), t.addresses);
  for (const s of series) {
    assert.equal(s.name, 'latency');
    assert.deepEqual(s.columns, ['time', 'duration', 'p50', 'p99', 'max']);
    assert.ok(s.values.length >= 1, `${s.tags.server}: rows`);
    for (const [time, duration, p50, p99, max] of s.values) {
      assert.equal(Date.parse(time) % 20_000, 0, '20 s buckets');
      assert.ok(duration > 0 && p50 > 0 && p50 <= p99 && p99 <= max && duration <= max, JSON.stringify([duration, p50, p99, max]));
      assert.ok(max < 5e9, 'under the probe timeout');
    }
  }
  // Node 1 stopped: its probes stop (no connection, nothing recorded) while node 0's go on.
  await t.stopNode(1);
  await sleep(1200); // a round that started before the stop may still store one
  const stopped = await count(t.addresses[1]!);
  const running = await count(t.addresses[0]!);
  await until('node 0 probed twice more', Date.now() + PROMPTLY_MS, async () => ((await count(t.addresses[0]!)) >= running + 2 ? true : undefined), 200);
  assert.equal(await count(t.addresses[1]!), stopped, 'nothing recorded for a node that does not answer');
  await t.restartNode(1);
  await until('node 1 probed again', Date.now() + PROMPTLY_MS, async () => ((await count(t.addresses[1]!)) > stopped ? true : undefined), 200);
});

test('processed stats from the sampler: traffic, reset_stats mid-range — exactly what the stored samples give, no negative rate', async () => {
  const cache = await t.createCache();
  const start = Date.now();
  const c0 = await t.textLogin(cache, 0);
  const c1 = await t.textLogin(cache, 1);
  const traffic = async (sets: number, gets: number) => {
    for (let i = 0; i < sets; i++) await c0.text(`set k${i} 0 0 2\r\nvv\r\n`, 'STORED\r\n');
    for (let i = 0; i < gets; i++) await c0.text(`get k${i}\r\n`, 'END\r\n');
    for (let i = 0; i < gets; i++) await c1.text(`get m${i}\r\n`, 'END\r\n');
  };
  const samplesOf = async () => (await t.api(`/api/v1/${cache.id}/history`, { auth: cache })).json<{ server: string; stats: Record<string, number>; timestamp: string }[]>();
  const sampledAfter = async (ms: number) => until('2 samples of every server', Date.now() + 3 * PROMPTLY_MS, async () => {
    const h = await samplesOf();
    return t.addresses.every((a) => h.filter((r) => r.server === a && Number(r.timestamp) > ms).length >= 2) ? true : undefined;
  }, 200);
  await traffic(20, 30);
  await sampledAfter(Date.now());
  const r = await t.api(v2(cache, 'reset_stats'), { auth: cache, method: 'POST' });
  assert.equal(r.status, 204, r.text);
  await traffic(5, 10);
  await sampledAfter(Date.now());
  // The sampler stops (its round in flight done): no sample can join a bucket after this,
  // so the stored samples are the whole truth up to now (the minute running included).
  await t.control.sampler.stop();
  const end = Date.now();

  const stored: HistorySample[] = (await samplesOf())
    .map((s) => ({ cacheId: cache.id, server: s.server, timestamp: Number(s.timestamp), stats: s.stats }))
    .filter((s) => s.timestamp <= end);
  const a = stored.filter((s) => s.server === t.addresses[0]).map((s) => s.stats.cmd_set!);
  assert.ok(a.some((v, i) => i > 0 && v < a[i - 1]!), `node 0's cmd_set went down (the reset): ${a.join(',')}`);
  const minutes = rollupsOf(stored).filter((x) => x.level === MIN);
  const buckets = [...new Set(minutes.map((x) => x.bucket))].sort((x, y) => x - y);
  const names = [...PROCESSED_STAT_NAMES];
  const close = (got: unknown, want: number | null, what: string) => {
    if (want === null) return assert.equal(got, null, what);
    assert.equal(typeof got, 'number', what);
    assert.ok(Math.abs((got as number) - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);
  };

  const [whole] = await getJson(cache, `insight/processed_stats?names=${names.join(',')}&startTime=${iso(start - MIN)}&endTime=${iso(end)}`);
  assert.deepEqual(whole.values.map((v: any[]) => v[0]), buckets.map(iso));
  for (const [i, bucket] of buckets.entries()) {
    const want = combineServers(minutes.filter((x) => x.bucket === bucket));
    names.forEach((n, j) => close(whole.values[i][j + 1], processedStat(n, want), `${iso(bucket)} ${n}`));
  }
  const perServer = await getJson(cache, `insight/processed_stats/per_server?names=${names.join(',')}&startTime=${iso(start - MIN)}&endTime=${iso(end)}`);
  assert.deepEqual(perServer.map((s: any) => s.tags.server), t.addresses);
  for (const s of perServer) {
    const mine = minutes.filter((x) => x.server === s.tags.server).sort((x, y) => x.bucket - y.bucket);
    assert.deepEqual(s.values.map((v: any[]) => v[0]), mine.map((x) => iso(x.bucket)));
    mine.forEach((x, i) => names.forEach((n, j) => close(s.values[i][j + 1], processedStat(n, x), `${s.tags.server} ${iso(x.bucket)} ${n}`)));
    for (const row of s.values) for (const v of row.slice(1)) assert.ok(v === null || v >= 0, 'no negative value');
  }
  // Node 0 served the sets: 25 in all, and its set rate was positive somewhere.
  const setRates = perServer[0].values.map((v: any[]) => v[1 + names.indexOf('set_rate')]).filter((v: number | null) => v !== null);
  assert.ok(setRates.some((v: number) => v > 0));
});

test('flags: --latency-interval (default 20 s) and --rollup-days (default 2,15,366,1096) for start and control', () => {
  const d = historyOptions({});
  assert.equal(d.latencyIntervalSeconds, 20);
  assert.equal(d.historyIntervalSeconds, 60);
  assert.deepEqual(Object.values(d.rollupRetention).map((ms) => ms / 86_400_000), [2, 15, 366, 1096]);
  const o = historyOptions({ 'latency-interval': '5', 'rollup-days': '1,7,30,400' });
  assert.equal(o.latencyIntervalSeconds, 5);
  assert.deepEqual(Object.entries(o.rollupRetention).map(([k, ms]) => [Number(k), ms / 86_400_000]), [[60_000, 1], [600_000, 7], [3_600_000, 30], [86_400_000, 400]]);
  for (const bad of ['1,2,3', '0,1,1,1', 'a,b,c,d', '1,2,3,4,5']) assert.throws(() => historyOptions({ 'rollup-days': bad }), /--rollup-days/, bad);
  assert.throws(() => historyOptions({ 'latency-interval': '0' }), /latency-interval/);
});
