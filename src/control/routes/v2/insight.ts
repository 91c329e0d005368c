/**
 * v2 insight: `GET insight/processed_stats`, `GET insight/processed_stats/per_server`
 * and `GET insight/latency`, answered from the catalog's rollups (src/control/insight/
 * queries.ts; formulas in src/api/insight-formulas.ts). Errors, all 400 `{"message"}`:
 * `names` missing or empty ("query parameter names is required"), more than 100 names
 * (the answer grows with them; repeats count), names not among the 36 (named), a time that
 * is not RFC 3339, a reversed range, a range over 2 years, an unknown query parameter.
 */
import type { FastifySchemaValidationError } from 'fastify';
import { V2Error } from '../../../api/v2-errors.ts';
import { isProcessedStatName, type ProcessedStatName } from '../../../api/insight-formulas.ts';
import {
  LatencyQuery, LatencyResponse, MAX_PROCESSED_STAT_NAMES, ProcessedStatsQuery, ProcessedStatsResponse,
} from '../../../api/v2-insight.ts';
import { cacheServers } from '../../../catalog/catalog.ts';
import { latencySeries, processedStatsSeries, type Series } from '../../insight/queries.ts';
import type { V2Routes } from './index.ts';
import { requestRange } from './time-range.ts';

function statNames(raw: string | undefined): ProcessedStatName[] {
  const names = (raw ?? '').split(',').map((n) => n.trim()).filter((n) => n !== '');
  if (names.length === 0) throw new V2Error('NAMES_REQUIRED');
  if (names.length > MAX_PROCESSED_STAT_NAMES) {
    throw new V2Error('TOO_MANY_STAT_NAMES', `${names.length} (at most ${MAX_PROCESSED_STAT_NAMES} a request)`);
  }
  const unknown = [...new Set(names.filter((n) => !isProcessedStatName(n)))];
  if (unknown.length) throw new V2Error('UNKNOWN_STAT_NAMES', unknown.map((n) => JSON.stringify(n.slice(0, 64))).join(', '));
  return names as ProcessedStatName[];
}

/**
 * `names` left out keeps its documented text (the schema requires it, so the OpenAPI
 * document says so); any other invalid query string is answered as v2 answers them.
 */
function namesRequired(errors: FastifySchemaValidationError[], dataVar: string): Error {
  if (errors.some((e) => e.keyword === 'required' && (e.params as { missingProperty?: string }).missingProperty === 'names')) {
    return new V2Error('NAMES_REQUIRED');
  }
  return new Error(errors.map((e) => `${dataVar}${e.instancePath ?? ''} ${e.message}`).join(', '));
}

/** Series are built whole and sent as one string: the schema documents the shape. */
const json = (series: Series[]) => JSON.stringify(series);

export const insightRoutes: V2Routes = (app, { catalog, authOf }) => {
  for (const perServer of [false, true]) {
    app.get<{ Querystring: ProcessedStatsQuery }>(
      perServer ? '/insight/processed_stats/per_server' : '/insight/processed_stats',
      { schema: { querystring: ProcessedStatsQuery, response: { 200: ProcessedStatsResponse } }, schemaErrorFormatter: namesRequired },
      async (request, reply) => {
        const { cache } = authOf(request);
        const names = statNames(request.query.names);
        const r = requestRange(request.query);
        const servers = perServer ? { servers: await cacheServers(catalog, cache) } : false as const;
        const series = await processedStatsSeries(catalog, cache.id, names, r, servers);
        return reply.type('application/json; charset=utf-8').send(json(series));
      },
    );
  }

  app.get<{ Querystring: LatencyQuery }>(
    '/insight/latency',
    { schema: { querystring: LatencyQuery, response: { 200: LatencyResponse } } },
    async (request, reply) => {
      const { cache } = authOf(request);
      const r = requestRange(request.query);
      const series = await latencySeries(catalog, await cacheServers(catalog, cache), r);
      return reply.type('application/json; charset=utf-8').send(json(series));
    },
  );
};
