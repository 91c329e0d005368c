/**
 * The arena store's key index: exact byte comparison under collisions, growth through
 * many doublings, and a hash that spreads sequential keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { casSource } from '../testing/store-contract.ts';
import { ArenaTenantStore } from './arena-store.ts';
import { hashKey, type KeyHash } from './hash-index.ts';

const NOW = 1_700_000_000;
const MiB = 1024 * 1024;

function arenaStore(hash?: KeyHash, limit = 256 * MiB): ArenaTenantStore {
  return new ArenaTenantStore({ limit, maxItemSize: MiB, nextCas: casSource(), hash });
}

test('every key in one bucket: lookups still compare the bytes exactly', () => {
  const s = arenaStore(() => 42);
  // Same lengths, one differing byte; prefixes of each other; binary bytes; the empty key.
  const keys = [
    Buffer.from('key:1'), Buffer.from('key:2'), Buffer.from('key:'), Buffer.from('key:10'),
    Buffer.from([0, 0, 0]), Buffer.from([0, 0, 1]), Buffer.from([0xff]), Buffer.alloc(0), Buffer.alloc(250, 0x61),
  ];
  for (let i = 0; i < 500; i++) keys.push(Buffer.from(`c${i}`));
  keys.forEach((k, i) => assert.equal(s.store('set', k, Buffer.from(`v${i}`), i, 0, NOW).status, 'stored'));
  keys.forEach((k, i) => assert.equal(s.get(k, NOW)?.value.toString(), `v${i}`));
  assert.equal(s.get(Buffer.from('key:3'), NOW), null);
  assert.equal(s.get(Buffer.from([0, 0]), NOW), null);
  // Remove from the middle, the head and the end of the one chain.
  for (let i = 0; i < keys.length; i += 3) assert.equal(s.delete(keys[i]!, NOW), 'deleted');
  keys.forEach((k, i) => assert.equal(s.peek(k, NOW)?.value.toString() ?? null, i % 3 === 0 ? null : `v${i}`));
  assert.equal(s.verify(), keys.length - Math.ceil(keys.length / 3));
});

test('keys longer than a row can say (255 bytes) are refused, never mistaken for others', () => {
  const s = arenaStore(() => 0);
  s.store('set', Buffer.alloc(0), Buffer.from('empty'), 0, 0, NOW);
  assert.equal(s.store('set', Buffer.alloc(255, 0x62), Buffer.from('max'), 0, 0, NOW).status, 'stored');
  assert.equal(s.store('set', Buffer.alloc(256, 0x62), Buffer.from('x'), 0, 0, NOW).status, 'too_large');
  assert.equal(s.get(Buffer.alloc(256, 0x62), NOW), null);
  assert.equal(s.get(Buffer.alloc(255, 0x62), NOW)?.value.toString(), 'max');
  assert.equal(s.get(Buffer.alloc(0), NOW)?.value.toString(), 'empty');
});

test('the index and the table grow through many doublings and shrink back on flush', () => {
  const s = arenaStore();
  const n = 150_000;
  for (let i = 0; i < n; i++) s.store('set', Buffer.from(`grow:${i}`), Buffer.from(String(i)), 0, 0, NOW);
  assert.equal(s.items, n);
  const m = s.memory();
  assert.ok(m.index >= n * 4 && m.index <= n * 8, `index ${m.index} bytes`);
  assert.ok(m.table >= n * 48 && m.table <= 2 * n * 48, `table ${m.table} bytes`);
  for (let i = 0; i < n; i += 7) assert.equal(s.get(Buffer.from(`grow:${i}`), NOW)?.value.toString(), String(i));
  assert.equal(s.verify(), n);
  // Freed slots are reused rather than growing the table.
  for (let i = 0; i < n; i += 2) s.delete(Buffer.from(`grow:${i}`), NOW);
  for (let i = 0; i < n; i += 2) s.store('set', Buffer.from(`again:${i}`), Buffer.from('x'), 0, 0, NOW);
  assert.equal(s.memory().table, m.table);
  s.flush(0, NOW);
  assert.ok(s.memory().index <= 64 * 4);
  assert.equal(s.get(Buffer.from('grow:1'), NOW), null);
  s.store('set', Buffer.from('grow:1'), Buffer.from('fresh'), 0, 0, NOW);
  assert.equal(s.get(Buffer.from('grow:1'), NOW)?.value.toString(), 'fresh');
});

test('hashKey spreads sequential keys evenly over the buckets', () => {
  const buckets = 1 << 16;
  const counts = new Uint32Array(buckets);
  const n = buckets * 4;
  for (let i = 0; i < n; i++) {
    const k = Buffer.from(`key:${String(i).padStart(7, '0')}`);
    counts[hashKey(k, 0, k.length) & (buckets - 1)]!++;
  }
  let empty = 0;
  let max = 0;
  for (const c of counts) {
    if (c === 0) empty++;
    max = Math.max(max, c);
  }
  // Poisson(4): about e^-4 = 1.8% empty buckets, and no bucket far over the mean.
  assert.ok(empty < buckets * 0.03, `${empty} empty buckets`);
  assert.ok(max <= 20, `a bucket holds ${max}`);
});
