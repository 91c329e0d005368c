/**
 * AccessCatalog (access.ts) on SQLite: sign-in links, dashboard sessions, disabled reasons,
 * cache activity. SQLITE_ACCESS_MIGRATION is one step of sqlite.ts's MIGRATIONS. Every
 * write is one IMMEDIATE transaction, so another process (a CLI, a second control plane on
 * the same file) sees all of it or none.
 */
import type Database from 'better-sqlite3';
import {
  accessTokenHash, accessTokenMatches, newAccessToken, type AccessCatalog, type ActivityUpdate, type CacheActivity,
  type CacheStatus, type DisabledReason, type EnableIdleResult,
} from './access.ts';

const NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

export const SQLITE_ACCESS_MIGRATION = `
ALTER TABLE caches ADD COLUMN disabled_reason TEXT;
ALTER TABLE caches ADD COLUMN disabled_at INTEGER;
UPDATE caches SET disabled_reason = 'operator' WHERE enabled = 0;
-- Whatever sets enabled to 0 without naming a reason is an operator's doing; enabling clears it.
CREATE TRIGGER caches_disabled_reason AFTER UPDATE OF enabled ON caches
  WHEN OLD.enabled = 1 AND NEW.enabled = 0 AND NEW.disabled_reason IS OLD.disabled_reason
  BEGIN UPDATE caches SET disabled_reason = 'operator', disabled_at = ${NOW_MS} WHERE id = NEW.id; END;
CREATE TRIGGER caches_enabled_reason AFTER UPDATE OF enabled ON caches
  WHEN OLD.enabled = 0 AND NEW.enabled = 1
  BEGIN UPDATE caches SET disabled_reason = NULL, disabled_at = NULL WHERE id = NEW.id; END;
CREATE TABLE cache_sso (cache_id INTEGER PRIMARY KEY, token_hash TEXT NOT NULL, rotated_at INTEGER NOT NULL);
CREATE TABLE dashboard_sessions (
  id_hash TEXT PRIMARY KEY, cache_id INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
);
CREATE INDEX dashboard_sessions_cache ON dashboard_sessions(cache_id);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions(expires_at);
CREATE TABLE cache_activity (cache_id INTEGER PRIMARY KEY, last_traffic_at INTEGER NOT NULL, marks TEXT NOT NULL);
`;

interface StatusRow {
  enabled: number; disabled_reason: DisabledReason | null; disabled_at: number | null;
  last_traffic_at: number | null; has_sso: number;
}

export class SqliteAccess implements AccessCatalog {
  constructor(private readonly db: Database.Database) {}

  private live(cacheId: number): boolean {
    return this.db.prepare('SELECT 1 FROM caches WHERE id = ? AND deleted = 0').get(cacheId) !== undefined;
  }

  async rotateSsoToken(cacheId: number, now = Date.now()) {
    return this.db.transaction(() => {
      if (!this.live(cacheId)) return undefined;
      const token = newAccessToken();
      this.db.prepare(`INSERT INTO cache_sso (cache_id, token_hash, rotated_at) VALUES (?, ?, ?)
                       ON CONFLICT (cache_id) DO UPDATE SET token_hash = excluded.token_hash, rotated_at = excluded.rotated_at`)
        .run(cacheId, accessTokenHash(token), now);
      this.db.prepare('DELETE FROM dashboard_sessions WHERE cache_id = ?').run(cacheId);
      return token;
    }).immediate();
  }

  async openSsoSession(cacheId: number, token: string, ttlMs: number, now = Date.now()) {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM dashboard_sessions WHERE expires_at <= ?').run(now);
      const row = this.db.prepare(`SELECT s.token_hash FROM cache_sso s JOIN caches c ON c.id = s.cache_id AND c.deleted = 0
                                   WHERE s.cache_id = ?`).get(cacheId) as { token_hash: string } | undefined;
      if (!row || !accessTokenMatches(token, row.token_hash)) return undefined;
      const session = newAccessToken();
      this.db.prepare('INSERT INTO dashboard_sessions (id_hash, cache_id, created_at, expires_at) VALUES (?, ?, ?, ?)')
        .run(accessTokenHash(session), cacheId, now, now + ttlMs);
      return session;
    }).immediate();
  }

  async sessionCache(sessionId: string, now = Date.now()) {
    const row = this.db.prepare('SELECT cache_id FROM dashboard_sessions WHERE id_hash = ? AND expires_at > ?')
      .get(accessTokenHash(sessionId), now) as { cache_id: number } | undefined;
    return row?.cache_id;
  }

  async endSession(sessionId: string) {
    this.db.prepare('DELETE FROM dashboard_sessions WHERE id_hash = ?').run(accessTokenHash(sessionId));
  }

  async cacheStatus(cacheId: number): Promise<CacheStatus | undefined> {
    const row = this.db.prepare(`
      SELECT c.enabled, c.disabled_reason, c.disabled_at, a.last_traffic_at,
             EXISTS (SELECT 1 FROM cache_sso WHERE cache_id = c.id) AS has_sso
      FROM caches c LEFT JOIN cache_activity a ON a.cache_id = c.id
      WHERE c.id = ? AND c.deleted = 0`).get(cacheId) as StatusRow | undefined;
    if (!row) return undefined;
    const enabled = row.enabled === 1;
    return {
      enabled,
      disabledReason: enabled ? null : (row.disabled_reason ?? 'operator'),
      disabledAt: enabled ? null : row.disabled_at,
      lastTrafficAt: row.last_traffic_at,
      hasSsoLink: row.has_sso === 1,
    };
  }

  async cacheActivity() {
    const rows = this.db.prepare('SELECT cache_id, last_traffic_at, marks FROM cache_activity').all() as
      { cache_id: number; last_traffic_at: number; marks: string }[];
    return new Map<number, CacheActivity>(rows.map((r) => [r.cache_id, { lastTrafficAt: r.last_traffic_at, marks: JSON.parse(r.marks) }]));
  }

  async recordActivity(updates: readonly ActivityUpdate[]) {
    if (updates.length === 0) return;
    const upsert = this.db.prepare(`
      INSERT INTO cache_activity (cache_id, last_traffic_at, marks) VALUES (?, ?, ?)
      ON CONFLICT (cache_id) DO UPDATE SET marks = excluded.marks,
        last_traffic_at = CASE WHEN ? IS NULL THEN last_traffic_at ELSE MAX(last_traffic_at, excluded.last_traffic_at) END`);
    this.db.transaction(() => {
      for (const u of updates) {
        const traffic = u.trafficAt ?? null;
        upsert.run(u.cacheId, traffic ?? Date.now(), JSON.stringify(u.marks), traffic);
      }
    }).immediate();
  }

  async disableIdleCaches(idleBefore: number, now = Date.now()) {
    const rows = this.db.prepare(`
      UPDATE caches SET enabled = 0, disabled_reason = 'idle', disabled_at = ?
      WHERE enabled = 1 AND deleted = 0
        AND id IN (SELECT cache_id FROM cache_activity WHERE last_traffic_at < ?)
      RETURNING id`).all(now, idleBefore) as { id: number }[];
    return rows.map((r) => r.id).sort((a, b) => a - b);
  }

  async enableIdleCache(cacheId: number, now = Date.now()): Promise<EnableIdleResult> {
    return this.db.transaction((): EnableIdleResult => {
      const row = this.db.prepare('SELECT enabled, disabled_reason FROM caches WHERE id = ? AND deleted = 0').get(cacheId) as
        { enabled: number; disabled_reason: string | null } | undefined;
      if (!row) return 'not_found';
      if (row.enabled === 1) return 'enabled';
      if (row.disabled_reason !== 'idle') return 'not_idle';
      this.db.prepare('UPDATE caches SET enabled = 1 WHERE id = ?').run(cacheId);
      this.db.prepare(`INSERT INTO cache_activity (cache_id, last_traffic_at, marks) VALUES (?, ?, '{}')
                       ON CONFLICT (cache_id) DO UPDATE SET last_traffic_at = MAX(last_traffic_at, excluded.last_traffic_at)`)
        .run(cacheId, now);
      return 'enabled';
    }).immediate();
  }
}
