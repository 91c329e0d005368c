import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededBytes, seededRandom } from '../shared/testing/seeded-random.ts';
import { IntrospectionRegistry } from './registry.ts';
import { CMD, MAX_KEY_LENGTH, ST } from './request-ring.ts';
import { BATCH_SAMPLES, SampleBatch, type SampleCounter } from './sample-batch.ts';

type Counted = [string, number, string, number, number];

/** A counter that keeps what it was asked to count, its key bytes as hex. */
function recorder(name: string, out: Counted[]): SampleCounter {
  return { count: (meta, keys, start, end, ms, weight) => out.push([name, meta, keys.toString('hex', start, end), ms, weight]) };
}

test('a batch counts its samples only when full, oldest first, every key byte for byte (binary, 255 bytes, empty)', () => {
  const out: Counted[] = [];
  const a = recorder('a', out);
  const batch = new SampleBatch();
  const random = seededRandom(7);
  const keys = Array.from({ length: BATCH_SAMPLES }, (_, i) => seededBytes(random, i % 7 === 0 ? MAX_KEY_LENGTH : i % 40));
  const expected: Counted[] = [];
  keys.forEach((k, i) => {
    // The key handed over is a view into a larger buffer, as the ring's is.
    const ring = Buffer.concat([Buffer.from('xx'), k, Buffer.from('yy')]);
    batch.add(a, i, ring, 2, 2 + k.length, 1000 + i, 1 + i / 10);
    ring.fill(0); // the ring's bytes change after the call: the batch kept its own copy
    expected.push(['a', i, k.toString('hex'), 1000 + i, 1 + i / 10]);
    if (i < BATCH_SAMPLES - 1) assert.equal(out.length, 0, `counted early, at sample ${i}`);
  });
  assert.deepEqual(out, expected);
  batch.flush();
  assert.equal(out.length, BATCH_SAMPLES, 'nothing counted twice');
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
  assert.deepEqual(out.map((c) => c[0] + Buffer.from(c[2], 'hex').toString()), ['aa1', 'aa2'], 'a\'s counted by a when b\'s came');
  batch.flushFor(a);
  assert.equal(out.length, 2);
  batch.flushFor(b);
  assert.deepEqual(out.map((c) => c[0] + Buffer.from(c[2], 'hex').toString()), ['aa1', 'aa2', 'bb1']);
});

test('two busy caches of one node, their requests interleaved: each one\'s lists hold its own keys, every one counted', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: 64 << 20, neverBusy: true });
  t.after(() => r.close());
  const caches = [r.create()!, r.create()!];
  for (const c of caches) c.setSamplingBudget(1e12); // every line taken: counts exact
  const now = Date.now();
  // 5,000 lines each, interleaved in runs of 1 to 9, so the node's batch changes hands often.
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
