import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CMD, RequestRing, ST } from './request-ring.ts';

test('the ring keeps the newest lines, oldest first, with their keys byte for byte', () => {
  const r = new RequestRing(1000);
  for (let i = 0; i < 2500; i++) r.record(1000 + i, CMD.GET, i % 2 ? ST.HIT : ST.MISS, Buffer.from(`k${i}`), i);
  const all = r.lines(1000);
  assert.equal(all.length, 1000);
  assert.equal(all[0]!.key.toString(), 'k1500');
  assert.equal(all[999]!.key.toString(), 'k2499');
  assert.equal(all[999]!.status, 'HIT');
  assert.equal(all[999]!.size, 2499);
  assert.deepEqual(r.lines(3).map((l) => l.key.toString()), ['k2497', 'k2498', 'k2499']);
  r.record(5000, CMD.STATS, ST.OK, null, 0);
  assert.deepEqual(r.lines(1)[0], { time: 5000, command: 'STATS', status: 'OK', key: Buffer.alloc(0), size: 0 });
});

test('250-byte binary keys: the key ring grows so all 1000 lines keep their keys, and stops growing', () => {
  const r = new RequestRing(1000);
  const keyOf = (i: number) => Buffer.alloc(250, i % 256);
  for (let i = 0; i < 3000; i++) r.record(i, CMD.SET, ST.STORED, keyOf(i), 1);
  const lines = r.lines(1000);
  assert.equal(lines.length, 1000);
  lines.forEach((l, j) => assert.ok(l.key.equals(keyOf(2000 + j)), `line ${j}`));
  const before = r.memoryBytes;
  for (let i = 0; i < 3000; i++) r.record(i, CMD.SET, ST.STORED, keyOf(i), 1);
  assert.equal(r.memoryBytes, before, 'bounded: 1000 lines of 250-byte keys at most');
  assert.ok(before <= 1000 * 250 * 1.1 + 30_000, `${before} bytes`);
});

test('keys turning long after a long run of short ones: the ring grows in time, no kept line loses its key', () => {
  // The ring asks for the oldest kept line's key position only when writes reach the
  // bound it noted last: the bound must never let a long key overwrite a kept line's.
  const r = new RequestRing(1000);
  let seed = 11;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const keyOf = (i: number, long: boolean) => Buffer.alloc(long ? 200 + (i % 51) : 1 + (i % 3), i % 251);
  const written: Buffer[] = [];
  for (let i = 0; i < 9000; i++) {
    const long = Math.floor(i / 1500) % 2 === 1 && rand() < 0.9;
    const k = keyOf(i, long);
    if (i === 4000) r.record(i + 0x80000000, CMD.GET, ST.HIT, Buffer.from('after a clear'), 0); // a gap past 31 bits: the ring is cleared
    r.record(i === 4000 ? i + 0x80000000 : i, CMD.GET, ST.HIT, k, 0);
    written.push(k);
    if (i % 50 === 49 || i === 4000) {
      const lines = r.lines(1000);
      const expect = i < 4000 ? Math.min(1000, i + 1) : Math.min(1000, i - 4000 + 2);
      assert.equal(lines.length, expect, `after ${i + 1} lines`);
      const tail = lines.slice(i >= 4000 && i - 4000 + 2 <= 1000 ? 1 : 0);
      tail.forEach((l, j) => assert.ok(l.key.equals(written[i + 1 - tail.length + j]!), `after ${i + 1}: line ${j}`));
    }
  }
});

test('keys mixing lengths wrap around the key ring intact', () => {
  const r = new RequestRing(50);
  const keyOf = (i: number) => Buffer.from(`${'x'.repeat(i % 97)}:${i}`);
  for (let i = 0; i < 5000; i++) r.record(i, CMD.GET, ST.HIT, keyOf(i), 0);
  r.lines(50).forEach((l, j) => assert.equal(l.key.toString(), keyOf(4950 + j).toString()));
});

test('multi-key gets recorded as one span read back exactly as key-by-key lines, across wrap-around and growth', () => {
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const spans = new RequestRing(300);
  const single = new RequestRing(300);
  for (let r = 0; r < 3000; r++) {
    const n = 1 + rand(30);
    const names = Array.from({ length: n }, () => Buffer.alloc(1 + rand(r > 1500 ? 250 : 20), 0x41 + rand(26)));
    // A text request: the keys are views into one buffer, one space apart (or, now and then, copies elsewhere).
    const line = Buffer.concat([Buffer.from('get '), ...names.flatMap((k) => [k, Buffer.from(' ')])]);
    const keys: Buffer[] = [];
    let at = 4;
    for (const k of names) {
      keys.push(rand(10) === 0 ? Buffer.from(k) : line.subarray(at, at + k.length));
      at += k.length + 1;
    }
    const from = rand(3) === 0 ? rand(n) : 0;
    const items = keys.slice(from).map((_, i) => (rand(2) ? { value: Buffer.alloc(i) } : null));
    // The parser's span (GetCommand.span) for a get of two keys or more.
    const span = n > 1 ? line.subarray(4, at - 1) : undefined;
    spans.recordValues(r, CMD.GET, keys, from, items, span);
    items.forEach((it, i) => single.record(r, CMD.GET, it ? ST.HIT : ST.MISS, keys[from + i]!, it ? it.value.length : 0));
    if (r % 97 === 0) spans.record(r, CMD.STATS, ST.OK, null, 0), single.record(r, CMD.STATS, ST.OK, null, 0);
    if (r % 250 === 0) assert.deepEqual(spans.lines(300), single.lines(300), `after request ${r}`);
  }
  assert.deepEqual(spans.lines(300), single.lines(300));
  assert.equal(spans.lines(300).length, 300);
});

test('a multi-get wider than the key ring can grow to keeps the lines whose keys fit, none with wrong bytes', () => {
  // 450 keys of 40 bytes: a span (at most half the ring) of 18 KiB through a 16 KiB key ring that may not grow.
  for (const [n, len, mayGrow] of [[450, 40, false], [700, 25, false], [1400, 25, false], [2600, 24, true]] as const) {
    const r = new RequestRing(1000, () => mayGrow);
    r.record(0, CMD.SET, ST.STORED, Buffer.from('before'), 1);
    const names = Array.from({ length: n }, (_, i) => `k${String(i).padStart(len - 1, '0')}`);
    const line = Buffer.from(`get ${names.join(' ')}\r\n`);
    const keys = names.map((_, i) => line.subarray(4 + i * (len + 1), 4 + i * (len + 1) + len));
    r.recordValues(1, CMD.GET, keys, 0, keys.map(() => null), line.subarray(4, line.length - 2));
    const lines = r.lines(1000);
    assert.ok(lines.length > 0, `${n} keys: some lines kept`);
    // The newest lines, in order, each with its own key.
    const expected = names.slice(n - lines.length);
    assert.deepEqual(lines.map((l) => l.key.toString()), expected, `${n} keys of ${len} bytes`);
    r.record(2, CMD.GET, ST.HIT, Buffer.from('after'), 3);
    assert.equal(r.lines(1)[0]!.key.toString(), 'after');
  }
});

test('times read back exactly as recorded, a clock that steps back included; a gap past 31 bits of ms ends the ring', () => {
  const r = new RequestRing(100);
  const t0 = 1_800_000_000_000;
  const times = [t0, t0, t0 + 5, t0 + 1_000_000, t0 + 1_000_001];
  for (const t of times) r.record(t, CMD.GET, ST.MISS, Buffer.from('k'), 0);
  assert.deepEqual(r.lines(100).map((l) => l.time), times);
  assert.deepEqual(r.lines(2).map((l) => l.time), times.slice(3));
  // A request stamped earlier than the newest line (another connection's clock reading, a
  // clock stepped back) keeps its own time; so do the lines after it.
  r.record(t0 + 999_999, CMD.SET, ST.STORED, Buffer.from('late'), 1);
  assert.equal(r.lines(1)[0]!.time, t0 + 999_999);
  r.record(t0 + 1_000_010, CMD.GET, ST.HIT, Buffer.from('k'), 1);
  assert.deepEqual(r.lines(3).map((l) => l.time), [t0 + 1_000_001, t0 + 999_999, t0 + 1_000_010]);
  r.record(t0 + 86_400_000, CMD.GET, ST.MISS, Buffer.from('a day ahead'), 0);
  r.record(t0 + 1_000_020, CMD.GET, ST.MISS, Buffer.from('back'), 0);
  assert.deepEqual(r.lines(2).map((l) => l.time), [t0 + 86_400_000, t0 + 1_000_020]);
  // 50 days later: the older lines' times could not be kept; they go.
  const later = t0 + 1_000_010 + 50 * 86_400_000;
  r.record(later, CMD.GET, ST.MISS, Buffer.from('new'), 0);
  assert.deepEqual(r.lines(100).map((l) => [l.time, l.key.toString()]), [[later, 'new']]);
  // …and a multi-get after another such gap.
  const line = Buffer.from('get a bb ccc\r\n');
  const keys = [line.subarray(4, 5), line.subarray(6, 8), line.subarray(9, 12)];
  r.recordValues(later + 60 * 86_400_000, CMD.GET, keys, 0, [null, { value: Buffer.alloc(7) }, null]);
  assert.deepEqual(r.lines(100).map((l) => [l.time - later, l.key.toString(), l.status, l.size]), [
    [60 * 86_400_000, 'a', 'MISS', 0], [60 * 86_400_000, 'bb', 'HIT', 7], [60 * 86_400_000, 'ccc', 'MISS', 0],
  ]);
});

test('key positions past 2^32 bytes written read back (they are kept modulo 2^32)', () => {
  const r = new RequestRing(10);
  // Skip ahead in the key stream as if 4 GiB of keys had gone through (a long-lived busy cache).
  const inner = r as unknown as { keyBytesWritten: number; keyPos: number; keys: Buffer };
  inner.keyBytesWritten = 2 ** 32 - 30;
  inner.keyPos = inner.keyBytesWritten % inner.keys.length;
  for (let i = 0; i < 40; i++) r.record(i, CMD.GET, ST.HIT, Buffer.from(`key-${i}`), i);
  assert.deepEqual(r.lines(10).map((l) => l.key.toString()), Array.from({ length: 10 }, (_, j) => `key-${30 + j}`));
});

// A key ring refused growth and later allowed it holds only what the smaller ring had: the
// lines whose keys went are left out, never shown with bytes that were not their key.
test('a key ring that grows after a refusal never shows a line with bytes that were not its key', () => {
  let allow = false;
  const r = new RequestRing(1000, () => allow);
  const keyOf = (i: number) => Buffer.alloc(250, 0x41 + (i % 26));
  // 200 lines of 250-byte keys: 50,000 key bytes through a 16 KiB ring that may not grow.
  for (let i = 0; i < 200; i++) r.record(1000 + i, CMD.SET, ST.STORED, keyOf(i), 1);
  const before = r.lines(1000);
  before.forEach((l) => assert.ok(l.key.equals(keyOf(l.time - 1000)), 'before growth'));
  // The budget has room again: one more line lets the ring grow.
  allow = true;
  r.record(1200, CMD.SET, ST.STORED, keyOf(200), 1);
  const wrong: number[] = [];
  for (const l of r.lines(1000)) if (!l.key.equals(keyOf(l.time - 1000))) wrong.push(l.time - 1000);
  assert.equal(wrong.length, 0, `${wrong.length} lines (${wrong[0]}..${wrong.at(-1)}) shown with bytes that are not their key`);
});

// Times are kept as gaps between lines: one reading far ahead must not pin the lines after it.
test('one wrong clock reading a day ahead does not freeze the times of the lines after it', () => {
  const r = new RequestRing(100);
  const t0 = 1_800_000_000_000;
  r.record(t0, CMD.GET, ST.MISS, Buffer.from('a'), 0);
  r.record(t0 + 86_400_000, CMD.GET, ST.MISS, Buffer.from('glitch'), 0);
  r.record(t0 + 1000, CMD.GET, ST.MISS, Buffer.from('b'), 0);
  r.record(t0 + 60_000, CMD.GET, ST.MISS, Buffer.from('c'), 0);
  assert.deepEqual(r.lines(100).map((l) => l.time - t0), [0, 86_400_000, 1000, 60_000]);
});

// At the 2^32 wrap of key positions a get of more keys than the ring has lines asks for no
// more key ring than the same get anywhere else in the stream.
test('a 1,500-key get at the 2^32 wrap of key positions does not grow the key ring', () => {
  const grown: number[] = [];
  for (const start of [1_000_000, 2 ** 32 - 100]) {
    let asked = 0;
    const r = new RequestRing(1000, (b) => ((asked += b), true));
    const inner = r as unknown as { keyBytesWritten: number; keyPos: number; keys: Buffer; validFrom: number };
    inner.keyBytesWritten = start;
    inner.validFrom = start;
    inner.keyPos = start % inner.keys.length;
    const names = Array.from({ length: 1500 }, (_, i) => `k${String(i % 100).padStart(2, '0')}`);
    const line = Buffer.from(`get ${names.join(' ')}\r\n`);
    const keys = names.map((_, i) => line.subarray(4 + i * 4, 4 + i * 4 + 3));
    r.recordValues(1, CMD.GET, keys, 0, keys.map(() => null));
    assert.deepEqual(r.lines(1000).map((l) => l.key.toString()), names.slice(500));
    grown.push(asked);
  }
  assert.deepEqual(grown, [0, 0], `bytes the key ring asked the budget for: ${grown.join(', ')}`);
});

/** A sampler that takes every line, and a sink that keeps what it was handed. */
function followAll(r: RequestRing): { key: string; meta: number; ms: number }[] {
  const out: { key: string; meta: number; ms: number }[] = [];
  r.follow(
    { nextTaken: (n) => (n > 0 ? 0 : -1), taken: () => {}, weight: 1 },
    { take: (meta, keys, start, end, ms) => out.push({ key: keys.toString('latin1', start, end), meta, ms }) },
  );
  return out;
}

test('follow hands each line once, with its key and its own time; lines without a key event are passed over', () => {
  const r = new RequestRing(100);
  for (let i = 0; i < 30; i++) r.record(1000 + i, CMD.GET, ST.HIT, Buffer.from(`a${i}`), 1);
  r.record(1030, CMD.STATS, ST.OK, null, 0);
  r.record(1031, CMD.SET, ST.NOT_STORED, Buffer.from('x'), 1);
  const first = followAll(r);
  assert.deepEqual(first.map((l) => l.key), Array.from({ length: 30 }, (_, i) => `a${i}`));
  assert.deepEqual(first.map((l) => l.ms), Array.from({ length: 30 }, (_, i) => 1000 + i));
  assert.deepEqual(followAll(r), [], 'nothing twice');
  for (let i = 0; i < 250; i++) r.record(2000, CMD.DELETE, ST.DELETED, Buffer.from(`d${i}`), 0);
  assert.deepEqual(followAll(r).map((l) => l.key), Array.from({ length: 100 }, (_, i) => `d${150 + i}`), 'only what the ring still holds');
});

test('follow never hands a key the ring lost (refused growth), nor a line from before a clear', () => {
  const r = new RequestRing(1000, () => false);
  const keyOf = (i: number) => Buffer.alloc(250, 0x41 + (i % 26));
  for (let i = 0; i < 200; i++) r.record(i, CMD.GET, ST.HIT, keyOf(i), 1);
  const handed = followAll(r);
  assert.ok(handed.length > 0 && handed.length < 200, `${handed.length} lines kept their keys`);
  handed.forEach((l, j) => assert.equal(l.key, keyOf(200 - handed.length + j).toString('latin1')));
  r.record(300, CMD.GET, ST.HIT, Buffer.from('before'), 1);
  r.record(300 + 2 ** 31 + 5, CMD.GET, ST.HIT, Buffer.from('after'), 1); // a gap too long to keep: the ring is cleared
  assert.deepEqual(followAll(r).map((l) => l.key), ['after']);
  assert.deepEqual(r.lines(10).map((l) => l.key.toString()), ['after']);
});

test('follow gives each taken line its own time however far the sampler jumps', () => {
  const r = new RequestRing(1000);
  for (let i = 0; i < 900; i++) r.record(5000 + 3 * i, CMD.GET, ST.HIT, Buffer.from(`t${i}`), 1);
  // Take every 7th line: the times of the lines jumped over are added on the way.
  let gap = 0;
  const got: [string, number][] = [];
  r.follow(
    { nextTaken: (n) => (gap < n ? gap : -1), taken: () => { gap = 6; }, weight: 1 },
    { take: (_m, keys, start, end, ms) => got.push([keys.toString('latin1', start, end), ms]) },
  );
  assert.deepEqual(got, Array.from({ length: Math.ceil(900 / 7) }, (_, j) => [`t${7 * j}`, 5000 + 21 * j]));
});

test('follow after follow: each batch starts from the last line read, and its times stay exact across lost lines, a clock that steps back and a clear', () => {
  const r = new RequestRing(100);
  let t = 10_000;
  const expected: [string, number][] = [];
  const batch = (n: number, step: () => number) => {
    expected.length = 0;
    for (let i = 0; i < n; i++) {
      t += step();
      const key = `k${t}-${i}`;
      r.record(t, CMD.GET, ST.MISS, Buffer.from(key), 0);
      expected.push([key, t]);
    }
    return followAll(r).map((l) => [l.key, l.ms] as [string, number]);
  };
  assert.deepEqual(batch(40, () => 7), expected, 'the first batch');
  assert.deepEqual(batch(30, () => 0), expected, 'a batch in one ms');
  assert.deepEqual(batch(50, () => 1), expected, 'a batch after one whose times did not move');
  assert.deepEqual(batch(20, () => -3), expected, 'a clock stepping back');
  assert.deepEqual(batch(250, () => 2), expected.slice(-100), 'more lines than the ring holds: the newest 100');
  assert.deepEqual(batch(10, () => 5), expected, 'the batch after lost lines');
  t += 2 ** 31 + 1; // the next line ends the ring
  assert.deepEqual(batch(10, () => 1), expected, 'the batch after a clear');
  assert.deepEqual(batch(5, () => 1000), expected, 'and the one after it');
});

test('a sampler jumping over lines across follows: every taken line keeps its own time, whatever follow it falls in', () => {
  const r = new RequestRing(1000);
  const times = new Map<string, number>();
  let gap = 0;
  const sampler = { nextTaken: (n: number) => (gap < n ? gap : ((gap -= n), -1)), taken: () => { gap = 6; }, weight: 1 };
  const got: [string, number][] = [];
  const sink = { take: (_m: number, keys: Buffer, start: number, end: number, ms: number) => { got.push([keys.toString('latin1', start, end), ms]); } };
  let t = 50_000;
  let n = 0;
  // Batches whose sizes are not multiples of 7, times moving by different steps (back too).
  for (const [lines, step] of [[30, 3], [11, 0], [45, 1], [8, -2], [100, 5], [3, 9]] as const) {
    for (let i = 0; i < lines; i++) {
      t += step;
      const key = `s${n++}`;
      times.set(key, t);
      r.record(t, CMD.GET, ST.HIT, Buffer.from(key), 1);
    }
    r.follow(sampler, sink);
  }
  assert.equal(got.length, Math.ceil(n / 7));
  assert.deepEqual(got, got.map(([k]) => [k, times.get(k)!]));
  assert.deepEqual(got.map(([k]) => k), Array.from({ length: Math.ceil(n / 7) }, (_, j) => `s${7 * j}`));
});
