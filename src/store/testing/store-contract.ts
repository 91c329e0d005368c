/**
 * The TenantStore contract: every case here must hold for every store implementation
 * (TenantStore, the reference, and ArenaTenantStore). Each implementation's test
 * file calls runStoreContract with a factory; implementation details get their own tests.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ITEM_OVERHEAD } from '../item-cost.ts';
import type { Counters } from '../stats.ts';
import type { TenantStore } from '../store-api.ts';

export interface StoreFactoryOptions {
  readonly limit: number;
  readonly maxItemSize: number;
}
export type StoreFactory = (options: StoreFactoryOptions) => TenantStore;

const NOW = 1_700_000_000;
const MiB = 1024 * 1024;

export function casSource(): () => number {
  let n = 0;
  return () => ++n;
}


const k = (s: string): Buffer => Buffer.from(s, 'latin1');
const v = (s: string): Buffer => Buffer.from(s, 'latin1');
const sizeOf = (key: string, valueLength: number): number => key.length + valueLength + ITEM_OVERHEAD;

function getStr(s: TenantStore, key: string, now = NOW): string | null {
  const item = s.get(k(key), now);
  return item === null ? null : item.value.toString('latin1');
}

function peekStr(s: TenantStore, key: string, now = NOW): string | null {
  const item = s.peek(k(key), now);
  return item === null ? null : item.value.toString('latin1');
}

function pick(c: Counters, ...names: (keyof Counters)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = c[n];
  return out;
}

/** Deterministic PRNG (mulberry32) so a failing random workload can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function runStoreContract(name: string, factory: StoreFactory): void {
  const makeStore = (limit = 64 * MiB, maxItemSize = MiB): TenantStore => factory({ limit, maxItemSize });

  describe(`${name}: TenantStore contract`, () => {
    // ---- basics ----

    test('set then get returns the value, flags, cas and accounts bytes', () => {
      const s = makeStore();
      const r = s.store('set', k('a'), v('hello'), 42, 0, NOW);
      assert.equal(r.status, 'stored');
      assert.ok(r.cas > 0);
      const item = s.get(k('a'), NOW);
      assert.ok(item);
      assert.equal(item.value.toString(), 'hello');
      assert.equal(item.key.toString(), 'a');
      assert.equal(item.flags, 42);
      assert.equal(item.cas, r.cas);
      assert.equal(item.exptime, 0);
      assert.equal(s.items, 1);
      assert.equal(s.bytes, sizeOf('a', 5));
      assert.deepEqual(pick(s.counters, 'cmd_set', 'total_items', 'cmd_get', 'get_hits', 'get_misses'),
        { cmd_set: 1, total_items: 1, cmd_get: 1, get_hits: 1, get_misses: 0 });
      assert.equal(s.get(k('nope'), NOW), null);
      assert.equal(s.counters.get_misses, 1);
      assert.equal(s.counters.cmd_get, 2);
    });

    test('overwriting a key replaces its bytes and gets a new cas', () => {
      const s = makeStore();
      const c1 = s.store('set', k('a'), v('x'.repeat(100)), 0, 0, NOW).cas;
      const c2 = s.store('set', k('a'), v('y'.repeat(10)), 0, 0, NOW).cas;
      assert.notEqual(c1, c2);
      assert.equal(s.items, 1);
      assert.equal(s.bytes, sizeOf('a', 10));
      assert.equal(getStr(s, 'a'), 'y'.repeat(10));
      assert.equal(s.counters.total_items, 2);
    });

    test('get reports lastAccess and fetched as they were before this access', () => {
      const s = makeStore();
      s.store('set', k('a'), v('1'), 0, 0, NOW);
      const first = s.get(k('a'), NOW + 5);
      assert.ok(first);
      assert.equal(first.lastAccess, NOW);
      assert.equal(first.fetched, false);
      const second = s.get(k('a'), NOW + 9);
      assert.ok(second);
      assert.equal(second.lastAccess, NOW + 5);
      assert.equal(second.fetched, true);
      // peek neither counts nor updates
      const before = s.counters.cmd_get;
      const peeked = s.peek(k('a'), NOW + 20);
      assert.ok(peeked);
      assert.equal(peeked.lastAccess, NOW + 9);
      assert.equal(s.counters.cmd_get, before);
      // a new value starts unfetched again
      s.store('set', k('a'), v('2'), 0, 0, NOW + 30);
      const third = s.get(k('a'), NOW + 31);
      assert.ok(third);
      assert.equal(third.fetched, false);
      assert.equal(third.lastAccess, NOW + 30);
    });

    test('binary keys are kept byte for byte', () => {
      const s = makeStore();
      const key1 = Buffer.from([0xff, 0x00, 0xc3, 0xa9]);
      const key2 = Buffer.from([0xff, 0x00, 0xc3, 0xaa]);
      s.store('set', key1, v('one'), 0, 0, NOW);
      s.store('set', key2, v('two'), 0, 0, NOW);
      assert.equal(s.get(key1, NOW)?.value.toString(), 'one');
      assert.equal(s.get(key2, NOW)?.value.toString(), 'two');
      assert.equal(s.bytes, 2 * sizeOf('xxxx', 3));
    });

    test('values handed out stay valid through later reads (one multi-key get)', () => {
      // The contract: a view lives until the next write call. A multi-key get collects
      // every view before encoding, so reads, even ones that reclaim dead items or run
      // a due delayed flush, must not move or overwrite bytes.
      const s = makeStore();
      s.store('set', k('a'), v('alpha'), 0, 0, NOW);
      s.store('set', k('b'), v('beta'), 0, 5, NOW);
      s.store('set', k('c'), v('gamma'), 0, 0, NOW);
      s.store('set', k('d'), v('delta'), 0, 0, NOW);
      const a = s.get(k('a'), NOW + 5);
      assert.equal(s.get(k('b'), NOW + 5), null, 'expired, reclaimed by this read');
      const c = s.getAndTouch(k('c'), -1, NOW + 5); // touched to the past: gone after this read
      const d = s.peek(k('d'), NOW + 5);
      s.flush(2, NOW + 5);
      const a2 = s.get(k('a'), NOW + 6);
      assert.equal(s.get(k('d'), NOW + 8), null, 'this read ran the flush');
      assert.equal(a?.value.toString(), 'alpha');
      assert.equal(c?.value.toString(), 'gamma');
      assert.equal(d?.value.toString(), 'delta');
      assert.equal(a2?.value.toString(), 'alpha');
      assert.equal(s.items, 0);
    });

    // ---- LRU and limits ----

    test('LRU: an accessed item is saved from eviction', () => {
      const itemSize = sizeOf('a', 100);
      const s = makeStore(3 * itemSize);
      s.store('set', k('a'), v('a'.repeat(100)), 0, 0, NOW);
      s.store('set', k('b'), v('b'.repeat(100)), 0, 0, NOW);
      s.store('set', k('c'), v('c'.repeat(100)), 0, 0, NOW);
      assert.equal(s.bytes, 3 * itemSize);
      assert.ok(s.get(k('a'), NOW)); // a is now the most recent, b the least
      s.store('set', k('d'), v('d'.repeat(100)), 0, 0, NOW);
      assert.equal(peekStr(s, 'b'), null, 'b was least recently used');
      assert.ok(peekStr(s, 'a'));
      assert.ok(peekStr(s, 'c'));
      assert.ok(peekStr(s, 'd'));
      assert.equal(s.counters.evictions, 1);
      // touch, incr and a store also bump: touch c, then e evicts a (oldest untouched)
      s.touch(k('c'), 0, NOW);
      s.store('set', k('e'), v('e'.repeat(100)), 0, 0, NOW);
      assert.equal(peekStr(s, 'a'), null);
      assert.ok(peekStr(s, 'c'));
      assert.equal(s.counters.evictions, 2);
      assert.ok(s.bytes <= s.limit);
    });

    test('a read gives an item one second chance at eviction, not lasting protection', () => {
      const s = makeStore(3 * sizeOf('a', 100));
      for (const key of ['a', 'b', 'c']) s.store('set', k(key), v(key.repeat(100)), 0, 0, NOW);
      assert.ok(s.get(k('a'), NOW)); // a is the LRU tail, but read
      s.store('set', k('d'), v('d'.repeat(100)), 0, 0, NOW);
      assert.deepEqual(['a', 'b', 'c', 'd'].map((x) => peekStr(s, x) !== null), [true, false, true, true]);
      s.store('set', k('e'), v('e'.repeat(100)), 0, 0, NOW);
      assert.equal(peekStr(s, 'c'), null, 'c was never read');
      assert.ok(peekStr(s, 'a'));
      s.store('set', k('f'), v('f'.repeat(100)), 0, 0, NOW);
      assert.equal(peekStr(s, 'a'), null, 'not read again since its second chance');
      assert.equal(s.counters.evictions, 3);
      // A rewrite puts the item at the head, as any store does.
      assert.ok(s.get(k('d'), NOW));
      s.store('set', k('d'), v('D'.repeat(100)), 0, 0, NOW);
      s.store('set', k('g'), v('g'.repeat(100)), 0, 0, NOW);
      s.store('set', k('h'), v('h'.repeat(100)), 0, 0, NOW);
      assert.equal(peekStr(s, 'e'), null);
      assert.equal(peekStr(s, 'f'), null);
      assert.ok(peekStr(s, 'd'), 'rewritten, so at the head');
    });

    test('evictions are counted one per evicted item, and only this store is touched', () => {
      const itemSize = sizeOf('k00', 1000);
      const s = makeStore(10 * itemSize);
      for (let i = 0; i < 25; i++) {
        s.store('set', k(`k${String(i).padStart(2, '0')}`), Buffer.alloc(1000, i), 0, 0, NOW);
        assert.ok(s.bytes <= s.limit);
      }
      assert.equal(s.items, 10);
      assert.equal(s.counters.evictions, 15);
      assert.equal(s.counters.expired, 0);
      for (let i = 0; i < 15; i++) assert.equal(s.peek(k(`k${String(i).padStart(2, '0')}`), NOW), null);
      for (let i = 15; i < 25; i++) assert.ok(s.peek(k(`k${String(i).padStart(2, '0')}`), NOW));
    });

    test('a big item evicts as many small ones as it needs', () => {
      const s = makeStore(10_000);
      for (let i = 0; i < 50; i++) s.store('set', k(`s${i}`), Buffer.alloc(100), 0, 0, NOW);
      const evictedBySmall = s.counters.evictions;
      assert.equal(s.items + evictedBySmall, 50);
      s.store('set', k('big'), Buffer.alloc(5000), 0, 0, NOW);
      assert.ok(s.get(k('big'), NOW));
      assert.ok(s.bytes <= s.limit);
      assert.ok(s.counters.evictions > evictedBySmall);
      assert.equal(s.items + s.counters.evictions, 51);
    });

    test('limit is never exceeded under a random workload, and bytes stay honest', () => {
      const rand = rng(12345);
      const limit = 256 * 1024;
      const maxItemSize = 32 * 1024;
      const s = makeStore(limit, maxItemSize);
      const keys = Array.from({ length: 300 }, (_, i) => `key:${i}`);
      let now = NOW;
      for (let op = 0; op < 20_000; op++) {
        if (op % 1000 === 0) now++;
        const key = keys[Math.floor(rand() * keys.length)];
        const r = rand();
        const len = rand() < 0.9 ? Math.floor(rand() * 2000) : Math.floor(rand() * 40_000);
        if (r < 0.55) {
          const res = s.store('set', k(key), Buffer.alloc(len, 0x61), 0, rand() < 0.1 ? 1 : 0, now);
          assert.equal(res.status, key.length + len > maxItemSize ? 'too_large' : 'stored');
        } else if (r < 0.65) {
          s.store(rand() < 0.5 ? 'append' : 'prepend', k(key), Buffer.alloc(len % 3000, 0x62), 0, 0, now);
        } else if (r < 0.7) {
          s.store('add', k(key), Buffer.alloc(len % 5000), 0, 0, now);
        } else if (r < 0.75) {
          s.delete(k(key), now);
        } else if (r < 0.77) {
          s.setLimit(rand() < 0.5 ? limit / 2 : limit);
        } else {
          s.get(k(key), now);
        }
        assert.ok(s.bytes <= s.limit, `op ${op}: bytes ${s.bytes} > limit ${s.limit}`);
        assert.ok(s.bytes >= 0);
        if (op % 500 === 0) {
          // Recompute from what is visible; expired-but-unreclaimed items still count, so
          // compare at a time when nothing can have expired: peek at `now` after reclaiming.
          let sum = 0;
          let count = 0;
          for (const key2 of keys) {
            const item = s.peek(k(key2), now);
            if (item !== null) {
              sum += key2.length + item.value.length + ITEM_OVERHEAD;
              count++;
            }
          }
          assert.equal(s.bytes, sum, `op ${op}: bytes drifted`);
          assert.equal(s.items, count);
        }
      }
      assert.ok(s.counters.evictions > 0);
    });

    test('an expired LRU tail is reclaimed and counted as expired, not evicted', () => {
      const itemSize = sizeOf('a', 100);
      const s = makeStore(3 * itemSize);
      s.store('set', k('a'), Buffer.alloc(100), 0, 10, NOW); // expires at NOW+10
      s.store('set', k('b'), Buffer.alloc(100), 0, 0, NOW);
      s.store('set', k('c'), Buffer.alloc(100), 0, 0, NOW);
      s.store('set', k('d'), Buffer.alloc(100), 0, 0, NOW + 20);
      assert.deepEqual(pick(s.counters, 'evictions', 'expired'), { evictions: 0, expired: 1 });
      s.store('set', k('e'), Buffer.alloc(100), 0, 0, NOW + 20);
      assert.deepEqual(pick(s.counters, 'evictions', 'expired'), { evictions: 1, expired: 1 });
      assert.equal(peekStr(s, 'b', NOW + 20), null);
    });

    test('an expired item just above a live tail is reclaimed before the tail is evicted', () => {
      const itemSize = sizeOf('a', 100);
      const s = makeStore(3 * itemSize);
      s.store('set', k('a'), Buffer.alloc(100), 0, 0, NOW);
      s.store('set', k('b'), Buffer.alloc(100), 0, 5, NOW);
      s.store('set', k('c'), Buffer.alloc(100), 0, 0, NOW);
      s.store('set', k('d'), Buffer.alloc(100), 0, 0, NOW + 10);
      assert.deepEqual(pick(s.counters, 'evictions', 'expired'), { evictions: 0, expired: 1 });
      assert.ok(peekStr(s, 'a', NOW + 10) !== null);
    });

    test('no slab calcification: after filling with 100-byte values, 10 KB values store and stay', () => {
      const limit = 4 * MiB;
      const s = makeStore(limit);
      let i = 0;
      while (s.counters.evictions < 1000) {
        s.store('set', k(`small:${i++}`), Buffer.alloc(100, 1), 0, 0, NOW);
      }
      assert.ok(s.bytes > limit - sizeOf('small:0000000', 100));
      const bigCount = 200; // 2 MB of 10 KB values: half the memory changes size class
      for (let j = 0; j < bigCount; j++) {
        const res = s.store('set', k(`big:${j}`), Buffer.alloc(10 * 1024, j & 0xff), 0, 0, NOW + 1);
        assert.equal(res.status, 'stored');
        assert.equal(s.get(k(`big:${j}`), NOW + 1)?.value.length, 10 * 1024);
        assert.ok(s.bytes <= limit);
      }
      for (let j = 0; j < bigCount; j++) {
        const item = s.get(k(`big:${j}`), NOW + 2);
        assert.ok(item, `big:${j} was lost`);
        assert.equal(item.value[0], j & 0xff);
      }
      // And back again: small values reclaim the big ones' memory.
      for (let j = 0; j < 30_000; j++) s.store('set', k(`again:${j}`), Buffer.alloc(100), 0, 0, NOW + 3);
      for (let j = 29_000; j < 30_000; j++) assert.ok(s.peek(k(`again:${j}`), NOW + 3));
      assert.ok(s.bytes <= limit);
    });

    test('too_large over the item size limit; no_memory over the whole limit', () => {
      const s = makeStore(2000, 1000);
      assert.equal(s.store('set', k('a'), Buffer.alloc(1000), 0, 0, NOW).status, 'too_large');
      assert.equal(s.store('set', k('a'), Buffer.alloc(999), 0, 0, NOW).status, 'stored'); // 1 + 999 = limit
      const t = makeStore(500, 1000);
      assert.equal(t.store('set', k('a'), Buffer.alloc(900), 0, 0, NOW).status, 'no_memory');
      assert.equal(t.items, 0);
      assert.equal(t.bytes, 0);
      assert.equal(t.counters.cmd_set, 1);
      assert.equal(t.counters.total_items, 0);
    });

    test('a failed plain set drops the old value (no stale reads), a failed cas or add does not', () => {
      const s = makeStore(MiB, 1000);
      s.store('set', k('a'), v('old'), 0, 0, NOW);
      assert.equal(s.store('set', k('a'), Buffer.alloc(5000), 0, 0, NOW).status, 'too_large');
      assert.equal(getStr(s, 'a'), null);
      assert.equal(s.bytes, 0);
      const cas = s.store('set', k('b'), v('old'), 0, 0, NOW).cas;
      assert.equal(s.store('set', k('b'), Buffer.alloc(5000), 0, 0, NOW, cas).status, 'too_large');
      assert.equal(s.store('replace', k('b'), Buffer.alloc(5000), 0, 0, NOW).status, 'too_large');
      assert.equal(getStr(s, 'b'), 'old');
    });

    test('setLimit shrinks by evicting LRU items; clear drops all without counting', () => {
      const itemSize = sizeOf('k0', 100);
      const s = makeStore(10 * itemSize);
      for (let i = 0; i < 10; i++) s.store('set', k(`k${i}`), Buffer.alloc(100), 0, 0, NOW);
      s.get(k('k0'), NOW);
      s.setLimit(4 * itemSize);
      assert.equal(s.limit, 4 * itemSize);
      assert.equal(s.items, 4);
      assert.equal(s.bytes, 4 * itemSize);
      assert.equal(s.counters.evictions, 6);
      assert.ok(s.peek(k('k0'), NOW), 'recently read item survives the shrink');
      assert.ok(s.peek(k('k9'), NOW));
      assert.equal(s.peek(k('k1'), NOW), null);
      s.setLimit(100 * itemSize);
      assert.equal(s.items, 4);
      const before = { ...s.counters };
      s.clear();
      assert.equal(s.items, 0);
      assert.equal(s.bytes, 0);
      assert.deepEqual({ ...s.counters }, before);
      assert.equal(s.store('set', k('x'), v('1'), 0, 0, NOW).status, 'stored');
      assert.equal(getStr(s, 'x'), '1');
    });

    test('two stores never share keys, bytes, counters or cas sequence', () => {
      const a = makeStore(MiB, MiB);
      const b = makeStore(MiB, MiB);
      const ca = a.store('set', k('same'), v('in a'), 0, 0, NOW).cas;
      assert.equal(b.get(k('same'), NOW), null);
      for (let i = 0; i < 100; i++) b.store('set', k('same'), v('in b'), 0, 0, NOW);
      assert.equal(getStr(a, 'same'), 'in a');
      assert.equal(getStr(b, 'same'), 'in b');
      // Each store counts its own writes: a's next cas says nothing of b's 100.
      const ca2 = a.store('set', k('same'), v('in a'), 0, 0, NOW).cas;
      assert.equal(ca2, ca + 1);
      assert.equal(a.get(k('same'), NOW)?.cas, ca2);
      a.delete(k('same'), NOW);
      assert.equal(getStr(b, 'same'), 'in b');
      a.flush(0, NOW);
      assert.equal(getStr(b, 'same'), 'in b');
      assert.equal(a.counters.cmd_flush, 1);
      assert.equal(b.counters.cmd_flush, 0);
      // filling a never evicts from b
      const small = makeStore(10 * sizeOf('k0', 100), MiB);
      for (let i = 0; i < 100; i++) small.store('set', k(`k${i}`), Buffer.alloc(100), 0, 0, NOW);
      assert.equal(getStr(b, 'same'), 'in b');
      assert.equal(b.counters.evictions, 0);
    });

    // ---- expiry ----

    test('relative exptime expires after its seconds, lazily counted as expired', () => {
      const s = makeStore();
      s.store('set', k('a'), v('1'), 0, 10, NOW);
      assert.equal(s.get(k('a'), NOW + 9)?.exptime, NOW + 10);
      assert.equal(s.get(k('a'), NOW + 10), null);
      assert.equal(s.counters.expired, 1);
      assert.equal(s.items, 0);
      assert.equal(s.bytes, 0);
    });

    test('absolute exptime (over 30 days) is a unix time', () => {
      const s = makeStore();
      s.store('set', k('a'), v('1'), 0, NOW + 100, NOW);
      assert.equal(s.peek(k('a'), NOW)?.exptime, NOW + 100);
      assert.ok(s.get(k('a'), NOW + 99));
      assert.equal(s.get(k('a'), NOW + 100), null);
      // an absolute time already past stores nothing visible
      assert.equal(s.store('set', k('b'), v('1'), 0, NOW - 100, NOW).status, 'stored');
      assert.equal(s.get(k('b'), NOW), null);
    });

    test('negative exptime stores an already-expired item: the old value is gone', () => {
      const s = makeStore();
      s.store('set', k('a'), v('old'), 0, 0, NOW);
      const r = s.store('set', k('a'), v('new'), 0, -1, NOW);
      assert.equal(r.status, 'stored');
      assert.ok(r.cas > 0);
      assert.equal(s.get(k('a'), NOW), null);
      assert.equal(s.items, 0);
      assert.equal(s.bytes, 0);
      assert.equal(s.counters.total_items, 2);
    });

    test('touch sets a new exptime and counts; a miss counts too', () => {
      const s = makeStore();
      s.store('set', k('a'), v('1'), 0, 10, NOW);
      assert.equal(s.touch(k('a'), 100, NOW + 5), true);
      assert.equal(s.peek(k('a'), NOW + 50)?.exptime, NOW + 105);
      assert.equal(s.touch(k('nope'), 100, NOW), false);
      assert.deepEqual(pick(s.counters, 'cmd_touch', 'touch_hits', 'touch_misses'),
        { cmd_touch: 2, touch_hits: 1, touch_misses: 1 });
      assert.ok(s.get(k('a'), NOW + 104));
      assert.equal(s.get(k('a'), NOW + 105), null);
      // touching to the past ends the item now
      s.store('set', k('b'), v('1'), 0, 0, NOW);
      assert.equal(s.touch(k('b'), -1, NOW), true);
      assert.equal(s.peek(k('b'), NOW), null);
      assert.equal(s.bytes, 0);
    });

    test('getAndTouch returns the item with its new exptime and counts get and touch', () => {
      const s = makeStore();
      s.store('set', k('a'), v('1'), 7, 10, NOW);
      const item = s.getAndTouch(k('a'), 0, NOW + 1);
      assert.ok(item);
      assert.equal(item.exptime, 0);
      assert.equal(item.flags, 7);
      assert.equal(s.getAndTouch(k('nope'), 0, NOW + 1), null);
      assert.deepEqual(pick(s.counters, 'cmd_get', 'get_hits', 'get_misses', 'cmd_touch', 'touch_hits', 'touch_misses'),
        { cmd_get: 2, get_hits: 1, get_misses: 1, cmd_touch: 2, touch_hits: 1, touch_misses: 1 });
      assert.ok(s.get(k('a'), NOW + 10_000));
    });

    // ---- flush ----

    test('flush without delay drops everything now', () => {
      const s = makeStore();
      for (let i = 0; i < 100; i++) s.store('set', k(`k${i}`), Buffer.alloc(50), 0, 0, NOW);
      s.flush(0, NOW);
      assert.equal(s.items, 0);
      assert.equal(s.bytes, 0);
      assert.equal(s.counters.cmd_flush, 1);
      assert.equal(s.get(k('k1'), NOW), null);
      assert.equal(s.counters.expired, 0);
      assert.equal(s.counters.evictions, 0);
      // the store works normally afterwards, in the same second
      s.store('set', k('k1'), v('again'), 0, 0, NOW);
      assert.equal(getStr(s, 'k1'), 'again');
    });

    test('flush with delay: items stored up to the moment die then, later ones survive', () => {
      const s = makeStore();
      s.store('set', k('early'), v('1'), 0, 0, NOW);
      s.flush(10, NOW); // takes effect at NOW+10
      assert.equal(s.counters.cmd_flush, 1);
      assert.equal(getStr(s, 'early', NOW + 5), '1', 'still alive before the moment');
      s.store('set', k('mid'), v('2'), 0, 0, NOW + 8);
      assert.equal(getStr(s, 'early', NOW + 10), null);
      assert.equal(getStr(s, 'mid', NOW + 10), null);
      s.store('set', k('at'), v('3'), 0, 0, NOW + 10); // stored at the moment itself
      assert.equal(getStr(s, 'at', NOW + 10), null);
      s.store('set', k('late'), v('4'), 0, 0, NOW + 11);
      assert.equal(getStr(s, 'late', NOW + 12), '4');
      assert.equal(s.items, 1, 'flushed items were dropped, not kept until found');
      assert.equal(s.bytes, sizeOf('late', 1));
      assert.equal(s.counters.expired, 0);
      // the flush does not fire again
      assert.equal(getStr(s, 'late', NOW + 1000), '4');
    });

    test('a delayed flush frees the bytes at the first call after its moment', () => {
      const s = makeStore();
      for (let i = 0; i < 10; i++) s.store('set', k(`k${i}`), Buffer.alloc(100), 0, 0, NOW);
      s.flush(5, NOW);
      assert.equal(s.items, 10);
      s.get(k('other'), NOW + 6);
      assert.equal(s.items, 0);
      assert.equal(s.bytes, 0);
    });

    test('flush 0 cancels a pending delayed flush; a new delay replaces the old one', () => {
      const s = makeStore();
      s.flush(10, NOW);
      s.flush(0, NOW + 1);
      s.store('set', k('a'), v('1'), 0, 0, NOW + 2);
      assert.equal(getStr(s, 'a', NOW + 20), '1');
      s.flush(10, NOW + 20); // at NOW+30
      s.flush(100, NOW + 21); // replaced: at NOW+121
      assert.equal(getStr(s, 'a', NOW + 50), '1');
      assert.equal(getStr(s, 'a', NOW + 121), null);
      assert.equal(s.counters.cmd_flush, 4);
    });

    test('items dying under a due flush are reclaimed by eviction without counting', () => {
      const itemSize = sizeOf('a', 100);
      const s = makeStore(2 * itemSize);
      s.store('set', k('a'), Buffer.alloc(100), 0, 0, NOW);
      s.flush(5, NOW);
      s.store('set', k('b'), Buffer.alloc(100), 0, 0, NOW + 5);
      s.store('set', k('c'), Buffer.alloc(100), 0, 0, NOW + 5); // needs room: a and b are dead
      assert.deepEqual(pick(s.counters, 'evictions', 'expired'), { evictions: 0, expired: 0 });
      assert.ok(s.bytes <= s.limit);
    });

    // ---- modes and cas ----

    test('add stores only when absent, replace only when present', () => {
      const s = makeStore();
      assert.equal(s.store('replace', k('a'), v('1'), 0, 0, NOW).status, 'not_stored');
      assert.equal(s.store('add', k('a'), v('1'), 0, 0, NOW).status, 'stored');
      assert.equal(s.store('add', k('a'), v('2'), 0, 0, NOW).status, 'not_stored');
      assert.equal(getStr(s, 'a'), '1');
      assert.equal(s.store('replace', k('a'), v('3'), 5, 0, NOW).status, 'stored');
      assert.equal(getStr(s, 'a'), '3');
      assert.equal(s.counters.cmd_set, 4);
      assert.equal(s.counters.total_items, 2);
      // add over an expired item succeeds
      s.store('set', k('e'), v('old'), 0, 1, NOW);
      assert.equal(s.store('add', k('e'), v('new'), 0, 0, NOW + 1).status, 'stored');
      assert.equal(getStr(s, 'e', NOW + 1), 'new');
    });

    test('a cas of 0 is a real compare (ASCII `cas k 0 0 1 0`): it never matches', () => {
      const s = makeStore();
      assert.equal(s.store('set', k('z'), v('1'), 0, 0, NOW, 0).status, 'not_found');
      s.store('set', k('z'), v('1'), 0, 0, NOW);
      assert.equal(s.store('set', k('z'), v('2'), 0, 0, NOW, 0).status, 'exists');
      assert.equal(s.delete(k('z'), NOW, 0), 'exists');
      assert.equal(getStr(s, 'z'), '1');
    });

    test('cas: missing -> not_found, mismatch -> exists, match -> stored, each counted', () => {
      const s = makeStore();
      assert.equal(s.store('set', k('a'), v('1'), 0, 0, NOW, 12345).status, 'not_found');
      const cas = s.store('set', k('a'), v('1'), 0, 0, NOW).cas;
      const bad = s.store('set', k('a'), v('2'), 0, 0, NOW, cas + 1000);
      assert.deepEqual(bad, { status: 'exists', cas: 0 });
      assert.equal(getStr(s, 'a'), '1');
      const ok = s.store('set', k('a'), v('3'), 0, 0, NOW, cas);
      assert.equal(ok.status, 'stored');
      assert.notEqual(ok.cas, cas);
      assert.equal(s.get(k('a'), NOW)?.cas, ok.cas);
      assert.equal(s.store('set', k('a'), v('4'), 0, 0, NOW, cas).status, 'exists', 'old cas is stale');
      assert.deepEqual(pick(s.counters, 'cas_misses', 'cas_badval', 'cas_hits', 'cmd_set'),
        { cas_misses: 1, cas_badval: 2, cas_hits: 1, cmd_set: 5 });
      // an expired item is missing for cas
      s.store('set', k('t'), v('1'), 0, 5, NOW);
      const tcas = s.peek(k('t'), NOW)!.cas;
      assert.equal(s.store('set', k('t'), v('2'), 0, 0, NOW + 5, tcas).status, 'not_found');
    });

    test('cas with append checks the cas, then appends', () => {
      const s = makeStore();
      const cas = s.store('set', k('a'), v('x'), 3, 0, NOW).cas;
      assert.equal(s.store('append', k('a'), v('y'), 0, 0, NOW, cas + 1).status, 'exists');
      assert.equal(s.store('append', k('a'), v('y'), 0, 0, NOW, cas).status, 'stored');
      assert.equal(getStr(s, 'a'), 'xy');
    });

    test('append/prepend keep flags and exptime, need the item, fail over the size limit', () => {
      const s = makeStore(MiB, 100);
      assert.equal(s.store('append', k('a'), v('x'), 0, 0, NOW).status, 'not_stored');
      assert.equal(s.store('prepend', k('a'), v('x'), 0, 0, NOW).status, 'not_stored');
      const c1 = s.store('set', k('a'), v('mid'), 77, 50, NOW).cas;
      const r = s.store('append', k('a'), v('>'), 1, 0, NOW);
      assert.equal(r.status, 'stored');
      assert.notEqual(r.cas, c1);
      assert.equal(s.store('prepend', k('a'), v('<'), 2, 9999, NOW).status, 'stored');
      const item = s.get(k('a'), NOW);
      assert.ok(item);
      assert.equal(item.value.toString(), '<mid>');
      assert.equal(item.flags, 77);
      assert.equal(item.exptime, NOW + 50);
      assert.equal(s.bytes, sizeOf('a', 5));
      // 1 + 5 + 94 = 100 fits; one more byte does not, and the item is unchanged
      assert.equal(s.store('append', k('a'), Buffer.alloc(94, 0x2e), 0, 0, NOW).status, 'stored');
      assert.equal(s.store('append', k('a'), v('!'), 0, 0, NOW).status, 'too_large');
      assert.equal(s.store('prepend', k('a'), v('!'), 0, 0, NOW).status, 'too_large');
      assert.equal(s.get(k('a'), NOW)?.value.length, 99);
      assert.equal(s.bytes, sizeOf('a', 99));
    });

    test('delete counts hits and misses and honours cas', () => {
      const s = makeStore();
      const cas = s.store('set', k('a'), v('1'), 0, 0, NOW).cas;
      assert.equal(s.delete(k('a'), NOW, cas + 1), 'exists');
      assert.equal(getStr(s, 'a'), '1');
      assert.equal(s.delete(k('a'), NOW, cas), 'deleted');
      assert.equal(s.delete(k('a'), NOW), 'not_found');
      s.store('set', k('b'), v('1'), 0, 0, NOW);
      assert.equal(s.delete(k('b'), NOW), 'deleted');
      assert.deepEqual(pick(s.counters, 'cmd_delete', 'delete_hits', 'delete_misses'),
        { cmd_delete: 4, delete_hits: 2, delete_misses: 2 });
      assert.equal(s.items, 0);
      assert.equal(s.bytes, 0);
    });

    // ---- arithmetic ----

    test('incr adds, returns the item after the op with a new cas, and counts', () => {
      const s = makeStore();
      const cas = s.store('set', k('n'), v('41'), 5, 0, NOW).cas;
      const r = s.arith(true, k('n'), 1n, NOW);
      assert.equal(r.status, 'ok');
      assert.equal(r.value, 42n);
      assert.ok(r.item);
      assert.equal(r.item.value.toString(), '42');
      assert.equal(r.item.flags, 5);
      assert.notEqual(r.item.cas, cas);
      assert.equal(getStr(s, 'n'), '42');
      assert.equal(s.bytes, sizeOf('n', 2));
      const big = s.arith(true, k('n'), 1000n, NOW);
      assert.equal(big.value, 1042n);
      assert.equal(s.bytes, sizeOf('n', 4));
      assert.deepEqual(pick(s.counters, 'incr_hits', 'incr_misses'), { incr_hits: 2, incr_misses: 0 });
    });

    test('incr wraps at 2^64', () => {
      const s = makeStore();
      s.store('set', k('n'), v('18446744073709551615'), 0, 0, NOW);
      const r = s.arith(true, k('n'), 1n, NOW);
      assert.equal(r.value, 0n);
      assert.equal(getStr(s, 'n'), '0');
      s.store('set', k('m'), v('18446744073709551610'), 0, 0, NOW);
      assert.equal(s.arith(true, k('m'), 10n, NOW).value, 4n);
      s.store('set', k('x'), v('18446744073709551614'), 0, 0, NOW);
      assert.equal(s.arith(true, k('x'), 1n, NOW).value, 18446744073709551615n);
    });

    test('decr floors at 0 and shrinks the stored value', () => {
      const s = makeStore();
      s.store('set', k('n'), v('100'), 0, 0, NOW);
      assert.equal(s.arith(false, k('n'), 1n, NOW).value, 99n);
      assert.equal(getStr(s, 'n'), '99');
      assert.equal(s.arith(false, k('n'), 1000n, NOW).value, 0n);
      assert.equal(getStr(s, 'n'), '0');
      assert.equal(s.arith(false, k('n'), 1n, NOW).value, 0n);
      assert.equal(s.bytes, sizeOf('n', 1));
      assert.deepEqual(pick(s.counters, 'decr_hits', 'decr_misses'), { decr_hits: 3, decr_misses: 0 });
    });

    test('non-numeric values are refused; trailing spaces are tolerated', () => {
      const s = makeStore();
      const cases: [string, bigint | null][] = [
        ['abc', null], ['', null], ['12a', null], ['-5', null], ['+5', null], [' 5', null], ['1.5', null],
        ['18446744073709551616', null], // 2^64
        ['123456789012345678901', null], // 21 digits
        ['99999999999999999999', null], // 20 digits, over uint64
        ['7   ', 8n], ['007', 8n], ['18446744073709551614', 18446744073709551615n],
      ];
      for (const [value, expected] of cases) {
        s.store('set', k('n'), v(value), 0, 0, NOW);
        const r = s.arith(true, k('n'), 1n, NOW);
        if (expected === null) {
          assert.equal(r.status, 'non_numeric', `'${value}'`);
          assert.equal(getStr(s, 'n'), value, 'value untouched');
        } else {
          assert.equal(r.status, 'ok', `'${value}'`);
          assert.equal(r.value, expected);
        }
      }
    });

    test('arith on a missing key: not_found, or created from initial (counted as a miss)', () => {
      const s = makeStore();
      assert.deepEqual(s.arith(true, k('n'), 5n, NOW), { status: 'not_found', value: 0n, item: null });
      assert.equal(s.counters.incr_misses, 1);
      const r = s.arith(false, k('n'), 5n, NOW, 10n, 100);
      assert.equal(r.status, 'ok');
      assert.equal(r.value, 10n);
      assert.ok(r.item);
      assert.equal(r.item.value.toString(), '10');
      assert.equal(r.item.exptime, NOW + 100);
      assert.deepEqual(pick(s.counters, 'decr_misses', 'decr_hits', 'total_items'),
        { decr_misses: 1, decr_hits: 0, total_items: 1 });
      assert.equal(s.arith(false, k('n'), 3n, NOW).value, 7n);
      assert.equal(s.get(k('n'), NOW + 100), null, 'created with the given exptime');
    });

    test('arith honours cas, and treats an expired item as missing', () => {
      const s = makeStore();
      const cas = s.store('set', k('n'), v('1'), 0, 0, NOW).cas;
      assert.equal(s.arith(true, k('n'), 1n, NOW, undefined, undefined, cas + 1).status, 'exists');
      assert.equal(getStr(s, 'n'), '1');
      const ok = s.arith(true, k('n'), 1n, NOW, undefined, undefined, cas);
      assert.equal(ok.status, 'ok');
      assert.equal(ok.value, 2n);
      s.store('set', k('e'), v('5'), 0, 1, NOW);
      assert.equal(s.arith(true, k('e'), 1n, NOW + 1).status, 'not_found');
      assert.equal(s.counters.expired, 1);
    });

    test('arith keeps exptime and bumps the item in the LRU', () => {
      const itemSize = sizeOf('a', 1);
      const s = makeStore(3 * itemSize);
      s.store('set', k('a'), v('1'), 0, 50, NOW);
      s.store('set', k('b'), v('1'), 0, 0, NOW);
      s.store('set', k('c'), v('1'), 0, 0, NOW);
      s.arith(true, k('a'), 1n, NOW);
      s.store('set', k('d'), v('1'), 0, 0, NOW);
      assert.equal(s.peek(k('b'), NOW), null);
      assert.equal(s.peek(k('a'), NOW)?.exptime, NOW + 50);
    });
  });
}
