// History retention on PostgreSQL at scale: thinning keeps the first sample of each hour
// per (cache, server), and must cost about one pass over the old samples. Its delete was
// `id NOT IN (SELECT MIN(id) … GROUP BY cache_id, server, hour)`; when the planner expects
// more hour groups than it will hash (189,000 in the catalog of `npm run bench:control`,
// 800,000 here), PostgreSQL scanned the subquery's materialized result once per row: 210 s
// for the bench's 90-day backlog, and quadratic in the catalog's size every hour after. 1,600,000 samples here (4 servers, 200,000 hours, two
// samples an hour), written straight into the table and analyzed as autovacuum would:
// thinned in seconds (it did not finish in 4 minutes before), one left an hour.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Catalog } from '../src/catalog/catalog.ts';
import { openPostgresCatalog } from '../src/catalog/postgres.ts';
import { createTestSchema, postgresSkipReason, type TestSchema } from '../src/catalog/testing/postgres-schema.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const HOURS = 200_000;
const SERVERS = 4;
const NOW = Date.UTC(2026, 11, 6);
/** Everything below is older than the raw window (7 days) and inside the hourly one. */
const FIRST = NOW - 8 * DAY - HOURS * HOUR;

const skip = await postgresSkipReason();
let schema: TestSchema;
let catalog: Catalog;
before(async () => {
  if (skip) return;
  schema = await createTestSchema();
  catalog = await openPostgresCatalog(schema.url);
});
after(async () => {
  if (skip) return;
  await catalog.close();
  await schema.drop();
});

test('PostgreSQL: thinning 1,600,000 old samples to one an hour takes seconds, not a pass per sample', { skip, timeout: 150_000 }, async () => {
  const { cache } = await catalog.createCache({ memoryBytes: 1 << 20 });
  // Two samples an hour (at :00 and :30) per server.
  await schema.sql(
    `INSERT INTO history (cache_id, server, ts, stats, slot)
     SELECT $1, 'server-' || s, $2::bigint + h * ${HOUR} + m * 60000, '{"cmd_get":1}', ($2::bigint + h * ${HOUR} + m * 60000) / 60000
       FROM generate_series(0, ${SERVERS - 1}) AS s, generate_series(0::bigint, ${HOURS - 1}) AS h, (VALUES (30), (0)) AS minutes(m)`,
    [cache.id, FIRST],
  );
  // What autovacuum does to a table this size: the planner then knows how many hours there are.
  await schema.sql('ANALYZE history');
  const started = performance.now();
  const removed = await catalog.thinHistory({ rawMs: 7 * DAY, hourlyMs: 100_000 * DAY }, NOW);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(removed, SERVERS * HOURS);
  assert.ok(seconds < 60, `thinned in ${seconds.toFixed(1)} s`);
  // One sample left of each hour of each server.
  const [kept] = await schema.sql<{ n: string; groups: string }>(
    `SELECT count(*) AS n, count(DISTINCT (server, ts / ${HOUR})) AS groups FROM history`,
  );
  assert.deepEqual([Number(kept!.n), Number(kept!.groups)], [SERVERS * HOURS, SERVERS * HOURS]);
});
