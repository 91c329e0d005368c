// The dashboard's arithmetic (dashboard/src/metrics.ts), without a browser: totals over
// servers, the hit-rate bands, the sampling interval, and history turned into per-second
// rates, across several servers and a counter that restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STAT_NAMES } from '../src/store/stats.ts';
import type { HistoryRecord, ServerStats } from '../src/api/v1.ts';
import {
  growthSinceSample, hitBand, historySeries, latestSamples, ratio, samplingIntervalMs, totalStats,
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
