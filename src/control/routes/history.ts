/**
 * `GET /api/v1/:id/history[?since=ms&until=ms&limit=n]`: the sampler's records for the
 * cache, oldest first, in the document's shape (memcachier_id and timestamp as strings).
 */
import { CacheIdParams, HistoryQuery, HistoryResponse } from '../../api/v1.ts';
import { authOf } from '../auth.ts';
import type { Routes } from '../app.ts';
import { historyView } from '../../api/views.ts';

export const historyRoutes: Routes = (app, { catalog, guard }) => {
  app.get<{ Params: CacheIdParams; Querystring: HistoryQuery }>(
    '/api/v1/:id/history',
    { onRequest: guard, schema: { params: CacheIdParams, querystring: HistoryQuery, response: { 200: HistoryResponse } } },
    async (request): Promise<HistoryResponse> => {
      const { cache } = authOf(request);
      const { since, until, limit } = request.query;
      const samples = await catalog.history(cache.id, { since, until, limit });
      return samples.map(historyView);
    },
  );
};
