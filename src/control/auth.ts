/**
 * Who may call what. The Analytics API takes HTTP Basic with a credential of the cache
 * in the path that holds api_capability; the operator API takes the operator token as a
 * bearer token. Both are checked against hashes in the catalog in constant time.
 *
 * Order for /api/v1/:id/…: an unknown or disabled cache is 404 "No cache found." before
 * anything else (so a credential of a deleted cache gets 404, not 403); then anything but
 * a valid api-capable credential of that very cache is 403.
 *
 * Basic logins go through the app's LoginThrottle (src/shared/login-throttle.ts, which
 * explains the policy): a right password is always let through at once; a wrong one (or
 * an unknown username, alike) is answered after a delay that grows with recent failures
 * from its source, and a source with too many such answers outstanding gets 429 "Too many
 * failed logins; try again later." with Retry-After at once. A right password for another
 * cache or without api_capability is a 403, not a failure.
 *
 * Scoped API tokens (`Authorization: Bearer ctk_…`, src/catalog/api-tokens.ts) stand in for
 * a credential on the routes of their own cache, within their scopes (token-scopes.ts says
 * which route needs which): a token acts with all three capabilities, limited by its
 * scopes. A token that does not verify (malformed, unknown, wrong, expired, revoked, or of
 * a deleted cache) is a failed login, slowed by the same throttle; a valid token on another
 * cache or outside its scopes is a 403, not a failure.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CacheRecord, Catalog, CredentialRecord } from '../catalog/catalog.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_LOGIN_THROTTLE, type LoginThrottle } from '../shared/login-throttle.ts';
import { hashSecret, verifySecret } from '../shared/secrets.ts';
import { ApiError } from '../api/errors.ts';
import type { ApiTokenRecord } from '../catalog/api-tokens.ts';
import { scopesAllow } from './token-scopes.ts';

export interface CacheAuth {
  readonly cache: CacheRecord;
  /** The calling credential; for a token, tokenCredential's stand-in. */
  readonly credential: CredentialRecord;
  /** Set when the caller is an API token. */
  readonly apiToken?: ApiTokenRecord;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the cache guard on /api/v1/:id/… routes. */
    cacheAuth: CacheAuth | null;
  }
}

/** Compared against when the username is unknown, so both paths cost one hash. */
const DUMMY = hashSecret('no such credential');

export function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export function parseBearer(header: string | undefined): string | undefined {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** Whether the request authenticates with a bearer token (an API token, on the cache routes). */
export function hasBearer(request: FastifyRequest): boolean {
  return /^\s*bearer\s/i.test(request.headers.authorization ?? '');
}

/**
 * Checks a request's bearer API token: its record if it verifies (at once), undefined
 * otherwise (after the login throttle's failure delay); throws 429 LOGIN_THROTTLED when
 * the source has too many failures waiting.
 */
export type TokenAuthenticator = (request: FastifyRequest, reply: FastifyReply) => Promise<ApiTokenRecord | undefined>;

export function tokenAuthenticator(catalog: Catalog, throttle: LoginThrottle): TokenAuthenticator {
  return async (request, reply) => {
    const presented = parseBearer(request.headers.authorization) ?? '';
    const found = presented === '' ? undefined : await catalog.verifyApiToken(presented);
    if (found) return found;
    // Throttled per source and per token id, as Basic per username (the id is not secret).
    await failLogin(throttle, request, reply, `token:${/^ctk_(\d{1,15})_/.exec(presented)?.[1] ?? '?'}`);
    return undefined;
  };
}

/**
 * The credential a token acts as: all three capabilities (only a credential holding all
 * three can make a token), never a real credential's id, limited by the token's scopes
 * through the guards.
 */
export function tokenCredential(record: ApiTokenRecord): CredentialRecord {
  return {
    id: 0, cacheId: record.cacheId, username: `token:${record.id}`, salt: '', hash: '',
    write: true, flush: true, api: true, primary: false,
  };
}

/** Whether this token may make this request: its own cache, a route its scopes allow. */
export function tokenMayCall(record: ApiTokenRecord, cacheId: number, request: FastifyRequest): boolean {
  return record.cacheId === cacheId && scopesAllow(record.scopes, request.method, request.routeOptions.url);
}

/** A failed login's answer: after the throttle's delay, or 429 at once when too many wait. */
async function failLogin(throttle: LoginThrottle, request: FastifyRequest, reply: FastifyReply, key: string): Promise<void> {
  const failure = throttle.fail(request.ip, key);
  if (!failure) {
    reply.header('retry-after', String(Math.ceil(DEFAULT_LOGIN_THROTTLE.maxDelayMs / 1000)));
    throw new ApiError('LOGIN_THROTTLED');
  }
  try {
    await sleep(failure.delayMs);
  } finally {
    failure.release();
  }
}

/**
 * Checks a request's Basic credential: the credential if its password is right (at
 * once), undefined if there is none or it is wrong (after the failure's delay); throws
 * 429 LOGIN_THROTTLED (with Retry-After) when the source has too many failures waiting.
 */
export type BasicAuthenticator = (request: FastifyRequest, reply: FastifyReply) => Promise<CredentialRecord | undefined>;

export function basicAuthenticator(catalog: Catalog, throttle: LoginThrottle): BasicAuthenticator {
  return async (request, reply) => {
    const basic = parseBasic(request.headers.authorization);
    if (!basic) return undefined;
    const known = await catalog.findCredential(basic.username);
    // Both paths cost one hash, and both failures are slowed alike: no username oracle.
    const ok = verifySecret(basic.password, known ?? DUMMY);
    if (known && ok) return known;
    await failLogin(throttle, request, reply, basic.username);
    return undefined;
  };
}

/** An enabled cache by the raw `:id` path segment, or undefined. */
export async function liveCache(catalog: Catalog, rawId: unknown): Promise<CacheRecord | undefined> {
  const text = String(rawId ?? '');
  // Cache ids are PostgreSQL integers: a larger one is no cache (its query would fail: a 500 before any login).
  if (!/^\d{1,10}$/.test(text) || Number(text) > 2_147_483_647) return undefined;
  const cache = await catalog.getCache(Number(text));
  return cache?.enabled ? cache : undefined;
}

/** onRequest hook for /api/v1/:id/…: runs before body parsing and validation. */
export function cacheGuard(catalog: Catalog, authenticate: BasicAuthenticator, authenticateToken?: TokenAuthenticator) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const cache = await liveCache(catalog, (request.params as { id?: unknown }).id);
    if (!cache) throw new ApiError('NO_CACHE');
    if (authenticateToken && hasBearer(request)) {
      const apiToken = await authenticateToken(request, reply);
      if (!apiToken || !tokenMayCall(apiToken, cache.id, request)) throw new ApiError('NOT_AUTHORIZED');
      request.cacheAuth = { cache, credential: tokenCredential(apiToken), apiToken };
      return;
    }
    const credential = await authenticate(request, reply);
    if (!credential || credential.cacheId !== cache.id || !credential.api) throw new ApiError('NOT_AUTHORIZED');
    request.cacheAuth = { cache, credential };
  };
}

/** The guard's result inside a handler of a guarded route. */
export function authOf(request: FastifyRequest): CacheAuth {
  if (!request.cacheAuth) throw new ApiError('NOT_AUTHORIZED');
  return request.cacheAuth;
}

/** onRequest hook for /api/operator/…. */
export function operatorGuard(catalog: Catalog) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const token = parseBearer(request.headers.authorization);
    if (token === undefined || !(await catalog.verifyOperatorToken(token))) {
      reply.header('www-authenticate', 'Bearer realm="cachier operator"');
      throw new ApiError('OPERATOR_TOKEN');
    }
  };
}
