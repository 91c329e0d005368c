/**
 * The TenantStore contract: every case here must hold for the policy over every engine
 * (the arena, and the Map engine the differential test compares it with). Each engine's
 * test file calls runStoreContract with a factory; engine details get their own tests.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../shared/testing/seeded-random.ts';
import { ITEM_OVERHEAD } from '../item-cost.ts';
import type { Counters } from '../stats.ts';
import type { RemovalCause, StoreListener } from '../store-listener.ts';
import type { TenantStore } from '../tenant-store.ts';

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


export function runStoreContract(name: string, factory: StoreFactory): void {
  const makeStore = (limit = 64 * MiB, maxItemSize = MiB): TenantStore => factory({ limit, maxItemSize });

  describe(`${name}: TenantStore contract`, () => {
    // ---- basics ----

    test('set then get returns the value, flags, cas and accounts bytes', () => {
      const s = makeStore();
      const r = s.store({ mode: 'set', key: k('a'), value: v('hello'), flags: 42, exptime: 0 }, NOW);
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
      const c1 = s.store({ mode: 'set', key: k('a'), value: v('x'.repeat(100)), flags: 0, exptime: 0 }, NOW).cas;
      const c2 = s.store({ mode: 'set', key: k('a'), value: v('y'.repeat(10)), flags: 0, exptime: 0 }, NOW).cas;
      assert.notEqual(c1, c2);
      assert.equal(s.items, 1);
      assert.equal(s.bytes, sizeOf('a', 10));
      assert.equal(getStr(s, 'a'), 'y'.repeat(10));
      assert.equal(s.counters.total_items, 2);
    });

    test('get reports lastAccess and fetched as they were before this access', () => {
      const s = makeStore();
      s.store({ mode: 'set', key: k('a'), value: v('1'), flags: 0, exptime: 0 }, NOW);
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
      s.store({ mode: 'set', key: k('a'), value: v('2'), flags: 0, exptime: 0 }, NOW + 30);
      const third = s.get(k('a'), NOW + 31);
      assert.ok(third);
      assert.equal(third.fetched, false);
      assert.equal(third.lastAccess, NOW + 30);
    });

    test('binary keys are kept byte for byte', () => {
      const s = makeStore();
      const key1 = Buffer.from([0xff, 0x00, 0xc3, 0xa9]);
      const key2 = Buffer.from([0xff, 0x00, 0xc3, 0xaa]);
      s.store({ mode: 'set', key: key1, value: v('one'), flags: 0, exptime: 0 }, NOW);
      s.store({ mode: 'set', key: key2, value: v('two'), flags: 0, exptime: 0 }, NOW);
      assert.equal(s.get(key1, NOW)?.value.toString(), 'one');
      assert.equal(s.get(key2, NOW)?.value.toString(), 'two');
      assert.equal(s.bytes, 2 * sizeOf('xxxx', 3));
    });

    test('values handed out stay valid through later reads (one multi-key get)', () => {
      // The contract: a view lives until the next write call. A multi-key get collects
      // every view before encoding, so reads, even ones that reclaim dead items or run
      // a due delayed flush, must not move or overwrite bytes.
      const s = makeStore();
      s.store({ mode: 'set', key: k('a'), value: v('alpha'), flags: 0, exptime: 0 }, NOW);
      s.store({ mode: 'set', key: k('b'), value: v('beta'), flags: 0, exptime: 5 }, NOW);
      s.store({ mode: 'set', key: k('c'), value: v('gamma'), flags: 0, exptime: 0 }, NOW);
      s.store({ mode: 'set', key: k('d'), value: v('delta'), flags: 0, exptime: 0 }, NOW);
      const a = s.get(k('a'), NOW + 5);
      assert.equal(s.get(k('b'), NOW + 5), null, 'expired, reclaimed by this read');
      const c = s.getAndTouch({ key: k('c'), exptime: -1 }, NOW + 5); // touched to the past: gone after this read
      const d = s.peek(k('d'), NOW + 5);
      s.flushAll({ delay: 2 }, NOW + 5);
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
      s.store({ mode: 'set', key: k('a'), value: v('a'.repeat(100)), flags: 0, exptime: 0 }, NOW);
      s.store({ mode: 'set', key: k('b'), value: v('b'.repeat(100)), flags: 0, exptime: 0 }, NOW);
      s.store({ mode: 'set', key: k('c'), value: v('c'.repeat(100)), flags: 0, exptime: 0 }, NOW);
      assert.equal(s.bytes, 3 * itemSize);
      assert.ok(s.get(k('a'), NOW)); // a is now the most recent, b the least
      s.store({ mode: 'set', key: k('d'), value: v('d'.repeat(100)), flags: 0, exptime: 0 }, NOW);
      assert.equal(peekStr(s, 'b'), null, 'b was least recently used');
      assert.ok(peekStr(s, 'a'));
      assert.ok(peekStr(s, 'c'));
      assert.ok(peekStr(s, 'd'));
      assert.equal(s.counters.evictions, 1);
      // touch, incr and a store also bump: touch c, then e evicts a (oldest untouched)
      s.touch({ key: k('c'), exptime: 0 }, NOW);
      s.store({ mode: 'set', key: k('e'), value: v('e'.repeat(100)), flags: 0, exptime: 0 }, NOW);
      assert.equal(peekStr(s, 'a'), null);
      assert.ok(peekStr(s, 'c'));
      assert.equal(s.counters.evictions, 2);
      assert.ok(s.bytes <= s.limit);
    });

    test('a read gives an item one second chance at eviction, not lasting protection', () => {
      const s = makeStore(3 * sizeOf('a', 100));
      for (const key of ['a', 'b', 'c']) s.store({ mode: 'set', key: k(key), value: v(key.repeat(100)), flags: 0, exptime: 0 }, NOW);
      assert.ok(s.get(k('a'), NOW)); // a is the LRU tail, but read
      s.store({ mode: 'set', key: k('d'), value: v('d'.repeat(100)), flags: 0, exptime: 0 }, NOW);
      assert.deepEqual(['a', 'b', 'c', 'd'].map((x) => peekStr(s, x) !== null), [true, false, true, true]);
      s.store({ mode: 'set', key: k('e'), value: v('e'.repeat(100)), flags: 0, exptime: 0 }, NOW);
      assert.equal(peekStr(s, 'c'), null, 'c was never read');
      assert.ok(peekStr(s, 'a'));
      s.store({ mode: 'set', key: k('f'), value: v('f'.repeat(100)), flags: 0, exptime: 0 }, NOW);
      assert.equal(peekStr(s, 'a'), null, 'not read again since its second chance');
      assert.equal(s.counters.evictions, 3);
      // A rewrite puts the item at the head, as any store does.
      assert.ok(s.get(k('d'), NOW));
      s.store({ mode: 'set', key: k('d'), value: v('D'.repeat(100)), flags: 0, exptime: 0 }, NOW);
      s.store({ mode: 'set', key: k('g'), value: v('g'.repeat(100)), flags: 0, exptime: 0 }, NOW);
      s.store({ mode: 'set', key: k('h'), value: v('h'.repeat(100)), flags: 0, exptime: 0 }, NOW);
      assert.equal(peekStr(s, 'e'), null);
      assert.equal(peekStr(s, 'f'), null);
      assert.ok(peekStr(s, 'd'), 'rewritten, so at the head');
    });

    test('evictions are counted one per evicted item, and only this store is touched', () => {
      const itemSize = sizeOf('k00', 1000);
      const s = makeStore(10 * itemSize);
      for (let i = 0; i < 25; i++) {
        s.store({ mode: 'set', key: k(`k${String(i).padStart(2, '0')}`), value: Buffer.alloc(1000, i), flags: 0, exptime: 0 }, NOW);
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
      for (let i = 0; i < 50; i++) s.store({ mode: 'set', key: k(`s${i}`), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW);
      const evictedBySmall = s.counters.evictions;
      assert.equal(s.items + evictedBySmall, 50);
      s.store({ mode: 'set', key: k('big'), value: Buffer.alloc(5000), flags: 0, exptime: 0 }, NOW);
      assert.ok(s.get(k('big'), NOW));
      assert.ok(s.bytes <= s.limit);
      assert.ok(s.counters.evictions > evictedBySmall);
      assert.equal(s.items + s.counters.evictions, 51);
    });

    test('limit is never exceeded under a random workload, and bytes stay honest', () => {
      const rand = seededRandom(12345);
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
          const res = s.store({ mode: 'set', key: k(key), value: Buffer.alloc(len, 0x61), flags: 0, exptime: rand() < 0.1 ? 1 : 0 }, now);
          assert.equal(res.status, key.length + len > maxItemSize ? 'too_large' : 'stored');
        } else if (r < 0.65) {
          s.store({ mode: rand() < 0.5 ? 'append' : 'prepend', key: k(key), value: Buffer.alloc(len % 3000, 0x62), flags: 0, exptime: 0 }, now);
        } else if (r < 0.7) {
          s.store({ mode: 'add', key: k(key), value: Buffer.alloc(len % 5000), flags: 0, exptime: 0 }, now);
        } else if (r < 0.75) {
          s.delete({ key: k(key) }, now);
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
      s.store({ mode: 'set', key: k('a'), value: Buffer.alloc(100), flags: 0, exptime: 10 }, NOW); // expires at NOW+10
      s.store({ mode: 'set', key: k('b'), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW);
      s.store({ mode: 'set', key: k('c'), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW);
      s.store({ mode: 'set', key: k('d'), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW + 20);
      assert.deepEqual(pick(s.counters, 'evictions', 'expired'), { evictions: 0, expired: 1 });
      s.store({ mode: 'set', key: k('e'), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW + 20);
      assert.deepEqual(pick(s.counters, 'evictions', 'expired'), { evictions: 1, expired: 1 });
      assert.equal(peekStr(s, 'b', NOW + 20), null);
    });

    test('an expired item just above a live tail is reclaimed before the tail is evicted', () => {
      const itemSize = sizeOf('a', 100);
      const s = makeStore(3 * itemSize);
      s.store({ mode: 'set', key: k('a'), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW);
      s.store({ mode: 'set', key: k('b'), value: Buffer.alloc(100), flags: 0, exptime: 5 }, NOW);
      s.store({ mode: 'set', key: k('c'), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW);
      s.store({ mode: 'set', key: k('d'), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW + 10);
      assert.deepEqual(pick(s.counters, 'evictions', 'expired'), { evictions: 0, expired: 1 });
      assert.ok(peekStr(s, 'a', NOW + 10) !== null);
    });

    test('no slab calcification: after filling with 100-byte values, 10 KB values store and stay', () => {
      const limit = 4 * MiB;
      const s = makeStore(limit);
      let i = 0;
      while (s.counters.evictions < 1000) {
        s.store({ mode: 'set', key: k(`small:${i++}`), value: Buffer.alloc(100, 1), flags: 0, exptime: 0 }, NOW);
      }
      assert.ok(s.bytes > limit - sizeOf('small:0000000', 100));
      const bigCount = 200; // 2 MB of 10 KB values: half the memory changes size class
      for (let j = 0; j < bigCount; j++) {
        const res = s.store({ mode: 'set', key: k(`big:${j}`), value: Buffer.alloc(10 * 1024, j & 0xff), flags: 0, exptime: 0 }, NOW + 1);
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
      for (let j = 0; j < 30_000; j++) s.store({ mode: 'set', key: k(`again:${j}`), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW + 3);
      for (let j = 29_000; j < 30_000; j++) assert.ok(s.peek(k(`again:${j}`), NOW + 3));
      assert.ok(s.bytes <= limit);
    });

    test('too_large over the item size limit; no_memory over the whole limit', () => {
      const s = makeStore(2000, 1000);
      assert.equal(s.store({ mode: 'set', key: k('a'), value: Buffer.alloc(1000), flags: 0, exptime: 0 }, NOW).status, 'too_large');
      assert.equal(s.store({ mode: 'set', key: k('a'), value: Buffer.alloc(999), flags: 0, exptime: 0 }, NOW).status, 'stored'); // 1 + 999 = limit
      const t = makeStore(500, 1000);
      assert.equal(t.store({ mode: 'set', key: k('a'), value: Buffer.alloc(900), flags: 0, exptime: 0 }, NOW).status, 'no_memory');
      assert.equal(t.items, 0);
      assert.equal(t.bytes, 0);
      assert.equal(t.counters.cmd_set, 1);
      assert.equal(t.counters.total_items, 0);
    });

    test('a failed plain set drops the old value (no stale reads), a failed cas or add does not', () => {
      const s = makeStore(MiB, 1000);
      s.store({ mode: 'set', key: k('a'), value: v('old'), flags: 0, exptime: 0 }, NOW);
      assert.equal(s.store({ mode: 'set', key: k('a'), value: Buffer.alloc(5000), flags: 0, exptime: 0 }, NOW).status, 'too_large');
      assert.equal(getStr(s, 'a'), null);
      assert.equal(s.bytes, 0);
      const cas = s.store({ mode: 'set', key: k('b'), value: v('old'), flags: 0, exptime: 0 }, NOW).cas;
      assert.equal(s.store({ mode: 'set', key: k('b'), value: Buffer.alloc(5000), flags: 0, exptime: 0, cas }, NOW).status, 'too_large');
      assert.equal(s.store({ mode: 'replace', key: k('b'), value: Buffer.alloc(5000), flags: 0, exptime: 0 }, NOW).status, 'too_large');
      assert.equal(getStr(s, 'b'), 'old');
    });

    test('setLimit shrinks by evicting LRU items; clear drops all without counting', () => {
      const itemSize = sizeOf('k0', 100);
      const s = makeStore(10 * itemSize);
      for (let i = 0; i < 10; i++) s.store({ mode: 'set', key: k(`k${i}`), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW);
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
      assert.equal(s.store({ mode: 'set', key: k('x'), value: v('1'), flags: 0, exptime: 0 }, NOW).status, 'stored');
      assert.equal(getStr(s, 'x'), '1');
    });

    test('two stores never share keys, bytes, counters or cas sequence', () => {
      const a = makeStore(MiB, MiB);
      const b = makeStore(MiB, MiB);
      const ca = a.store({ mode: 'set', key: k('same'), value: v('in a'), flags: 0, exptime: 0 }, NOW).cas;
      assert.equal(b.get(k('same'), NOW), null);
      for (let i = 0; i < 100; i++) b.store({ mode: 'set', key: k('same'), value: v('in b'), flags: 0, exptime: 0 }, NOW);
      assert.equal(getStr(a, 'same'), 'in a');
      assert.equal(getStr(b, 'same'), 'in b');
      // Each store counts its own writes: a's next cas says nothing of b's 100.
      const ca2 = a.store({ mode: 'set', key: k('same'), value: v('in a'), flags: 0, exptime: 0 }, NOW).cas;
      assert.equal(ca2, ca + 1);
      assert.equal(a.get(k('same'), NOW)?.cas, ca2);
      a.delete({ key: k('same') }, NOW);
      assert.equal(getStr(b, 'same'), 'in b');
      a.flushAll({ delay: 0 }, NOW);
      assert.equal(getStr(b, 'same'), 'in b');
      assert.equal(a.counters.cmd_flush, 1);
      assert.equal(b.counters.cmd_flush, 0);
      // filling a never evicts from b
      const small = makeStore(10 * sizeOf('k0', 100), MiB);
      for (let i = 0; i < 100; i++) small.store({ mode: 'set', key: k(`k${i}`), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW);
      assert.equal(getStr(b, 'same'), 'in b');
      assert.equal(b.counters.evictions, 0);
    });

    // ---- expiry ----

    test('relative exptime expires after its seconds, lazily counted as expired', () => {
      const s = makeStore();
      s.store({ mode: 'set', key: k('a'), value: v('1'), flags: 0, exptime: 10 }, NOW);
      assert.equal(s.get(k('a'), NOW + 9)?.exptime, NOW + 10);
      assert.equal(s.get(k('a'), NOW + 10), null);
      assert.equal(s.counters.expired, 1);
      assert.equal(s.items, 0);
      assert.equal(s.bytes, 0);
    });

    test('reap removes expired and flushed items in its slot range as a lookup would: counters, listener, bytes', () => {
      const s = makeStore();
      const heard: string[] = [];
      let tracked = 0;
      s.listener = {
        hit() {}, miss() {}, stored() {}, mutated() {},
        removed: (key, cause) => heard.push(`${key} ${cause}`),
        cleared: () => heard.push('cleared'),
        tracksItems: true,
        item: (_slot, _key, before, after) => { tracked += after - before; },
      };
      const set = (key: string, exptime: number, now = NOW) => s.store({ mode: 'set', key: k(key), value: v('12345'), flags: 0, exptime }, now);
      for (let i = 0; i < 10; i++) set(`t${i}`, i < 6 ? 5 : 0); // t0..t5 die at NOW + 5
      const liveBytes = s.bytes;
      assert.equal(s.slotSpan, 10);
      // Nothing dead yet: nothing removed, the cursor moves on.
      assert.equal(s.reap(0, 4, NOW + 4), 4);
      assert.equal(s.items, 10);
      // A range, then the rest: the pass ends at 0.
      assert.equal(s.reap(0, 3, NOW + 5), 3);
      assert.deepEqual(heard.splice(0), ['t0 expire', 't1 expire', 't2 expire']);
      assert.equal(s.items, 7);
      assert.equal(s.reap(3, 1000, NOW + 5), 0);
      assert.deepEqual(heard.splice(0), ['t3 expire', 't4 expire', 't5 expire']);
      assert.equal(s.counters.expired, 6, 'counted as a lazy expiry is');
      assert.deepEqual(pick(s.counters, 'cmd_get', 'get_misses', 'evictions'), { cmd_get: 0, get_misses: 0, evictions: 0 });
      assert.equal(s.items, 4);
      assert.equal(s.bytes, liveBytes - 6 * sizeOf('t0', 5));
      assert.equal(tracked, s.bytes, 'item events follow the bytes');
      assert.equal(s.verify(), 4);
      // At a delayed flush's very moment its items are dead but not yet dropped: reaped as flushed, not expired.
      s.flushAll({ delay: 10 }, NOW + 5);
      assert.equal(s.reap(0, 1000, NOW + 14), 0);
      assert.equal(s.items, 4);
      assert.equal(s.reap(0, 1000, NOW + 15), 0);
      assert.deepEqual(heard.splice(0), ['t6 flush', 't7 flush', 't8 flush', 't9 flush']);
      assert.equal(s.counters.expired, 6);
      assert.equal(s.items, 0);
      assert.equal(s.bytes, 0);
      assert.equal(tracked, 0);
      assert.equal(s.verify(), 0);
      set('late', 0, NOW + 16);
      assert.equal(s.reap(0, 1000, NOW + 16), 0);
      assert.equal(getStr(s, 'late', NOW + 16), '12345', 'a live item stays');
      // Past the end or on an empty store: nothing to do, a new pass.
      assert.equal(s.reap(50, 10, NOW + 20), 0);
      s.clear();
      assert.equal(s.reap(0, 10, NOW + 20), 0);
      s.listener = null;
    });

    test('absolute exptime (over 30 days) is a unix time', () => {
      const s = makeStore();
      s.store({ mode: 'set', key: k('a'), value: v('1'), flags: 0, exptime: NOW + 100 }, NOW);
      assert.equal(s.peek(k('a'), NOW)?.exptime, NOW + 100);
      assert.ok(s.get(k('a'), NOW + 99));
      assert.equal(s.get(k('a'), NOW + 100), null);
      // an absolute time already past stores nothing visible
      assert.equal(s.store({ mode: 'set', key: k('b'), value: v('1'), flags: 0, exptime: NOW - 100 }, NOW).status, 'stored');
      assert.equal(s.get(k('b'), NOW), null);
    });

    test('negative exptime stores an already-expired item: the old value is gone', () => {
      const s = makeStore();
      s.store({ mode: 'set', key: k('a'), value: v('old'), flags: 0, exptime: 0 }, NOW);
      const r = s.store({ mode: 'set', key: k('a'), value: v('new'), flags: 0, exptime: -1 }, NOW);
      assert.equal(r.status, 'stored');
      assert.ok(r.cas > 0);
      assert.equal(s.get(k('a'), NOW), null);
      assert.equal(s.items, 0);
      assert.equal(s.bytes, 0);
      assert.equal(s.counters.total_items, 2);
    });

    test('touch sets a new exptime and counts; a miss counts too', () => {
      const s = makeStore();
      s.store({ mode: 'set', key: k('a'), value: v('1'), flags: 0, exptime: 10 }, NOW);
      assert.equal(s.touch({ key: k('a'), exptime: 100 }, NOW + 5), true);
      assert.equal(s.peek(k('a'), NOW + 50)?.exptime, NOW + 105);
      assert.equal(s.touch({ key: k('nope'), exptime: 100 }, NOW), false);
      assert.deepEqual(pick(s.counters, 'cmd_touch', 'touch_hits', 'touch_misses'),
        { cmd_touch: 2, touch_hits: 1, touch_misses: 1 });
      assert.ok(s.get(k('a'), NOW + 104));
      assert.equal(s.get(k('a'), NOW + 105), null);
      // touching to the past ends the item now
      s.store({ mode: 'set', key: k('b'), value: v('1'), flags: 0, exptime: 0 }, NOW);
      assert.equal(s.touch({ key: k('b'), exptime: -1 }, NOW), true);
      assert.equal(s.peek(k('b'), NOW), null);
      assert.equal(s.bytes, 0);
    });

    test('getAndTouch returns the item with its new exptime and counts get and touch', () => {
      const s = makeStore();
      s.store({ mode: 'set', key: k('a'), value: v('1'), flags: 7, exptime: 10 }, NOW);
      const item = s.getAndTouch({ key: k('a'), exptime: 0 }, NOW + 1);
      assert.ok(item);
      assert.equal(item.exptime, 0);
      assert.equal(item.flags, 7);
      assert.equal(s.getAndTouch({ key: k('nope'), exptime: 0 }, NOW + 1), null);
      assert.deepEqual(pick(s.counters, 'cmd_get', 'get_hits', 'get_misses', 'cmd_touch', 'touch_hits', 'touch_misses'),
        { cmd_get: 2, get_hits: 1, get_misses: 1, cmd_touch: 2, touch_hits: 1, touch_misses: 1 });
      assert.ok(s.get(k('a'), NOW + 10_000));
    });

    // ---- flush ----

    test('flush without delay drops everything now', () => {
      const s = makeStore();
      for (let i = 0; i < 100; i++) s.store({ mode: 'set', key: k(`k${i}`), value: Buffer.alloc(50), flags: 0, exptime: 0 }, NOW);
      s.flushAll({ delay: 0 }, NOW);
      assert.equal(s.items, 0);
      assert.equal(s.bytes, 0);
      assert.equal(s.counters.cmd_flush, 1);
      assert.equal(s.get(k('k1'), NOW), null);
      assert.equal(s.counters.expired, 0);
      assert.equal(s.counters.evictions, 0);
      // the store works normally afterwards, in the same second
      s.store({ mode: 'set', key: k('k1'), value: v('again'), flags: 0, exptime: 0 }, NOW);
      assert.equal(getStr(s, 'k1'), 'again');
    });

    test('flush with delay: items stored up to the moment die then, later ones survive', () => {
      const s = makeStore();
      s.store({ mode: 'set', key: k('early'), value: v('1'), flags: 0, exptime: 0 }, NOW);
      s.flushAll({ delay: 10 }, NOW); // takes effect at NOW+10
      assert.equal(s.counters.cmd_flush, 1);
      assert.equal(getStr(s, 'early', NOW + 5), '1', 'still alive before the moment');
      s.store({ mode: 'set', key: k('mid'), value: v('2'), flags: 0, exptime: 0 }, NOW + 8);
      assert.equal(getStr(s, 'early', NOW + 10), null);
      assert.equal(getStr(s, 'mid', NOW + 10), null);
      s.store({ mode: 'set', key: k('at'), value: v('3'), flags: 0, exptime: 0 }, NOW + 10); // stored at the moment itself
      assert.equal(getStr(s, 'at', NOW + 10), null);
      s.store({ mode: 'set', key: k('late'), value: v('4'), flags: 0, exptime: 0 }, NOW + 11);
      assert.equal(getStr(s, 'late', NOW + 12), '4');
      assert.equal(s.items, 1, 'flushed items were dropped, not kept until found');
      assert.equal(s.bytes, sizeOf('late', 1));
      assert.equal(s.counters.expired, 0);
      // the flush does not fire again
      assert.equal(getStr(s, 'late', NOW + 1000), '4');
    });

    test('a delayed flush frees the bytes at the first call after its moment', () => {
      const s = makeStore();
      for (let i = 0; i < 10; i++) s.store({ mode: 'set', key: k(`k${i}`), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW);
      s.flushAll({ delay: 5 }, NOW);
      assert.equal(s.items, 10);
      s.get(k('other'), NOW + 6);
      assert.equal(s.items, 0);
      assert.equal(s.bytes, 0);
    });

    test('flush 0 cancels a pending delayed flush; a new delay replaces the old one', () => {
      const s = makeStore();
      s.flushAll({ delay: 10 }, NOW);
      s.flushAll({ delay: 0 }, NOW + 1);
      s.store({ mode: 'set', key: k('a'), value: v('1'), flags: 0, exptime: 0 }, NOW + 2);
      assert.equal(getStr(s, 'a', NOW + 20), '1');
      s.flushAll({ delay: 10 }, NOW + 20); // at NOW+30
      s.flushAll({ delay: 100 }, NOW + 21); // replaced: at NOW+121
      assert.equal(getStr(s, 'a', NOW + 50), '1');
      assert.equal(getStr(s, 'a', NOW + 121), null);
      assert.equal(s.counters.cmd_flush, 4);
    });

    test('items dying under a due flush are reclaimed by eviction without counting', () => {
      const itemSize = sizeOf('a', 100);
      const s = makeStore(2 * itemSize);
      s.store({ mode: 'set', key: k('a'), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW);
      s.flushAll({ delay: 5 }, NOW);
      s.store({ mode: 'set', key: k('b'), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW + 5);
      s.store({ mode: 'set', key: k('c'), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW + 5); // needs room: a and b are dead
      assert.deepEqual(pick(s.counters, 'evictions', 'expired'), { evictions: 0, expired: 0 });
      assert.ok(s.bytes <= s.limit);
    });

    // ---- modes and cas ----

    test('add stores only when absent, replace only when present', () => {
      const s = makeStore();
      assert.equal(s.store({ mode: 'replace', key: k('a'), value: v('1'), flags: 0, exptime: 0 }, NOW).status, 'not_stored');
      assert.equal(s.store({ mode: 'add', key: k('a'), value: v('1'), flags: 0, exptime: 0 }, NOW).status, 'stored');
      assert.equal(s.store({ mode: 'add', key: k('a'), value: v('2'), flags: 0, exptime: 0 }, NOW).status, 'not_stored');
      assert.equal(getStr(s, 'a'), '1');
      assert.equal(s.store({ mode: 'replace', key: k('a'), value: v('3'), flags: 5, exptime: 0 }, NOW).status, 'stored');
      assert.equal(getStr(s, 'a'), '3');
      assert.equal(s.counters.cmd_set, 4);
      assert.equal(s.counters.total_items, 2);
      // add over an expired item succeeds
      s.store({ mode: 'set', key: k('e'), value: v('old'), flags: 0, exptime: 1 }, NOW);
      assert.equal(s.store({ mode: 'add', key: k('e'), value: v('new'), flags: 0, exptime: 0 }, NOW + 1).status, 'stored');
      assert.equal(getStr(s, 'e', NOW + 1), 'new');
    });

    test('a cas of 0 is a real compare (ASCII `cas k 0 0 1 0`): it never matches', () => {
      const s = makeStore();
      assert.equal(s.store({ mode: 'set', key: k('z'), value: v('1'), flags: 0, exptime: 0, cas: 0 }, NOW).status, 'not_found');
      s.store({ mode: 'set', key: k('z'), value: v('1'), flags: 0, exptime: 0 }, NOW);
      assert.equal(s.store({ mode: 'set', key: k('z'), value: v('2'), flags: 0, exptime: 0, cas: 0 }, NOW).status, 'exists');
      assert.equal(s.delete({ key: k('z'), cas: 0 }, NOW), 'exists');
      assert.equal(getStr(s, 'z'), '1');
    });

    test('cas: missing -> not_found, mismatch -> exists, match -> stored, each counted', () => {
      const s = makeStore();
      assert.equal(s.store({ mode: 'set', key: k('a'), value: v('1'), flags: 0, exptime: 0, cas: 12345 }, NOW).status, 'not_found');
      const cas = s.store({ mode: 'set', key: k('a'), value: v('1'), flags: 0, exptime: 0 }, NOW).cas;
      const bad = s.store({ mode: 'set', key: k('a'), value: v('2'), flags: 0, exptime: 0, cas: cas + 1000 }, NOW);
      assert.deepEqual(bad, { status: 'exists', cas: 0 });
      assert.equal(getStr(s, 'a'), '1');
      const ok = s.store({ mode: 'set', key: k('a'), value: v('3'), flags: 0, exptime: 0, cas }, NOW);
      assert.equal(ok.status, 'stored');
      assert.notEqual(ok.cas, cas);
      assert.equal(s.get(k('a'), NOW)?.cas, ok.cas);
      assert.equal(s.store({ mode: 'set', key: k('a'), value: v('4'), flags: 0, exptime: 0, cas }, NOW).status, 'exists', 'old cas is stale');
      assert.deepEqual(pick(s.counters, 'cas_misses', 'cas_badval', 'cas_hits', 'cmd_set'),
        { cas_misses: 1, cas_badval: 2, cas_hits: 1, cmd_set: 5 });
      // an expired item is missing for cas
      s.store({ mode: 'set', key: k('t'), value: v('1'), flags: 0, exptime: 5 }, NOW);
      const tcas = s.peek(k('t'), NOW)!.cas;
      assert.equal(s.store({ mode: 'set', key: k('t'), value: v('2'), flags: 0, exptime: 0, cas: tcas }, NOW + 5).status, 'not_found');
    });

    test('cas with append checks the cas, then appends', () => {
      const s = makeStore();
      const cas = s.store({ mode: 'set', key: k('a'), value: v('x'), flags: 3, exptime: 0 }, NOW).cas;
      assert.equal(s.store({ mode: 'append', key: k('a'), value: v('y'), flags: 0, exptime: 0, cas: cas + 1 }, NOW).status, 'exists');
      assert.equal(s.store({ mode: 'append', key: k('a'), value: v('y'), flags: 0, exptime: 0, cas }, NOW).status, 'stored');
      assert.equal(getStr(s, 'a'), 'xy');
    });

    test('append/prepend keep flags and exptime, need the item, fail over the size limit', () => {
      const s = makeStore(MiB, 100);
      assert.equal(s.store({ mode: 'append', key: k('a'), value: v('x'), flags: 0, exptime: 0 }, NOW).status, 'not_stored');
      assert.equal(s.store({ mode: 'prepend', key: k('a'), value: v('x'), flags: 0, exptime: 0 }, NOW).status, 'not_stored');
      const c1 = s.store({ mode: 'set', key: k('a'), value: v('mid'), flags: 77, exptime: 50 }, NOW).cas;
      const r = s.store({ mode: 'append', key: k('a'), value: v('>'), flags: 1, exptime: 0 }, NOW);
      assert.equal(r.status, 'stored');
      assert.notEqual(r.cas, c1);
      assert.equal(s.store({ mode: 'prepend', key: k('a'), value: v('<'), flags: 2, exptime: 9999 }, NOW).status, 'stored');
      const item = s.get(k('a'), NOW);
      assert.ok(item);
      assert.equal(item.value.toString(), '<mid>');
      assert.equal(item.flags, 77);
      assert.equal(item.exptime, NOW + 50);
      assert.equal(s.bytes, sizeOf('a', 5));
      // 1 + 5 + 94 = 100 fits; one more byte does not, and the item is unchanged
      assert.equal(s.store({ mode: 'append', key: k('a'), value: Buffer.alloc(94, 0x2e), flags: 0, exptime: 0 }, NOW).status, 'stored');
      assert.equal(s.store({ mode: 'append', key: k('a'), value: v('!'), flags: 0, exptime: 0 }, NOW).status, 'too_large');
      assert.equal(s.store({ mode: 'prepend', key: k('a'), value: v('!'), flags: 0, exptime: 0 }, NOW).status, 'too_large');
      assert.equal(s.get(k('a'), NOW)?.value.length, 99);
      assert.equal(s.bytes, sizeOf('a', 99));
    });

    test('delete counts hits and misses and honours cas', () => {
      const s = makeStore();
      const cas = s.store({ mode: 'set', key: k('a'), value: v('1'), flags: 0, exptime: 0 }, NOW).cas;
      assert.equal(s.delete({ key: k('a'), cas: cas + 1 }, NOW), 'exists');
      assert.equal(getStr(s, 'a'), '1');
      assert.equal(s.delete({ key: k('a'), cas }, NOW), 'deleted');
      assert.equal(s.delete({ key: k('a') }, NOW), 'not_found');
      s.store({ mode: 'set', key: k('b'), value: v('1'), flags: 0, exptime: 0 }, NOW);
      assert.equal(s.delete({ key: k('b') }, NOW), 'deleted');
      assert.deepEqual(pick(s.counters, 'cmd_delete', 'delete_hits', 'delete_misses'),
        { cmd_delete: 4, delete_hits: 2, delete_misses: 2 });
      assert.equal(s.items, 0);
      assert.equal(s.bytes, 0);
    });

    // ---- arithmetic ----

    test('incr adds, returns the item after the op with a new cas, and counts', () => {
      const s = makeStore();
      const cas = s.store({ mode: 'set', key: k('n'), value: v('41'), flags: 5, exptime: 0 }, NOW).cas;
      const r = s.arith({ key: k('n'), incr: true, delta: 1n, exptime: 0 }, NOW);
      assert.equal(r.status, 'ok');
      assert.equal(r.value, 42n);
      assert.ok(r.item);
      assert.equal(r.item.value.toString(), '42');
      assert.equal(r.item.flags, 5);
      assert.notEqual(r.item.cas, cas);
      assert.equal(getStr(s, 'n'), '42');
      assert.equal(s.bytes, sizeOf('n', 2));
      const big = s.arith({ key: k('n'), incr: true, delta: 1000n, exptime: 0 }, NOW);
      assert.equal(big.value, 1042n);
      assert.equal(s.bytes, sizeOf('n', 4));
      assert.deepEqual(pick(s.counters, 'incr_hits', 'incr_misses'), { incr_hits: 2, incr_misses: 0 });
    });

    test('incr wraps at 2^64', () => {
      const s = makeStore();
      s.store({ mode: 'set', key: k('n'), value: v('18446744073709551615'), flags: 0, exptime: 0 }, NOW);
      const r = s.arith({ key: k('n'), incr: true, delta: 1n, exptime: 0 }, NOW);
      assert.equal(r.value, 0n);
      assert.equal(getStr(s, 'n'), '0');
      s.store({ mode: 'set', key: k('m'), value: v('18446744073709551610'), flags: 0, exptime: 0 }, NOW);
      assert.equal(s.arith({ key: k('m'), incr: true, delta: 10n, exptime: 0 }, NOW).value, 4n);
      s.store({ mode: 'set', key: k('x'), value: v('18446744073709551614'), flags: 0, exptime: 0 }, NOW);
      assert.equal(s.arith({ key: k('x'), incr: true, delta: 1n, exptime: 0 }, NOW).value, 18446744073709551615n);
    });

    test('decr floors at 0 and shrinks the stored value', () => {
      const s = makeStore();
      s.store({ mode: 'set', key: k('n'), value: v('100'), flags: 0, exptime: 0 }, NOW);
      assert.equal(s.arith({ key: k('n'), incr: false, delta: 1n, exptime: 0 }, NOW).value, 99n);
      assert.equal(getStr(s, 'n'), '99');
      assert.equal(s.arith({ key: k('n'), incr: false, delta: 1000n, exptime: 0 }, NOW).value, 0n);
      assert.equal(getStr(s, 'n'), '0');
      assert.equal(s.arith({ key: k('n'), incr: false, delta: 1n, exptime: 0 }, NOW).value, 0n);
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
        s.store({ mode: 'set', key: k('n'), value: v(value), flags: 0, exptime: 0 }, NOW);
        const r = s.arith({ key: k('n'), incr: true, delta: 1n, exptime: 0 }, NOW);
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
      assert.deepEqual(s.arith({ key: k('n'), incr: true, delta: 5n, exptime: 0 }, NOW), { status: 'not_found', value: 0n, item: null });
      assert.equal(s.counters.incr_misses, 1);
      const r = s.arith({ key: k('n'), incr: false, delta: 5n, initial: 10n, exptime: 100 }, NOW);
      assert.equal(r.status, 'ok');
      assert.equal(r.value, 10n);
      assert.ok(r.item);
      assert.equal(r.item.value.toString(), '10');
      assert.equal(r.item.exptime, NOW + 100);
      assert.deepEqual(pick(s.counters, 'decr_misses', 'decr_hits', 'total_items'),
        { decr_misses: 1, decr_hits: 0, total_items: 1 });
      assert.equal(s.arith({ key: k('n'), incr: false, delta: 3n, exptime: 0 }, NOW).value, 7n);
      assert.equal(s.get(k('n'), NOW + 100), null, 'created with the given exptime');
    });

    test('arith honours cas, and treats an expired item as missing', () => {
      const s = makeStore();
      const cas = s.store({ mode: 'set', key: k('n'), value: v('1'), flags: 0, exptime: 0 }, NOW).cas;
      assert.equal(s.arith({ key: k('n'), incr: true, delta: 1n, exptime: 0, cas: cas + 1 }, NOW).status, 'exists');
      assert.equal(getStr(s, 'n'), '1');
      const ok = s.arith({ key: k('n'), incr: true, delta: 1n, exptime: 0, cas }, NOW);
      assert.equal(ok.status, 'ok');
      assert.equal(ok.value, 2n);
      s.store({ mode: 'set', key: k('e'), value: v('5'), flags: 0, exptime: 1 }, NOW);
      assert.equal(s.arith({ key: k('e'), incr: true, delta: 1n, exptime: 0 }, NOW + 1).status, 'not_found');
      assert.equal(s.counters.expired, 1);
    });

    test('arith keeps exptime and bumps the item in the LRU', () => {
      const itemSize = sizeOf('a', 1);
      const s = makeStore(3 * itemSize);
      s.store({ mode: 'set', key: k('a'), value: v('1'), flags: 0, exptime: 50 }, NOW);
      s.store({ mode: 'set', key: k('b'), value: v('1'), flags: 0, exptime: 0 }, NOW);
      s.store({ mode: 'set', key: k('c'), value: v('1'), flags: 0, exptime: 0 }, NOW);
      s.arith({ key: k('a'), incr: true, delta: 1n, exptime: 0 }, NOW);
      s.store({ mode: 'set', key: k('d'), value: v('1'), flags: 0, exptime: 0 }, NOW);
      assert.equal(s.peek(k('b'), NOW), null);
      assert.equal(s.peek(k('a'), NOW)?.exptime, NOW + 50);
    });

    // ---- events ----

    test('a listener hears each hit, miss, store, mutation and removal, with its cause', () => {
      const size = sizeOf('a', 1); // every key and value here is one byte
      const s = makeStore(3 * size);
      const heard: string[] = [];
      const listener: StoreListener = {
        hit: (key) => heard.push(`hit ${key}`),
        miss: (key) => heard.push(`miss ${key}`),
        stored: (key, bytes) => heard.push(`stored ${key}${bytes === size ? '' : ` ${bytes} bytes`}`),
        mutated: (key) => heard.push(`mutated ${key}`),
        removed: (key, cause: RemovalCause) => heard.push(`removed ${key} ${cause}`),
        cleared: () => heard.push('cleared'),
        tracksItems: false,
        item: () => assert.fail('item events only when tracksItems'),
      };
      const set = (key: string, exptime = 0, now = NOW) => s.store({ mode: 'set', key: k(key), value: v('1'), flags: 0, exptime }, now);
      const take = () => heard.splice(0);
      set('q');
      assert.equal(s.listener, null, 'nobody listens by default');
      s.listener = listener;

      s.get(k('q'), NOW);
      s.get(k('n'), NOW);
      assert.deepEqual(take(), ['hit q', 'miss n']);
      set('a');
      s.arith({ key: k('a'), incr: true, delta: 1n, exptime: 0 }, NOW);
      s.touch({ key: k('a'), exptime: 100 }, NOW);
      s.getAndTouch({ key: k('a'), exptime: 0 }, NOW);
      s.arith({ key: k('z'), incr: true, delta: 1n, initial: 5n, exptime: 0 }, NOW);
      assert.deepEqual(take(), ['stored a', 'mutated a', 'mutated a', 'hit a', 'mutated a', 'stored z']);
      s.delete({ key: k('a') }, NOW);
      assert.deepEqual(take(), ['removed a delete']);
      // Full with z, q and b: q was read, so c evicts z.
      set('b');
      set('c');
      assert.deepEqual(take(), ['stored b', 'removed z evict', 'stored c']);
      set('e', 5);
      assert.deepEqual(take(), ['removed b evict', 'stored e']);
      assert.equal(s.get(k('e'), NOW + 5), null);
      s.touch({ key: k('c'), exptime: -1 }, NOW + 5);
      assert.deepEqual(take(), ['removed e expire', 'miss e', 'removed c expire']);
      set('d', -1, NOW + 5);
      assert.deepEqual(take(), ['stored d', 'removed d expire']);
      set('f', 0, NOW + 5);
      s.flushAll({ delay: 0 }, NOW + 5);
      assert.deepEqual(take(), ['stored f', 'cleared']);
      set('g', 0, NOW + 6);
      s.flushAll({ delay: 1 }, NOW + 6);
      assert.equal(s.get(k('g'), NOW + 7), null);
      assert.deepEqual(take(), ['stored g', 'removed g flush', 'miss g']);

      s.listener = null;
      set('h', 0, NOW + 8);
      s.get(k('h'), NOW + 8);
      s.delete({ key: k('h') }, NOW + 8);
      assert.deepEqual(heard, []);
    });

    test('item events and a slot scan together count every item exactly once, whatever happens during the scan', () => {
      const s = makeStore(64 * 1024);
      const rand = seededRandom(7);
      const set = (key: string, len: number) => s.store({ mode: 'set', key: k(key), value: Buffer.alloc(len, 0x61), flags: 0, exptime: 0 }, NOW);
      for (let i = 0; i < 300; i++) set(`k${i}`, 1 + Math.floor(rand() * 200));
      // Counted: slots below the scan's cursor (items the scan passed, or written there after).
      let cursor = 0;
      let bytes = 0;
      let items = 0;
      s.listener = {
        hit() {}, miss() {}, stored() {}, mutated() {}, removed() {},
        cleared: () => { bytes = 0; items = 0; cursor = -1; },
        tracksItems: true,
        item: (slot, _key, before, after) => {
          if (cursor !== -1 && slot >= cursor) return;
          bytes += after - before;
          items += (after > 0 ? 1 : 0) - (before > 0 ? 1 : 0);
        },
      };
      while (cursor !== -1) {
        cursor = s.scanSlots(cursor, 17, (_slot, _key, size) => { bytes += size; items++; });
        // Churn between steps: overwrite, delete, add, evict (the cache is near full).
        for (let j = 0; j < 20; j++) {
          const i = Math.floor(rand() * 400);
          const r = rand();
          if (r < 0.3) s.delete({ key: k(`k${i}`) }, NOW);
          else set(`k${i}`, 1 + Math.floor(rand() * 400));
        }
      }
      assert.equal(bytes, s.bytes);
      assert.equal(items, s.items);
      s.flushAll({ delay: 0 }, NOW);
      assert.equal(bytes, 0);
      s.listener = null;
    });
  });
}
