import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IntrospectionRegistry } from './registry.ts';
import { CacheIntrospection } from './cache-introspection.ts';
import { CMD, ST } from './request-ring.ts';

const budget = { charge: () => true, refund: () => {}, reuse: () => null };
const key = (s: string) => Buffer.from(s, 'latin1');

test('the sketches count the request ring\'s lines, and every reader sees the lines not yet counted', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: 64 << 20 });
  t.after(() => r.close());
  const c = r.create()!;
  const now = Date.now();
  c.log(now, CMD.GET, ST.HIT, key('user:1'), 10);
  c.log(now, CMD.GET, ST.HIT, key('user:1'), 10);
  c.log(now, CMD.GET, ST.MISS, key('ghost'), 0);
  // Three lines, far fewer than a batch: a reader counts them first.
  assert.deepEqual(c.keyCounts(key('user:1'), now), { hits: 2, misses: 0, mutations: 0 });
  c.log(now, CMD.SET, ST.STORED, key('user:2'), 5);
  for (let i = 0; i < 40; i++) c.log(now, CMD.GET, ST.HIT, Buffer.alloc(250, 0x61 + (i % 3)), 1);
  const p = c.popular(10, now);
  assert.deepEqual(p.mutated, [{ key: 'user:2', count: 1 }]);
  assert.deepEqual(p.miss, [{ key: 'ghost', count: 1 }]);
  assert.deepEqual(p.hit.map((e) => [e.key.length, e.count]), [[250, 14], [250, 13], [250, 13], [6, 2]]);
  assert.deepEqual(p.prefixes, [{ key: 'user', count: 3 }]);
});

test('which lines are hits, misses and mutations: what the store did, not what was asked', () => {
  const c = new CacheIntrospection(budget);
  const now = Date.now();
  const lines: [number, number, string][] = [
    [CMD.GAT, ST.HIT, 'gat-hit'], // a hit that also set an exptime: both
    [CMD.GAT, ST.MISS, 'gat-miss'],
    [CMD.ADD, ST.STORED, 'added'],
    [CMD.ADD, ST.NOT_STORED, 'not-added'],
    [CMD.CAS, ST.EXISTS, 'cas-lost'],
    [CMD.APPEND, ST.STORED, 'appended'],
    [CMD.INCR, ST.OK, 'incremented'],
    [CMD.DECR, ST.NOT_FOUND, 'no-counter'],
    [CMD.DELETE, ST.DELETED, 'deleted'],
    [CMD.DELETE, ST.NOT_FOUND, 'not-deleted'],
    [CMD.TOUCH, ST.TOUCHED, 'touched'],
    [CMD.TOUCH, ST.NOT_FOUND, 'not-touched'],
    [CMD.GET, ST.ERROR, 'refused'],
    [CMD.SET, ST.DENIED, 'read-only'],
  ];
  for (const [command, status, k] of lines) c.log(now, command, status, key(k), 0);
  c.log(now, CMD.STATS, ST.OK, null, 0);
  c.log(now, CMD.FLUSH, ST.OK, null, 0);
  const p = c.popular(100, now);
  const names = (l: { key: string }[]) => l.map((e) => e.key).sort();
  assert.deepEqual(names(p.hit), ['gat-hit']);
  assert.deepEqual(names(p.miss), ['gat-miss']);
  assert.deepEqual(names(p.mutated), ['added', 'appended', 'deleted', 'gat-hit', 'incremented', 'touched']);
});

test('a get of more keys than the ring holds counts every key, the first ones too, and the lines before it', () => {
  const c = new CacheIntrospection(budget);
  c.setSamplingBudget(1e12); // every line taken: counts exact
  const now = Date.now();
  for (let i = 0; i < 900; i++) c.log(now, CMD.GET, ST.HIT, key(`before:${i % 3}`), 1);
  for (let r = 0; r < 10; r++) {
    const keys = [key('hot:first'), ...Array.from({ length: 1499 }, (_, i) => key(`cold:${i % 50}`))];
    c.logValues(now, CMD.GET, keys, 0, keys.map(() => null));
  }
  const p = c.popular(100, now);
  assert.deepEqual(p.hit.map((e) => e.count), [300, 300, 300], 'the 900 lines before the long gets');
  assert.deepEqual(c.keyCounts(key('hot:first'), now), { hits: 0, misses: 10, mutations: 0 }, 'the first key of each get');
  assert.equal(p.miss.length, 51);
  assert.equal(p.miss.reduce((n, e) => n + e.count, 0), 15_000);
  assert.deepEqual(c.recent(1000).map((l) => l.key.toString()), Array.from({ length: 1000 }, (_, i) => `cold:${(499 + i) % 50}`), 'the ring keeps the last 1,000 lines');
});

test('a key longer than the store allows is counted as its first 255 bytes; the keys after it as themselves', () => {
  const c = new CacheIntrospection(budget);
  const now = Date.now();
  c.log(now, CMD.GET, ST.HIT, Buffer.alloc(300, 0x61), 1);
  c.log(now, CMD.GET, ST.HIT, key('user:42'), 1);
  c.log(now, CMD.GET, ST.HIT, key('user:42'), 1);
  const hits = c.popular(10, now).hit;
  assert.deepEqual(
    hits.map((e) => [e.key.length > 20 ? `${e.key.length} bytes` : e.key, e.count]).sort(),
    [['255 bytes', 1], ['user:42', 2]].sort(),
  );
});

test('keys that wrap around the end of the key ring are counted whole', () => {
  const c = new CacheIntrospection(budget);
  c.setSamplingBudget(1e12); // every line taken: counts exact
  const now = Date.now();
  // 7-byte keys through a 16 KiB key ring: thousands of wraps, each key read back intact.
  for (let i = 0; i < 20_000; i++) c.log(now, CMD.SET, ST.STORED, key(`k:${String(i % 50).padStart(5, '0')}`), 1);
  const p = c.popular(100, now);
  assert.equal(p.mutated.length, 50);
  for (const e of p.mutated) {
    assert.match(e.key, /^k:000[0-4][0-9]$/);
    assert.equal(e.count, 400);
  }
});

test('lines count at their own time, within a second: a window that has passed no longer shows them', () => {
  const c = new CacheIntrospection(budget);
  const t0 = 1_000_000_000_000;
  c.log(t0, CMD.GET, ST.HIT, key('old'), 1);
  c.log(t0 + 600, CMD.GET, ST.HIT, key('old'), 1);
  assert.deepEqual(c.popular(10, t0 + 1000).hit, [{ key: 'old', count: 2 }]);
  c.log(t0 + 200_000, CMD.GET, ST.HIT, key('new'), 1);
  assert.deepEqual(c.popular(10, t0 + 200_000).hit, [{ key: 'new', count: 1 }], 'the 3-minute window moved past `old`');
});

test('a key and its automatic prefix are found by the hashes the sketches were counted with', () => {
  const c = new CacheIntrospection(budget);
  const now = Date.now();
  for (const k of ['a:b:c', 'a:b:c', 'x-y', ':lead', 'tail:', 'plain', 'a.b/c|d#e_f']) c.log(now, CMD.GET, ST.HIT, key(k), 1);
  assert.deepEqual(c.keyCounts(key('a:b:c'), now).hits, 2);
  assert.deepEqual(c.keyCounts(key('plain'), now).hits, 1);
  const prefixes = c.popular(10, now, undefined).prefixes.map((e) => [e.key, e.count]).sort();
  // A separator in the first byte starts no prefix; one in the last ends the whole key.
  assert.deepEqual(prefixes, [['a.b/c|d#e', 1], ['a:b', 2], ['tail', 1], ['x', 1]]);
  assert.deepEqual(c.popular(10, now, key('a:')).prefixes, [{ key: 'a:b', count: 2 }]);
});
