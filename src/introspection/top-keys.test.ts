import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededBytes, seededRandom } from '../shared/testing/seeded-random.ts';
import { zipf } from '../shared/testing/zipf.ts';
import { BUSY_SAMPLED_EVENTS_PER_SECOND, EventSampler, SAMPLED_EVENTS_PER_SECOND } from './event-sampler.ts';
import { DOOR_BITS, DOOR_RESET, hashBytes, TopKeys } from './top-keys.ts';

const key = (i: number) => Buffer.from(`user:${i}:profile`);

test('Zipf(1.0) over 100,000 keys, sampled: the top 10 are the true top 10, each within 5 % of its true count', () => {
  const rand = seededRandom(42);
  const draw = zipf(100_000, 1.0, rand);
  const sketch = new TopKeys(256, 6, 30_000);
  // 4 M events at twice the node's own budget a second, so about half are skipped.
  const sampler = new EventSampler(SAMPLED_EVENTS_PER_SECOND, rand);
  const spanMs = (4_000_000 / (2 * SAMPLED_EVENTS_PER_SECOND)) * 1000;
  const truth = new Map<number, number>();
  const events = 4_000_000;
  let taken = 0;
  for (let e = 0; e < events; e++) {
    const r = draw();
    truth.set(r, (truth.get(r) ?? 0) + 1);
    if (sampler.nextTaken(1) < 0) continue;
    const ms = 1_000_000 + Math.floor((e / events) * spanMs);
    sampler.taken(ms);
    taken++;
    const k = key(r);
    sketch.add(k, 0, k.length, hashBytes(k, 0, k.length, 99), sampler.weight, ms);
  }
  assert.ok(taken < events * 0.6, `sampling took ${taken} of ${events}`);
  const top = sketch.top(10, 1_000_000 + spanMs);
  const trueTop = [...truth.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
  const found = top.filter((t) => trueTop.some(([r]) => key(r).toString('latin1') === t.key)).length;
  assert.ok(found >= 9, `${found} of the true top 10 reported`);
  for (const t of top) {
    const rank = Number(t.key.split(':')[1]);
    const real = truth.get(rank)!;
    assert.ok(Math.abs(t.count - real) / real <= 0.05, `${t.key}: reported ${t.count}, true ${real}`);
  }
});

test('at a busy node\'s budget (4,000 samples a second) over a steady 3-minute window, the top 10 keep 5 %', () => {
  const rand = seededRandom(43);
  const draw = zipf(100_000, 1.0, rand);
  const sketch = new TopKeys(256, 6, 30_000);
  const sampler = new EventSampler(BUSY_SAMPLED_EVENTS_PER_SECOND, rand);
  const truth = new Map<number, number>();
  // 8 M events in 180 s: 44,000 a second, about one in eleven taken.
  const events = 8_000_000;
  const t0 = 30_000 * 66_666_667; // a sub-window boundary: the read covers exactly the six sub-windows of events
  for (let e = 0; e < events; e++) {
    const r = draw();
    truth.set(r, (truth.get(r) ?? 0) + 1);
    if (sampler.nextTaken(1) < 0) continue;
    const ms = t0 + Math.floor((e / events) * 179_990);
    sampler.taken(ms);
    const k = key(r);
    sketch.add(k, 0, k.length, hashBytes(k, 0, k.length, 98), sampler.weight, ms);
  }
  assert.ok(sampler.probability < 0.15, `sampled with p ${sampler.probability}`);
  const top = sketch.top(10, t0 + 179_990);
  const trueTop = [...truth.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
  assert.deepEqual(top.map((t) => t.key).sort(), trueTop.map(([r]) => key(r).toString('latin1')).sort());
  for (const t of top) {
    const real = truth.get(Number(t.key.split(':')[1]))!;
    assert.ok(Math.abs(t.count - real) / real <= 0.05, `${t.key}: reported ${t.count}, true ${real}`);
  }
});

test('counts age out of the sliding window, sub-window by sub-window', () => {
  const s = new TopKeys(8, 6, 30_000);
  const add = (name: string, n: number, ms: number) => {
    const k = Buffer.from(name);
    for (let i = 0; i < n; i++) s.add(k, 0, k.length, hashBytes(k, 0, k.length, 1), 1, ms);
  };
  add('old', 50, 0);
  add('new', 10, 150_000);
  assert.deepEqual(s.top(5, 150_000), [{ key: 'old', count: 50 }, { key: 'new', count: 10 }]);
  assert.deepEqual(s.top(5, 180_000), [{ key: 'old', count: 50 }, { key: 'new', count: 10 }], 'the window is 180 s long');
  // Half of the first sub-window is older than 180 s: half its count is (as if spread evenly).
  assert.deepEqual(s.top(5, 195_000), [{ key: 'old', count: 25 }, { key: 'new', count: 10 }]);
  assert.deepEqual(s.top(5, 210_000), [{ key: 'new', count: 10 }]);
  assert.deepEqual(s.top(5, 400_000), []);
  assert.equal(s.keyBytes, 0, 'freed entries give back their key bytes');
});

test('a steady stream reads 180 s of it at any moment, not 150 to 180', () => {
  const s = new TopKeys(8, 6, 30_000);
  const k = Buffer.from('a');
  const t0 = 1_800_000_000_000 - (1_800_000_000_000 % 30_000);
  for (let sec = 0; sec < 400; sec++) {
    s.add(k, 0, 1, hashBytes(k, 0, 1, 3), 1, t0 + sec * 1000 + 500);
    if (sec >= 200) {
      const got = s.top(1, t0 + sec * 1000 + 600)[0]!.count;
      assert.ok(Math.abs(got - 180) <= 1, `at ${sec} s: ${got}`);
    }
  }
});

test('a full sketch replaces its smallest entry and the newcomer inherits its count (the error bound)', () => {
  const s = new TopKeys(4, 6, 30_000);
  const add = (name: string, n: number) => {
    const k = Buffer.from(name);
    for (let i = 0; i < n; i++) s.add(k, 0, k.length, hashBytes(k, 0, k.length, 5), 1, 10);
  };
  add('a', 10);
  add('b', 8);
  add('c', 6);
  add('d', 2);
  add('e', 1);
  assert.deepEqual(s.top(10, 10).map((t) => t.key), ['a', 'b', 'c', 'd'], 'a key seen once displaces nothing');
  add('e', 1);
  const top = s.top(10, 10);
  assert.deepEqual(top.map((t) => t.key), ['a', 'b', 'c', 'e']);
  assert.equal(top.find((t) => t.key === 'e')!.count, 4, 'd held 2: e counts 2 + its two sightings');
  // Binary keys and a sub-range of a buffer are held byte for byte.
  const bin = Buffer.from([0, 255, 128, 10, 13, 32]);
  s.add(bin, 1, 4, hashBytes(bin, 1, 4, 5), 100, 10);
  s.add(bin, 1, 4, hashBytes(bin, 1, 4, 5), 100, 10);
  assert.equal(s.countOf(bin.subarray(1, 4), hashBytes(bin, 1, 4, 5), 10), 204, 'it displaced e (4)');
  assert.equal(s.top(1, 10)[0]!.key, Buffer.from([255, 128, 10]).toString('latin1'));
});

test('the heap finds the smallest entry as a scan of all would: 200,000 random updates against a plain space-saving', () => {
  // The reference: space-saving over the same sliding sub-windows, the smallest found by a scan.
  // Weights are random reals, so no two totals tie and both must replace the same entry.
  const capacity = 64;
  const slotMs = 30_000;
  const width = 7;
  const ref = new Map<string, { counts: number[]; total: number }>();
  let current = -1;
  const advance = (ms: number) => {
    const now = Math.floor(ms / slotMs);
    if (current >= 0 && now > current) {
      for (let s = current + 1; s <= Math.min(now, current + width); s++) {
        for (const [k, e] of ref) {
          e.total -= e.counts[s % width]!;
          e.counts[s % width] = 0;
          if (e.total <= 0.5) ref.delete(k);
        }
      }
    }
    current = Math.max(current, now);
  };
  const rand = seededRandom(7);
  const sketch = new TopKeys(capacity, width - 1, slotMs);
  const door = new Uint32Array(DOOR_BITS / 32);
  let turnedAway = 0;
  let ms = 1_000_000_000;
  for (let i = 0; i < 200_000; i++) {
    ms += Math.floor(rand() * 400);
    // A skewed draw over 2,000 keys: some stay, most churn.
    const name = `k${Math.floor(2000 * rand() ** 3)}`;
    const w = 1 + rand();
    advance(ms);
    const k = Buffer.from(name);
    const h = hashBytes(k, 0, k.length, 11);
    let e = ref.get(name);
    let sightings = 1;
    if (!e) {
      let inherited = 0;
      if (ref.size >= capacity) {
        // The same filter as TopKeys.admit: a bit per hash, all cleared after DOOR_RESET turned away.
        const bit = (h >>> 16) & (DOOR_BITS - 1);
        if ((door[bit >>> 5]! & (1 << (bit & 31))) === 0) {
          door[bit >>> 5]! |= 1 << (bit & 31);
          if (++turnedAway >= DOOR_RESET) door.fill(0), (turnedAway = 0);
          sketch.add(k, 0, k.length, h, w, ms);
          continue;
        }
        sightings = 2;
        let min: string | undefined;
        for (const [k, x] of ref) if (min === undefined || x.total < ref.get(min)!.total) min = k;
        inherited = ref.get(min!)!.total;
        ref.delete(min!);
      }
      e = { counts: new Array<number>(width).fill(0), total: inherited };
      e.counts[current % width] = inherited;
      ref.set(name, e);
    }
    e.counts[current % width]! += sightings * w;
    e.total += sightings * w;
    sketch.add(k, 0, k.length, h, w, ms);
    if (i % 5000 === 4999) {
      const got = new Map(sketch.top(capacity, ms).map((x) => [x.key, x.count]));
      assert.deepEqual([...got.keys()].sort(), [...ref.keys()].filter((key) => Math.round(estimate(ref.get(key)!, ms)) > 0).sort(), `keys held after ${i + 1}`);
    }
  }
  function estimate(e: { counts: number[]; total: number }, at: number): number {
    return e.total - e.counts[(current + 1) % width]! * ((at % slotMs) / slotMs);
  }
});

test('a full sketch under keys seen once each: about 1 in 16 replaces an entry (the filter\'s false positives), a key seen twice always does', () => {
  const s = new TopKeys(256, 6, 30_000);
  const ms = 1_000_000_000;
  const add = (name: string | Buffer) => {
    const k = typeof name === 'string' ? Buffer.from(name) : name;
    const h = hashBytes(k, 0, k.length, 17);
    s.add(k, 0, k.length, h, 1, ms);
    return s.countOf(k, h, ms) > 0;
  };
  for (let i = 0; i < 256; i++) add(`held:${i}`);
  // Random 16-byte keys, as memcaslap's are (sequential names hash to fewer collisions).
  const rand = seededRandom(44);
  let admitted = 0;
  const n = 200_000;
  for (let i = 0; i < n; i++) if (add(seededBytes(rand, 16))) admitted++;
  // At most DOOR_RESET of DOOR_BITS bits are set (1 in 8); about half that on average.
  const share = admitted / n;
  assert.ok(share > 0.04 && share < 0.085, `${admitted} of ${n} keys seen once replaced an entry`);
  for (let i = 0; i < 100; i++) {
    add(`twice:${i}`);
    assert.ok(add(`twice:${i}`), `twice:${i} held at its second sighting`);
  }
});

test('keys whose hashes share a slot, a tag, or everything are told apart, through replacements and the window moving', () => {
  const s = new TopKeys(8, 6, 30_000);
  const t0 = 1_000_000_000_000;
  // Hashes chosen: same slot and tag (identical hashes), same slot other tags, same tag other slots.
  const cases: [string, number][] = [
    ['a', 0x00010005], ['b', 0x00010005], ['c', 0x00020005], ['d', 0x00030005],
    ['e', 0x00010006], ['f', 0x00010007], ['g', 0x7fff0005 | 0], ['h', 0xffff0005 | 0],
  ];
  for (let round = 0; round < 3; round++) {
    cases.forEach(([k, h], i) => {
      for (let n = 0; n <= i; n++) s.add(Buffer.from(k), 0, 1, h, 1, t0 + round);
    });
  }
  cases.forEach(([k, h], i) => assert.equal(s.countOf(Buffer.from(k), h, t0 + 5), 3 * (i + 1), k));
  // A newcomer on the same hash as the smallest ('a'), seen twice: it replaces 'a' and
  // inherits its count; 'b' (the same hash) keeps its own.
  s.add(Buffer.from('z'), 0, 1, 0x00010005, 1, t0 + 10);
  s.add(Buffer.from('z'), 0, 1, 0x00010005, 1, t0 + 10);
  assert.equal(s.countOf(Buffer.from('a'), 0x00010005, t0 + 10), 0);
  assert.equal(s.countOf(Buffer.from('z'), 0x00010005, t0 + 10), 3 + 2);
  assert.equal(s.countOf(Buffer.from('b'), 0x00010005, t0 + 10), 6);
  // The window moves past every count: all entries freed, the table empty and usable again.
  assert.deepEqual(s.top(10, t0 + 400_000), []);
  s.add(Buffer.from('h'), 0, 1, 0xffff0005 | 0, 1, t0 + 400_000);
  assert.equal(s.countOf(Buffer.from('h'), 0xffff0005 | 0, t0 + 400_000), 1);
  assert.equal(s.countOf(Buffer.from('g'), 0x7fff0005, t0 + 400_000), 0);
});
