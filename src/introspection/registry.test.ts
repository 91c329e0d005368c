import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUSY_SAMPLED_EVENTS_PER_SECOND, SAMPLED_EVENTS_PER_SECOND } from './event-sampler.ts';
import { CMD, ST } from './request-ring.ts';
import { BUSY_EVENTS, CALM_EVENTS, IntrospectionRegistry } from './registry.ts';

test('calm or busy, the node shares one sampling budget among its active caches', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: 64 << 20 });
  t.after(() => r.close());
  const caches = Array.from({ length: 5 }, () => r.create()!);
  const now = Date.now();
  // Four caches had requests just now; the fifth none for a minute.
  caches.slice(0, 4).forEach((c) => c.log(now, CMD.GET, ST.HIT, Buffer.from('k'), 1));
  caches[4]!.log(now - 60_000, CMD.GET, ST.HIT, Buffer.from('k'), 1);
  const at = now;
  r.setLoad(0.5, 4 * BUSY_EVENTS, at);
  assert.equal(r.busy, false);
  for (const c of caches) assert.equal(c.samplingBudget, SAMPLED_EVENTS_PER_SECOND / 4, 'calm: four active caches share the calm budget');
  r.setLoad(1, BUSY_EVENTS - 1, at);
  assert.equal(r.busy, false, 'a busy loop with few events per CPU second: every event is still counted');
  r.setLoad(0.85, BUSY_EVENTS, at);
  assert.equal(r.busy, true);
  for (const c of caches) assert.equal(c.samplingBudget, BUSY_SAMPLED_EVENTS_PER_SECOND / 4, 'four active caches share it');
  // Held for 10 s whatever the load (no switching every second)…
  r.setLoad(0.1, 0, at + 9_000);
  assert.equal(r.busy, true);
  // …then hysteresis: 0.7 is not calm yet, 0.6 is; nor CALM_EVENTS per CPU second, fewer are.
  r.setLoad(0.7, CALM_EVENTS, at + 11_000);
  assert.equal(r.busy, true);
  r.setLoad(0.6, BUSY_EVENTS, at + 12_000);
  assert.equal(r.busy, false);
  r.setLoad(0.9, BUSY_EVENTS, at + 13_000);
  assert.equal(r.busy, true);
  r.setLoad(0.9, CALM_EVENTS - 1, at + 23_000);
  assert.equal(r.busy, false);
  // None active for 23 s now: the next request's cache has the whole calm budget to itself.
  assert.equal(caches[0]!.samplingBudget, SAMPLED_EVENTS_PER_SECOND);
});

test('a node set never to turn busy (an in-process test node) counts at the calm budget under any load', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: 64 << 20, neverBusy: true });
  t.after(() => r.close());
  const c = r.create()!;
  c.log(Date.now(), CMD.GET, ST.HIT, Buffer.from('k'), 1);
  r.setLoad(1, 100 * BUSY_EVENTS);
  assert.equal(r.busy, false);
  assert.equal(c.samplingBudget, SAMPLED_EVENTS_PER_SECOND);
});

test('however many caches are busy, each keeps a floor of the busy budget', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: 64 << 20 });
  t.after(() => r.close());
  const caches = Array.from({ length: 1000 }, () => r.create()!);
  for (const c of caches) c.log(Date.now(), CMD.SET, ST.STORED, Buffer.from('k'), 1);
  r.setLoad(1, 1_000_000);
  assert.equal(caches[0]!.samplingBudget, 100);
});

test('the node counts its caches\' key events to tell a busy node', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: 64 << 20 });
  t.after(() => r.close());
  const a = r.create()!;
  const b = r.create()!;
  const now = Date.now();
  for (let i = 0; i < 3000; i++) a.log(now, CMD.GET, ST.HIT, Buffer.from(`k${i % 7}`), 1);
  for (let i = 0; i < 500; i++) b.log(now, CMD.GET, ST.MISS, Buffer.from('m'), 0);
  // Lines are counted as the ring is followed (every 744 lines, and at settle); below the
  // budget each is taken, so the estimate is exact.
  a.settle();
  b.settle();
  assert.equal(a.takeEventCount() + b.takeEventCount(), 3500);
  assert.equal(a.takeEventCount(), 0, 'read once');
});

/** What a new cache's state is charged when it is made (the empty window state). */
function emptyStateBytes(): number {
  const probe = new IntrospectionRegistry({ enabled: true, memoryBytes: 1 << 30 });
  const c = probe.create()!;
  c.log(0, CMD.STATS, ST.OK, null, 0);
  const empty = c.charged;
  probe.close();
  return empty;
}

test('a state dropped in the middle of a long get keeps nothing charged, and the cache gets a state again later', (t) => {
  const empty = emptyStateBytes();
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: empty + 60_000 });
  t.after(() => r.close());
  const c = r.create()!;
  const t0 = Date.now();
  // 200 distinct 200-byte keys wait in the ring; a 900-key get counts them first, and their
  // strings are more than the cap leaves: the charge is refused and the state dropped.
  for (let i = 0; i < 200; i++) c.log(t0, CMD.GET, ST.HIT, Buffer.alloc(200, 0x41 + (i % 26)).fill(String(i), 0), 1);
  const keys = Array.from({ length: 900 }, (_, i) => Buffer.alloc(200, 0x61 + (i % 26)).fill(`g${i}`, 0));
  c.logValues(t0, CMD.GET, keys, 0, keys.map(() => null));
  assert.equal(c.hasWindowState, false, 'the state was dropped');
  assert.equal(r.memoryBytes, 0, 'no state, nothing charged');
  assert.equal(c.charged, 0);
  c.log(t0 + 10_000, CMD.GET, ST.MISS, Buffer.from('x'), 0);
  c.settle();
  assert.ok(c.hasWindowState, 'made again once the retry time passed');
  assert.equal(r.memoryBytes, c.charged);
});

test('a key ring the cap keeps small still counts every line: it is followed before its keys are overwritten', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: emptyStateBytes() + 10_000 });
  t.after(() => r.close());
  const c = r.create()!;
  const now = Date.now();
  const hot = Buffer.alloc(240, 0x68);
  for (let i = 0; i < 1000; i++) c.log(now, CMD.GET, ST.HIT, hot, 1);
  assert.ok(c.hasWindowState, 'the state was kept (its key ring could not grow)');
  assert.equal(c.keyCounts(hot, now).hits, 1000);
});

test('only key events count towards a busy node: not noop, stats or refused lines', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: 64 << 20 });
  t.after(() => r.close());
  const c = r.create()!;
  const now = Date.now();
  for (let i = 0; i < 100; i++) c.log(now, CMD.GET, ST.HIT, Buffer.from(`k${i}`), 1);
  for (let i = 0; i < 900; i++) c.log(now, i % 2 ? CMD.NOOP : CMD.STATS, ST.OK, null, 0);
  for (let i = 0; i < 50; i++) c.log(now, CMD.SET, ST.ERROR, Buffer.from(`bad${i}`), 0);
  c.settle();
  assert.equal(c.takeEventCount(), 100);
});

/** A text get's keys and span (GetCommand.span) for `names`, as the parser hands them over. */
function textGet(names: string[]): { keys: Buffer[]; span: Buffer | undefined } {
  const line = Buffer.from(`get ${names.join(' ')}\r\n`);
  const keys: Buffer[] = [];
  let at = 4;
  for (const n of names) {
    keys.push(line.subarray(at, at + n.length));
    at += n.length + 1;
  }
  return { keys, span: names.length > 1 ? line.subarray(4, at - 1) : undefined };
}

test('a key ring the cap keeps at 16 KiB: multi-gets of long keys count every key, and the lines before them', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: emptyStateBytes() + 16_000 });
  t.after(() => r.close());
  const c = r.create()!;
  const now = Date.now();
  const hot = Buffer.alloc(240, 0x68);
  for (let i = 0; i < 30; i++) c.log(now, CMD.GET, ST.HIT, hot, 1); // 7,200 key bytes: under half the ring, not yet read
  // 100 keys of 200 bytes (the first one hot): 20 KB of keys as one span.
  const names = Array.from({ length: 100 }, (_, i) => (i === 0 ? 'hot:' : `k${i % 5}:`).padEnd(200, 'x'));
  const get = textGet(names);
  c.logValues(now, CMD.GET, get.keys, 0, get.keys.map(() => null), get.span);
  // 1,200 keys of 100 bytes: more lines than the ring, and more key bytes.
  const many = Array.from({ length: 1200 }, (_, i) => (i === 0 ? 'first:' : `m${i % 50}:`).padEnd(100, 'z'));
  const long = textGet(many);
  c.logValues(now, CMD.GET, long.keys, 0, long.keys.map(() => null), long.span);
  assert.ok(c.hasWindowState, 'the state was kept (its key ring could not grow)');
  assert.equal(c.keyCounts(hot, now).hits, 30, 'the lines waiting before the multi-get');
  assert.equal(c.keyCounts(Buffer.from(names[0]!), now).misses, 1, 'the first key of the span');
  assert.equal(c.keyCounts(Buffer.from(many[0]!), now).misses, 1, 'the first key of the long get');
  assert.equal(c.popular(1000, now).prefixes.reduce((n, e) => n + e.count, 0), 100 + 1200, 'every key of both gets counted for its prefix (the 240-byte key has none)');
});

test('a cache that displaces others\' states is given one of theirs, emptied: the cap holds and nothing of theirs shows', (t) => {
  const empty = emptyStateBytes();
  // Room for about 10 states: the 11th cache's displaces the least recently active ones
  // (down to nine tenths of the cap), whose states make the next caches' states.
  const cap = 10 * (empty + 5000);
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: cap });
  t.after(() => r.close());
  const caches = Array.from({ length: 30 }, () => r.create()!);
  const t0 = Date.now();
  const keyOf = (i: number, k: number) => {
    const key = `cache${i}:secret:${k}`;
    // The first ten caches' keys are long: their key rings grow past their first 16 KiB.
    return Buffer.from(i < 10 ? key.padEnd(250, 'x') : key);
  };
  caches.forEach((c, i) => {
    const lines = i < 10 ? 100 : 50;
    for (let k = 0; k < lines; k++) c.log(t0 + i, k % 2 ? CMD.GET : CMD.SET, k % 2 ? ST.HIT : ST.STORED, keyOf(i, k), 100 + k);
    c.settle();
    assert.ok(r.memoryBytes <= cap, `${r.memoryBytes} bytes held after cache ${i}, cap ${cap}`);
  });
  // The newest caches hold their own lines, keys and counts only, and are charged for
  // their own short keys (not for a key ring grown for another cache's long ones).
  for (let i = 22; i < 30; i++) {
    const c = caches[i]!;
    const lines = c.recent(1000);
    assert.deepEqual(lines.map((l) => `${l.key} ${l.size}`), Array.from({ length: 50 }, (_, k) => `${keyOf(i, k)} ${100 + k}`), `cache ${i}`);
    const popular = c.popular(100, t0 + 100);
    const own = (list: { key: string; count: number }[]) => list.map((e) => `${e.key} ${e.count}`).sort();
    assert.deepEqual(own(popular.hit), Array.from({ length: 25 }, (_, j) => `${keyOf(i, 2 * j + 1)} 1`).sort(), `cache ${i}: hits`);
    assert.deepEqual(own(popular.mutated), Array.from({ length: 25 }, (_, j) => `${keyOf(i, 2 * j)} 1`).sort(), `cache ${i}: mutations`);
    assert.deepEqual(own(popular.prefixes), [`cache${i}:secret 50`], `cache ${i}: prefixes`);
    assert.ok(c.charged < empty + 10_000, `cache ${i} charged ${c.charged} bytes (empty: ${empty})`);
  }
  // A displaced cache's lines went with its state, and the states were made over.
  assert.deepEqual(caches[0]!.recent(1000), []);
  assert.ok(r.dropped >= 20, `${r.dropped} states dropped`);
  assert.ok(r.reused >= 19, `${r.reused} of them made into another cache's (the rest wait as spares)`);
});
