/**
 * ApiTokenCatalog (api-tokens.ts) on SQLite. SQLITE_TOKENS_MIGRATION is one step of
 * sqlite.ts's MIGRATIONS. Creation counts and inserts in one IMMEDIATE transaction, so
 * another process cannot pass the cap in between.
 */
import type Database from 'better-sqlite3';
import {
  ApiTokenLimitError, formatApiToken, MAX_API_TOKENS_PER_CACHE, newTokenSecret, parseApiToken, rowVerifies, storedScopes,
  toApiToken, LAST_USED_RESOLUTION_MS, type ApiTokenCatalog, type ApiTokenRow, type NewApiTokenInput,
} from './api-tokens.ts';

export const SQLITE_TOKENS_MIGRATION = `
CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT, cache_id INTEGER NOT NULL, secret_hash TEXT NOT NULL, scopes TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, expires_at INTEGER, last_used_at INTEGER
);
CREATE INDEX api_tokens_cache ON api_tokens(cache_id);
`;

const LIVE = 'cache_id IN (SELECT id FROM caches WHERE deleted = 0)';

export class SqliteTokens implements ApiTokenCatalog {
  constructor(private readonly db: Database.Database) {}

  async createApiToken(cacheId: number, input: NewApiTokenInput, now = Date.now()) {
    return this.db.transaction(() => {
      if (!this.db.prepare('SELECT 1 FROM caches WHERE id = ? AND deleted = 0').get(cacheId)) return undefined;
      this.db.prepare('DELETE FROM api_tokens WHERE cache_id = ? AND expires_at <= ?').run(cacheId, now);
      const { n } = this.db.prepare('SELECT COUNT(*) AS n FROM api_tokens WHERE cache_id = ?').get(cacheId) as { n: number };
      if (n >= MAX_API_TOKENS_PER_CACHE) throw new ApiTokenLimitError(cacheId);
      const { secret, secretHash } = newTokenSecret();
      const row = this.db.prepare(`INSERT INTO api_tokens (cache_id, secret_hash, scopes, description, created_at, expires_at)
                                   VALUES (?, ?, ?, ?, ?, ?) RETURNING *`)
        .get(cacheId, secretHash, storedScopes(input.scopes), input.description ?? '', now, input.expiresAt ?? null) as ApiTokenRow;
      return { record: toApiToken(row), token: formatApiToken(row.id, secret) };
    }).immediate();
  }

  async listApiTokens(cacheId: number, now = Date.now()) {
    const rows = this.db.prepare(`SELECT * FROM api_tokens WHERE cache_id = ? AND ${LIVE} AND (expires_at IS NULL OR expires_at > ?)
                                  ORDER BY id`).all(cacheId, now) as ApiTokenRow[];
    return rows.map(toApiToken);
  }

  async revokeApiToken(cacheId: number, tokenId: number) {
    return this.db.prepare(`DELETE FROM api_tokens WHERE id = ? AND cache_id = ? AND ${LIVE}`).run(tokenId, cacheId).changes > 0;
  }

  async verifyApiToken(token: string, now = Date.now()) {
    const parsed = parseApiToken(token);
    if (!parsed) return undefined;
    const row = this.db.prepare(`SELECT * FROM api_tokens WHERE id = ? AND ${LIVE}`).get(parsed.id) as ApiTokenRow | undefined;
    if (!rowVerifies(row, parsed.secret, now)) return undefined;
    const stale = row.last_used_at === null || Number(row.last_used_at) <= now - LAST_USED_RESOLUTION_MS;
    if (stale) {
      this.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)')
        .run(now, row.id, now - LAST_USED_RESOLUTION_MS);
    }
    return toApiToken(stale ? { ...row, last_used_at: now } : row);
  }
}
