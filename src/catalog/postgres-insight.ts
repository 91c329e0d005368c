/**
 * The PostgreSQL catalog's insight storage, the same as sqlite-insight.ts (the reference):
 * history rollups kept by addHistory, latency probes and their rollups, their retention,
 * and the migration that adds the tables (backfilling rollups from the stored history).
 *
 * addHistory runs in one transaction that first takes a transaction-scoped advisory lock
 * per cache it writes (in id order): two control planes writing one (cache, server) at
 * once would otherwise each see the other's sample missing and count the same step
 * twice. Under READ COMMITTED, the statements after the lock see whatever the previous
 * holder committed. Latency needs no lock: a probe's rollup change does not depend on
 * other probes, and the upsert adds atomically.
 */
import type pg from 'pg';
import type { PoolClient } from 'pg';
import type { HistorySample, RetentionPolicy } from './catalog.ts';
import { readHistogram } from '../shared/latency-histogram.ts';
import { LATENCY_LEVELS, latencyRollupsOf, type LatencyLevel, type LatencyProbe, type LatencyRollupRow } from './latency.ts';
import {
  DEFAULT_ROLLUP_RETENTION, ROLLUP_COUNTERS, ROLLUP_GAUGES, ROLLUP_LEVELS, RollupChanges, counterColumn, gaugeColumn,
  groupByServer, rollupBackfillSql, rollupRowFromColumns, type RollupLevel, type RollupRow, type SequenceSample,
} from './rollups.ts';

const COUNTER_COLUMNS = ROLLUP_COUNTERS.map(counterColumn);
const GAUGE_COLUMNS = ROLLUP_GAUGES.map(gaugeColumn);

/**
 * The next step: an index for finding a sample's stored neighbours (the one before and
 * after, per cache and server), which addHistory reads for every (cache, server) it writes.
 * Server first, so the history's own queries (by cache and time, any server) never take
 * it for history_cache_ts.
 */
export const POSTGRES_INSIGHT_INDEX_MIGRATION = `
CREATE INDEX IF NOT EXISTS history_server_ts ON history (server, cache_id, ts);
`;

/** The migration (its own schema_version step): rollup and latency tables, rollups backfilled. */
export const POSTGRES_INSIGHT_MIGRATION = `
CREATE TABLE IF NOT EXISTS history_rollups (
  cache_id integer NOT NULL,
  level integer NOT NULL,
  bucket bigint NOT NULL,
  server text NOT NULL,
  seconds double precision NOT NULL DEFAULT 0,
  samples integer NOT NULL DEFAULT 0,
  ${COUNTER_COLUMNS.map((c) => `${c} bigint NOT NULL DEFAULT 0`).join(',\n  ')},
  gauge_ts bigint NOT NULL DEFAULT -1,
  ${GAUGE_COLUMNS.map((g) => `${g} bigint`).join(',\n  ')},
  PRIMARY KEY (cache_id, level, bucket, server)
);
CREATE INDEX IF NOT EXISTS history_rollups_age ON history_rollups (level, bucket);
CREATE TABLE IF NOT EXISTS latency_probes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  server text NOT NULL, ts bigint NOT NULL, slot bigint NOT NULL, ns bigint NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS latency_one_per_slot ON latency_probes (server, slot);
CREATE INDEX IF NOT EXISTS latency_probes_server_ts ON latency_probes (server, ts);
CREATE INDEX IF NOT EXISTS latency_probes_ts ON latency_probes (ts);
CREATE TABLE IF NOT EXISTS latency_rollups (
  server text NOT NULL,
  level integer NOT NULL,
  bucket bigint NOT NULL,
  count bigint NOT NULL,
  sum_ns bigint NOT NULL,
  max_ns bigint NOT NULL,
  hist jsonb NOT NULL,
  PRIMARY KEY (server, level, bucket)
);
CREATE INDEX IF NOT EXISTS latency_rollups_age ON latency_rollups (level, bucket);
${rollupBackfillSql({ num: (s) => `(stats->>'${s}')::numeric`, nowMs: '(extract(epoch FROM now()) * 1000)::bigint', insert: 'INSERT INTO', onConflict: 'ON CONFLICT DO NOTHING' })}
`;

const ROLLUP_TYPES: Record<string, string> = {
  cache_id: 'integer', level: 'integer', bucket: 'bigint', server: 'text', seconds: 'float8', samples: 'integer', gauge_ts: 'bigint',
};
const ROLLUP_INSERT_COLUMNS = ['cache_id', 'level', 'bucket', 'server', 'seconds', 'samples', ...COUNTER_COLUMNS, 'gauge_ts', ...GAUGE_COLUMNS];

/** One statement for every changed row: arrays in, added to the rows (the gauges move only to a newer sample). */
const UPSERT_ROLLUPS = `
INSERT INTO history_rollups (${ROLLUP_INSERT_COLUMNS.join(', ')})
SELECT * FROM unnest(${ROLLUP_INSERT_COLUMNS.map((c, i) => `$${i + 1}::${ROLLUP_TYPES[c] ?? 'bigint'}[]`).join(', ')})
ON CONFLICT (cache_id, level, bucket, server) DO UPDATE SET
  seconds = history_rollups.seconds + excluded.seconds,
  samples = history_rollups.samples + excluded.samples,
  ${COUNTER_COLUMNS.map((c) => `${c} = history_rollups.${c} + excluded.${c}`).join(',\n  ')},
  ${GAUGE_COLUMNS.map((g) => `${g} = CASE WHEN excluded.gauge_ts >= history_rollups.gauge_ts THEN excluded.${g} ELSE history_rollups.${g} END`).join(',\n  ')},
  gauge_ts = GREATEST(history_rollups.gauge_ts, excluded.gauge_ts)`;

/**
 * Per (cache, server, lo, hi): the stored samples from the one before lo to the one after
 * hi, with stats only outside [lo, hi] (the inserted ones are in memory).
 */
const AROUND = `
WITH g AS MATERIALIZED (
  -- The bounds first, once per group (left to the planner, they may run once per row scanned).
  SELECT g.cache_id, g.server, g.lo, g.hi,
    COALESCE((SELECT ts FROM history p WHERE p.cache_id = g.cache_id AND p.server = g.server AND p.ts < g.lo ORDER BY ts DESC LIMIT 1), g.lo) AS from_ts,
    COALESCE((SELECT ts FROM history n WHERE n.cache_id = g.cache_id AND n.server = g.server AND n.ts > g.hi ORDER BY ts LIMIT 1), g.hi) AS to_ts
  FROM unnest($1::integer[], $2::text[], $3::bigint[], $4::bigint[]) AS g(cache_id, server, lo, hi)
)
SELECT g.cache_id, g.server, h.id, h.ts, CASE WHEN h.ts < g.lo OR h.ts > g.hi THEN h.stats END AS stats
FROM g CROSS JOIN LATERAL (
  SELECT id, ts, stats FROM history x WHERE x.cache_id = g.cache_id AND x.server = g.server AND x.ts >= g.from_ts AND x.ts <= g.to_ts
) h
ORDER BY g.cache_id, g.server, h.ts, h.id`;

/** (index, count) rows of a stored histogram: packed `[index, count, …]`, or the `{"index": count}` of the first rollups. */
const histPairs = (h: string) => `
    SELECT (${h}->>(2 * g))::integer AS k, (${h}->>(2 * g + 1))::bigint AS n
      FROM generate_series(0, CASE WHEN jsonb_typeof(${h}) = 'array' THEN jsonb_array_length(${h}) / 2 - 1 ELSE -1 END) AS g
    UNION ALL
    SELECT key::integer, value::bigint FROM jsonb_each_text(CASE WHEN jsonb_typeof(${h}) = 'object' THEN ${h} ELSE '{}'::jsonb END)`;

/** Two stored histograms' counts added, packed (indexes ascending). */
const MERGE_HIST = `(SELECT COALESCE(jsonb_agg(x ORDER BY k, part), '[]'::jsonb) FROM (
  SELECT k, sum(n) AS n FROM (${histPairs('latency_rollups.hist')} UNION ALL ${histPairs('excluded.hist')}) AS e GROUP BY k
) AS m CROSS JOIN LATERAL (VALUES (0, to_jsonb(m.k)), (1, to_jsonb(m.n))) AS p(part, x))`;

interface AroundRow { cache_id: number; server: string; id: string; ts: string; stats: Record<string, number> | null }

export class PostgresInsight {
  constructor(private readonly pool: pg.Pool) {}

  /** addHistory's body, inside the caller's transaction `c`. */
  async addHistory(c: PoolClient, samples: readonly HistorySample[], slotMs: number): Promise<void> {
    for (const id of [...new Set(samples.map((s) => s.cacheId))].sort((a, b) => a - b)) {
      await c.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.history_rollups'), $1)", [id]);
    }
    const inserted = (await c.query<{ id: string; cache_id: number; server: string; slot: string }>(
      `INSERT INTO history (cache_id, server, ts, stats, slot)
       SELECT * FROM unnest($1::integer[], $2::text[], $3::bigint[], $4::json[], $5::bigint[])
       ON CONFLICT (cache_id, server, slot) DO NOTHING RETURNING id, cache_id, server, slot`,
      [samples.map((s) => s.cacheId), samples.map((s) => s.server), samples.map((s) => s.timestamp),
        samples.map((s) => JSON.stringify(s.stats)), samples.map((s) => Math.floor(s.timestamp / slotMs))],
    )).rows;
    if (inserted.length === 0) return;
    // Which input each inserted row is: the first sample of its (cache, server, slot).
    const bySlot = new Map<string, HistorySample>();
    for (const s of samples) {
      const key = `${s.cacheId}\u0000${s.server}\u0000${Math.floor(s.timestamp / slotMs)}`;
      if (!bySlot.has(key)) bySlot.set(key, s);
    }
    const mine = new Map<string, HistorySample>(inserted.map((r) => [r.id, bySlot.get(`${r.cache_id}\u0000${r.server}\u0000${r.slot}`)!]));
    const groups = groupByServer([...mine.values()]);
    let rows = (await c.query<AroundRow>(AROUND, [groups.map((g) => g.cacheId), groups.map((g) => g.server),
      groups.map((g) => g.samples[0]!.timestamp), groups.map((g) => g.samples.at(-1)!.timestamp)])).rows;
    // Someone else's samples inside an inserted span (out of order): read their stats too.
    const missing = rows.filter((r) => r.stats === null && !mine.has(r.id)).map((r) => r.id);
    if (missing.length) {
      const stats = new Map((await c.query<{ id: string; stats: Record<string, number> }>(
        'SELECT id, stats FROM history WHERE id = ANY($1::bigint[])', [missing])).rows.map((r) => [r.id, r.stats]));
      rows = rows.map((r) => (stats.has(r.id) ? { ...r, stats: stats.get(r.id)! } : r));
    }
    const changes = new RollupChanges();
    let start = 0;
    while (start < rows.length) {
      let end = start;
      while (end < rows.length && rows[end]!.cache_id === rows[start]!.cache_id && rows[end]!.server === rows[start]!.server) end++;
      const seq = rows.slice(start, end).map((r): SequenceSample => {
        const own = mine.get(r.id);
        return own ? { timestamp: own.timestamp, stats: own.stats, inserted: true } : { timestamp: Number(r.ts), stats: r.stats!, inserted: false };
      });
      changes.sequence(rows[start]!.cache_id, rows[start]!.server, seq);
      start = end;
    }
    const list = [...changes.values()];
    const column = (name: string): unknown[] => {
      switch (name) {
        case 'cache_id': return list.map((r) => r.cacheId);
        case 'level': return list.map((r) => r.level);
        case 'bucket': return list.map((r) => r.bucket);
        case 'server': return list.map((r) => r.server);
        case 'seconds': return list.map((r) => r.seconds);
        case 'samples': return list.map((r) => r.samples);
        case 'gauge_ts': return list.map((r) => r.gaugeTs);
      }
      const counter = ROLLUP_COUNTERS.find((k) => counterColumn(k) === name);
      if (counter) return list.map((r) => r.counters[counter]);
      const gauge = ROLLUP_GAUGES.find((k) => gaugeColumn(k) === name)!;
      return list.map((r) => r.gauges[gauge]);
    };
    await c.query(UPSERT_ROLLUPS, ROLLUP_INSERT_COLUMNS.map(column));
  }

  async historyRollups(cacheId: number, level: RollupLevel, from: number, to: number): Promise<RollupRow[]> {
    const rows = (await this.pool.query(
      'SELECT * FROM history_rollups WHERE cache_id = $1 AND level = $2 AND bucket >= $3 AND bucket <= $4 ORDER BY bucket, server COLLATE "C"',
      [cacheId, level, Math.floor(from / level) * level, to],
    )).rows as Record<string, unknown>[];
    return rows.map(rollupRowFromColumns);
  }

  /** addLatency's body, inside the caller's transaction `c`. */
  async addLatency(c: PoolClient, probes: readonly LatencyProbe[], slotMs: number): Promise<void> {
    if (probes.length === 0) return;
    const inserted = (await c.query<{ server: string; ts: string; ns: string }>(
      `INSERT INTO latency_probes (server, ts, slot, ns)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
       ON CONFLICT (server, slot) DO NOTHING RETURNING server, ts, ns`,
      [probes.map((p) => p.server), probes.map((p) => p.timestamp), probes.map((p) => Math.floor(p.timestamp / slotMs)), probes.map((p) => Math.round(p.ns))],
    )).rows.map((r) => ({ server: r.server, timestamp: Number(r.ts), ns: Number(r.ns) }));
    const rollups = latencyRollupsOf(inserted);
    if (rollups.length === 0) return;
    await c.query(
      `INSERT INTO latency_rollups (server, level, bucket, count, sum_ns, max_ns, hist)
       SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::jsonb[])
       ON CONFLICT (server, level, bucket) DO UPDATE SET
         count = latency_rollups.count + excluded.count,
         sum_ns = latency_rollups.sum_ns + excluded.sum_ns,
         max_ns = GREATEST(latency_rollups.max_ns, excluded.max_ns),
         hist = ${MERGE_HIST}`,
      [rollups.map((r) => r.server), rollups.map((r) => r.level), rollups.map((r) => r.bucket), rollups.map((r) => r.count),
        rollups.map((r) => Math.round(r.sumNs)), rollups.map((r) => Math.round(r.maxNs)), rollups.map((r) => JSON.stringify(r.histogram))],
    );
  }

  async latencyProbes(servers: readonly string[], from: number, to: number): Promise<LatencyProbe[]> {
    const rows = (await this.pool.query<{ server: string; ts: string; ns: string }>(
      'SELECT server, ts, ns FROM latency_probes WHERE server = ANY($1::text[]) AND ts >= $2 AND ts <= $3 ORDER BY ts, server COLLATE "C"',
      [servers, from, to],
    )).rows;
    return rows.map((r) => ({ server: r.server, timestamp: Number(r.ts), ns: Number(r.ns) }));
  }

  async latencyRollups(servers: readonly string[], level: LatencyLevel, from: number, to: number): Promise<LatencyRollupRow[]> {
    const rows = (await this.pool.query<{ server: string; level: number; bucket: string; count: string; sum_ns: string; max_ns: string; hist: unknown }>(
      `SELECT server, level, bucket, count, sum_ns, max_ns, hist FROM latency_rollups
       WHERE server = ANY($1::text[]) AND level = $2 AND bucket >= $3 AND bucket <= $4 ORDER BY bucket, server COLLATE "C"`,
      [servers, level, Math.floor(from / level) * level, to],
    )).rows;
    return rows.map((r) => ({
      server: r.server, level: r.level as LatencyLevel, bucket: Number(r.bucket), count: Number(r.count),
      sumNs: Number(r.sum_ns), maxNs: Number(r.max_ns), histogram: readHistogram(r.hist),
    }));
  }

  /** Rollup rows and latency past their retention, inside the caller's transaction `c`. */
  async thin(c: PoolClient, policy: RetentionPolicy, now: number): Promise<void> {
    const keep = policy.rollupMs ?? DEFAULT_ROLLUP_RETENTION;
    // A bucket goes once all of it is older than its level's retention.
    for (const level of ROLLUP_LEVELS) {
      await c.query('DELETE FROM history_rollups WHERE level = $1 AND bucket <= $2', [level, now - keep[level] - level]);
    }
    for (const level of LATENCY_LEVELS) {
      await c.query('DELETE FROM latency_rollups WHERE level = $1 AND bucket <= $2', [level, now - keep[level] - level]);
    }
    await c.query('DELETE FROM latency_probes WHERE ts < $1', [now - keep[ROLLUP_LEVELS[0]]]);
  }
}
