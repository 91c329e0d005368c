/**
 * Introspection in the PostgreSQL catalog, the same as sqlite-introspection.ts (the
 * reference). POSTGRES_INTROSPECTION_MIGRATION is one step of postgres.ts's MIGRATIONS; the
 * cache row's BEFORE UPDATE trigger already stamps every change, so nodes see new columns in
 * changesSince with nothing more. Watching locks the cache row before it counts, so two
 * control planes cannot both add the 50th; prefix ids come from a sequence.
 */
import type pg from 'pg';
import type { PoolClient } from 'pg';
import type { PrefixSample, WatchedPrefix } from './catalog.ts';
import { checkPrefixName, planWatch, readWatchedPrefixes, toPrefixSample, type PrefixRow } from './prefix-watch.ts';

export const POSTGRES_INTROSPECTION_MIGRATION = `
ALTER TABLE caches ADD COLUMN IF NOT EXISTS introspection boolean NOT NULL DEFAULT true;
ALTER TABLE caches ADD COLUMN IF NOT EXISTS watched_prefixes jsonb NOT NULL DEFAULT '[]';
CREATE SEQUENCE IF NOT EXISTS watched_prefix_ids;
CREATE TABLE IF NOT EXISTS prefix_history (
  cache_id integer NOT NULL, prefix_id bigint NOT NULL, server text NOT NULL, slot bigint NOT NULL, ts bigint NOT NULL,
  num_keys bigint NOT NULL, total_size bigint NOT NULL, hits bigint NOT NULL, misses bigint NOT NULL, mutations bigint NOT NULL,
  PRIMARY KEY (cache_id, prefix_id, server, slot)
);
CREATE INDEX IF NOT EXISTS prefix_history_cache_ts ON prefix_history (cache_id, prefix_id, ts);
CREATE INDEX IF NOT EXISTS prefix_history_ts ON prefix_history (ts);
`;

export class PostgresIntrospection {
  constructor(private readonly pool: pg.Pool) {}

  /** Within a transaction: the row lock is held to commit. */
  async watchPrefix(c: PoolClient, cacheId: number, name: string): Promise<WatchedPrefix | 'limit' | 'no_cache'> {
    checkPrefixName(name);
    const list = await lockedList(c, cacheId);
    if (!list) return 'no_cache';
    const plan = planWatch(list, name);
    if (plan === 'limit') return plan;
    if (plan !== 'add') return plan.found;
    const { id } = (await c.query<{ id: string }>("SELECT nextval('watched_prefix_ids') AS id")).rows[0]!;
    const made: WatchedPrefix = { id: Number(id), name, createdAt: Date.now() };
    await c.query('UPDATE caches SET watched_prefixes = $2::jsonb WHERE id = $1', [cacheId, JSON.stringify([...list, made])]);
    return made;
  }

  /** Within a transaction. */
  async unwatchPrefix(c: PoolClient, cacheId: number, prefixId: number): Promise<boolean> {
    const list = await lockedList(c, cacheId);
    if (!list) return false;
    const kept = list.filter((p) => p.id !== prefixId);
    if (kept.length === list.length) return false;
    await c.query('UPDATE caches SET watched_prefixes = $2::jsonb WHERE id = $1', [cacheId, JSON.stringify(kept)]);
    await c.query('DELETE FROM prefix_history WHERE cache_id = $1 AND prefix_id = $2', [cacheId, prefixId]);
    return true;
  }

  /** One statement; a later sample of a taken slot, even within `rows`, is ignored. */
  async addPrefixHistory(rows: readonly PrefixSample[], slotMs: number): Promise<void> {
    if (rows.length === 0) return;
    const col = <K extends keyof PrefixSample>(k: K) => rows.map((r) => r[k]);
    await this.pool.query(
      `INSERT INTO prefix_history (cache_id, prefix_id, server, slot, ts, num_keys, total_size, hits, misses, mutations)
       SELECT * FROM unnest($1::integer[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[],
                            $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[])
       ON CONFLICT (cache_id, prefix_id, server, slot) DO NOTHING`,
      [col('cacheId'), col('prefixId'), col('server'), rows.map((r) => Math.floor(r.timestamp / slotMs)), col('timestamp'),
        col('keys'), col('bytes'), col('hits'), col('misses'), col('mutations')],
    );
  }

  async prefixHistory(cacheId: number, prefixId: number, from: number, to: number): Promise<PrefixSample[]> {
    const { rows } = await this.pool.query<PrefixRow>(
      `SELECT * FROM prefix_history WHERE cache_id = $1 AND prefix_id = $2 AND ts >= $3 AND ts <= $4 ORDER BY ts, server`,
      [cacheId, prefixId, from, to],
    );
    return rows.map(toPrefixSample);
  }

  /** Within thinHistory's transaction: prefix samples live as long as raw history. */
  async thin(c: PoolClient, rawMs: number, now: number): Promise<void> {
    await c.query('DELETE FROM prefix_history WHERE ts < $1', [now - rawMs]);
  }

  /** Within deleteCache's transaction. */
  async dropCache(c: PoolClient, cacheId: number): Promise<void> {
    await c.query('DELETE FROM prefix_history WHERE cache_id = $1', [cacheId]);
  }
}

/** The live cache's list, its row locked (FOR NO KEY UPDATE: credentials referencing it are not blocked). */
async function lockedList(c: PoolClient, cacheId: number): Promise<ReturnType<typeof readWatchedPrefixes> | undefined> {
  const row = (await c.query<{ watched_prefixes: unknown }>(
    'SELECT watched_prefixes FROM caches WHERE id = $1 AND NOT deleted FOR NO KEY UPDATE', [cacheId],
  )).rows[0];
  return row && readWatchedPrefixes(row.watched_prefixes);
}
