/**
 * TenantStore.walk over every engine (called beside runStoreContract): what a page holds,
 * the bounded cost of a call, and that an item present for a whole walk is listed once
 * however the cache churns between pages.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzSeed, seededRandom } from '../../shared/testing/seeded-random.ts';
import type { TenantStore } from '../tenant-store.ts';
import { WALK_MIN_SLOTS, type WalkItem } from '../walk.ts';
import type { StoreFactory } from './store-contract.ts';

const NOW = 1_700_000_000;
const MiB = 1024 * 1024;
const k = (s: string): Buffer => Buffer.from(s, 'latin1');

function set(s: TenantStore, key: string, value = 'v', exptime = 0, now = NOW, flags = 0): void {
  assert.equal(s.store({ mode: 'set', key: k(key), value: Buffer.from(value), flags, exptime }, now).status, 'stored');
}

/** Every page from the start, with `between` run after each. */
function walkAll(s: TenantStore, limit: number, now = NOW, prefix?: Buffer, between?: () => void): WalkItem[] {
  const all: WalkItem[] = [];
  let cursor: number | null = 0;
  let calls = 0;
  while (cursor !== null) {
    const page = s.walk(cursor, limit, now, prefix);
    assert.ok(page.items.length <= limit);
    if (page.next !== null) assert.ok(page.next > cursor, 'the cursor moves on');
    all.push(...page.items);
    cursor = page.next;
    if (++calls > 1e6) assert.fail('walk does not end');
    between?.();
  }
  return all;
}

const names = (items: readonly WalkItem[]): string[] => items.map((i) => i.key.toString('latin1')).sort();

export function runWalkContract(name: string, factory: StoreFactory): void {
  const makeStore = (limit = 64 * MiB): TenantStore => factory({ limit, maxItemSize: MiB });

  describe(`${name}: TenantStore.walk`, () => {
    test('lists each live item once with its fields, skipping expired and flushed ones, without side effects', () => {
      const s = makeStore();
      set(s, 'a', 'hello', 0, NOW, 7);
      set(s, 'b', 'xy', NOW + 100);
      set(s, 'dies', 'z', NOW + 1);
      s.get(k('a'), NOW + 2);
      const before = { ...s.counters };
      const items = walkAll(s, 100, NOW + 2);
      assert.deepEqual(names(items), ['a', 'b']);
      const a = items.find((i) => i.key.toString() === 'a')!;
      assert.deepEqual({ ...a, key: a.key.toString() },
        { key: 'a', size: 5, exptime: 0, lastAccess: NOW + 2, flags: 7, cas: s.peek(k('a'), NOW + 2)!.cas, fetched: true });
      const b = items.find((i) => i.key.toString() === 'b')!;
      assert.equal(b.exptime, NOW + 100);
      assert.equal(b.fetched, false);
      assert.deepEqual(s.counters, before, 'nothing counted');
      assert.equal(s.items, 3, 'the expired item is skipped, not removed');
      // A delayed flush whose moment passed hides everything stored up to it.
      s.flushAll({ delay: 10 }, NOW + 2);
      set(s, 'later', 'v', 0, NOW + 20);
      assert.deepEqual(names(walkAll(s, 100, NOW + 20)), ['later']);
    });

    test('the key is a copy that outlives later writes', () => {
      const s = makeStore();
      set(s, 'key-one');
      const [item] = s.walk(0, 10, NOW).items;
      for (let i = 0; i < 2000; i++) set(s, `filler${i}`, 'x'.repeat(100));
      s.delete({ key: k('key-one') }, NOW);
      for (let i = 0; i < 2000; i++) s.delete({ key: k(`filler${i}`) }, NOW);
      assert.equal(item!.key.toString(), 'key-one');
    });

    test('pages of any size cover everything once; a prefix selects keys by their bytes', () => {
      const s = makeStore();
      const want: string[] = [];
      for (let i = 0; i < 500; i++) {
        const key = `${i % 3 === 0 ? 'user:' : 'sess:'}${i}`;
        set(s, key);
        want.push(key);
      }
      set(s, 'use');
      for (const limit of [1, 7, 100, 1000]) assert.deepEqual(names(walkAll(s, limit)), [...want, 'use'].sort());
      const users = want.filter((n) => n.startsWith('user:')).sort();
      assert.deepEqual(names(walkAll(s, 10, NOW, k('user:'))), users);
      assert.deepEqual(names(walkAll(s, 10, NOW, k('use'))), [...users, 'use'].sort());
      assert.deepEqual(walkAll(s, 10, NOW, k('nothing')), []);
      assert.deepEqual(names(walkAll(s, 10, NOW, Buffer.alloc(0))).length, 501);
    });

    test('binary keys and a cursor past the end', () => {
      const s = makeStore();
      const key = Buffer.from([0, 1, 0xff, 0x80, 0x20, 0x0d, 0x0a]);
      s.store({ mode: 'set', key, value: k('v'), flags: 0, exptime: 0 }, NOW);
      const items = walkAll(s, 10);
      assert.equal(items.length, 1);
      assert.deepEqual(items[0]!.key, key);
      assert.deepEqual(s.walk(1e9, 10, NOW), { items: [], next: null });
      assert.deepEqual(makeStore().walk(0, 10, NOW), { items: [], next: null });
    });

    test('a call visits a bounded number of slots: a sparse cache gives short pages that go on', () => {
      const s = makeStore();
      const n = 3 * WALK_MIN_SLOTS;
      for (let i = 0; i < n; i++) set(s, `k${i}`);
      // Keep one item in the last slots only (slots are handed out in order in a fresh store).
      for (let i = 0; i < n - 1; i++) s.delete({ key: k(`k${i}`) }, NOW);
      const first = s.walk(0, 10, NOW);
      assert.deepEqual(first.items, []);
      assert.equal(first.next, WALK_MIN_SLOTS);
      assert.deepEqual(names(walkAll(s, 10)), [`k${n - 1}`]);
    });

    // The second cache holds the first 600 items and little more, so the churn evicts; pages
    // of 20 keep it to ~30 steps, so some of the first items survive it.
    for (const [limitBytes, pageLimit] of [[64 * MiB, 0], [56_000, 20]] as const) {
      const seed = fuzzSeed();
      test(`an item present for the whole walk is listed exactly once under sets, deletes${limitBytes < MiB ? ', evictions' : ''} (seed ${seed})`, () => {
        const rand = seededRandom(seed);
        const s = makeStore(limitBytes);
        const KEYS = 600;
        for (let i = 0; i < KEYS; i++) set(s, `k${i}`, 'x'.repeat(Math.floor(rand() * 60)));
        // Keys live now; one that is ever found absent between two steps is no longer "present throughout".
        const stayed = new Set<string>();
        for (let i = 0; i < KEYS; i++) if (s.peek(k(`k${i}`), NOW)) stayed.add(`k${i}`);
        const evictionsBefore = s.counters.evictions;
        let step = 0;
        const seen = new Map<string, number>();
        const listed = walkAll(s, pageLimit || 1 + Math.floor(rand() * 20), NOW, undefined, () => {
          for (let j = 0; j < 15; j++) {
            const i = Math.floor(rand() * KEYS * 1.5);
            const r = rand();
            if (r < 0.25) s.delete({ key: k(`k${i}`) }, NOW);
            else if (r < 0.35) s.store({ mode: 'append', key: k(`k${i}`), value: k('++'), flags: 0, exptime: 0 }, NOW);
            else set(s, `k${i}`, 'y'.repeat(Math.floor(rand() * 80)));
            for (const key of stayed) if (s.peek(k(key), NOW) === null) stayed.delete(key);
          }
          // A new big item each step grows the small cache past its limit, so it evicts.
          if (pageLimit > 0) {
            set(s, `big${step++}`, 'b'.repeat(600));
            for (const key of stayed) if (s.peek(k(key), NOW) === null) stayed.delete(key);
          }
        });
        for (const item of listed) {
          const key = item.key.toString('latin1');
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
        assert.ok(stayed.size > 0, 'some items stayed');
        if (limitBytes < MiB) assert.ok(s.counters.evictions > evictionsBefore, 'the churn evicted');
        for (const key of stayed) assert.equal(seen.get(key), 1, `${key} listed once`);
        s.verify();
      });
    }
  });
}
