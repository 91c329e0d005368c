/**
 * `GET /api/v1/:id/history[?since=ms&until=ms&limit=n&step=ms]`: the sampler's records
 * for the cache, oldest first (then by server), in the document's shape (memcachier_id
 * and timestamp as strings).
 *
 * - `since`, `until`: inclusive bounds, milliseconds since the epoch.
 * - `limit=n`: only the newest n records of the range, still oldest first.
 * - `step=ms` (≥ 1000): per server, only the last record of each floor(timestamp / step)
 *   bucket, for charts of long ranges; the stats are exact (counters and gauges).
 *
 * Without parameters every stored record is sent, however many: the answer is streamed
 * from the catalog a page at a time (history-json.ts), so memory stays bounded and other
 * requests are answered meanwhile. A catalog failure before the first page is a 500; a
 * failure later cuts the connection, so a truncated array can never pass for a whole one.
 */
import { CacheIdParams, HistoryQuery, HistoryResponse } from '../../api/v1.ts';
import { authOf } from '../auth.ts';
import type { Routes } from '../app.ts';
import { historyJsonStream } from '../history-json.ts';

export const historyRoutes: Routes = (app, { catalog, guard }) => {
  app.get<{ Params: CacheIdParams; Querystring: HistoryQuery }>(
    '/api/v1/:id/history',
    // The response schema documents the shape; the stream writes exactly that shape.
    { onRequest: guard, schema: { params: CacheIdParams, querystring: HistoryQuery, response: { 200: HistoryResponse } } },
    async (request, reply) => {
      const { cache } = authOf(request);
      const { since, until, limit, step } = request.query;
      const pages = catalog.historyPages(cache.id, { since, until, limit, step });
      const first = await pages.next();
      return reply.type('application/json; charset=utf-8').send(historyJsonStream(pages, first,
        (e) => request.log.error({ event: 'http_stream_failed', err: e }, 'history stream failed after its status was sent')));
    },
  );
};
