// The 36 processed stats against values worked out by hand, the null cases, the whole
// cache's "sum first, then divide", and counter resets never giving a negative rate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ROLLUP_COUNTERS, ROLLUP_GAUGES, rollupsOf, type RollupCounter, type RollupGauge } from '../catalog/rollups.ts';
import { COUNTER_NAMES, GAUGE_NAMES } from '../shared/stat-names.ts';
import { combineServers, PROCESSED_STAT_NAMES, processedStat, type BucketStats, type ProcessedStatName } from './insight-formulas.ts';

const counters = (c: Partial<Record<RollupCounter, number>>): Record<RollupCounter, number> =>
  Object.fromEntries(ROLLUP_COUNTERS.map((k) => [k, c[k] ?? 0])) as Record<RollupCounter, number>;
const gauges = (g: Partial<Record<RollupGauge, number | null>>): Record<RollupGauge, number | null> =>
  Object.fromEntries(ROLLUP_GAUGES.map((k) => [k, g[k] ?? null])) as Record<RollupGauge, number | null>;

/** One minute of a busy server. */
const MINUTE: BucketStats = {
  seconds: 60,
  counters: counters({
    cmd_get: 600, get_hits: 450, get_misses: 150, cmd_set: 120, cmd_flush: 6, cmd_touch: 30, touch_hits: 24, touch_misses: 6,
    cmd_delete: 30, delete_hits: 20, delete_misses: 10, incr_hits: 9, incr_misses: 3, decr_hits: 4, decr_misses: 2,
    cas_hits: 5, cas_misses: 3, cas_badval: 2, auth_cmds: 12, auth_errors: 3, evictions: 18, expired: 15,
    bytes_read: 60_000, bytes_written: 120_000, total_connections: 90, total_items: 100,
  }),
  gauges: gauges({ bytes: 1_000_000, curr_items: 500, curr_connections: 7, limit_maxbytes: 64 << 20, time: 1_700_000_000 }),
};

// Requests: get 600 + set 120 + delete 30 + incr 12 + decr 6 + cas 10 + touch 30 + flush 6 = 814.
const BY_HAND: Record<ProcessedStatName, number> = {
  get_rate: 10, set_rate: 2, flush_rate: 0.1, touch_rate: 0.5, delete_rate: 0.5, incr_rate: 0.2, decr_rate: 0.1, cas_rate: 10 / 60,
  request_rate: 814 / 60,
  get_fraction: 600 / 814, set_fraction: 120 / 814, delete_fraction: 30 / 814, incr_fraction: 12 / 814,
  decr_fraction: 6 / 814, cas_fraction: 10 / 814, touch_fraction: 30 / 814, flush_fraction: 6 / 814,
  get_hit_rate: 0.75, delete_hit_rate: 20 / 30, incr_hit_rate: 0.75, decr_hit_rate: 4 / 6, touch_hit_rate: 0.8, cas_hit_rate: 0.5,
  // hits 450 + 20 + 9 + 4 + 5 + 24 = 512; misses 150 + 10 + 3 + 2 + 3 + 6 = 174.
  hit_rate: 512 / 686,
  cas_badval_rate: 2 / 60, auth_cmds_rate: 0.2, auth_errors_rate: 0.05, eviction_rate: 0.3, bytes_read_rate: 1000,
  bytes_write_rate: 2000, connection_rate: 1.5, get_expired_rate: 0.25,
  bytes: 1_000_000, items: 500, connections: 7, max_bytes: 64 << 20,
};

test('the 36 names are the spec\'s, each with a formula', () => {
  assert.equal(PROCESSED_STAT_NAMES.length, 36);
  assert.deepEqual(Object.keys(BY_HAND).sort(), [...PROCESSED_STAT_NAMES].sort());
  assert.ok(PROCESSED_STAT_NAMES.includes('bytes_write_rate'));
});

test('rollup columns are the stats\' counters and gauges', () => {
  assert.deepEqual([...ROLLUP_COUNTERS].sort(), [...COUNTER_NAMES].sort());
  assert.deepEqual([...ROLLUP_GAUGES].sort(), [...GAUGE_NAMES].sort());
});

for (const name of PROCESSED_STAT_NAMES) {
  test(`${name}: the value worked out by hand`, () => {
    const got = processedStat(name, MINUTE);
    assert.ok(got !== null && Math.abs(got - BY_HAND[name]) <= 1e-12 * Math.max(1, Math.abs(BY_HAND[name])), `${name}: ${got} vs ${BY_HAND[name]}`);
  });
}

test('ratios are null when their denominator is 0; rates are 0 over covered time without traffic, null over none', () => {
  const idle: BucketStats = { seconds: 60, counters: counters({}), gauges: gauges({ bytes: 0, curr_items: 0, curr_connections: 0, limit_maxbytes: 1 }) };
  for (const name of PROCESSED_STAT_NAMES) {
    const v = processedStat(name, idle);
    if (/hit_rate$|_fraction$/.test(name)) assert.equal(v, null, name);
    else assert.equal(v, name === 'max_bytes' ? 1 : 0, name);
  }
  const first: BucketStats = { ...idle, seconds: 0 };
  for (const name of PROCESSED_STAT_NAMES) {
    if (/_rate$/.test(name)) assert.equal(processedStat(name, first), null, name);
  }
  // Only misses: a hit rate of 0, not null.
  const misses: BucketStats = { ...idle, counters: counters({ cmd_get: 5, get_misses: 5 }) };
  assert.equal(processedStat('get_hit_rate', misses), 0);
  assert.equal(processedStat('hit_rate', misses), 0);
  assert.equal(processedStat('get_fraction', misses), 1);
  // A gauge the sample did not carry is null.
  assert.equal(processedStat('connections', { ...idle, gauges: gauges({}) }), null);
});

test('whole cache: counters summed first, then divided; gauges summed', () => {
  const a: BucketStats = { seconds: 60, counters: counters({ cmd_get: 100, get_hits: 99, get_misses: 1 }), gauges: gauges({ bytes: 10, limit_maxbytes: 100 }) };
  const b: BucketStats = { seconds: 58, counters: counters({ cmd_get: 20, get_hits: 2, get_misses: 18 }), gauges: gauges({ bytes: 5, limit_maxbytes: 100 }) };
  const whole = combineServers([a, b]);
  assert.equal(processedStat('get_hit_rate', whole), 101 / 120); // not the mean of 0.99 and 0.1
  assert.equal(processedStat('get_rate', whole), 120 / 60);
  assert.equal(processedStat('bytes', whole), 15);
  assert.equal(processedStat('max_bytes', whole), 200);
  assert.equal(processedStat('connections', whole), null);
});

test('a counter reset (reset_stats, node restart) counts from zero: no negative rate, through the rollups', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const s = (i: number, cmd_get: number, get_hits: number) => ({ cacheId: 1, server: 'a:1', timestamp: t0 + i * 10_000, stats: { cmd_get, get_hits, get_misses: cmd_get - get_hits } });
  // 1000 gets, then reset_stats (0), then 30 more; then a restart while the counter sat at 30 → 12.
  const rows = rollupsOf([s(0, 900, 800), s(1, 1000, 850), s(2, 0, 0), s(3, 30, 20), s(4, 12, 12)]).filter((r) => r.level === 60_000);
  assert.equal(rows.length, 1);
  const [minute] = rows;
  assert.equal(minute!.counters.cmd_get, 100 + 0 + 30 + 12);
  assert.equal(processedStat('get_rate', minute!), 142 / 40);
  assert.equal(processedStat('get_hit_rate', minute!), (50 + 0 + 20 + 12) / 142);
});

test('property: any counter sequence with resets gives rates ≥ 0 and ratios within 0..1', () => {
  const counter = fc.array(fc.oneof(fc.nat(10_000), fc.constant(0)), { minLength: 2, maxLength: 40 });
  fc.assert(fc.property(counter, counter, counter, (gets, hits, sets) => {
    const n = Math.min(gets.length, hits.length, sets.length);
    const samples = Array.from({ length: n }, (_, i) => ({
      cacheId: 1, server: 'a:1', timestamp: 1_000_000 + i * 7_000,
      stats: { cmd_get: gets[i]!, get_hits: Math.min(hits[i]!, gets[i]!), get_misses: gets[i]! - Math.min(hits[i]!, gets[i]!), cmd_set: sets[i]! },
    }));
    for (const row of rollupsOf(samples)) {
      for (const name of PROCESSED_STAT_NAMES) {
        const v = processedStat(name, row);
        if (v === null) continue;
        assert.ok(v >= 0, `${name} = ${v}`);
        if (/hit_rate$|_fraction$/.test(name)) assert.ok(v <= 1, `${name} = ${v}`);
      }
    }
  }), { seed: 1306, numRuns: 300 });
});
