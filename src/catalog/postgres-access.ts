/**
 * AccessCatalog (access.ts) on PostgreSQL; same semantics as sqlite-access.ts.
 * POSTGRES_ACCESS_MIGRATION is one step of postgres.ts's MIGRATIONS.
 *
 * Rotation against a concurrent sign-in: opening a session reads the token row FOR SHARE
 * and inserts in the same transaction; a rotation first rewrites the token row (waiting
 * for such a reader to commit) and only then, in a new statement (a new snapshot), deletes
 * the cache's sessions — so a session opened with the old token is always deleted, and
 * one that waited for the rotation sees the new hash and is refused.
 */
import type pg from 'pg';
import type { PoolClient } from 'pg';
import {
  accessTokenHash, accessTokenMatches, newAccessToken, type AccessCatalog, type ActivityUpdate, type CacheActivity,
  type CacheStatus, type DisabledReason, type EnableIdleResult,
} from './access.ts';
import { inTransaction } from './postgres-transaction.ts';

export const POSTGRES_ACCESS_MIGRATION = `
ALTER TABLE caches ADD COLUMN IF NOT EXISTS disabled_reason text;
ALTER TABLE caches ADD COLUMN IF NOT EXISTS disabled_at bigint;
UPDATE caches SET disabled_reason = 'operator' WHERE NOT enabled AND disabled_reason IS NULL;
-- Whatever sets enabled to false without naming a reason is an operator's doing; enabling clears it.
CREATE OR REPLACE FUNCTION cache_disabled_reason() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.enabled AND NOT NEW.enabled AND NEW.disabled_reason IS NOT DISTINCT FROM OLD.disabled_reason THEN
    NEW.disabled_reason := 'operator';
    NEW.disabled_at := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  ELSIF NOT OLD.enabled AND NEW.enabled THEN
    NEW.disabled_reason := NULL;
    NEW.disabled_at := NULL;
  END IF;
  RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS caches_disabled_reason ON caches;
CREATE TRIGGER caches_disabled_reason BEFORE UPDATE OF enabled ON caches
  FOR EACH ROW EXECUTE FUNCTION cache_disabled_reason();
CREATE TABLE IF NOT EXISTS cache_sso (cache_id integer PRIMARY KEY, token_hash text NOT NULL, rotated_at bigint NOT NULL);
CREATE TABLE IF NOT EXISTS dashboard_sessions (
  id_hash text PRIMARY KEY, cache_id integer NOT NULL, created_at bigint NOT NULL, expires_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS dashboard_sessions_cache ON dashboard_sessions (cache_id);
CREATE INDEX IF NOT EXISTS dashboard_sessions_expiry ON dashboard_sessions (expires_at);
CREATE TABLE IF NOT EXISTS cache_activity (cache_id integer PRIMARY KEY, last_traffic_at bigint NOT NULL, marks json NOT NULL);
`;

interface StatusRow {
  enabled: boolean; disabled_reason: DisabledReason | null; disabled_at: string | null;
  last_traffic_at: string | null; has_sso: boolean;
}

export class PostgresAccess implements AccessCatalog {
  constructor(private readonly pool: pg.Pool) {}

  private tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn);
  }

  async rotateSsoToken(cacheId: number, now = Date.now()) {
    return this.tx(async (c) => {
      const token = newAccessToken();
      const done = await c.query(
        `INSERT INTO cache_sso (cache_id, token_hash, rotated_at)
         SELECT id, $2, $3 FROM caches WHERE id = $1 AND NOT deleted
         ON CONFLICT (cache_id) DO UPDATE SET token_hash = excluded.token_hash, rotated_at = excluded.rotated_at`,
        [cacheId, accessTokenHash(token), now],
      );
      if (done.rowCount === 0) return undefined;
      await c.query('DELETE FROM dashboard_sessions WHERE cache_id = $1', [cacheId]);
      return token;
    });
  }

  async openSsoSession(cacheId: number, token: string, ttlMs: number, now = Date.now()) {
    await this.pool.query('DELETE FROM dashboard_sessions WHERE expires_at <= $1', [now]);
    return this.tx(async (c) => {
      const row = (await c.query<{ token_hash: string }>(
        `SELECT s.token_hash FROM cache_sso s JOIN caches x ON x.id = s.cache_id AND NOT x.deleted
         WHERE s.cache_id = $1 FOR SHARE OF s`,
        [cacheId],
      )).rows[0];
      if (!row || !accessTokenMatches(token, row.token_hash)) return undefined;
      const session = newAccessToken();
      await c.query(
        'INSERT INTO dashboard_sessions (id_hash, cache_id, created_at, expires_at) VALUES ($1, $2, $3, $4)',
        [accessTokenHash(session), cacheId, now, now + ttlMs],
      );
      return session;
    });
  }

  async sessionCache(sessionId: string, now = Date.now()) {
    const row = (await this.pool.query<{ cache_id: number }>(
      'SELECT cache_id FROM dashboard_sessions WHERE id_hash = $1 AND expires_at > $2',
      [accessTokenHash(sessionId), now],
    )).rows[0];
    return row?.cache_id;
  }

  async endSession(sessionId: string) {
    await this.pool.query('DELETE FROM dashboard_sessions WHERE id_hash = $1', [accessTokenHash(sessionId)]);
  }

  async cacheStatus(cacheId: number): Promise<CacheStatus | undefined> {
    const row = (await this.pool.query<StatusRow>(
      `SELECT c.enabled, c.disabled_reason, c.disabled_at, a.last_traffic_at,
              EXISTS (SELECT 1 FROM cache_sso WHERE cache_id = c.id) AS has_sso
       FROM caches c LEFT JOIN cache_activity a ON a.cache_id = c.id
       WHERE c.id = $1 AND NOT c.deleted`,
      [cacheId],
    )).rows[0];
    if (!row) return undefined;
    return {
      enabled: row.enabled,
      disabledReason: row.enabled ? null : (row.disabled_reason ?? 'operator'),
      disabledAt: row.enabled || row.disabled_at === null ? null : Number(row.disabled_at),
      lastTrafficAt: row.last_traffic_at === null ? null : Number(row.last_traffic_at),
      hasSsoLink: row.has_sso,
    };
  }

  async cacheActivity() {
    const rows = (await this.pool.query<{ cache_id: number; last_traffic_at: string; marks: Record<string, number> }>(
      'SELECT cache_id, last_traffic_at, marks FROM cache_activity',
    )).rows;
    return new Map<number, CacheActivity>(rows.map((r) => [r.cache_id, { lastTrafficAt: Number(r.last_traffic_at), marks: r.marks }]));
  }

  async recordActivity(updates: readonly ActivityUpdate[]) {
    if (updates.length === 0) return;
    // Sorted by cache id, so concurrent rounds of several control planes lock rows in one order.
    const sorted = [...updates].sort((a, b) => a.cacheId - b.cacheId);
    // GREATEST ignores NULL: a round without traffic leaves last_traffic_at as it is.
    await this.pool.query(
      `WITH u AS (SELECT * FROM unnest($1::integer[], $2::bigint[], $3::json[]) AS u(id, traffic, marks))
       INSERT INTO cache_activity (cache_id, last_traffic_at, marks)
       SELECT id, COALESCE(traffic, $4), marks FROM u
       ON CONFLICT (cache_id) DO UPDATE SET marks = excluded.marks,
         last_traffic_at = GREATEST(cache_activity.last_traffic_at, (SELECT u.traffic FROM u WHERE u.id = excluded.cache_id))`,
      [sorted.map((u) => u.cacheId), sorted.map((u) => u.trafficAt ?? null), sorted.map((u) => JSON.stringify(u.marks)), Date.now()],
    );
  }

  async disableIdleCaches(idleBefore: number, now = Date.now()) {
    const rows = (await this.pool.query<{ id: number }>(
      `UPDATE caches SET enabled = false, disabled_reason = 'idle', disabled_at = $1
       WHERE enabled AND NOT deleted AND id IN (SELECT cache_id FROM cache_activity WHERE last_traffic_at < $2)
       RETURNING id`,
      [now, idleBefore],
    )).rows;
    return rows.map((r) => r.id).sort((a, b) => a - b);
  }

  async enableIdleCache(cacheId: number, now = Date.now()): Promise<EnableIdleResult> {
    return this.tx(async (c): Promise<EnableIdleResult> => {
      const row = (await c.query<{ enabled: boolean; disabled_reason: string | null }>(
        'SELECT enabled, disabled_reason FROM caches WHERE id = $1 AND NOT deleted FOR UPDATE',
        [cacheId],
      )).rows[0];
      if (!row) return 'not_found';
      if (row.enabled) return 'enabled';
      if (row.disabled_reason !== 'idle') return 'not_idle';
      await c.query('UPDATE caches SET enabled = true WHERE id = $1', [cacheId]);
      await c.query(
        `INSERT INTO cache_activity (cache_id, last_traffic_at, marks) VALUES ($1, $2, '{}')
         ON CONFLICT (cache_id) DO UPDATE SET last_traffic_at = GREATEST(cache_activity.last_traffic_at, excluded.last_traffic_at)`,
        [cacheId, now],
      );
      return 'enabled';
    });
  }
}
