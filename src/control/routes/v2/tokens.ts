/**
 * v2 scoped API tokens: `GET tokens`, `POST tokens` (201, the token shown once),
 * `DELETE tokens/:token_id` (204). Only a credential with all three capabilities (by Basic
 * or a dashboard session) manages tokens; a token never does, whatever its scopes (the
 * guard refuses it: src/control/token-scopes.ts), so no token makes one directly (a
 * `credentials` or `all` token can through a password or sign-in link it makes: see
 * token-scopes.ts). Which scope covers which call: token-scopes.ts; the catalog side:
 * src/catalog/api-tokens.ts.
 */
import { ApiTokenLimitError, type ApiTokenRecord } from '../../../catalog/api-tokens.ts';
import { V2Error } from '../../../api/v2-errors.ts';
import { V2NoContent } from '../../../api/v2.ts';
import { V2NewTokenInput, V2NewTokenView, V2TokenList, V2TokenParams, type V2TokenView } from '../../../api/v2-tokens.ts';
import type { CacheAuth } from '../../auth.ts';
import { ALL, covers } from '../credentials.ts';
import type { V2Routes } from './index.ts';

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const optional = (ms: number | null) => (ms === null ? null : rfc3339(ms));

export function v2TokenView(t: ApiTokenRecord): V2TokenView {
  return {
    id: t.id, cache_id: t.cacheId, scopes: [...t.scopes], description: t.description,
    created_at: rfc3339(t.createdAt), expires_at: optional(t.expiresAt), last_used_at: optional(t.lastUsedAt),
  };
}

/** The caller must be a credential (not a token) holding all three capabilities. */
function mustManage(auth: CacheAuth): void {
  if (auth.apiToken) throw new V2Error('TOKENS_NEED_CREDENTIAL');
  if (!covers(auth.credential, ALL)) throw new V2Error('TOKENS_NEED_CREDENTIAL');
}

/** How the token routes authenticate, for the OpenAPI document: a credential, never a token. */
const security: Record<string, string[]>[] = [{ basic: [] }, { session: [] }];

export const tokenRoutes: V2Routes = (app, { catalog, authOf }) => {
  app.get('/tokens', { schema: { security, response: { 200: V2TokenList } } }, async (request): Promise<V2TokenList> => {
    const auth = authOf(request);
    mustManage(auth);
    return (await catalog.listApiTokens(auth.cache.id)).map(v2TokenView);
  });

  app.post<{ Body: V2NewTokenInput }>(
    '/tokens',
    { schema: { security, body: V2NewTokenInput, response: { 201: V2NewTokenView } } },
    async (request, reply): Promise<V2NewTokenView> => {
      const auth = authOf(request);
      mustManage(auth);
      const { scopes, expires_in: expiresIn, description } = request.body;
      const now = Date.now();
      const made = await catalog.createApiToken(auth.cache.id, {
        scopes, description: description ?? '', expiresAt: expiresIn === undefined ? null : now + expiresIn * 1000,
      }, now).catch((e: unknown) => {
        throw e instanceof ApiTokenLimitError ? new V2Error('TOO_MANY_TOKENS') : e;
      });
      if (!made) throw new V2Error('CACHE_NOT_FOUND');
      reply.code(201).header('cache-control', 'no-store');
      return { ...v2TokenView(made.record), token: made.token };
    },
  );

  app.delete<{ Params: V2TokenParams }>(
    '/tokens/:token_id',
    { schema: { security, params: V2TokenParams, response: { 204: V2NoContent } } },
    async (request, reply) => {
      const auth = authOf(request);
      mustManage(auth);
      if (!(await catalog.revokeApiToken(auth.cache.id, request.params.token_id))) throw new V2Error('TOKEN_NOT_FOUND');
      return reply.code(204).send();
    },
  );
};
