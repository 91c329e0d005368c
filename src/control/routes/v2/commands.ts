/**
 * v2 commands: `POST flush` (204), `POST reset_stats` (204), `GET stats` (one flat object).
 * Each goes to every server of the cache through the nodes' admin endpoints
 * (src/control/node-client.ts, 1.5 s deadline per server); a server that does not answer
 * makes the whole answer 500 `{"message": "Server error: host:port,…"}` naming it.
 *
 * flush and reset_stats need flush_capability (403 otherwise): reset_stats destroys
 * counters as flush destroys data, the rule memcache's `stats reset` follows too. Reset
 * zeroes every counter `stats` returns and keeps the gauges (bytes, curr_items,
 * curr_connections, limit_maxbytes, time).
 */
import { STAT_NAMES } from '../../../shared/stat-names.ts';
import { V2Error, v2ServerError } from '../../../api/v2-errors.ts';
import { V2EmptyBody, V2NoContent, V2Stats } from '../../../api/v2.ts';
import type { V2Routes } from './index.ts';

export const commandRoutes: V2Routes = (app, { nodes, authOf }) => {
  app.post<{ Body: V2EmptyBody }>(
    '/flush',
    { schema: { body: V2EmptyBody, response: { 204: V2NoContent } } },
    async (request, reply) => {
      const { cache, credential } = authOf(request);
      if (!credential.flush) throw new V2Error('FORBIDDEN');
      const { failed } = await nodes.flush(cache.id);
      if (failed.length) throw v2ServerError(failed);
      return reply.code(204).send();
    },
  );

  app.post<{ Body: V2EmptyBody }>(
    '/reset_stats',
    { schema: { body: V2EmptyBody, response: { 204: V2NoContent } } },
    async (request, reply) => {
      const { cache, credential } = authOf(request);
      if (!credential.flush) throw new V2Error('FORBIDDEN');
      const { failed } = await nodes.resetStats(cache.id);
      if (failed.length) throw v2ServerError(failed);
      return reply.code(204).send();
    },
  );

  app.get('/stats', { schema: { response: { 200: V2Stats } } }, async (request): Promise<V2Stats> => {
    const { cache } = authOf(request);
    const { ok, failed } = await nodes.stats(cache.id);
    if (failed.length) throw v2ServerError(failed);
    return sumStats([...ok.values()]);
  });
};

/** Every stat summed over the servers, but `time`: the newest server's. */
export function sumStats(perServer: readonly Readonly<Record<string, number>>[]): V2Stats {
  const out = {} as Record<string, number>;
  for (const name of STAT_NAMES) {
    out[name] = name === 'time'
      ? perServer.reduce((m, s) => Math.max(m, s.time ?? 0), 0)
      : perServer.reduce((sum, s) => sum + (s[name] ?? 0), 0);
  }
  return out as V2Stats;
}
