/**
 * Which scope an API token needs for which route: the one table, read by the v1 and v2
 * guards for every request a token makes (`Authorization: Bearer ctk_…`).
 *
 * - `stats`: reading the cache's numbers — v1 stats and history, v2 stats and insight,
 *   introspection's compound and prefix series (no key in them; the other introspection
 *   routes show keys, so they need `all`).
 * - `flush`: destroying data or counters — v1 and v2 flush, v2 reset_stats.
 * - `read`: reading the cache's settings — v2 info, the credentials list (v1 and v2; never passwords).
 * - `credentials`: managing credentials (create, update, promote, delete). A token acts with
 *   all three capabilities, so this scope can make a password that reads, writes and
 *   flushes the cache: give it only where "all" could go.
 * - `all`: every route of the cache a credential with all three capabilities may call, those
 *   in this table and any other (rotate_sso, enable_cache, switch_cluster, alerts, …), but
 *   the token routes.
 * - The token routes (list, create, revoke) take no token at all, whatever its scopes: only
 *   a credential with all three capabilities (or a session) manages tokens, so no token
 *   makes a token directly. A `credentials` or `all` token still can indirectly: it makes
 *   a password (an `all` token also a sign-in link through rotate_sso, hence a session),
 *   and that makes a token of any scope and lifetime. Those two scopes are the cache's keys.
 *
 * A route not in the table needs `all`: a new route is closed to narrower tokens until
 * it is given a scope here.
 */
import type { TokenScope } from '../shared/token-scopes.ts';

/** Needs no token: tokens are refused here whatever their scopes. */
export const CREDENTIAL_ONLY = 'credential-only' as const;

const V2 = '/api/v2/caches/:cache_id';

/** `METHOD url` as the route was registered → what a token needs. */
export const ROUTE_SCOPES: Readonly<Record<string, TokenScope | typeof CREDENTIAL_ONLY>> = {
  'GET /api/v1/:id/stats': 'stats',
  'GET /api/v1/:id/history': 'stats',
  'POST /api/v1/:id/flush': 'flush',
  'GET /api/v1/:id/credentials': 'read',
  'POST /api/v1/:id/credentials': 'credentials',
  'POST /api/v1/:id/credentials/:cred': 'credentials',
  'PATCH /api/v1/:id/credentials/:cred': 'credentials',
  'DELETE /api/v1/:id/credentials/:cred': 'credentials',
  'POST /api/v1/:id/credentials/primary/:cred': 'credentials',
  'DELETE /api/v1/:id/credentials/primary/:cred': 'credentials',

  [`GET ${V2}/info`]: 'read',
  [`GET ${V2}/credentials`]: 'read',
  [`POST ${V2}/credentials`]: 'credentials',
  [`PATCH ${V2}/credentials/:username`]: 'credentials',
  [`DELETE ${V2}/credentials/:username`]: 'credentials',
  [`POST ${V2}/credentials/primary/:username`]: 'credentials',
  [`POST ${V2}/flush`]: 'flush',
  [`POST ${V2}/reset_stats`]: 'flush',
  [`GET ${V2}/stats`]: 'stats',
  [`GET ${V2}/insight/processed_stats`]: 'stats',
  [`GET ${V2}/insight/processed_stats/per_server`]: 'stats',
  [`GET ${V2}/insight/latency`]: 'stats',
  [`GET ${V2}/introspection/compound_stats`]: 'stats',
  [`GET ${V2}/introspection/prefixes/:prefix_id/stats`]: 'stats',
  [`GET ${V2}/tokens`]: CREDENTIAL_ONLY,
  [`POST ${V2}/tokens`]: CREDENTIAL_ONLY,
  [`DELETE ${V2}/tokens/:token_id`]: CREDENTIAL_ONLY,
};

/** What a token needs for this request's route (HEAD as GET). */
export function scopeNeeded(method: string, url: string | undefined): TokenScope | typeof CREDENTIAL_ONLY {
  return ROUTE_SCOPES[`${method === 'HEAD' ? 'GET' : method} ${url ?? ''}`] ?? 'all';
}

/** Whether a token with these scopes may call this route. */
export function scopesAllow(scopes: readonly TokenScope[], method: string, url: string | undefined): boolean {
  const needed = scopeNeeded(method, url);
  if (needed === CREDENTIAL_ONLY) return false;
  return scopes.includes('all') || scopes.includes(needed);
}
