/**
 * The history queries' plans: each reads only the asked cache's rows, through an index
 * on cache_id (history_cache_ts for every range), never a scan of the whole table; and
 * the stepped page ranks only its window, not all of the cache's rows. SQLite, and
 * PostgreSQL when one answers (as in catalog-contract.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Catalog, HistorySample } from './catalog.ts';
import { openPostgresCatalog } from './postgres.ts';
import { HISTORY_SQL as PG_SQL } from './postgres-history.ts';
import { openSqliteCatalog } from './sqlite.ts';
import { HISTORY_SQL as SQLITE_SQL } from './sqlite-history.ts';
import { createTestSchema, postgresSkipReason } from './testing/postgres-schema.ts';

const BASE = Date.UTC(2030, 0, 1);
const MIN = 60_000;

/** Minutes of samples of two servers for caches 1, 2 (the one queried) and 3. */
async function fill(c: Catalog, minutes: readonly [number, number, number]): Promise<void> {
  for (const [i, count] of minutes.entries()) {
    const cacheId = i + 1;
    const batch: HistorySample[] = [];
    for (let m = 0; m < count; m++) {
      for (const server of ['a:1', 'b:1']) batch.push({ cacheId, server, timestamp: BASE + m * MIN, stats: { n: m } });
    }
    await c.addHistory(batch, MIN);
  }
}

test('sqlite: every history query searches history_cache_ts for one cache', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cachier-plan-'));
  const catalog = openSqliteCatalog(dir);
  const db = new Database(join(dir, 'catalog.sqlite'));
  try {
    // Caches of one size: left alone, the planner then walks history_one_per_slot
    // (cache_id, server, …) for the stepped queries, every row of the cache for each page.
    await fill(catalog, [4000, 4000, 4000]);
    db.exec('ANALYZE');
    const values: Record<string, unknown> = {
      // The open-ended range of a last window, where the planner's pick matters most.
      cache: 2, from: BASE, to: Number.MAX_SAFE_INTEGER, step: 30 * MIN, afterTs: BASE, afterServer: 'a:1', afterId: 1, size: 1000, skip: 10,
    };
    for (const [name, sql] of Object.entries(SQLITE_SQL)) {
      const used = Object.fromEntries([...sql.matchAll(/@(\w+)/g)].map(([, k]) => [k!, values[k!]]));
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(used) as { detail: string }[]).map((r) => r.detail);
      const reads = plan.filter((d) => /\bhistory\b/.test(d) && !/^SEARCH h USING INTEGER PRIMARY KEY/.test(d));
      assert.ok(reads.length > 0, `${name}: ${plan.join(' | ')}`);
      for (const d of reads) assert.match(d, /^SEARCH history USING (COVERING )?INDEX history_cache_ts \(cache_id=\? AND ts>\?/, `${name}: ${plan.join(' | ')}`);
    }
  } finally {
    db.close();
    await catalog.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const pgSkip = await postgresSkipReason();

test('postgres: every history query reads one cache\'s rows through an index', { skip: pgSkip }, async () => {
  const schema = await createTestSchema();
  const catalog = await openPostgresCatalog(schema.url);
  try {
    // One tenant among bigger ones. Which index PostgreSQL picks depends on the sizes; either reads only cache 2.
    await fill(catalog, [8000, 500, 8000]);
    await schema.sql('ANALYZE history');
    const page = [2, BASE, BASE + 100 * MIN, BASE, 'a:1', 1, 1000];
    const params: Record<keyof typeof PG_SQL, unknown[]> = {
      PAGE: page, STEPPED_PAGE: [...page, 30 * MIN], NTH_NEWEST: [2, BASE, BASE + 100 * MIN, 10],
      STEPPED_NTH_NEWEST: [2, BASE, BASE + 100 * MIN, 10, 30 * MIN], NTH_TIMESTAMP: [2, BASE, 1000],
    };
    for (const [name, sql] of Object.entries(PG_SQL) as [keyof typeof PG_SQL, string][]) {
      const plan = (await schema.sql<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params[name])).map((r) => r['QUERY PLAN']).join('\n');
      assert.doesNotMatch(plan, /Seq Scan/, `${name}:\n${plan}`);
      assert.match(plan, /Index Cond: \(\(?cache_id = 2\)/, `${name}:\n${plan}`);
    }
  } finally {
    await catalog.close();
    await schema.drop();
  }
});
