/**
 * Review (hostile) tests of the request ring rewritten in aef439e. Each test names the
 * defect it shows; see the review report for the line at fault.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CMD, RequestRing, ST } from './request-ring.ts';

// Found by this review against aef439e, fixed in e5fd21a (kept as regression tests): tests 1-2.
// Defect: a key ring whose growth was refused and later allowed (the budget freed room)
// copies only the last old-size bytes into the new, larger, uninitialised (allocUnsafe)
// buffer, yet lines() trusts every line whose key starts within the new size: lines whose
// keys were overwritten while growth was refused come back with bytes that were never
// written (process memory: possibly other tenants' data).
test('review: a key ring that grows after a refusal never shows a line with bytes that were not its key', () => {
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

// Behaviour lost vs cd49f9c (which kept absolute times): one clock reading far ahead (a VM
// resumed with a wrong clock, then corrected by NTP) pins every later line's time to it
// until the wall clock catches up — here for a whole day. The tested case (another
// connection's reading a few ms old) needs a clamp of ms, not an unbounded one.
test('review: one wrong clock reading a day ahead does not freeze the times of the lines after it', () => {
  const r = new RequestRing(100);
  const t0 = 1_800_000_000_000;
  r.record(t0, CMD.GET, ST.MISS, Buffer.from('a'), 0);
  r.record(t0 + 86_400_000, CMD.GET, ST.MISS, Buffer.from('glitch'), 0);
  r.record(t0 + 1000, CMD.GET, ST.MISS, Buffer.from('b'), 0);
  r.record(t0 + 60_000, CMD.GET, ST.MISS, Buffer.from('c'), 0);
  const times = r.lines(100).map((l) => l.time - t0);
  // cd49f9c: [0, 86400000, 1000, 60000]
  assert.notEqual(times[3], 86_400_000, `lines after the glitch: ${times.slice(2).join(', ')} ms after t0`);
});

// Defect (open, low): at the 2^32 wrap of key positions, a multi-get of more keys than the
// ring has lines grows the key ring to its maximum (~235 KB more, charged to the node's
// introspection budget) for keys that need 4 KB. writeKey's oldestBack is taken `% 2^32`:
// the oldest line then is one of the span being written (its key ahead of keyBytesWritten),
// a small negative number, which the wrap turns into ~2^32. The same get 1 MB earlier in the
// stream does not grow the ring at all.
test('review: a 1,500-key get at the 2^32 wrap of key positions does not grow the key ring', () => {
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
