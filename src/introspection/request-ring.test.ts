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

test('keys mixing lengths wrap around the key ring intact', () => {
  const r = new RequestRing(50);
  const keyOf = (i: number) => Buffer.from(`${'x'.repeat(i % 97)}:${i}`);
  for (let i = 0; i < 5000; i++) r.record(i, CMD.GET, ST.HIT, keyOf(i), 0);
  r.lines(50).forEach((l, j) => assert.equal(l.key.toString(), keyOf(4950 + j).toString()));
});
