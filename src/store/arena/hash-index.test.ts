/**
 * The arena store's key index: exact byte comparison under collisions, growth through
 * many doublings, a keyed hash that spreads sequential keys and keys chosen to collide
 * under an unkeyed one (testing/unkeyed-hash.ts), and re-keying when chains grow long anyway.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fnvCollisions, fnvHash } from '../testing/unkeyed-hash.ts';
import { createArenaStore, type ArenaStore } from './arena-engine.ts';
import { MAX_CHAIN_WALK, REKEY_MIN_INSERTS, type KeyHash } from './hash-index.ts';
import { keyedHash } from './keyed-hash.ts';

const NOW = 1_700_000_000;
const MiB = 1024 * 1024;

function arenaStore(hash?: KeyHash, limit = 256 * MiB): ArenaStore {
  return createArenaStore({ limit, maxItemSize: MiB, hash });
}

test('every key in one bucket: lookups still compare the bytes exactly', () => {
  const s = arenaStore(() => 42);
  // Same lengths, one differing byte; prefixes of each other; binary bytes; the empty key.
  const keys = [
    Buffer.from('key:1'), Buffer.from('key:2'), Buffer.from('key:'), Buffer.from('key:10'),
    Buffer.from([0, 0, 0]), Buffer.from([0, 0, 1]), Buffer.from([0xff]), Buffer.alloc(0), Buffer.alloc(250, 0x61),
  ];
  for (let i = 0; i < 500; i++) keys.push(Buffer.from(`c${i}`));
  keys.forEach((k, i) => assert.equal(s.store({ mode: 'set', key: k, value: Buffer.from(`v${i}`), flags: i, exptime: 0 }, NOW).status, 'stored'));
  keys.forEach((k, i) => assert.equal(s.get(k, NOW)?.value.toString(), `v${i}`));
  assert.equal(s.get(Buffer.from('key:3'), NOW), null);
  assert.equal(s.get(Buffer.from([0, 0]), NOW), null);
  // Remove from the middle, the head and the end of the one chain.
  for (let i = 0; i < keys.length; i += 3) assert.equal(s.delete({ key: keys[i]! }, NOW), 'deleted');
  keys.forEach((k, i) => assert.equal(s.peek(k, NOW)?.value.toString() ?? null, i % 3 === 0 ? null : `v${i}`));
  assert.equal(s.verify(), keys.length - Math.ceil(keys.length / 3));
});

test('keys longer than a row can say (255 bytes) are refused, never mistaken for others', () => {
  const s = arenaStore(() => 0);
  s.store({ mode: 'set', key: Buffer.alloc(0), value: Buffer.from('empty'), flags: 0, exptime: 0 }, NOW);
  assert.equal(s.store({ mode: 'set', key: Buffer.alloc(255, 0x62), value: Buffer.from('max'), flags: 0, exptime: 0 }, NOW).status, 'stored');
  assert.equal(s.store({ mode: 'set', key: Buffer.alloc(256, 0x62), value: Buffer.from('x'), flags: 0, exptime: 0 }, NOW).status, 'too_large');
  assert.equal(s.get(Buffer.alloc(256, 0x62), NOW), null);
  assert.equal(s.get(Buffer.alloc(255, 0x62), NOW)?.value.toString(), 'max');
  assert.equal(s.get(Buffer.alloc(0), NOW)?.value.toString(), 'empty');
});

test('the index and the table grow through many doublings and shrink back on flush', () => {
  const s = arenaStore();
  const n = 150_000;
  for (let i = 0; i < n; i++) s.store({ mode: 'set', key: Buffer.from(`grow:${i}`), value: Buffer.from(String(i)), flags: 0, exptime: 0 }, NOW);
  assert.equal(s.items, n);
  const m = s.engine.memory();
  assert.ok(m.index >= n * 4 && m.index <= n * 8, `index ${m.index} bytes`);
  assert.ok(m.table >= n * 48 && m.table <= 2 * n * 48, `table ${m.table} bytes`);
  for (let i = 0; i < n; i += 7) assert.equal(s.get(Buffer.from(`grow:${i}`), NOW)?.value.toString(), String(i));
  assert.equal(s.verify(), n);
  // Freed slots are reused rather than growing the table.
  for (let i = 0; i < n; i += 2) s.delete({ key: Buffer.from(`grow:${i}`) }, NOW);
  for (let i = 0; i < n; i += 2) s.store({ mode: 'set', key: Buffer.from(`again:${i}`), value: Buffer.from('x'), flags: 0, exptime: 0 }, NOW);
  assert.equal(s.engine.memory().table, m.table);
  s.flushAll({ delay: 0 }, NOW);
  assert.ok(s.engine.memory().index <= 64 * 4);
  assert.equal(s.get(Buffer.from('grow:1'), NOW), null);
  s.store({ mode: 'set', key: Buffer.from('grow:1'), value: Buffer.from('fresh'), flags: 0, exptime: 0 }, NOW);
  assert.equal(s.get(Buffer.from('grow:1'), NOW)?.value.toString(), 'fresh');
});

test('the keyed hash spreads sequential keys evenly over the buckets', () => {
  const buckets = 1 << 16;
  const counts = new Uint32Array(buckets);
  const n = buckets * 4;
  const hash = keyedHash();
  for (let i = 0; i < n; i++) {
    const k = Buffer.from(`key:${String(i).padStart(7, '0')}`);
    counts[hash(k, 0, k.length) & (buckets - 1)]!++;
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

test('keys built to share one hash under the old unkeyed function spread out under the keyed one', () => {
  const keys = fnvCollisions(4000, 'tenant:session:');
  const h0 = fnvHash(keys[0]!, 0, keys[0]!.length);
  assert.ok(keys.every((k) => fnvHash(k, 0, k.length) === h0), 'all share the full 32-bit unkeyed hash');
  assert.equal(new Set(keys.map(String)).size, keys.length);

  // The attack under an unkeyed hash: every key sits in one chain.
  const old = arenaStore(fnvHash);
  for (const k of keys) old.store({ mode: 'set', key: k, value: Buffer.from('v'), flags: 0, exptime: 0 }, NOW);
  assert.equal(old.engine.indexStats().maxChain, keys.length);

  const s = arenaStore();
  for (const k of keys) assert.equal(s.store({ mode: 'set', key: k, value: Buffer.from(String(k)), flags: 0, exptime: 0 }, NOW).status, 'stored');
  const stats = s.engine.indexStats();
  // 4,000 random hashes in 4,096 buckets: a chain of 13 has odds of about 1 in 4 million.
  assert.ok(stats.maxChain <= 12, `longest chain ${stats.maxChain}`);
  assert.equal(stats.rekeys, 0, 'no chain was long enough to re-key');
  for (const k of keys) {
    assert.equal(s.get(k, NOW)?.value.toString(), String(k));
    assert.ok(s.engine.indexStats(k).chain <= 12);
  }
  assert.equal(s.verify(), keys.length);
});

test('a long chain re-keys the index, which breaks it up', () => {
  let calls = 0;
  // The first key is "leaked": every key collides under it. Later keys are random.
  const s = createArenaStore({
    limit: 64 * MiB, maxItemSize: MiB, newHash: () => (calls++ === 0 ? () => 7 : keyedHash()),
  });
  const keys = Array.from({ length: 500 }, (_, i) => Buffer.from(`k${i}`));
  keys.forEach((k, i) => {
    s.store({ mode: 'set', key: k, value: Buffer.from(`v${i}`), flags: 0, exptime: 0 }, NOW);
    // The chain never gets past the walk bound plus the insert that found it.
    assert.ok(s.engine.indexStats().maxChain <= MAX_CHAIN_WALK + 2, `after ${i + 1} keys`);
  });
  assert.equal(s.engine.indexStats().rekeys, 1);
  assert.ok(s.engine.indexStats().maxChain <= 8, `longest chain ${s.engine.indexStats().maxChain}`);
  keys.forEach((k, i) => assert.equal(s.get(k, NOW)?.value.toString(), `v${i}`));
  assert.equal(s.verify(), keys.length);
});

test('re-keying is rate-limited: a hash that stays bad costs at most about one rehash per insert', () => {
  const s = arenaStore(() => 99);
  const n = 3000;
  const keys = Array.from({ length: n }, (_, i) => Buffer.from(`key:${i}`));
  keys.forEach((k, i) => s.store({ mode: 'set', key: k, value: Buffer.from(`v${i}`), flags: 0, exptime: 0 }, NOW));
  // The first long chain re-keys at once; then once per max(items, 1024) inserts, plus
  // the doublings (64 -> 4096 buckets), which take a new key for free.
  const rekeys = s.engine.indexStats().rekeys;
  const bound = 1 + Math.ceil(Math.log2(n / 64)) + Math.floor(n / REKEY_MIN_INSERTS);
  assert.ok(rekeys >= 2 && rekeys <= bound, `${rekeys} re-keys, bound ${bound}`);
  // Reads alone never re-key, however long the chains they walk.
  for (let r = 0; r < 3; r++) keys.forEach((k, i) => assert.equal(s.get(k, NOW)?.value.toString(), `v${i}`));
  assert.equal(s.engine.indexStats().rekeys, rekeys);
  assert.equal(s.verify(), n);
});

test('every re-key rewrites the tags: keys stay found through many re-keys, deletes and reuse', () => {
  let n = 0;
  // Each new "key" is a different constant: every chain is long, every tag changes.
  const s = createArenaStore({
    limit: 64 * MiB, maxItemSize: MiB, newHash: () => {
      const c = Math.imul(++n, 0x9e3779b9) >>> 0;
      return () => c;
    },
  });
  const live = new Map<string, string>();
  for (let i = 0; i < 6000; i++) {
    const k = `k${i % 2500}`;
    if (i % 7 === 3) {
      s.delete({ key: Buffer.from(k) }, NOW);
      live.delete(k);
    } else {
      s.store({ mode: 'set', key: Buffer.from(k), value: Buffer.from(`v${i}`), flags: 0, exptime: 0 }, NOW);
      live.set(k, `v${i}`);
    }
  }
  assert.ok(s.engine.indexStats().rekeys >= 3, `${s.engine.indexStats().rekeys} re-keys`);
  for (let j = 0; j < 2500; j++) assert.equal(s.peek(Buffer.from(`k${j}`), NOW)?.value.toString() ?? null, live.get(`k${j}`) ?? null);
  assert.equal(s.verify(), live.size);
});
