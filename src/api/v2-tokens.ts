/**
 * Scoped API tokens of API v2 (cachier's own, beyond MemCachier): `GET|POST
 * …/tokens`, `DELETE …/tokens/:token_id`. The token itself is in the 201 of its creation
 * only; lists carry everything else. Times are RFC 3339 UTC, as everywhere in v2.
 */
import { TOKEN_SCOPES } from '../shared/token-scopes.ts';
import type { Static } from './json-schema.ts';

/** Ten years: the longest a token may live. */
export const MAX_TOKEN_LIFETIME_S = 10 * 366 * 86_400;

export const V2TokenParams = {
  type: 'object',
  properties: {
    cache_id: { type: 'integer', minimum: 1 },
    // A token's id is a PostgreSQL integer (serial): larger would fail the query (500).
    token_id: { type: 'integer', minimum: 1, maximum: 2147483647 },
  },
  required: ['cache_id', 'token_id'],
} as const;
export type V2TokenParams = Static<typeof V2TokenParams>;

export const V2NewTokenInput = {
  type: 'object',
  properties: {
    scopes: {
      type: 'array', minItems: 1, maxItems: TOKEN_SCOPES.length, uniqueItems: true,
      items: { type: 'string', enum: TOKEN_SCOPES },
      description: 'flush (flush, reset_stats), stats (stats, history, insight), read (info, credentials list), '
        + 'credentials (credential management), all (every call of the cache but token management).',
    },
    expires_in: {
      type: 'integer', minimum: 1, maximum: MAX_TOKEN_LIFETIME_S,
      description: 'Seconds until the token stops working; left out, it never expires.',
    },
    description: { type: 'string', maxLength: 200 },
  },
  required: ['scopes'],
  additionalProperties: false,
} as const;
export type V2NewTokenInput = Static<typeof V2NewTokenInput>;

const tokenProperties = {
  id: { type: 'integer' },
  cache_id: { type: 'integer' },
  scopes: { type: 'array', items: { type: 'string', enum: TOKEN_SCOPES } },
  description: { type: 'string' },
  created_at: { type: 'string', description: 'RFC 3339' },
  expires_at: { type: ['string', 'null'], description: 'RFC 3339; null: never expires.' },
  last_used_at: { type: ['string', 'null'], description: 'RFC 3339, to within a minute; null: never used.' },
} as const;
const tokenRequired = ['id', 'cache_id', 'scopes', 'description', 'created_at', 'expires_at', 'last_used_at'] as const;

/** A token as listed: never the token itself (only its hash is kept). */
export const V2TokenView = { type: 'object', properties: tokenProperties, required: tokenRequired } as const;
export type V2TokenView = Static<typeof V2TokenView>;

export const V2TokenList = { type: 'array', items: V2TokenView } as const;
export type V2TokenList = Static<typeof V2TokenList>;

/** The 201 of `POST …/tokens`: the only answer that carries `token`. */
export const V2NewTokenView = {
  type: 'object',
  properties: { ...tokenProperties, token: { type: 'string', description: 'Send as Authorization: Bearer <token>. Shown only here.' } },
  required: [...tokenRequired, 'token'],
} as const;
export type V2NewTokenView = Static<typeof V2NewTokenView>;
