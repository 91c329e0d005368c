/**
 * `GET /api/v1/:id/stats`: the cache's 31 stats on every server, keyed host:port. If any
 * server fails to answer within the deadline the whole answer is the document's 500,
 * naming exactly the servers that failed.
 */
import { serverError } from '../../api/errors.ts';
import { CacheIdParams, StatsResponse } from '../../api/v1.ts';
import { authOf } from '../auth.ts';
import type { Routes } from '../app.ts';

export const statsRoutes: Routes = (app, { nodes, guard }) => {
  app.get<{ Params: CacheIdParams }>(
    '/api/v1/:id/stats',
    { onRequest: guard, schema: { params: CacheIdParams, response: { 200: StatsResponse } } },
    async (request): Promise<StatsResponse> => {
      const { cache } = authOf(request);
      const { ok, failed } = await nodes.stats(cache.id);
      if (failed.length) throw serverError(failed);
      return Object.fromEntries(ok);
    },
  );
};
