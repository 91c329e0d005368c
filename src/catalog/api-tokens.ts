/**
 * Scoped API tokens of a cache: what CI holds to flush on deploy, or a
 * monitor to read stats, without a cache password. Both catalogs implement
 * `ApiTokenCatalog` (sqlite-tokens.ts, postgres-tokens.ts); the contract test runs on both.
 *
 * - A token reads `ctk_<id>_<secret>`: `id` names its row, `secret` is 256 random bits
 *   (newAccessToken). Only the secret's SHA-256 is stored (a high-entropy secret needs no
 *   salt or slow hash); checking a token reads the row by id and compares the hashes with
 *   timingSafeEqual, and an unknown id compares against a dummy hash, so both cost the same.
 * - A token belongs to its cache, not to a credential: rotating or deleting credentials
 *   leaves it working. It stops when it expires, when it is revoked, or when its cache is
 *   deleted (a deleted cache's tokens verify as nothing).
 * - Expired tokens are removed when the cache makes a new one, and are not listed.
 * - `lastUsedAt` is written at most once a minute per token, so a busy CI token costs no
 *   write per request.
 * - At most MAX_API_TOKENS_PER_CACHE live tokens a cache, checked and inserted atomically.
 * - Tokens never move the catalog revision: nodes do not use them.
 */
import { timingSafeEqual } from 'node:crypto';
import { accessTokenHash, isAccessToken, newAccessToken } from './access.ts';
import { isTokenScope, type TokenScope } from '../shared/token-scopes.ts';

export interface ApiTokenRecord {
  readonly id: number;
  readonly cacheId: number;
  readonly scopes: readonly TokenScope[];
  readonly description: string;
  /** ms since the epoch. */
  readonly createdAt: number;
  /** ms since the epoch; null: never expires. */
  readonly expiresAt: number | null;
  /** ms since the epoch, to within a minute; null: never used. */
  readonly lastUsedAt: number | null;
}

/** A token just made: the only moment it exists in clear. */
export interface NewApiToken {
  readonly record: ApiTokenRecord;
  readonly token: string;
}

export interface NewApiTokenInput {
  readonly scopes: readonly TokenScope[];
  readonly description?: string;
  /** ms since the epoch; null or absent: never expires. */
  readonly expiresAt?: number | null;
}

export const MAX_API_TOKENS_PER_CACHE = 100;
/** How often lastUsedAt is written, at most, per token. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export class ApiTokenLimitError extends Error {
  constructor(readonly cacheId: number) {
    super(`cache ${cacheId} already has the most API tokens a cache can have: at most ${MAX_API_TOKENS_PER_CACHE}`);
  }
}

export interface ApiTokenCatalog {
  /** A new token for a live cache (expired ones of the cache removed first); undefined for no such live cache; throws ApiTokenLimitError. */
  createApiToken(cacheId: number, input: NewApiTokenInput, now?: number): Promise<NewApiToken | undefined>;
  /** The cache's tokens that have not expired, oldest first. */
  listApiTokens(cacheId: number, now?: number): Promise<ApiTokenRecord[]>;
  /** Revokes a token of this cache; false when the cache has no such token. */
  revokeApiToken(cacheId: number, tokenId: number): Promise<boolean>;
  /** The token's record if it is one of a live cache's, has not expired and was not revoked; else undefined. */
  verifyApiToken(token: string, now?: number): Promise<ApiTokenRecord | undefined>;
}

/** The row as both catalogs store it. */
export interface ApiTokenRow {
  id: number; cache_id: number; secret_hash: string; scopes: string; description: string;
  created_at: number | string; expires_at: number | string | null; last_used_at: number | string | null;
}

const optionalMs = (v: number | string | null): number | null => (v === null ? null : Number(v));

export function toApiToken(r: ApiTokenRow): ApiTokenRecord {
  return {
    id: r.id, cacheId: r.cache_id, scopes: r.scopes.split(',').filter(isTokenScope), description: r.description,
    createdAt: Number(r.created_at), expiresAt: optionalMs(r.expires_at), lastUsedAt: optionalMs(r.last_used_at),
  };
}

export function storedScopes(scopes: readonly TokenScope[]): string {
  return [...new Set(scopes)].join(',');
}

/** A fresh secret and its stored hash. */
export function newTokenSecret(): { secret: string; secretHash: string } {
  const secret = newAccessToken();
  return { secret, secretHash: accessTokenHash(secret) };
}

export function formatApiToken(id: number, secret: string): string {
  return `ctk_${id}_${secret}`;
}

/** The largest token id: PostgreSQL's `serial` is a 32-bit integer (a larger id would fail its query). */
export const MAX_API_TOKEN_ID = 2_147_483_647;

/** The id and secret of a well-formed token; anything else (an id past MAX_API_TOKEN_ID too) is refused unread. */
export function parseApiToken(text: string): { id: number; secret: string } | undefined {
  const m = /^ctk_(\d{1,10})_([A-Za-z0-9_-]{43})$/.exec(text);
  if (!m || !isAccessToken(m[2]!) || Number(m[1]) > MAX_API_TOKEN_ID) return undefined;
  return { id: Number(m[1]), secret: m[2]! };
}

const DUMMY_HASH = accessTokenHash('no such token');

/**
 * Whether `secret` hashes to `storedHash`, in constant time; with no stored hash (unknown
 * id) it compares against a dummy, so an unknown id costs what a wrong secret does.
 */
export function secretMatches(secret: string, storedHash: string | undefined): boolean {
  const a = Buffer.from(accessTokenHash(secret), 'hex');
  const b = Buffer.from(storedHash ?? DUMMY_HASH, 'hex');
  return a.length === b.length && timingSafeEqual(a, b) && storedHash !== undefined;
}

/** Whether a row verifies at `now`: right secret, not expired. */
export function rowVerifies(row: ApiTokenRow | undefined, secret: string, now: number): row is ApiTokenRow {
  const ok = secretMatches(secret, row?.secret_hash);
  return ok && row !== undefined && (row.expires_at === null || Number(row.expires_at) > now);
}
