/**
 * The arena's memory behaviour, through the store: pages come lazily, sizes can shift
 * without starving anything, fragmentation stays bounded, and memory goes back when the
 * contents shrink. verify() cross-checks pages, table, index and byte count each time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../shared/testing/seeded-random.ts';
import { casSource } from '../testing/store-contract.ts';
import { createArenaStore, type ArenaStore } from './arena-engine.ts';
import { CHUNK_HEADER, pageSizeFor } from './page-arena.ts';
import { BYTES_PER_SLOT } from '../item-table.ts';

const NOW = 1_700_000_000;
const KiB = 1024;
const MiB = 1024 * 1024;

function arenaStore(limit: number, pageSize?: number, maxItemSize = MiB): ArenaStore {
  return createArenaStore({ limit, maxItemSize, nextCas: casSource(), pageSize });
}

const key = (prefix: string, i: number): Buffer => Buffer.from(`${prefix}:${String(i).padStart(7, '0')}`);

test('page size follows the limit, and pages are only allocated as items arrive', () => {
  assert.equal(pageSizeFor(0), 64 * KiB);
  assert.equal(pageSizeFor(4 * MiB), 128 * KiB);
  assert.equal(pageSizeFor(64 * MiB), MiB);
  assert.equal(pageSizeFor(1024 * MiB), MiB);
  const s = arenaStore(1024 * MiB);
  assert.equal(s.engine.memory().arena.footprint, 0, 'an idle 1 GiB cache holds no page');
  s.store({ mode: 'set', key: key('k', 1), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW);
  assert.equal(s.engine.memory().arena.pages, 1);
  assert.equal(s.engine.memory().arena.footprint, MiB);
  for (let i = 0; i < 20_000; i++) s.store({ mode: 'set', key: key('k', i), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW);
  // 20,000 chunks of 4 + 9 + 100 bytes: 3 pages
  assert.equal(s.engine.memory().arena.liveBytes, 20_000 * (CHUNK_HEADER + 9 + 100));
  assert.equal(s.engine.memory().arena.pages, 3);
  assert.equal(s.verify(), 20_000);
});

test('no calcification: after filling with 100 B values, 10 KB values store and stay, in bounded memory', () => {
  const limit = 16 * MiB;
  const s = arenaStore(limit);
  let i = 0;
  while (s.counters.evictions < 10_000) s.store({ mode: 'set', key: key('small', i++), value: Buffer.alloc(100, 1), flags: 0, exptime: 0 }, NOW);
  s.verify();
  // Every 10th small item is read, so evictions leave them scattered over every page.
  const first = i - s.items;
  for (let j = first; j < i; j += 10) assert.ok(s.get(key('small', j), NOW));
  const big = 800; // 8 MB of 10 KB values: half the memory changes size
  for (let j = 0; j < big; j++) {
    assert.equal(s.store({ mode: 'set', key: key('big', j), value: Buffer.alloc(10 * KiB, j & 0xff), flags: 0, exptime: 0 }, NOW + 1).status, 'stored');
    assert.equal(s.get(key('big', j), NOW + 1)?.value.length, 10 * KiB);
  }
  for (let j = 0; j < big; j++) {
    const item = s.get(key('big', j), NOW + 2);
    assert.ok(item, `big:${j} was lost`);
    assert.equal(item.value[0], j & 0xff);
    assert.equal(item.value[10 * KiB - 1], j & 0xff);
  }
  for (let j = first; j < i; j += 10) assert.ok(s.peek(key('small', j), NOW + 2), `hot small:${j} was evicted`);
  s.verify();
  const m = s.engine.memory();
  assert.equal(m.arena.largeChunks, 0, '10 KB values are packed in pages');
  assert.ok(m.arena.movedBytes > 0, 'the cleaner moved the survivors to make room');
  assert.ok(m.arena.footprint <= limit * 8 / 7 + 2 * s.engine.memory().arena.pageSize, `arena holds ${m.arena.footprint}`);
  // And back to small values: they reuse the big ones' pages.
  for (let j = 0; j < 120_000; j++) s.store({ mode: 'set', key: key('again', j), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW + 3);
  for (let j = 119_000; j < 120_000; j++) assert.ok(s.peek(key('again', j), NOW + 3));
  s.verify();
  assert.ok(s.engine.memory().arena.footprint <= limit * 8 / 7 + 2 * s.engine.memory().arena.pageSize);
});

test('fragmentation stays bounded under random sizes, deletes and overwrites', () => {
  const rand = seededRandom(99);
  const pageSize = 16 * KiB;
  const limit = 2 * MiB;
  const s = arenaStore(limit, pageSize, 64 * KiB);
  const keys = Array.from({ length: 5000 }, (_, i) => key('r', i));
  let worst = 0;
  for (let op = 0; op < 200_000; op++) {
    const k = keys[Math.floor(rand() * keys.length)]!;
    const r = rand();
    if (r < 0.75) {
      // mostly small, some up to the packing threshold, a few in their own buffers
      const len = rand() < 0.8 ? Math.floor(rand() * 300) : rand() < 0.9 ? Math.floor(rand() * pageSize / 8) : 40 * KiB;
      s.store({ mode: 'set', key: k, value: Buffer.alloc(len, op & 0xff), flags: 0, exptime: 0 }, NOW);
    } else if (r < 0.95) {
      s.delete({ key: k }, NOW);
    } else {
      s.store({ mode: 'append', key: k, value: Buffer.alloc(Math.floor(rand() * 200)), flags: 0, exptime: 0 }, NOW);
    }
    if (op % 1000 === 999) {
      s.verify();
      const a = s.engine.memory().arena;
      const packed = a.footprint - a.largeBytes;
      // Pages in use stay within 2x the live bytes (compaction starts at half dead),
      // plus the head, the reserve and one page per write call's worth of slack.
      worst = Math.max(worst, (packed - 3 * pageSize) / a.liveBytes);
      assert.ok(packed <= 2 * a.liveBytes + 3 * pageSize, `op ${op}: ${packed} bytes of pages for ${a.liveBytes} live`);
    }
  }
  assert.ok(s.counters.evictions > 0);
  assert.ok(worst < 2);
});

test('a set-only churn keeps pages within 8/7 of the live bytes', () => {
  const rand = seededRandom(5);
  const pageSize = 64 * KiB;
  const s = arenaStore(8 * MiB, pageSize);
  for (let op = 0; op < 300_000; op++) {
    const len = rand() < 0.9 ? 50 + Math.floor(rand() * 200) : Math.floor(rand() * 8000);
    s.store({ mode: 'set', key: key('c', Math.floor(rand() * 100_000)), value: Buffer.alloc(len), flags: 0, exptime: 0 }, NOW);
  }
  s.verify();
  const a = s.engine.memory().arena;
  assert.ok(s.counters.evictions > 0);
  assert.ok(a.footprint - a.largeBytes <= a.liveBytes * 8 / 7 + 3 * pageSize, JSON.stringify(a));
});

test('memory goes back: deletes, a smaller limit and a flush return pages', () => {
  const s = arenaStore(64 * MiB);
  const n = 200_000;
  for (let i = 0; i < n; i++) s.store({ mode: 'set', key: key('m', i), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW);
  const full = s.engine.memory().arena.pages;
  assert.ok(full >= 22);
  // Delete 90% scattered over every page: compaction follows the deletes.
  for (let i = 0; i < n; i++) if (i % 10 !== 0) s.delete({ key: key('m', i) }, NOW);
  s.verify();
  const afterDeletes = s.engine.memory().arena.pages;
  assert.ok(afterDeletes <= Math.ceil(full / 10 * 2) + 3, `${afterDeletes} of ${full} pages kept after 90% deletes`);
  for (let i = 0; i < n; i += 10) assert.equal(s.get(key('m', i), NOW)?.value.length, 100);
  // Refill, then shrink the limit to a quarter.
  for (let i = 0; i < n; i++) s.store({ mode: 'set', key: key('m', i), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW);
  s.setLimit(s.bytes / 4);
  for (let i = 0; i < 100; i++) s.store({ mode: 'set', key: key('x', i), value: Buffer.alloc(100), flags: 0, exptime: 0 }, NOW); // writes finish the compaction
  s.verify();
  assert.ok(s.engine.memory().arena.pages <= Math.ceil(full / 4 * 2) + 3, `${s.engine.memory().arena.pages} pages after shrinking`);
  s.flushAll({ delay: 0 }, NOW);
  assert.deepEqual(
    { pages: s.engine.memory().arena.pages, footprint: s.engine.memory().arena.footprint, table: s.engine.memory().table },
    { pages: 0, footprint: 0, table: 64 * BYTES_PER_SLOT },
  );
});

test('chunks over 1/8 of a page get a buffer of their own and are freed with their item', () => {
  const s = arenaStore(64 * MiB, 64 * KiB);
  s.store({ mode: 'set', key: key('L', 1), value: Buffer.alloc(8 * KiB, 7), flags: 0, exptime: 0 }, NOW); // over 8 KiB with key and header
  s.store({ mode: 'set', key: key('L', 2), value: Buffer.alloc(1000, 8), flags: 0, exptime: 0 }, NOW);
  let a = s.engine.memory().arena;
  assert.equal(a.largeChunks, 1);
  assert.equal(a.largeBytes, 9 + 8 * KiB);
  assert.equal(s.get(key('L', 1), NOW)?.value[8 * KiB - 1], 7);
  s.store({ mode: 'append', key: key('L', 2), value: Buffer.alloc(8 * KiB, 9), flags: 0, exptime: 0 }, NOW); // grows into its own buffer
  a = s.engine.memory().arena;
  assert.equal(a.largeChunks, 2);
  const v = s.get(key('L', 2), NOW)!.value;
  assert.equal(v.length, 1000 + 8 * KiB);
  assert.equal(v[0], 8);
  assert.equal(v[v.length - 1], 9);
  s.delete({ key: key('L', 1) }, NOW);
  s.store({ mode: 'set', key: key('L', 2), value: Buffer.alloc(10), flags: 0, exptime: 0 }, NOW); // shrinks back into a page
  a = s.engine.memory().arena;
  assert.equal(a.largeChunks, 0);
  assert.equal(a.largeBytes, 0);
  assert.equal(s.verify(), 1);
});
