/**
 * Who may call `/api/v2/caches/:cache_id/…`, checked once for the whole v2 scope (an
 * onRequest hook of the plugin in index.ts, before any body is read), in this order:
 *
 * 1. `:cache_id` not a number → 400 "The specified cache ID is invalid (not a number)."
 * 2. The caller: a scoped API token (`Authorization: Bearer ctk_…`; one that does not
 *    verify → 401, with the same `WWW-Authenticate: Basic realm="cachier"` as every 401
 *    here (the decisions' contract), after the login throttle's delay like a wrong password), HTTP Basic through the app's login throttle (a right password passes at
 *    once; a wrong one, or an unknown username, is answered after the failure's delay;
 *    too many waiting from one source → 429), or, with no Authorization header, a
 *    dashboard session cookie (src/control/sessions.ts). No header and no session, a
 *    malformed header, a wrong password or unknown username, an unknown or expired
 *    session → 401 with `WWW-Authenticate: Basic realm="cachier"`.
 * 3. A valid credential of another cache, or without api_capability → 403; a token of
 *    another cache, or on a route its scopes do not cover (src/control/token-scopes.ts) →
 *    403. (Before the cache lookup, so a caller learns nothing about caches other than its own.)
 * 4. Its own cache deleted, or disabled (except on routes with `config.allowDisabledCache`:
 *    `info` and `enable_cache`) → 404 "Cache not found.".
 * 5. A session (not Basic) sending anything but GET/HEAD without `X-Requested-With` → 403:
 *    a cross-site form cannot set that header, and a cross-site fetch that sets it needs a
 *    CORS preflight this server never grants.
 *
 * The result is `request.cacheAuth` ({cache, credential}); handlers read it with `authOf`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Catalog, CredentialRecord } from '../../../catalog/catalog.ts';
import { V2Error } from '../../../api/v2-errors.ts';
import type { ApiTokenRecord } from '../../../catalog/api-tokens.ts';
import { CREDENTIAL_ONLY, scopeNeeded } from '../../token-scopes.ts';
import { hasBearer, tokenCredential, tokenMayCall, type BasicAuthenticator, type CacheAuth, type TokenAuthenticator } from '../../auth.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** v2: the route also serves a disabled cache (`info`, `enable_cache`). */
    allowDisabledCache?: boolean;
  }
}

export const WWW_AUTHENTICATE = 'Basic realm="cachier"';

/**
 * Resolves a request's session cookie to the credential it acts as (its cache's primary),
 * or undefined for none, an unknown or an expired one (see src/control/sessions.ts).
 */
export type SessionResolver = (request: FastifyRequest) => Promise<CredentialRecord | undefined>;

export interface V2GuardDeps {
  readonly catalog: Catalog;
  readonly authenticate: BasicAuthenticator;
  /** Scoped API tokens; none accepted without it. */
  readonly authenticateToken?: TokenAuthenticator;
  /** Cookie sessions from the dashboard sign-in link; none accepted without it. */
  readonly session?: SessionResolver;
  /** Whether the request carries a session cookie at all (so 401 can say which failed). */
  readonly hasSessionCookie?: (request: FastifyRequest) => boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function v2Guard(deps: V2GuardDeps) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (request.is404) return; // unknown path inside the scope: the 404 handler answers
    const raw = String((request.params as { cache_id?: unknown }).cache_id ?? '');
    if (!/^\d+$/.test(raw)) throw new V2Error('BAD_CACHE_ID');
    const cacheId = Number(raw);

    let credential: CredentialRecord | undefined;
    let viaSession = false;
    let apiToken: ApiTokenRecord | undefined;
    if (deps.authenticateToken && hasBearer(request)) {
      apiToken = await deps.authenticateToken(request, reply);
      if (!apiToken) throw unauthorized(reply, 'BAD_TOKEN');
      if (!tokenMayCall(apiToken, cacheId, request)) {
        const ownerCache = apiToken.cacheId;
        if (ownerCache !== cacheId) throw new V2Error('FORBIDDEN');
        throw new V2Error(scopeNeeded(request.method, request.routeOptions.url) === CREDENTIAL_ONLY ? 'TOKENS_NEED_CREDENTIAL' : 'TOKEN_SCOPE');
      }
      credential = tokenCredential(apiToken);
    } else if (request.headers.authorization !== undefined) {
      credential = await deps.authenticate(request, reply);
      if (!credential) throw unauthorized(reply, 'BAD_USER');
    } else if (deps.session && deps.hasSessionCookie?.(request)) {
      credential = await deps.session(request);
      if (!credential) throw unauthorized(reply, 'BAD_SESSION');
      viaSession = true;
    } else {
      throw unauthorized(reply, 'AUTH_REQUIRED');
    }

    if (credential.cacheId !== cacheId || !credential.api) throw new V2Error('FORBIDDEN');
    const cache = await deps.catalog.getCache(cacheId);
    if (!cache) throw new V2Error('CACHE_NOT_FOUND');
    if (!cache.enabled && !request.routeOptions.config.allowDisabledCache) throw new V2Error('CACHE_NOT_FOUND');
    if (viaSession && !SAFE_METHODS.has(request.method) && !request.headers['x-requested-with']) throw new V2Error('CSRF');
    request.cacheAuth = apiToken ? { cache, credential, apiToken } : { cache, credential };
  };
}

function unauthorized(reply: FastifyReply, code: 'BAD_USER' | 'BAD_SESSION' | 'AUTH_REQUIRED' | 'BAD_TOKEN'): V2Error {
  reply.header('www-authenticate', WWW_AUTHENTICATE);
  return new V2Error(code);
}

/** The guard's result inside a v2 handler. */
export function authOf(request: FastifyRequest): CacheAuth {
  if (!request.cacheAuth) throw new V2Error('FORBIDDEN');
  return request.cacheAuth;
}
