// The dashboard's arithmetic (dashboard/src/metrics.ts), without a browser: totals over
// servers, the hit-rate bands, the sampling interval, and history turned into per-second
// rates, across several servers, a counter that restarts and downsampled (unevenly
// spaced) history; the step long ranges are fetched with, and merging refreshes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STAT_NAMES } from '../src/shared/stat-names.ts';
import type { HistoryRecord, ServerStats } from '../src/api/v1.ts';
import {
  MAX_CHART_POINTS, growthSinceSample, hitBand, historySeries, historyStepMs, latestSamples, mergeHistory, ratio,
  samplingIntervalMs, totalStats,
} from '../dashboard/src/metrics.ts';
import { formatShare } from '../dashboard/src/format.ts';

function stats(over: Partial<ServerStats> = {}): ServerStats {
  const s = Object.fromEntries(STAT_NAMES.map((n) => [n, 0])) as ServerStats;
  return { ...s, limit_maxbytes: 1024, ...over };
}

function record(server: string, timestamp: number, over: Partial<ServerStats>): HistoryRecord {
  return { memcachier_id: '1', server, timestamp: String(timestamp), stats: stats(over) };
}

test('totals add every stat over the servers; time is the newest', () => {
  const t = totalStats({ a: stats({ bytes: 10, get_hits: 3, time: 5 }), b: stats({ bytes: 5, get_hits: 1, time: 7 }) })!;
  assert.equal(t.bytes, 15);
  assert.equal(t.limit_maxbytes, 2048);
  assert.equal(t.get_hits, 4);
  assert.equal(t.time, 7);
  assert.equal(totalStats({}), undefined);
});

test('hit-rate bands: >= 80 % good, >= 50 % fair, below poor, none without gets', () => {
  assert.equal(hitBand(ratio(80, 20)), 'good');
  assert.equal(hitBand(ratio(79, 21)), 'fair');
  assert.equal(hitBand(ratio(50, 50)), 'fair');
  assert.equal(hitBand(ratio(49, 51)), 'poor');
  assert.equal(hitBand(ratio(0, 0)), 'none');
});

test('the sampling interval is the median gap between one server’s samples', () => {
  const recs = [0, 1000, 2000, 3000, 9000].flatMap((t) => [record('a', t, {}), record('b', t, {})]);
  assert.equal(samplingIntervalMs(recs), 1000);
  assert.equal(samplingIntervalMs([record('a', 0, {})]), undefined);
});

test('history rates: per server, summed, per second', () => {
  const recs = [
    record('a', 0, { cmd_get: 0, get_hits: 0, get_misses: 0, bytes: 100, curr_connections: 1 }),
    record('b', 0, { cmd_get: 0, bytes: 50 }),
    record('a', 2000, { cmd_get: 20, get_hits: 15, get_misses: 5, bytes: 300, curr_connections: 2, evictions: 4 }),
    record('b', 2000, { cmd_get: 10, get_hits: 10, bytes: 60, cmd_set: 6, incr_hits: 2, incr_misses: 2 }),
  ];
  const s = historySeries(recs, 2000);
  assert.deepEqual(s.t, [0, 2]);
  assert.deepEqual(s.bytes, [150, 360]);
  assert.deepEqual(s.limit, [2048, 2048]);
  assert.deepEqual(s.connections, [1, 2]);
  assert.deepEqual(s.commands.get, [null, 15]); // (20 + 10) / 2 s
  assert.deepEqual(s.commands.set, [null, 3]);
  assert.deepEqual(s.commands.incr, [null, 2]);
  assert.deepEqual(s.evictions, [null, 2]);
  assert.deepEqual(s.hitRate, [null, (25 / 30) * 100]);
});

test('a counter that went down restarted: its whole value is new', () => {
  const recs = [record('a', 0, { cmd_get: 500 }), record('a', 1000, { cmd_get: 7 })];
  assert.deepEqual(historySeries(recs, 1000).commands.get, [null, 7]);
});

test('servers sampled at different moments still sum their own rates', () => {
  const recs = [
    record('a', 0, { cmd_set: 0 }),
    record('b', 500, { cmd_set: 0 }),
    record('a', 1000, { cmd_set: 10 }),
    record('b', 1500, { cmd_set: 20 }),
  ];
  assert.deepEqual(historySeries(recs, 1000).commands.set, [null, null, 10, 30]);
});

test('downsampled history: each rate divides by the real time between the kept samples', () => {
  // One sample per 29 min kept from 1-minute sampling, then the newest bucket's last one
  // a minute later, and a bucket with no sample (a node that was down).
  const MIN = 60_000;
  const recs = [
    record('a', 0, { cmd_get: 0, cmd_set: 0, get_hits: 0, get_misses: 0 }),
    record('a', 29 * MIN, { cmd_get: 17_400, cmd_set: 1_740, get_hits: 17_400, get_misses: 0 }), // 10 gets/s, 1 set/s
    record('a', 87 * MIN, { cmd_get: 17_400 + 34_800, cmd_set: 1_740, get_hits: 17_400, get_misses: 34_800 }), // 58 min: 10/s
    record('a', 88 * MIN, { cmd_get: 52_200 + 300, cmd_set: 1_740 + 120, get_hits: 17_400 + 300, get_misses: 34_800 }), // 1 min: 5/s
  ];
  const s = historySeries(recs, 29 * MIN);
  assert.deepEqual(s.t, [0, 29 * 60, 87 * 60, 88 * 60]);
  assert.deepEqual(s.commands.get, [null, 10, 10, 5]);
  assert.deepEqual(s.commands.set, [null, 1, 0, 2]);
  assert.deepEqual(s.hitRate, [null, 100, 0, 100]);
});

test('downsampled history: servers kept a step apart, at different moments, all still count', () => {
  const STEP = 1_740_000;
  const recs = [
    record('a', 0, { cmd_get: 0, bytes: 10 }),
    record('b', 600_000, { cmd_get: 0, bytes: 20 }),
    record('a', STEP, { cmd_get: 17_400, bytes: 11 }),
    record('b', STEP + 600_000, { cmd_get: 34_800, bytes: 21 }),
  ];
  const s = historySeries(recs, STEP);
  assert.deepEqual(s.bytes, [10, 30, 31, 32]);
  assert.deepEqual(s.commands.get, [null, null, 10, 30]);
  // Taken for 1-minute samples, b would have left the cluster between its records.
  assert.notDeepEqual(historySeries(recs, 60_000).bytes, s.bytes);
});

test('long ranges are fetched with a step: a multiple of the interval, at most ~1500 points per server', () => {
  const DAY = 86_400_000;
  assert.equal(historyStepMs(3_600_000, 60_000), undefined);
  assert.equal(historyStepMs(DAY, 60_000), undefined, '1440 samples: all of them');
  assert.equal(historyStepMs(7 * DAY, 60_000), 420_000);
  assert.equal(historyStepMs(30 * DAY, 60_000), 1_740_000);
  assert.equal(historyStepMs(DAY, 1000), 58_000);
  assert.equal(historyStepMs(3_600_000), 3000, 'unknown interval: as if every second');
  assert.equal(historyStepMs(30 * DAY, 59_987), 1_740_000, 'a measured interval is rounded to whole seconds');
  for (const [range, interval] of [[7 * DAY, 60_000], [30 * DAY, 60_000], [30 * DAY, 1000], [DAY, 1000], [2 * DAY, 10_000]] as const) {
    const step = historyStepMs(range, interval)!;
    assert.ok(step >= 1000 && step % interval === 0, `${range} at ${interval}: ${step}`);
    assert.ok(range / step <= 1500 && range / step > 1000, `${range} at ${interval}: ${range / step} points`);
    assert.ok(range / interval > MAX_CHART_POINTS);
  }
});

test('merging a refresh keeps one record per server and timestamp, or per server and step (the newest)', () => {
  const old = [record('a', 1000, { cmd_get: 1 }), record('b', 1000, { cmd_get: 2 }), record('a', 5000, { cmd_get: 3 })];
  const fresh = [record('a', 5000, { cmd_get: 3 }), record('a', 6000, { cmd_get: 4 }), record('b', 7000, { cmd_get: 5 })];
  const key = (l: readonly HistoryRecord[]) => l.map((r) => `${r.timestamp} ${r.server}`);
  assert.deepEqual(key(mergeHistory(old, fresh, 0)), ['1000 a', '1000 b', '5000 a', '6000 a', '7000 b']);
  assert.deepEqual(key(mergeHistory(old, fresh, 2000)), ['5000 a', '6000 a', '7000 b']);
  // Buckets of 4 s: a's 5000 and 6000 share bucket 1; b's 1000 (bucket 0) and 7000 (bucket 1) do not.
  assert.deepEqual(key(mergeHistory(old, fresh, 0, 4000)), ['1000 a', '1000 b', '6000 a', '7000 b']);
});

test('new evictions since the newest sample, per server', () => {
  const recs = [record('a', 0, { evictions: 2 }), record('a', 1000, { evictions: 5 }), record('b', 1000, { evictions: 9 })];
  const latest = latestSamples(recs);
  assert.equal(latest.get('a')!.timestamp, '1000');
  assert.equal(growthSinceSample({ a: stats({ evictions: 8 }), b: stats({ evictions: 1 }) }, latest, 'evictions'), 3 + 1);
  assert.equal(growthSinceSample({ c: stats({ evictions: 8 }) }, latest, 'evictions'), undefined);
});

test('memory share: rounded down, one decimal near the ends', () => {
  assert.equal(formatShare(0), '0\u00a0%');
  assert.equal(formatShare(0.0004), '0.0\u00a0%');
  assert.equal(formatShare(0.05), '5.0\u00a0%');
  assert.equal(formatShare(0.5), '50\u00a0%');
  assert.equal(formatShare(0.9966), '99.6\u00a0%');
  assert.equal(formatShare(1), '100\u00a0%');
});
