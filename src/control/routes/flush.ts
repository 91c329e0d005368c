/**
 * `POST /api/v1/:id/flush`: empties the cache on every server. Needs flush_capability
 * (403 otherwise); a server that does not answer makes it the document's 500 naming it.
 */
import { ApiError, serverError } from '../../api/errors.ts';
import { CacheIdParams } from '../../api/v1.ts';
import { authOf } from '../auth.ts';
import type { Routes } from '../app.ts';

export const flushRoutes: Routes = (app, { nodes, guard }) => {
  app.post<{ Params: CacheIdParams }>(
    '/api/v1/:id/flush',
    { onRequest: guard, schema: { params: CacheIdParams } },
    async (request, reply) => {
      const { cache, credential } = authOf(request);
      if (!credential.flush) throw new ApiError('NOT_AUTHORIZED');
      const { failed } = await nodes.flush(cache.id);
      if (failed.length) throw serverError(failed);
      return reply.code(200).send();
    },
  );
};
