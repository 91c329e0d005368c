/**
 * The dashboard sign-in link and the cookie sessions it opens (v2's `rotate_sso`).
 *
 * - `GET /sso/<cache id>/<token>`: if the token is the cache's current one (catalog:
 *   access.ts; stored as SHA-256), a session is opened and the browser gets
 *   `cachier_session=<random 256-bit id>; HttpOnly; SameSite=Strict; Path=/; Max-Age=12 h`
 *   (+ `Secure` over HTTPS), and is sent to the dashboard at `/` (303). A wrong, rotated or
 *   malformed link is a 404 page after the login throttle's failure delay (the same
 *   LoginThrottle as Basic logins: guessing is slowed like passwords, for no gain — the
 *   token has 256 bits). The catalog keeps only the session id's hash, its cache and its
 *   expiry; rotating the link deletes the cache's sessions in the same transaction.
 * - A session acts as its cache's primary credential (the one at the time of each request,
 *   so a promotion carries over; a primary without api_capability gets 403 like Basic).
 * - The API guards (v1 and v2) accept the session instead of HTTP Basic, only when the
 *   request has no Authorization header. CSRF: the cookie is SameSite=Strict (a cross-site
 *   request does not carry it), and, in depth, any request through a session other than
 *   GET/HEAD must carry `X-Requested-With` — a header a cross-site form cannot send and a
 *   cross-site fetch can send only after a CORS preflight this server never answers with
 *   permission. The dashboard sends it on every call.
 * - A second, readable cookie `cachier_sso=1` (no secret; same lifetime) only tells the
 *   dashboard's script that a session may exist, so it tries one instead of showing the
 *   password form. `POST /sso/sign-out` (with X-Requested-With) ends the session and clears both.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAccessToken } from '../catalog/access.ts';
import type { Catalog, CredentialRecord } from '../catalog/catalog.ts';
import { ApiError } from '../api/errors.ts';
import type { LoginThrottle } from '../shared/login-throttle.ts';
import type { BasicAuthenticator } from './auth.ts';

export const SESSION_COOKIE = 'cachier_session';
export const SESSION_HINT_COOKIE = 'cachier_sso';
export const SESSION_TTL_MS = 12 * 3_600_000;
export const CSRF_HEADER = 'x-requested-with';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session id of a request's cookie, if it has a plausible one. */
export function sessionIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    return isAccessToken(value) ? value : undefined;
  }
  return undefined;
}

export function hasSessionCookie(request: FastifyRequest): boolean {
  return /(?:^|;)\s*cachier_session=/.test(request.headers.cookie ?? '');
}

/** Whether a request through a session may change something (the CSRF header rule). */
export function csrfSafe(request: FastifyRequest): boolean {
  return SAFE_METHODS.has(request.method) || Boolean(request.headers[CSRF_HEADER]);
}

/** The credential a request's session acts as: its cache's primary, or undefined. */
export function sessionResolver(catalog: Catalog) {
  return async (request: FastifyRequest): Promise<CredentialRecord | undefined> => {
    const id = sessionIdOf(request);
    if (id === undefined) return undefined;
    const cacheId = await catalog.sessionCache(id);
    if (cacheId === undefined) return undefined;
    return (await catalog.listCredentials(cacheId)).find((c) => c.primary);
  };
}

/**
 * v1's authenticator with sessions: HTTP Basic when there is an Authorization header,
 * else the session cookie (a mutation without X-Requested-With is 403), else nobody.
 */
export function basicOrSession(authenticate: BasicAuthenticator, catalog: Catalog): BasicAuthenticator {
  const session = sessionResolver(catalog);
  return async (request, reply) => {
    if (request.headers.authorization !== undefined || !hasSessionCookie(request)) return authenticate(request, reply);
    const credential = await session(request);
    if (credential && !csrfSafe(request)) throw new ApiError('NOT_AUTHORIZED');
    return credential;
  };
}

/** `<scheme>://<host>/sso/<id>/<token>`, as the request reached this control plane. */
export function signInLink(request: FastifyRequest, cacheId: number, token: string): string {
  return `${request.protocol}://${request.host}/sso/${cacheId}/${token}`;
}

function cookies(request: FastifyRequest, maxAgeS: number): string[] {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  const session = maxAgeS > 0 ? `${SESSION_COOKIE}=%s` : `${SESSION_COOKIE}=`;
  return [
    `${session}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure}`,
    `${SESSION_HINT_COOKIE}=${maxAgeS > 0 ? '1' : ''}; Path=/; SameSite=Strict; Max-Age=${maxAgeS}${secure}`,
  ];
}

const NO_LINK_PAGE = `<!doctype html><meta charset="utf-8"><title>Sign-in link not valid · cachier</title>
<p>This sign-in link is not valid: it may have been rotated. Ask for a new one, or sign in with a credential at <a href="/">the dashboard</a>.</p>`;

export function ssoRoutes(app: FastifyInstance, deps: { catalog: Catalog; throttle: LoginThrottle }): void {
  const { catalog, throttle } = deps;

  app.get<{ Params: { cache_id: string; token: string } }>(
    '/sso/:cache_id/:token',
    {
      schema: {
        params: {
          type: 'object',
          properties: { cache_id: { type: 'string', maxLength: 20 }, token: { type: 'string', maxLength: 100 } },
          required: ['cache_id', 'token'],
        },
        response: { 303: { type: 'null', description: 'Signed in: the session cookie is set; on to the dashboard at /.' } },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
      const { cache_id: rawId, token } = request.params;
      const session = /^\d{1,15}$/.test(rawId) && isAccessToken(token)
        ? await catalog.openSsoSession(Number(rawId), token, SESSION_TTL_MS)
        : undefined;
      if (session === undefined) return refuse(request, reply);
      const [sessionCookie, hint] = cookies(request, SESSION_TTL_MS / 1000);
      reply.header('set-cookie', [sessionCookie!.replace('%s', session), hint!]);
      return reply.code(303).header('location', '/').send();
    },
  );

  app.post('/sso/sign-out', { schema: { response: { 204: { type: 'null', description: 'Signed out; both cookies cleared.' } } } },
    async (request, reply) => {
      if (!csrfSafe(request)) throw new ApiError('NOT_AUTHORIZED');
      const id = sessionIdOf(request);
      if (id !== undefined) await catalog.endSession(id);
      reply.header('set-cookie', cookies(request, 0));
      return reply.code(204).send();
    });

  async function refuse(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const failure = throttle.fail(request.ip, `sso:${request.params && (request.params as { cache_id?: string }).cache_id}`);
    if (!failure) throw new ApiError('LOGIN_THROTTLED');
    try {
      await sleep(failure.delayMs);
    } finally {
      failure.release();
    }
    return reply.code(404).type('text/html; charset=utf-8').send(NO_LINK_PAGE);
  }
}
