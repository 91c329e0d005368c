import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededBytes, seededRandom } from '../shared/testing/seeded-random.ts';
import { DROPPED_RETRY_MS, type CacheIntrospection } from './cache-introspection.ts';
import { IntrospectionRegistry } from './registry.ts';
import { CMD, MAX_KEY_LENGTH, ST } from './request-ring.ts';
import { BATCH_SAMPLES, SampleBatch, type SampleCounter } from './sample-batch.ts';

type Counted = [string, number, string, number, number];

/** A counter that keeps what it was asked to count, its key bytes as hex. */
function recorder(name: string, out: Counted[]): SampleCounter {
  return {
    count: (meta, keys, start, end, ms, weight) => out.push([name, meta, keys.toString('hex', start, end), ms, weight]),
    counted: () => out.push([name, -1, '', 0, 0]),
  };
}
const samplesOf = (out: Counted[]) => out.filter((c) => c[1] >= 0);

test('a batch counts its samples only when full, oldest first, every key byte for byte (binary, the longest, empty)', () => {
  const out: Counted[] = [];
  const a = recorder('a', out);
  const batch = new SampleBatch();
  const random = seededRandom(7);
  // Nearly all of the longest length, so the batch is as full as it gets (a key buffer
  // too small would cut keys short).
  const keys = Array.from({ length: BATCH_SAMPLES }, (_, i) => seededBytes(random, i % 50 === 1 ? i % 40 : MAX_KEY_LENGTH));
  const expected: Counted[] = [];
  keys.forEach((k, i) => {
    // The key handed over is a view into a larger buffer, as the ring's is.
    const ring = Buffer.concat([Buffer.from('xx'), k, Buffer.from('yy')]);
    batch.add(a, i, ring, 2, 2 + k.length, 1000 + i, 1 + i / 10);
    ring.fill(0); // the ring's bytes change after the call: the batch kept its own copy
    expected.push(['a', i, k.toString('hex'), 1000 + i, 1 + i / 10]);
    if (i < BATCH_SAMPLES - 1) assert.equal(out.length, 0, `counted early, at sample ${i}`);
  });
  assert.deepEqual(out, [...expected, ['a', -1, '', 0, 0]], 'every sample, then one counted()');
  batch.flush();
  assert.equal(out.length, BATCH_SAMPLES + 1, 'nothing counted twice');
});

test('one cache\'s samples are counted before another\'s are taken, each by its own counter, and flushFor counts only its own', () => {
  const out: Counted[] = [];
  const a = recorder('a', out);
  const b = recorder('b', out);
  const batch = new SampleBatch();
  batch.add(a, 1, Buffer.from('a1'), 0, 2, 1, 1);
  batch.add(a, 2, Buffer.from('a2'), 0, 2, 2, 1);
  batch.flushFor(b);
  assert.deepEqual(out, [], 'b holds nothing here: a\'s samples wait');
  batch.add(b, 3, Buffer.from('b1'), 0, 2, 3, 1);
  const names = () => out.map((c) => c[0] + (c[1] < 0 ? ' counted' : Buffer.from(c[2], 'hex').toString()));
  assert.deepEqual(names(), ['aa1', 'aa2', 'a counted'], 'a\'s counted by a when b\'s came');
  batch.flushFor(a);
  assert.equal(out.length, 3);
  batch.flushFor(b);
  assert.deepEqual(names(), ['aa1', 'aa2', 'a counted', 'bb1', 'b counted']);
});

test('dropFor forgets what a cache holds, uncounted, and zeroes its key bytes; another\'s samples are left alone', () => {
  const out: Counted[] = [];
  const a = recorder('a', out);
  const b = recorder('b', out);
  const batch = new SampleBatch();
  const secret = Buffer.from('tenant-a-secret-key');
  for (let i = 0; i < 10; i++) batch.add(a, 1, secret, 0, secret.length, i, 1);
  batch.dropFor(b);
  const bytes = (batch as unknown as { keys: Buffer }).keys;
  assert.ok(bytes.includes(secret), 'held while a\'s');
  batch.dropFor(a);
  assert.equal(bytes.includes(secret), false, 'no byte of a\'s keys stays');
  assert.equal(bytes.subarray(0, 10 * secret.length).some((x) => x !== 0), false);
  batch.flush();
  batch.add(b, 1, Buffer.from('b'), 0, 1, 1, 1);
  batch.flush();
  assert.deepEqual(samplesOf(out).map((c) => c[0]), ['b'], 'a\'s dropped samples are never counted');
});

test('two busy caches of one node, their requests interleaved: each one\'s lists hold its own keys, every one counted', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: 64 << 20, neverBusy: true });
  t.after(() => r.close());
  const caches = [r.create()!, r.create()!];
  for (const c of caches) c.setSamplingBudget(1e12); // every line taken: counts exact
  const now = Date.now();
  // 5,000 lines each, interleaved in runs of 1 to 9: the batch changes hands at each
  // follow (every 744 lines of a cache), with samples of the other cache held.
  const sent = [0, 0];
  for (let i = 0; sent[0]! < 5000 || sent[1]! < 5000; i++) {
    const which = i % 2;
    for (let j = 0; j < 1 + (i % 9) && sent[which]! < 5000; j++) {
      const n = sent[which]!++;
      caches[which]!.log(now, CMD.GET, ST.HIT, Buffer.from(`c${which}:k${n % 50}`), 1);
    }
  }
  caches.forEach((c, which) => {
    const hit = c.popular(100, now).hit;
    assert.deepEqual(hit.map((e) => `${e.key} ${e.count}`).sort(), Array.from({ length: 50 }, (_, k) => `c${which}:k${k} 100`).sort(), `cache ${which}`);
  });
});

/** 744 lines (one follow) of cache `c`: every line taken, so 232 samples stay in the batch after its flushes at 256 and 512. */
function followOnce(c: { log(t: number, cmd: number, st: number, key: Buffer, size: number): void }, t: number, keyOf: (i: number) => Buffer): void {
  for (let i = 0; i < 744; i++) c.log(t, CMD.GET, ST.HIT, keyOf(i), 1);
}

test('samples counted when another cache takes the batch are charged to their cache at once, not at its next look', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: 64 << 20, neverBusy: true });
  t.after(() => r.close());
  const [a, b] = [r.create()!, r.create()!];
  for (const c of [a, b]) c.setSamplingBudget(1e12);
  const now = Date.now();
  // a's last 232 samples are long distinct keys (their sketch entries cost ~60 KB).
  followOnce(a, now, (i) => (i < 512 ? Buffer.from('h') : Buffer.alloc(250, 0x41 + (i % 26)).fill(String(i), 0, 3)));
  followOnce(b, now, () => Buffer.from('b'));
  assert.equal(a.memoryBytes - a.charged, 0, 'a\'s sketches grew when b\'s follow counted its samples: charged then');
  assert.equal(r.memoryBytes, a.memoryBytes + b.memoryBytes, 'the node\'s sum is what the states hold');
});

/** Cache a with 232 samples held in the batch, then a cap with room for one state: cache z's first line takes a's state. */
function handOver(t: { after(fn: () => void): void }) {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: 64 << 20, neverBusy: true });
  t.after(() => r.close());
  const a = r.create()!;
  a.setSamplingBudget(1e12);
  const now = Date.now();
  followOnce(a, now, (i) => Buffer.from(`asecret${i}`));
  (r.settings as { memoryBytes: number }).memoryBytes = a.memoryBytes + 1000;
  const z = r.create()!;
  z.log(now + 1, CMD.GET, ST.MISS, Buffer.from('zkey'), 0);
  assert.equal(a.hasWindowState, false, 'a\'s state went to z');
  assert.equal(r.reused, 1);
  return { a, z, now };
}
const keysOf = (c: CacheIntrospection, ms: number) => Object.values(c.popular(1000, ms)).flat().map((e) => e.key);

test('a cache\'s samples held in the batch when the cap gives its state to another cache are not counted into that cache\'s lists', (t) => {
  const { z, now } = handOver(t);
  assert.deepEqual(keysOf(z, now + 1), ['zkey']);
});

test('…nor into the cache\'s own next state when it comes back', (t) => {
  const { a, now } = handOver(t);
  // a comes back (after its retry delay) in a state of its own, before any other sample: none of what it sent before.
  a.log(now + DROPPED_RETRY_MS + 1000, CMD.GET, ST.MISS, Buffer.from('aafter'), 0);
  assert.deepEqual(keysOf(a, now + DROPPED_RETRY_MS + 1000), ['aafter']);
});
