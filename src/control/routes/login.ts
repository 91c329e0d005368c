/**
 * `GET /api/login` and `GET /api/v1/login`: the cache a credential belongs to. The
 * document calls the result the memcachier_id; every other path carries it.
 */
import { ApiError } from '../../api/errors.ts';
import { LoginResponse } from '../../api/v1.ts';
import { verifyBasic } from '../auth.ts';
import type { Routes } from '../app.ts';

export const loginRoutes: Routes = (app, { catalog }) => {
  const opts = { schema: { response: { 200: LoginResponse } } };
  const handler = async (request: { headers: { authorization?: string } }): Promise<LoginResponse> => {
    const credential = await verifyBasic(catalog, request.headers.authorization);
    if (!credential) throw new ApiError('NOT_AUTHORIZED');
    const cache = await catalog.getCache(credential.cacheId);
    if (!cache?.enabled) throw new ApiError('NO_CACHE');
    if (!credential.api) throw new ApiError('NOT_AUTHORIZED');
    return { cache_id: cache.id };
  };
  app.get('/api/login', opts, handler);
  app.get('/api/v1/login', opts, handler);
};
