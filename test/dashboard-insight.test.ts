// The Insight screen's arithmetic (dashboard/src/insight-stats.ts, format.ts), without a
// browser: the 36 stats against the API's list, buckets by span as the API picks them,
// the charts a selection makes (whole cache and per server), InfluxDB series read by
// column name and put on one time axis with nulls and missing buckets as gaps, ranges
// refused before asking, and the units.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROCESSED_STAT_NAMES } from '../src/api/insight-formulas.ts';
import { latencyBucket, processedBucket } from '../src/control/insight/queries.ts';
import {
  DEFAULT_STATS, GROUPS, PANELS, STATS, alignLines, chartPlans, column, latencyBucketMs, normalizeStats, planLines,
  processedBucketMs, rangeProblem, refreshMs, rfc3339, seriesServers, type InfluxSeries,
} from '../dashboard/src/insight-stats.ts';
import { formatNanos, formatPerSecond, unitFormats } from '../dashboard/src/format.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

test('every processed stat of the API is in the picker once, in a group and on a chart of its unit', () => {
  assert.deepEqual(STATS.map((s) => s.name).sort(), [...PROCESSED_STAT_NAMES].sort());
  assert.equal(new Set(STATS.map((s) => s.name)).size, 36);
  for (const s of STATS) {
    assert.ok(GROUPS.some((g) => g.id === s.group), s.name);
    const panel = PANELS.find((p) => p.id === s.panel)!;
    assert.equal(panel.unit, s.unit, `${s.name} is drawn on a chart of its unit`);
  }
  assert.ok(DEFAULT_STATS.every((n) => STATS.some((s) => s.name === n)));
  assert.deepEqual(normalizeStats(['bytes', 'nope', 'hit_rate', 'bytes']), ['hit_rate', 'bytes'], 'known names, once, in order');
});

test('buckets by span are the API’s', () => {
  for (const span of [MIN, HOUR, DAY, DAY + 1, 7 * DAY, 7 * DAY + 1, 30 * DAY, 90 * DAY, 92 * DAY, 92 * DAY + 1, 400 * DAY]) {
    assert.equal(processedBucketMs(span), processedBucket(span), `processed, span ${span}`);
    assert.equal(latencyBucketMs(span), latencyBucket(span), `latency, span ${span}`);
  }
  assert.equal(refreshMs(MIN), 10_000);
  assert.equal(refreshMs(DAY), 5 * MIN);
});

test('ranges: RFC 3339 to the second; reversed, empty or over 2 years refused', () => {
  assert.equal(rfc3339(Date.UTC(2026, 11, 6, 7, 20, 0, 999)), '2026-12-06T07:20:00Z');
  assert.equal(rangeProblem(2, 1), 'The start must be before the end.');
  assert.equal(rangeProblem(1, 1), 'The start must be before the end.');
  assert.match(rangeProblem(0, 732 * DAY)!, /2 years/);
  assert.equal(rangeProblem(0, 731 * DAY), undefined);
  assert.match(rangeProblem(NaN, 1)!, /start and an end/);
});

test('whole cache: a chart per kind, a line per stat; per server: a chart per stat, a line per server', () => {
  const whole = chartPlans(['max_bytes', 'get_rate', 'hit_rate', 'bytes', 'items'], 'cache', []);
  assert.deepEqual(whole.map((p) => [p.id, p.series.map((s) => s.stat)]), [
    ['panel-hit-rates', ['hit_rate']],
    ['panel-requests', ['get_rate']],
    ['panel-memory', ['bytes', 'max_bytes']],
    ['panel-items', ['items']],
  ]);
  assert.equal(whole[2]!.series[1]!.reference, true, 'the limit is a reference line');
  const perServer = chartPlans(['items', 'hit_rate'], 'server', ['a:1', 'b:2']);
  assert.deepEqual(perServer.map((p) => [p.id, p.unit, p.series.map((s) => s.server)]), [
    ['stat-hit_rate', 'ratio', ['a:1', 'b:2']],
    ['stat-items', 'count', ['a:1', 'b:2']],
  ]);
  assert.deepEqual(chartPlans([], 'cache', []), []);
});

const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 0, m)).toISOString().replace('.000Z', 'Z');

test('series are read by column name; nulls stay null', () => {
  const s: InfluxSeries = { name: 'processed_stats', columns: ['time', 'get_rate', 'hit_rate'], values: [[at(0), 1.5, null], [at(1), 2, 0.5]] };
  assert.deepEqual(column(s, 'hit_rate'), { t: [Date.parse(at(0)), Date.parse(at(1))], v: [null, 0.5] });
  assert.deepEqual(column(s, 'bytes'), { t: [], v: [] }, 'a column it lacks');
  assert.deepEqual(column(undefined, 'bytes'), { t: [], v: [] });
});

test('lines share one time axis: a server without a row is null there; a hole of more than two buckets breaks the lines', () => {
  const a = { t: [0, 1, 2, 10].map((m) => m * MIN), v: [1, 2, 3, 4] };
  const b = { t: [0, 2].map((m) => m * MIN), v: [5, null] };
  const { t, ys } = alignLines([a, b], MIN);
  // 0, 1, 2, then a gap row at 3 (7 buckets missing), then 10.
  assert.deepEqual(t, [0, 60, 120, 180, 600]);
  assert.deepEqual(ys, [[1, 2, 3, null, 4], [5, null, null, null, null]]);
  // One missing bucket (a sample that landed in the next) does not break the line.
  assert.deepEqual(alignLines([{ t: [0, 2 * MIN], v: [1, 1] }], MIN).t, [0, 120]);
  assert.deepEqual(alignLines([], MIN), { t: [], ys: [] });
});

test('a plan takes its lines from the whole-cache series or each server’s', () => {
  const answer: InfluxSeries[] = [
    { name: 'processed_stats', tags: { server: 'b:2' }, columns: ['time', 'items'], values: [[at(0), 7]] },
    { name: 'processed_stats', tags: { server: 'a:1' }, columns: ['time', 'items'], values: [[at(0), 3]] },
  ];
  assert.deepEqual(seriesServers(answer), ['b:2', 'a:1'], 'the API’s order');
  const [plan] = chartPlans(['items'], 'server', seriesServers(answer));
  assert.deepEqual(planLines(plan!, answer).map((l) => l.v), [[7], [3]]);
  const whole: InfluxSeries[] = [{ name: 'processed_stats', columns: ['time', 'items', 'bytes'], values: [[at(0), 10, 99]] }];
  const [items] = chartPlans(['items'], 'cache', []);
  assert.deepEqual(planLines(items!, whole).map((l) => l.v), [[10]]);
});

test('units on axes and in tooltips', () => {
  const nb = (s: string) => s.replace(/\u00a0/g, ' ');
  assert.equal(nb(unitFormats('ratio').tick(0.8)), '80 %');
  assert.equal(nb(unitFormats('ratio').value(0.8345)), '83.5 %');
  assert.equal(nb(unitFormats('ratio').value(1)), '100 %');
  assert.equal(formatPerSecond(0), '0/s');
  assert.equal(formatPerSecond(0.05), '0.05/s');
  assert.equal(formatPerSecond(1234), '1.23K/s');
  assert.equal(nb(unitFormats('bytesPerSecond').value(2048)), '2.00 KiB/s');
  assert.equal(nb(unitFormats('bytes').tick(4 * 1024 * 1024)), '4.00 MiB');
  assert.equal(nb(formatNanos(850)), '850 ns');
  assert.equal(nb(formatNanos(84_200)), '84.2 µs');
  assert.equal(nb(formatNanos(2_416_805.75)), '2.42 ms');
  assert.equal(nb(formatNanos(1.2e9)), '1.20 s');
});
