/**
 * `GET /api/login` and `GET /api/v1/login`: the cache a credential belongs to. The
 * document calls the result the memcachier_id; every other path carries it. A scoped API
 * token (Bearer) gets its own cache's id too, whatever its scopes: it names nothing else.
 */
import { ApiError } from '../../api/errors.ts';
import { LoginResponse } from '../../api/v1.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Routes } from '../app.ts';
import { hasBearer } from '../auth.ts';

export const loginRoutes: Routes = (app, { catalog, authenticate, authenticateToken }) => {
  const opts = { schema: { response: { 200: LoginResponse } } };
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<LoginResponse> => {
    if (hasBearer(request)) {
      const apiToken = await authenticateToken(request, reply);
      if (!apiToken) throw new ApiError('NOT_AUTHORIZED');
      const own = await catalog.getCache(apiToken.cacheId);
      if (!own?.enabled) throw new ApiError('NO_CACHE');
      return { cache_id: own.id };
    }
    const credential = await authenticate(request, reply);
    if (!credential) throw new ApiError('NOT_AUTHORIZED');
    const cache = await catalog.getCache(credential.cacheId);
    if (!cache?.enabled) throw new ApiError('NO_CACHE');
    if (!credential.api) throw new ApiError('NOT_AUTHORIZED');
    return { cache_id: cache.id };
  };
  app.get('/api/login', opts, handler);
  app.get('/api/v1/login', opts, handler);
};
