// API v2 insight over real HTTP, from samples written through the catalog with known
// stats (the sampler is off, so nothing else is stored): exact processed stats for the
// whole cache and per server, a reset_stats mid-range, the bucket of each span, latency
// from stored probes, and every 400. Live probes and samples: api-v2-insight-live.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HistorySample } from '../src/catalog/catalog.ts';
import { PROCESSED_STAT_NAMES } from '../src/api/insight-formulas.ts';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** The known sequence's first minute. */
const BASE = Date.UTC(2026, 10, 1, 12, 0);
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

let t: TestCluster;
let cache: ClusterCache;
let long: ClusterCache;
let a: string;
let b: string;
before(async () => {
  t = await startTestCluster({ nodes: 2 });
  [a, b] = t.addresses as [string, string];
  cache = await t.createCache();
  long = await t.createCache();
  await t.catalog.addHistory(knownSequence(cache.id), MIN);
  // 100 days of one server's samples, every 10 minutes at 3 min 7 s past: each bucket
  // size shows in the times of the rows (minute buckets :x3:00, 10-minute ones :x0:00, …).
  const samples: HistorySample[] = [];
  for (let i = 0; i < 100 * 144; i++) {
    samples.push({ cacheId: long.id, server: a, timestamp: LONG_START + i * 10 * MIN + 3 * MIN + 7_000, stats: { cmd_get: i * 6, bytes: i } });
  }
  for (let i = 0; i < samples.length; i += 2000) await t.catalog.addHistory(samples.slice(i, i + 2000), MIN);
});
after(() => t.close());

const LONG_START = Date.UTC(2026, 6, 1);

/** Server a: traffic, then reset_stats before minute 2; server b: a second server's traffic, idle in minute 3. */
function knownSequence(cacheId: number): HistorySample[] {
  const gauges = (bytes: number, items: number) => ({ bytes, curr_items: items, curr_connections: 2, limit_maxbytes: 32 << 20 });
  const at = (server: string, ms: number, stats: Record<string, number>): HistorySample => ({ cacheId, server, timestamp: ms, stats });
  return [
    at(a, BASE, { cmd_get: 100, get_hits: 80, get_misses: 20, cmd_set: 10, total_connections: 10, ...gauges(1000, 5) }),
    at(a, BASE + MIN, { cmd_get: 160, get_hits: 125, get_misses: 35, cmd_set: 16, total_connections: 13, ...gauges(1500, 7) }),
    // reset_stats: counters back to zero (then a little traffic), gauges kept.
    at(a, BASE + 2 * MIN, { cmd_get: 12, get_hits: 9, get_misses: 3, cmd_set: 0, total_connections: 0, ...gauges(1500, 7) }),
    at(a, BASE + 3 * MIN, { cmd_get: 72, get_hits: 57, get_misses: 15, cmd_set: 6, total_connections: 6, ...gauges(2000, 9) }),
    at(b, BASE + 1000, { cmd_get: 0, get_hits: 0, get_misses: 0, cmd_set: 0, total_connections: 1, ...gauges(0, 0) }),
    at(b, BASE + MIN + 1000, { cmd_get: 30, get_hits: 30, get_misses: 0, cmd_set: 4, total_connections: 1, ...gauges(500, 4) }),
    at(b, BASE + 2 * MIN + 1000, { cmd_get: 60, get_hits: 45, get_misses: 15, cmd_set: 4, total_connections: 1, ...gauges(600, 5) }),
    at(b, BASE + 3 * MIN + 1000, { cmd_get: 60, get_hits: 45, get_misses: 15, cmd_set: 4, total_connections: 1, ...gauges(600, 5) }),
  ];
}

const v2 = (c: ClusterCache, path: string) => `/api/v2/caches/${c.id}/${path}`;

async function getJson(c: ClusterCache, path: string): Promise<any> {
  const r = await t.api(v2(c, path), { auth: c });
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  return r.json();
}

async function assert400(c: ClusterCache, path: string, message: string | RegExp): Promise<void> {
  const r = await t.api(v2(c, path), { auth: c });
  assert.equal(r.status, 400, `${path}: ${r.text}`);
  const body = r.json();
  assert.deepEqual(Object.keys(body), ['message'], path);
  if (typeof message === 'string') assert.equal(body.message, message, path);
  else assert.match(body.message, message, path);
}

const range = (from: number, to: number) => `startTime=${iso(from)}&endTime=${iso(to)}`;
const NAMES = 'get_rate,get_hit_rate,hit_rate,set_rate,request_rate,get_fraction,connection_rate,bytes,items,connections,max_bytes';

test('processed_stats: exact values of a known sequence, whole cache (counters summed first), a reset counting from zero', async () => {
  const series = await getJson(cache, `insight/processed_stats?names=${NAMES}&${range(BASE, BASE + 4 * MIN - 1)}`);
  assert.deepEqual(series, [{
    name: 'processed_stats',
    columns: ['time', ...NAMES.split(',')],
    values: [
      // Both servers' first samples: gauges only, no rate yet.
      [iso(BASE), null, null, null, null, null, null, null, 1000, 5, 4, 64 << 20],
      // a: 60 gets (45 hits), 6 sets, 3 connections; b: 30 gets (30 hits), 4 sets. 60 s.
      [iso(BASE + MIN), 90 / 60, 75 / 90, 75 / 90, 10 / 60, 100 / 60, 90 / 100, 3 / 60, 2000, 11, 4, 64 << 20],
      // a reset: 12 gets (9 hits) counted from zero, never negative; b: 30 gets (15 hits).
      [iso(BASE + 2 * MIN), 42 / 60, 24 / 42, 24 / 42, 0, 42 / 60, 1, 0, 2100, 12, 4, 64 << 20],
      // a: 60 gets (48 hits), 6 sets; b idle.
      [iso(BASE + 3 * MIN), 1, 0.8, 0.8, 6 / 60, 66 / 60, 60 / 66, 6 / 60, 2600, 14, 4, 64 << 20],
    ],
  }]);
});

test('per_server: one series per server tagged host:port, each computed on its own', async () => {
  const series = await getJson(cache, `insight/processed_stats/per_server?names=get_rate,get_hit_rate,bytes&${range(BASE, BASE + 4 * MIN - 1)}`);
  assert.deepEqual(series, [
    {
      name: 'processed_stats', tags: { server: a }, columns: ['time', 'get_rate', 'get_hit_rate', 'bytes'],
      values: [[iso(BASE), null, null, 1000], [iso(BASE + MIN), 1, 0.75, 1500], [iso(BASE + 2 * MIN), 0.2, 0.75, 1500], [iso(BASE + 3 * MIN), 1, 0.8, 2000]],
    },
    {
      name: 'processed_stats', tags: { server: b }, columns: ['time', 'get_rate', 'get_hit_rate', 'bytes'],
      values: [[iso(BASE), null, null, 0], [iso(BASE + MIN), 0.5, 1, 500], [iso(BASE + 2 * MIN), 0.5, 0.5, 600], [iso(BASE + 3 * MIN), 0, null, 600]],
    },
  ]);
});

test('every one of the 36 names answers, in request order, repeated names included; buckets without samples are left out', async () => {
  const names = [...PROCESSED_STAT_NAMES].reverse();
  const [s] = await getJson(cache, `insight/processed_stats?names=${names.join(',')},get_rate&${range(BASE - HOUR, BASE + HOUR)}`);
  assert.deepEqual(s.columns, ['time', ...names, 'get_rate']);
  assert.equal(s.values.length, 4, 'only the 4 minutes with samples');
  for (const row of s.values) {
    assert.equal(row.length, 38);
    for (const v of row.slice(1)) assert.ok(v === null || (typeof v === 'number' && v >= 0), String(v));
  }
  const empty = await getJson(cache, `insight/processed_stats?names=get_rate&${range(BASE + HOUR, BASE + 2 * HOUR)}`);
  assert.deepEqual(empty, [{ name: 'processed_stats', columns: ['time', 'get_rate'], values: [] }]);
  assert.deepEqual(await getJson(cache, `insight/processed_stats/per_server?names=get_rate&${range(BASE + HOUR, BASE + 2 * HOUR)}`), [
    { name: 'processed_stats', tags: { server: a }, columns: ['time', 'get_rate'], values: [] },
    { name: 'processed_stats', tags: { server: b }, columns: ['time', 'get_rate'], values: [] },
  ]);
});

test('bucket by span: ≤ 24 h → 1 min, ≤ 7 d → 10 min, ≤ 92 d → 1 h, longer → 1 day; a row\'s time is its bucket\'s start', async () => {
  const end = LONG_START + 100 * DAY;
  const times = async (span: number) => {
    const [s] = await getJson(long, `insight/processed_stats?names=get_rate,bytes&${range(end - span, end)}`);
    return (s.values as [string, number | null, number][]).map((v) => Date.parse(v[0]));
  };
  const cases: [number, number][] = [
    [DAY, MIN],
    [DAY + 1, 10 * MIN],
    [7 * DAY, 10 * MIN],
    [7 * DAY + 1, HOUR],
    [92 * DAY, HOUR],
    [92 * DAY + 1, DAY],
  ];
  for (const [span, bucket] of cases) {
    const got = await times(span);
    assert.ok(got.length > 2, `span ${span}`);
    // Minute buckets start at the samples' minute (3 past); longer ones on their own boundary.
    const step = Math.max(bucket, 10 * MIN);
    for (const ms of got) assert.equal(ms % step, bucket === MIN ? 3 * MIN : 0, `span ${span}: ${iso(ms)}`);
    // Samples every 10 minutes fill every bucket of 10 minutes or more: consecutive rows.
    for (let i = 1; i < got.length; i++) assert.equal(got[i]! - got[i - 1]!, step, `span ${span}: ${iso(got[i - 1]!)} → ${iso(got[i]!)}`);
    // The first bucket overlaps the range's start (it may begin before it).
    assert.ok(got[0]! <= end - span + step && got[0]! + bucket > end - span - step, `span ${span}: first ${iso(got[0]!)}`);
  }
  // Hourly rows: 6 samples each, 10 minutes apart → 1 get per second; the gauge is the hour's last sample.
  const [hourly] = await getJson(long, `insight/processed_stats?names=get_rate,bytes&${range(end - 30 * DAY, end)}`);
  const row = hourly.values[10] as [string, number, number];
  assert.equal(row[1], 6 * 6 / 3600);
  const i = (Date.parse(row[0]) - LONG_START) / (10 * MIN) + 5;
  assert.equal(row[2], i, 'bytes of the hour\'s last sample');
});

test('defaults: endTime now, startTime 24 h before; a range of exactly 2 years answers', async () => {
  const now = Math.floor(Date.now() / MIN) * MIN;
  const c = await t.createCache();
  await t.catalog.addHistory([
    { cacheId: c.id, server: a, timestamp: now - 2 * DAY, stats: { cmd_get: 0 } },
    { cacheId: c.id, server: a, timestamp: now - 3 * HOUR, stats: { cmd_get: 60 } },
    { cacheId: c.id, server: a, timestamp: now - 3 * HOUR + MIN, stats: { cmd_get: 120 } },
  ], 1000);
  const [s] = await getJson(c, 'insight/processed_stats?names=get_rate');
  assert.deepEqual(s.values, [[iso(now - 3 * HOUR), 60 / (2 * DAY / 1000 - 3 * 3600)], [iso(now - 3 * HOUR + MIN), 1]]);
  const [only] = await getJson(c, `insight/processed_stats?names=get_rate&startTime=${iso(now - 3 * HOUR + 30_000)}`);
  assert.deepEqual(only.values, [[iso(now - 3 * HOUR), 60 / (2 * DAY / 1000 - 3 * 3600)], [iso(now - 3 * HOUR + MIN), 1]], 'the first bucket overlaps startTime');
  const [years] = await getJson(c, `insight/processed_stats?names=get_rate&${range(now - 731 * DAY, now)}`);
  const days = (years.values as [string][]).map((v) => Date.parse(v[0]));
  assert.ok(days.length >= 2 && days.every((ms) => ms % DAY === 0), 'daily buckets');
  assert.equal(days[0], Math.floor((now - 2 * DAY) / DAY) * DAY);
});

test('latency from stored probes: 20 s buckets exact up to 24 h, histogram buckets (p50/p99 within 1 %) beyond; only the cache\'s servers', async () => {
  const t0 = Date.UTC(2026, 10, 2, 8, 0);
  const probes = [];
  // a: 20 probes in one 20 s bucket, 1..20 µs; b: one probe in the next bucket; another server's probe.
  for (let i = 1; i <= 20; i++) probes.push({ server: a, timestamp: t0 + i * 900, ns: i * 1000 });
  probes.push({ server: b, timestamp: t0 + 25_000, ns: 2_500_000 });
  probes.push({ server: 'elsewhere:11211', timestamp: t0 + 1000, ns: 1 });
  await t.catalog.addLatency(probes, 1);
  const series = await getJson(cache, `insight/latency?${range(t0, t0 + HOUR)}`);
  const columns = ['time', 'duration', 'p50', 'p99', 'max'];
  assert.deepEqual(series, [
    // All 20 of a's probes are in [t0, t0 + 20 s): mean 10.5 µs, p50 the 10th, p99 the 20th (nearest rank).
    { name: 'latency', tags: { server: a }, columns, values: [[iso(t0), 10_500, 10_000, 20_000, 20_000]] },
    { name: 'latency', tags: { server: b }, columns, values: [[iso(t0 + 20_000), 2_500_000, 2_500_000, 2_500_000, 2_500_000]] },
  ]);
  // Over 7 days: one 10-minute bucket per server; mean and max exact, p50 and p99 from the histogram.
  const [wa, wb] = await getJson(cache, `insight/latency?${range(t0 - 3 * DAY, t0 + 3 * DAY)}`);
  assert.equal(wa.values.length, 1);
  const [time, duration, p50, p99, max] = wa.values[0];
  assert.equal(time, iso(t0));
  assert.equal(duration, 10_500);
  assert.equal(max, 20_000);
  assert.ok(Math.abs(p50 - 10_000) <= 100, `p50 ${p50}`);
  assert.ok(Math.abs(p99 - 20_000) <= 200 && p99 <= max, `p99 ${p99}`);
  assert.deepEqual(wb.tags, { server: b });
  // Over 90 days (hourly) and a year (daily): the same single bucket, at the hour's and the day's start.
  assert.equal((await getJson(cache, `insight/latency?${range(t0 - 45 * DAY, t0 + 45 * DAY)}`))[0].values[0][0], iso(t0));
  assert.equal((await getJson(cache, `insight/latency?${range(t0 - 200 * DAY, t0 + 100 * DAY)}`))[0].values[0][0], iso(Date.UTC(2026, 10, 2)));
  // A range without probes: every server's series, empty.
  assert.deepEqual((await getJson(cache, `insight/latency?${range(t0 + HOUR, t0 + 2 * HOUR)}`)).map((s: any) => [s.tags.server, s.values.length]), [[a, 0], [b, 0]]);
});

test('400s: names missing or unknown, times malformed or reversed, ranges over 2 years, unknown parameters; nothing else answers', async () => {
  const ok = `&${range(BASE, BASE + HOUR)}`;
  for (const path of ['insight/processed_stats', 'insight/processed_stats/per_server']) {
    await assert400(cache, path, 'query parameter names is required');
    await assert400(cache, `${path}?names=${ok}`, 'query parameter names is required');
    await assert400(cache, `${path}?names=,,${ok}`, 'query parameter names is required');
    await assert400(cache, `${path}?names=get_rate,nope,bytes_written_rate,nope${ok}`, 'Unknown processed stat names: "nope", "bytes_written_rate"');
    await assert400(cache, `${path}?names=get_rate&startTime=yesterday`, /^Invalid time range: startTime "yesterday" is not an RFC 3339 time/);
    await assert400(cache, `${path}?names=get_rate&endTime=2026-11-01`, /^Invalid time range: endTime "2026-11-01" is not an RFC 3339 time/);
    await assert400(cache, `${path}?names=get_rate&startTime=2026-02-30T00:00:00Z&endTime=2026-03-05T00:00:00Z`, /startTime "2026-02-30T00:00:00Z" is not/);
    await assert400(cache, `${path}?names=get_rate&startTime=2026-11-01T24:00:00Z`, /is not an RFC 3339 time/);
    await assert400(cache, `${path}?names=get_rate&${range(BASE + HOUR, BASE)}`, `Invalid time range: startTime ${iso(BASE + HOUR)} is after endTime ${iso(BASE)}`);
    await assert400(cache, `${path}?names=get_rate&endTime=${iso(Date.now() - 7 * DAY)}`, /is after endTime .*startTime defaults to 24 hours ago/);
    await assert400(cache, `${path}?names=get_rate&${range(BASE - 731 * DAY - 1000, BASE)}`, 'Invalid time range: the range is longer than 2 years (731 days)');
    await assert400(cache, `${path}?names=get_rate&step=60${ok}`, /querystring has unknown field "step"/);
  }
  await assert400(cache, `insight/latency?startTime=soon`, /^Invalid time range: startTime "soon"/);
  await assert400(cache, `insight/latency?${range(BASE, BASE - 1000)}`, /is after endTime/);
  await assert400(cache, `insight/latency?${range(BASE - 800 * DAY, BASE)}`, /longer than 2 years/);
  await assert400(cache, `insight/latency?names=get_rate`, /querystring has unknown field "names"/);
  // Offsets are RFC 3339 too: 14:00+02:00 is 12:00Z.
  const [s] = await getJson(cache, `insight/processed_stats?names=bytes&startTime=2026-11-01T14:00:00%2B02:00&endTime=2026-11-01T14:00:59.999%2B02:00`);
  assert.deepEqual(s.values, [[iso(BASE), 1000]]);
});

test('the guard applies: another cache\'s credential 403, no credential 401, a disabled cache 404', async () => {
  let r = await t.api(v2(cache, 'insight/latency'), { auth: long });
  assert.equal(r.status, 403, r.text);
  r = await t.api(v2(cache, 'insight/processed_stats?names=get_rate'));
  assert.equal(r.status, 401, r.text);
  const off = await t.createCache();
  await t.catalog.updateCache(off.id, { enabled: false });
  r = await t.api(v2(off, 'insight/processed_stats?names=get_rate'), { auth: off });
  assert.equal(r.status, 404, r.text);
  assert.deepEqual(r.json(), { message: 'Cache not found.' });
});
