/**
 * Introspection in the catalog (docs/introspection.md), run against both catalogs as the
 * Catalog contract is (catalog-contract.test.ts): the flag and watched prefixes on the
 * cache row, reaching another connection through changesSince; the cap under concurrent
 * watches; prefix history's slot rule, order and retention; each catalog's migration from
 * the version before (SQLite user_version 6, PostgreSQL schema 9).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_WATCHED_PREFIXES, type Catalog, type PrefixSample, type WatchedPrefix } from './catalog.ts';
import { MIGRATIONS as POSTGRES_MIGRATIONS, openPostgresCatalog } from './postgres.ts';
import { BASE_SCHEMA as SQLITE_BASE_SCHEMA, MIGRATIONS as SQLITE_MIGRATIONS, openSqliteCatalog } from './sqlite.ts';
import { createTestSchema, postgresSkipReason } from './testing/postgres-schema.ts';
import { forEachCatalog } from './testing/catalog-harness.ts';

const pgSkip = await postgresSkipReason();

const DAY = 86_400_000;

function watched(made: WatchedPrefix | 'limit' | 'no_cache'): WatchedPrefix {
  assert.equal(typeof made, 'object', `expected a watched prefix, got ${String(made)}`);
  return made as WatchedPrefix;
}

const sample = (cacheId: number, prefixId: number, server: string, timestamp: number, n: number): PrefixSample =>
  ({ cacheId, prefixId, server, timestamp, keys: n, bytes: 10 * n, hits: 2 * n, misses: 3 * n, mutations: 4 * n });

forEachCatalog('introspection catalog', (withCatalog) => {
  test('introspection is on by default; updateCache turns it off and on, moving the revision; other fields keep', withCatalog(async (c, h) => {
    const other = await h.another();
    const { cache } = await c.createCache({ memoryBytes: 1 << 20, name: 'intro' });
    assert.equal(cache.introspection, true);
    assert.deepEqual(cache.watchedPrefixes, []);
    const r0 = await c.revision();
    const off = await c.updateCache(cache.id, { introspection: false });
    assert.deepEqual(off, { ...cache, introspection: false });
    assert.ok((await c.revision()) > r0);
    assert.deepEqual((await other.changesSince(r0))!.caches, [off]);
    assert.deepEqual((await other.snapshot()).caches, [off]);
    assert.deepEqual(await c.updateCache(cache.id, { memoryBytes: 2 << 20 }), { ...off, memoryBytes: 2 << 20 }, 'absent: unchanged');
    assert.equal((await c.updateCache(cache.id, { introspection: true }))!.introspection, true);
    assert.equal(await c.updateCache(9999, { introspection: false }), undefined);
  }));

  test('watch: ids unique in the catalog, idempotent by name, on the row another connection reads through changesSince', withCatalog(async (c, h) => {
    const other = await h.another();
    const { cache: a } = await c.createCache({ memoryBytes: 1 << 20 });
    const { cache: b } = await c.createCache({ memoryBytes: 1 << 20 });
    const r0 = await c.revision();
    const before = Date.now();
    const users = watched(await c.watchPrefix(a.id, 'user:'));
    assert.equal(users.name, 'user:');
    assert.ok(users.createdAt >= before && users.createdAt <= Date.now());
    const utf8 = watched(await c.watchPrefix(a.id, 'çé/日本:'));
    const onB = watched(await c.watchPrefix(b.id, 'user:'));
    assert.equal(new Set([users.id, utf8.id, onB.id]).size, 3, 'ids are unique across caches');

    const d = (await other.changesSince(r0))!;
    assert.deepEqual(d.caches.map((x) => [x.id, x.watchedPrefixes]), [[a.id, [users, utf8]], [b.id, [onB]]]);
    assert.deepEqual((await other.getCache(a.id))!.watchedPrefixes, [users, utf8]);
    assert.deepEqual((await other.snapshot()).caches.map((x) => x.watchedPrefixes), [[users, utf8], [onB]]);

    const r1 = await c.revision();
    assert.deepEqual(await other.watchPrefix(a.id, 'user:'), users, 'watching it again returns the same one');
    assert.equal(await c.revision(), r1, 'and changes nothing');

    assert.equal(await c.unwatchPrefix(a.id, users.id), true);
    const d2 = (await other.changesSince(r1))!;
    assert.deepEqual(d2.caches.map((x) => [x.id, x.watchedPrefixes]), [[a.id, [utf8]]]);
    assert.equal(await c.unwatchPrefix(a.id, users.id), false, 'already gone');
    assert.equal(await c.unwatchPrefix(a.id, onB.id), false, 'another cache\'s prefix');
    assert.equal(await c.unwatchPrefix(9999, utf8.id), false);
    const again = watched(await c.watchPrefix(a.id, 'user:'));
    assert.ok(again.id > onB.id, 'an id is never reused');

    assert.equal(await c.watchPrefix(9999, 'x'), 'no_cache');
    await c.deleteCache(b.id);
    assert.equal(await c.watchPrefix(b.id, 'x'), 'no_cache', 'a deleted cache');
    assert.equal(await c.unwatchPrefix(b.id, onB.id), false);
    await assert.rejects(c.watchPrefix(a.id, ''), RangeError);
    await assert.rejects(c.watchPrefix(a.id, 'é'.repeat(126)), RangeError, '252 bytes');
    assert.equal(watched(await c.watchPrefix(a.id, 'k'.repeat(250))).name.length, 250);
  }));

  test(`at most ${MAX_WATCHED_PREFIXES} watched prefixes a cache, also under concurrent watches from two connections`, withCatalog(async (c, h) => {
    const other = await h.another();
    const { cache } = await c.createCache({ memoryBytes: 1 << 20 });
    for (let i = 0; i < MAX_WATCHED_PREFIXES - 3; i++) watched(await c.watchPrefix(cache.id, `p${i}:`));
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? c : other).watchPrefix(cache.id, `race${i}:`)));
    assert.equal(results.filter((r) => typeof r === 'object').length, 3);
    assert.equal(results.filter((r) => r === 'limit').length, 5);
    const list = (await c.getCache(cache.id))!.watchedPrefixes;
    assert.equal(list.length, MAX_WATCHED_PREFIXES);
    assert.equal(new Set(list.map((p) => p.id)).size, MAX_WATCHED_PREFIXES);
    assert.equal(await c.watchPrefix(cache.id, 'one-more:'), 'limit');
    assert.deepEqual(await c.watchPrefix(cache.id, 'p0:'), list[0], 'a watched one is still returned when full');
    assert.equal(await c.unwatchPrefix(cache.id, list[0]!.id), true);
    watched(await other.watchPrefix(cache.id, 'one-more:'));
  }));

  test('prefix history: one sample per slot across connections, by time then server, within [from, to]', withCatalog(async (c, h) => {
    const other = await h.another();
    const { cache } = await c.createCache({ memoryBytes: 1 << 20 });
    const p = watched(await c.watchPrefix(cache.id, 'a:'));
    const q = watched(await c.watchPrefix(cache.id, 'b:'));
    const t = 1_700_000_000_000;
    await c.addPrefixHistory([sample(cache.id, p.id, 'z:1', t, 1), sample(cache.id, p.id, 'a:1', t + 5, 2)], 60_000);
    // Another control plane samples the same minute: nothing; the next minute and another prefix: kept.
    await other.addPrefixHistory([sample(cache.id, p.id, 'z:1', t + 30_000, 9), sample(cache.id, p.id, 'a:1', t + 60_000, 3),
      sample(cache.id, q.id, 'z:1', t + 30_000, 7)], 60_000);
    // Within one call, the first of a slot wins.
    await c.addPrefixHistory([sample(cache.id, p.id, 'z:1', t + 120_000, 4), sample(cache.id, p.id, 'z:1', t + 130_000, 8)], 60_000);
    await c.addPrefixHistory([]);
    const got = await other.prefixHistory(cache.id, p.id, t, t + 120_000);
    assert.deepEqual(got, [
      sample(cache.id, p.id, 'z:1', t, 1), sample(cache.id, p.id, 'a:1', t + 5, 2),
      sample(cache.id, p.id, 'a:1', t + 60_000, 3), sample(cache.id, p.id, 'z:1', t + 120_000, 4),
    ]);
    assert.deepEqual((await c.prefixHistory(cache.id, p.id, t + 1, t + 60_000)).map((s) => s.keys), [2, 3], 'bounds inclusive');
    assert.deepEqual(await c.prefixHistory(cache.id, q.id, 0, t * 2), [sample(cache.id, q.id, 'z:1', t + 30_000, 7)]);
    // Without slotMs, only the same millisecond is the same slot.
    await c.addPrefixHistory([sample(cache.id, q.id, 'z:1', t + 30_001, 8), sample(cache.id, q.id, 'z:1', t + 30_001, 9)]);
    assert.deepEqual((await c.prefixHistory(cache.id, q.id, 0, t * 2)).map((s) => s.keys), [7, 8]);
    assert.ok(Number.isSafeInteger((await c.prefixHistory(cache.id, q.id, 0, t * 2))[0]!.bytes));
  }));

  test('prefix history goes with its prefix, its cache, and past the raw retention; the revision does not move', withCatalog(async (c) => {
    const { cache: a } = await c.createCache({ memoryBytes: 1 << 20 });
    const { cache: b } = await c.createCache({ memoryBytes: 1 << 20 });
    const p = watched(await c.watchPrefix(a.id, 'a:'));
    const q = watched(await c.watchPrefix(a.id, 'b:'));
    const r = watched(await c.watchPrefix(b.id, 'a:'));
    const now = Date.now();
    const r0 = await c.revision();
    await c.addPrefixHistory([p, q].flatMap((x) => [sample(a.id, x.id, 's:1', now - 8 * DAY, 1), sample(a.id, x.id, 's:1', now - DAY, 2)])
      .concat(sample(b.id, r.id, 's:1', now - DAY, 5)));
    assert.equal(await c.revision(), r0, 'samples are not catalog changes');

    await c.thinHistory({ rawMs: 7 * DAY, hourlyMs: 90 * DAY }, now);
    assert.deepEqual((await c.prefixHistory(a.id, p.id, 0, now)).map((s) => s.keys), [2], 'older than rawMs: gone');
    assert.equal(await c.unwatchPrefix(a.id, p.id), true);
    assert.deepEqual(await c.prefixHistory(a.id, p.id, 0, now), []);
    assert.deepEqual((await c.prefixHistory(a.id, q.id, 0, now)).map((s) => s.keys), [2]);
    await c.deleteCache(a.id);
    assert.deepEqual(await c.prefixHistory(a.id, q.id, 0, now), []);
    assert.deepEqual((await c.prefixHistory(b.id, r.id, 0, now)).map((s) => s.keys), [5], 'other caches keep theirs');
  }));
});

/** What a catalog of the version before must become on open: defaults on its caches, then everything working. */
async function assertUpgraded(c: Catalog): Promise<void> {
  const [old] = await c.listCaches();
  assert.equal(old!.introspection, true);
  assert.deepEqual(old!.watchedPrefixes, []);
  const r0 = await c.revision();
  const p = watched(await c.watchPrefix(old!.id, 'old:'));
  assert.ok(p.id >= 1);
  assert.equal((await c.updateCache(old!.id, { introspection: false }))!.introspection, false);
  const d = (await c.changesSince(r0))!;
  assert.deepEqual(d.caches.map((x) => [x.introspection, x.watchedPrefixes]), [[false, [p]]]);
  await c.addPrefixHistory([sample(old!.id, p.id, 's:1', 5, 1)], 1000);
  assert.deepEqual(await c.prefixHistory(old!.id, p.id, 0, 10), [sample(old!.id, p.id, 's:1', 5, 1)]);
}

describe('introspection migration: SQLite user_version 6 → 7', () => {
  test('an existing file upgrades in place: its caches get the defaults, rows changed after carry the new fields', async () => {
    assert.ok(SQLITE_MIGRATIONS.length >= 7);
    const dir = mkdtempSync(join(tmpdir(), 'cachier-introspection-'));
    try {
      const db = new Database(join(dir, 'catalog.sqlite'));
      db.exec(SQLITE_BASE_SCHEMA);
      for (const step of SQLITE_MIGRATIONS.slice(0, 6)) db.exec(step);
      db.pragma('user_version = 6');
      db.exec(`INSERT INTO caches (name, memory_bytes, created_at) VALUES ('old', 1048576, 1);`);
      db.close();
      const c = openSqliteCatalog(dir, () => {}); // the file made here is 0644: no warning wanted
      try {
        const check = new Database(join(dir, 'catalog.sqlite'), { readonly: true });
        assert.equal(check.pragma('user_version', { simple: true }), SQLITE_MIGRATIONS.length);
        check.close();
        await assertUpgraded(c);
      } finally {
        await c.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('introspection migration: PostgreSQL schema 9 → 10', { skip: pgSkip }, () => {
  test('an existing schema upgrades in place: its caches get the defaults, rows changed after carry the new fields', async () => {
    assert.ok(POSTGRES_MIGRATIONS.length >= 10);
    const s = await createTestSchema();
    try {
      await s.sql(`CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
        ${POSTGRES_MIGRATIONS.slice(0, 9).join(';\n')};
        INSERT INTO meta (key, value) VALUES ('schema_version', '9');
        INSERT INTO caches (name, memory_bytes, created_at) VALUES ('old', 1048576, 1);`);
      const c = await openPostgresCatalog(s.url);
      try {
        assert.equal((await s.sql<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'"))[0]!.value, String(POSTGRES_MIGRATIONS.length));
        await assertUpgraded(c);
      } finally {
        await c.close();
      }
    } finally {
      await s.drop();
    }
  });
});
