/**
 * ApiTokenCatalog (api-tokens.ts) on PostgreSQL; same semantics as sqlite-tokens.ts.
 * POSTGRES_TOKENS_MIGRATION is one step of postgres.ts's MIGRATIONS. Creation locks the
 * cache row before counting, so two control planes cannot both pass the cap.
 */
import type pg from 'pg';
import {
  ApiTokenLimitError, formatApiToken, MAX_API_TOKENS_PER_CACHE, newTokenSecret, parseApiToken, rowVerifies, storedScopes,
  toApiToken, LAST_USED_RESOLUTION_MS, type ApiTokenCatalog, type ApiTokenRow, type NewApiTokenInput,
} from './api-tokens.ts';

export const POSTGRES_TOKENS_MIGRATION = `
CREATE TABLE IF NOT EXISTS api_tokens (
  id serial PRIMARY KEY, cache_id integer NOT NULL, secret_hash text NOT NULL, scopes text NOT NULL,
  description text NOT NULL DEFAULT '', created_at bigint NOT NULL, expires_at bigint, last_used_at bigint
);
CREATE INDEX IF NOT EXISTS api_tokens_cache ON api_tokens (cache_id);
`;

const LIVE = 'cache_id IN (SELECT id FROM caches WHERE NOT deleted)';

export class PostgresTokens implements ApiTokenCatalog {
  constructor(private readonly pool: pg.Pool) {}

  async createApiToken(cacheId: number, input: NewApiTokenInput, now = Date.now()) {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const found = await c.query('SELECT 1 FROM caches WHERE id = $1 AND NOT deleted FOR NO KEY UPDATE', [cacheId]);
      if (found.rowCount === 0) {
        await c.query('ROLLBACK');
        return undefined;
      }
      await c.query('DELETE FROM api_tokens WHERE cache_id = $1 AND expires_at <= $2', [cacheId, now]);
      const { n } = (await c.query<{ n: number }>('SELECT COUNT(*)::integer AS n FROM api_tokens WHERE cache_id = $1', [cacheId])).rows[0]!;
      if (n >= MAX_API_TOKENS_PER_CACHE) throw new ApiTokenLimitError(cacheId);
      const { secret, secretHash } = newTokenSecret();
      const row = (await c.query<ApiTokenRow>(
        `INSERT INTO api_tokens (cache_id, secret_hash, scopes, description, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [cacheId, secretHash, storedScopes(input.scopes), input.description ?? '', now, input.expiresAt ?? null],
      )).rows[0]!;
      await c.query('COMMIT');
      return { record: toApiToken(row), token: formatApiToken(row.id, secret) };
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async listApiTokens(cacheId: number, now = Date.now()) {
    const { rows } = await this.pool.query<ApiTokenRow>(
      `SELECT * FROM api_tokens WHERE cache_id = $1 AND ${LIVE} AND (expires_at IS NULL OR expires_at > $2) ORDER BY id`,
      [cacheId, now],
    );
    return rows.map(toApiToken);
  }

  async revokeApiToken(cacheId: number, tokenId: number) {
    const r = await this.pool.query(`DELETE FROM api_tokens WHERE id = $1 AND cache_id = $2 AND ${LIVE}`, [tokenId, cacheId]);
    return (r.rowCount ?? 0) > 0;
  }

  async verifyApiToken(token: string, now = Date.now()) {
    const parsed = parseApiToken(token);
    if (!parsed) return undefined;
    const row = (await this.pool.query<ApiTokenRow>(`SELECT * FROM api_tokens WHERE id = $1 AND ${LIVE}`, [parsed.id])).rows[0];
    if (!rowVerifies(row, parsed.secret, now)) return undefined;
    const stale = row.last_used_at === null || Number(row.last_used_at) <= now - LAST_USED_RESOLUTION_MS;
    if (stale) {
      await this.pool.query('UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)',
        [now, row.id, now - LAST_USED_RESOLUTION_MS]);
    }
    return toApiToken(stale ? { ...row, last_used_at: now } : row);
  }
}
