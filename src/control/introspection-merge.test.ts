// Introspection over several nodes, without sockets (introspection-merge.ts): key names,
// the nodes' answers checked, popular lists summed over nodes, key_stats rows, recent
// logs, the five series (compound from rollups, prefix from cumulative samples), and the
// keys walk's cursor and page plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROLLUP_COUNTERS, ROLLUP_GAUGES, type RollupCounter, type RollupGauge, type RollupRow } from '../catalog/rollups.ts';
import {
  BadCursorError, compoundRows, decodeKeysCursor, encodeKeysCursor, keyName, keyStatsRows, mergeKeysPage, mergePopular,
  NodeAnswerError, parseKeysPage, parseKeyStats, parsePopular, parsePrefixes, parseRecent, planKeysPage, prefixRows, recentLogs,
  type NodeCount, type NodePopular,
} from './introspection-merge.ts';

const b = (s: string) => Buffer.from(s);
const b64 = (s: string) => Buffer.from(s).toString('base64');

test('key names: valid UTF-8 as is; otherwise printable ASCII, \\\\ and \\xNN', () => {
  assert.equal(keyName(b('user:42')), 'user:42');
  assert.equal(keyName(b('café:ü')), 'café:ü');
  assert.equal(keyName(b('a\\b')), 'a\\b', 'valid UTF-8: the backslash as is');
  assert.equal(keyName(Buffer.from([0x61, 0xff, 0x5c, 0x00, 0x7f, 0x20])), 'a\\xff\\\\\\x00\\x7f ');
  assert.equal(keyName(Buffer.alloc(0)), '');
});

test('node answers of another shape are refused (the node then counts as failed)', () => {
  const popular = { windowMs: 180000, hit: [{ key: b64('a'), count: 3 }], miss: [], mutated: [], prefixes: [] };
  assert.equal(parsePopular(popular).hit[0]!.key.toString(), 'a');
  for (const bad of [null, [], { ...popular, hit: 'x' }, { ...popular, hit: [{ key: 'not base64!', count: 1 }] },
    { ...popular, miss: [{ key: b64('a'), count: -1 }] }, { ...popular, windowMs: undefined }]) {
    assert.throws(() => parsePopular(bad), NodeAnswerError, JSON.stringify(bad));
  }
  assert.deepEqual(parseKeyStats({ key: b64('k'), inCache: true, size: 5, hits: 1, misses: 0, mutations: 2 }),
    { inCache: true, size: 5, hits: 1, misses: 0, mutations: 2 });
  assert.throws(() => parseKeyStats({ inCache: 'yes', size: 5, hits: 1, misses: 0, mutations: 2 }), NodeAnswerError);
  assert.equal(parseRecent({ lines: [{ time: 1, command: 'GET', status: 'HIT', key: '', size: 0 }] })[0]!.key.length, 0);
  assert.throws(() => parseRecent({ lines: [{ time: 1, command: 7, status: 'HIT', key: '', size: 0 }] }), NodeAnswerError);
  assert.equal(parsePrefixes({ prefixes: [{ id: 1, keys: 2, bytes: 3, hits: 4, misses: 5, mutations: 6, scanning: false }] })[0]!.mutations, 6);
  assert.throws(() => parsePrefixes({ prefixes: [{ id: 1, keys: 2, bytes: 3, hits: 4, misses: 5, mutations: 6 }] }), NodeAnswerError);
  assert.deepEqual(parseKeysPage({ keys: [], cursor: null }), { keys: [], cursor: null });
  assert.equal(parseKeysPage({ keys: [{ key: b64('k'), size: 1, ttl: -1 }], cursor: 'abc' }).cursor, 'abc');
  for (const bad of [{ keys: [], cursor: '' }, { keys: [], cursor: 5 }, { keys: [{ key: b64('k'), size: 1, ttl: -2 }], cursor: null }, { keys: [] }]) {
    assert.throws(() => parseKeysPage(bad), NodeAnswerError, JSON.stringify(bad));
  }
});

const counts = (pairs: [string, number][]): NodeCount[] => pairs.map(([k, count]) => ({ key: b(k), count }));
const node = (hit: [string, number][], prefixes: [string, number][] = []): NodePopular =>
  ({ windowMs: 180_000, hit: counts(hit), miss: [], mutated: [], prefixes: counts(prefixes) });

test('popular_items: counts summed over nodes, top 20 by count, equal counts in byte order, time_slice in ns', () => {
  const a = node([['x', 10], ['y', 4], ['z', 4]], [['p', 14]]);
  const c = node([['y', 9], ['w', 1]], [['p', 9], ['q', 1]]);
  const merged = mergePopular([a, c]);
  assert.equal(merged.time_slice, 180_000_000_000);
  assert.deepEqual(merged.most_hit_keys.map((e) => [e.name, e.popularity]), [['y', 13], ['x', 10], ['z', 4], ['w', 1]]);
  assert.equal(merged.most_hit_keys[0]!.key_base64, b64('y'));
  assert.deepEqual(merged.popular_prefixes.map((e) => [e.name, e.popularity]), [['p', 23], ['q', 1]]);
  assert.deepEqual(merged.most_missed_keys, []);
  // Top 20: a key 21st on each node can still lead the sum.
  const many = (name: string) => node([...Array.from({ length: 30 }, (_, i): [string, number] => [`${name}${i}`, 100 - i]), ['late', 75]]);
  const top = mergePopular([many('a'), many('b')]).most_hit_keys;
  assert.equal(top.length, 20);
  assert.equal(top[0]!.name, 'late', '26th on each node, first in the sum');
  assert.equal(top[0]!.popularity, 150);
  assert.deepEqual(mergePopular([]).time_slice, 180_000_000_000, 'no node: the default window');
  assert.equal(mergePopular([{ ...node([['s', 2.4]]) }, node([['s', 2.4]])]).most_hit_keys[0]!.popularity, 5, 'estimates rounded after summing');
});

test('key_stats: one row per node that has the key or counted it; timestamp now', () => {
  const perNode = new Map([
    ['h:1', { inCache: true, size: 5, hits: 2, misses: 0, mutations: 1 }],
    ['h:2', { inCache: false, size: 0, hits: 0, misses: 0, mutations: 0 }],
    ['h:3', { inCache: false, size: 0, hits: 0, misses: 3, mutations: 0 }],
  ]);
  const rows = keyStatsRows(b('k'), perNode, Date.UTC(2026, 11, 6, 16, 0, 0));
  assert.deepEqual(rows.map((r) => r.server), ['h:1', 'h:3']);
  assert.deepEqual(rows[0], {
    timestamp: '2026-12-06T16:00:00Z', name: 'k', key_base64: b64('k'), size: 5, hit_count: 2, miss_count: 0, mutation_count: 1, in_cache: true, server: 'h:1',
  });
});

test('recent_logs: each node under its address, times RFC 3339 with milliseconds', () => {
  const out = recentLogs(new Map([
    ['h:1', [{ time: Date.UTC(2026, 11, 6, 16, 0, 0, 5), command: 'GET', status: 'MISS', key: b('a'), size: 0 }]],
    ['h:2', []],
  ]));
  assert.deepEqual(out, {
    'h:1': [{ timestamp: '2026-12-06T16:00:00.005Z', key: 'a', key_base64: b64('a'), command: 'GET', status: 'MISS', size: 0 }],
    'h:2': [],
  });
});

function rollup(server: string, bucket: number, seconds: number, c: Partial<Record<RollupCounter, number>>, g: Partial<Record<RollupGauge, number>>): RollupRow {
  return {
    cacheId: 1, server, level: 60_000, bucket, seconds, samples: 1, gaugeTs: bucket,
    counters: Object.fromEntries(ROLLUP_COUNTERS.map((n) => [n, c[n] ?? 0])) as Record<RollupCounter, number>,
    gauges: Object.fromEntries(ROLLUP_GAUGES.map((n) => [n, g[n] ?? null])) as Record<RollupGauge, number | null>,
  };
}

test('compound_stats: keys and size summed over servers, rates of hits, misses and every mutation per second', () => {
  const t0 = Date.UTC(2026, 11, 6, 16, 0);
  const rows = compoundRows([
    rollup('h:1', t0, 0, {}, { curr_items: 3, bytes: 30 }),
    rollup('h:1', t0 + 60_000, 60, { get_hits: 60, get_misses: 30, cmd_set: 10, incr_hits: 1, incr_misses: 1, decr_hits: 1, decr_misses: 1, cmd_delete: 2, cmd_touch: 2, cmd_get: 90 }, { curr_items: 5, bytes: 50 }),
    rollup('h:2', t0 + 60_000, 30, { get_hits: 60, cmd_set: 2 }, { curr_items: 1, bytes: 10 }),
  ]);
  assert.deepEqual(rows, [
    ['2026-12-06T16:00:00Z', 3, 30, null, null, null],
    ['2026-12-06T16:01:00Z', 6, 60, 2, 0.5, 20 / 60],
  ]);
});

test('prefix_stats: rates from deltas per server (a reset counts from zero), keys and size the last sample, summed', () => {
  const t0 = Date.UTC(2026, 11, 6, 16, 0);
  const s = (server: string, dt: number, keys: number, hits: number, misses = 0, mutations = 0) =>
    ({ server, timestamp: t0 + dt, keys, bytes: keys * 10, hits, misses, mutations });
  const samples = [
    s('h:1', -60_000, 1, 100), // before the range: only the first step's start
    s('h:1', 0, 2, 160, 6, 12),
    s('h:1', 60_000, 3, 40, 6, 12), // the node restarted: 40 hits since
    s('h:2', 0, 5, 10),
    s('h:2', 30_000, 6, 40),
    s('h:2', 60_000, 7, 70, 3),
  ];
  const rows = prefixRows(samples, 60_000, { from: t0, to: t0 + 90_000 });
  assert.deepEqual(rows, [
    // h:1: 60 hits, 6 misses, 12 mutations over 60 s; h:2: its first sample of the bucket starts nothing, 30 hits over 30 s.
    ['2026-12-06T16:00:00Z', 2 + 6, 20 + 60, 90 / 60, 6 / 60, 12 / 60],
    ['2026-12-06T16:01:00Z', 3 + 7, 30 + 70, 70 / 60, 3 / 60, 0],
  ]);
  assert.deepEqual(prefixRows([s('h:1', 0, 2, 5)], 60_000, { from: t0, to: t0 + 1 }), [['2026-12-06T16:00:00Z', 2, 20, null, null, null]],
    'a first sample: keys and size, no rate');
  assert.deepEqual(prefixRows(samples, 60_000, { from: t0 + 120_000, to: t0 + 180_000 }), [], 'nothing in the range');
});

test('keys cursor: base64url JSON bound to the cache and prefix, checked strictly', () => {
  const walk = new Map<string, string | null>([['h:1', 'c1'], ['h:2', null]]);
  const cursor = encodeKeysCursor(7, b('user:'), walk);
  assert.match(cursor, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual([...decodeKeysCursor(cursor, 7, b('user:'))], [...walk]);
  assert.throws(() => decodeKeysCursor(cursor, 8, b('user:')), BadCursorError, 'another cache');
  assert.throws(() => decodeKeysCursor(cursor, 7, b('user')), BadCursorError, 'another prefix');
  const forged = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const p = b64('user:');
  for (const bad of [
    'not base64!', '', cursor + '=', Buffer.from('nope').toString('base64url'), forged([]), forged({ v: 2, c: 7, p, n: {} }),
    forged({ v: 1, c: 7, p, n: {}, x: 1 }), forged({ v: 1, c: 7, p, n: [] }), forged({ v: 1, c: 7, p, n: { 'h:1': 5 } }),
    forged({ v: 1, c: 7, p, n: { 'h:1': '' } }), forged({ v: 1, c: 7, p, n: { 'h:1': 'x'.repeat(1025) } }),
    forged({ v: 1, c: 7, p, n: { 'a b': 'x' } }), forged({ v: 1, c: '7', p, n: {} }),
  ]) {
    assert.throws(() => decodeKeysCursor(bad, 7, b('user:')), BadCursorError, bad);
  }
});

test('keys page: the limit split over the nodes not done; each moves to its new cursor; null once all are done', () => {
  const nodes = ['h:1', 'h:2', 'h:3'];
  assert.deepEqual(planKeysPage(nodes, new Map(), 10).map((a) => [a.address, a.cursor, a.limit]),
    [['h:1', undefined, 4], ['h:2', undefined, 3], ['h:3', undefined, 3]]);
  const walk = new Map<string, string | null>([['h:1', null], ['h:2', 'c2'], ['gone:1', 'x']]);
  assert.deepEqual(planKeysPage(nodes, walk, 5).map((a) => [a.address, a.cursor, a.limit]), [['h:2', 'c2', 3], ['h:3', undefined, 2]]);
  assert.deepEqual(planKeysPage(nodes, new Map(), 2).map((a) => a.address), ['h:1', 'h:2'], 'fewer keys than nodes: the first ones');

  const key = (k: string) => ({ key: b(k), size: 1, ttl: -1 });
  const page = mergeKeysPage(nodes, walk, new Map([['h:2', { keys: [key('a')], cursor: 'c2b' }], ['h:3', { keys: [key('b')], cursor: null }]]));
  assert.deepEqual(page.keys.map((k) => [k.name, k.server]), [['a', 'h:2'], ['b', 'h:3']]);
  assert.deepEqual([...page.walk!], [['h:1', null], ['h:2', 'c2b'], ['h:3', null]], 'a node gone from the catalog is forgotten');
  const last = mergeKeysPage(nodes, page.walk!, new Map([['h:2', { keys: [], cursor: null }]]));
  assert.equal(last.walk, null);
  // A node not asked this page (limit below the node count) has not started: the walk goes on.
  const partial = mergeKeysPage(nodes, new Map(), new Map([['h:1', { keys: [], cursor: null }]]));
  assert.deepEqual([...partial.walk!], [['h:1', null]]);
  assert.deepEqual(planKeysPage(nodes, partial.walk!, 2).map((a) => a.address), ['h:2', 'h:3']);
});
