/**
 * Differential test: the policy over the arena engine against the same policy over the
 * Map engine (testing/map-engine.ts) under long random workloads. Every result, every
 * item a read returns, `bytes`, `items` and every counter must match step for step, while
 * tiny pages make the arena clean and compact all the time (and verify() checks both
 * engines' bookkeeping along the way).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ItemView, StoreMode } from '../../shared/cache-operations.ts';
import { createMapStore } from '../testing/map-engine.ts';
import { seededRandom } from '../../shared/testing/seeded-random.ts';
import { createArenaStore, type ArenaStore } from './arena-engine.ts';
import type { KeyHash } from './hash-index.ts';

const NOW = 1_700_000_000;

function plain(item: ItemView | null): unknown {
  if (item === null) return null;
  return {
    key: item.key.toString('latin1'), value: item.value.toString('latin1'), flags: item.flags, cas: item.cas,
    exptime: item.exptime, lastAccess: item.lastAccess, fetched: item.fetched,
  };
}

interface Workload {
  readonly seed: number;
  readonly ops: number;
  readonly limit: number;
  readonly pageSize: number;
  readonly maxItemSize: number;
  readonly keys: number;
  readonly hash?: KeyHash;
}

function runDifferential(w: Workload): { arena: ArenaStore } {
  const rand = seededRandom(w.seed);
  const ref = createMapStore({ limit: w.limit, maxItemSize: w.maxItemSize });
  const arena = createArenaStore({
    limit: w.limit, maxItemSize: w.maxItemSize, pageSize: w.pageSize, hash: w.hash,
  });
  const keys = Array.from({ length: w.keys }, (_, i) => Buffer.from(`k${i}:${'x'.repeat(i % 23)}`, 'latin1'));
  const modes: StoreMode[] = ['set', 'set', 'set', 'add', 'replace', 'append', 'prepend'];
  let now = NOW;
  const seenCas = new Map<Buffer, number>();
  const size = (): number => {
    const r = rand();
    if (r < 0.6) return Math.floor(rand() * 200);
    if (r < 0.9) return Math.floor(rand() * w.pageSize / 4);
    return Math.floor(rand() * w.pageSize * 2); // larger than a page: a buffer of its own
  };
  for (let op = 0; op < w.ops; op++) {
    if (rand() < 0.01) now += 1 + Math.floor(rand() * 3);
    const key = keys[Math.floor(rand() * keys.length)]!;
    const r = rand();
    const where = `seed ${w.seed} op ${op}`;
    if (r < 0.4) {
      const mode = modes[Math.floor(rand() * modes.length)]!;
      const value = Buffer.alloc(size(), 0x61 + (op % 26));
      const exptime = rand() < 0.15 ? Math.floor(rand() * 6) - 1 : 0;
      const known = seenCas.get(key) ?? 1;
      const cas = rand() < 0.15 ? (rand() < 0.7 ? known : known + 1) : undefined;
      const a = ref.store({ mode, key, value, flags: op, exptime, cas }, now);
      const b = arena.store({ mode, key, value, flags: op, exptime, cas }, now);
      assert.deepEqual(b, a, `${where}: store ${mode}`);
    } else if (r < 0.65) {
      const a = ref.get(key, now);
      const b = arena.get(key, now);
      assert.deepEqual(plain(b), plain(a), `${where}: get`);
      if (a !== null) seenCas.set(key, a.cas);
    } else if (r < 0.7) {
      const exptime = Math.floor(rand() * 8) - 1;
      assert.deepEqual(plain(arena.getAndTouch({ key, exptime }, now)), plain(ref.getAndTouch({ key, exptime }, now)), `${where}: gat`);
    } else if (r < 0.74) {
      const exptime = Math.floor(rand() * 8) - 1;
      assert.equal(arena.touch({ key, exptime }, now), ref.touch({ key, exptime }, now), `${where}: touch`);
    } else if (r < 0.8) {
      const cas = rand() < 0.2 ? seenCas.get(key) : undefined;
      assert.equal(arena.delete({ key, cas }, now), ref.delete({ key, cas }, now), `${where}: delete`);
    } else if (r < 0.86) {
      if (rand() < 0.3) {
        const n = String(Math.floor(rand() * 1e6) * (rand() < 0.1 ? 1e12 : 1));
        assert.deepEqual(arena.store({ mode: 'set', key, value: Buffer.from(n), flags: 0, exptime: 0 }, now), ref.store({ mode: 'set', key, value: Buffer.from(n), flags: 0, exptime: 0 }, now));
      }
      const incr = rand() < 0.5;
      const delta = BigInt(Math.floor(rand() * 1000));
      const initial = rand() < 0.3 ? BigInt(Math.floor(rand() * 100)) : undefined;
      const a = ref.arith({ key, incr, delta, initial, exptime: 0 }, now);
      const b = arena.arith({ key, incr, delta, initial, exptime: 0 }, now);
      assert.deepEqual({ ...b, item: plain(b.item) }, { ...a, item: plain(a.item) }, `${where}: arith`);
    } else if (r < 0.95) {
      assert.deepEqual(plain(arena.peek(key, now)), plain(ref.peek(key, now)), `${where}: peek`);
    } else if (r < 0.951) {
      const delay = rand() < 0.5 ? 0 : Math.floor(rand() * 4);
      ref.flushAll({ delay }, now);
      arena.flushAll({ delay }, now);
    } else if (r < 0.96) {
      const limit = Math.floor(w.limit * (0.25 + rand() * 0.75));
      ref.setLimit(limit);
      arena.setLimit(limit);
    } else {
      // a burst of small items, as a cache refilling after its sizes changed
      for (let i = 0; i < 20; i++) {
        const k2 = keys[Math.floor(rand() * keys.length)]!;
        const v2 = Buffer.alloc(Math.floor(rand() * 64), 0x30 + i);
        assert.deepEqual(arena.store({ mode: 'set', key: k2, value: v2, flags: i, exptime: 0 }, now), ref.store({ mode: 'set', key: k2, value: v2, flags: i, exptime: 0 }, now), `${where}: burst`);
      }
    }
    assert.equal(arena.bytes, ref.bytes, `${where}: bytes`);
    assert.equal(arena.items, ref.items, `${where}: items`);
    assert.ok(arena.bytes <= arena.limit);
    if (op % 250 === 0) {
      assert.deepEqual({ ...arena.counters }, { ...ref.counters }, `${where}: counters`);
      arena.verify();
      ref.verify();
    }
  }
  assert.deepEqual({ ...arena.counters }, { ...ref.counters });
  arena.verify();
  // Every key reads back the same at the end.
  for (const key of keys) assert.deepEqual(plain(arena.peek(key, now)), plain(ref.peek(key, now)));
  const c = ref.counters;
  assert.ok(c.evictions > 0 && c.expired > 0 && c.cas_hits > 0 && c.incr_hits > 0, 'the workload reached every path');
  return { arena };
}

test('arena matches the reference store op for op (small pages, constant cleaning)', () => {
  for (const seed of [1, 2, 3]) {
    const { arena } = runDifferential({
      seed, ops: 20_000, limit: 128 * 1024, pageSize: 4096, maxItemSize: 16 * 1024, keys: 400,
    });
    const m = arena.engine.memory();
    assert.ok(m.arena.movedBytes > 0, 'the cleaner ran');
  }
});

test('arena matches the reference store with 1 MiB pages and a 1 MiB item size', () => {
  runDifferential({ seed: 7, ops: 10_000, limit: 8 * 1024 * 1024, pageSize: 1 << 20, maxItemSize: 1 << 20, keys: 300 });
});

test('arena matches the reference store when every key hashes alike', () => {
  runDifferential({
    seed: 11, ops: 5_000, limit: 64 * 1024, pageSize: 4096, maxItemSize: 8 * 1024, keys: 150, hash: () => 12345,
  });
});
