/**
 * v2 introspection (the spec's §2.24–2.32, docs/introspection.md): `GET
 * introspection/popular_items`, `key_stats`, `recent_logs`, `compound_stats`, `GET|POST
 * prefixes`, `DELETE prefixes/:prefix_id`, `GET prefixes/:prefix_id/stats` and
 * `…/popular_items`, and cachier's `GET introspection/keys` (a live key listing, paged).
 *
 * - Who: the v2 guard (a credential of this cache with api_capability, a session, or a
 *   token with `all`; compound_stats and prefix stats, which show no key, also `stats`).
 * - Introspection off for the cache (the operator's `introspection: false`) or on a node
 *   (`--no-introspection`, the node's 409) → 403 "Introspection is disabled for this cache.".
 * - What nodes know is asked of every node in parallel (node-client.ts, 1.5 s each); one
 *   that does not answer makes the whole answer 500 "Server error: host:port,…", as stats.
 *   Merging is introspection-merge.ts.
 * - compound_stats comes from the cache's history rollups, prefix stats from the samples
 *   the sampler stores each interval (sampler.ts); buckets by span as processed stats.
 * - Watching: a name of 1 to 250 bytes of well-formed UTF-8 without NUL; the 51st is a
 *   400; a name already watched answers the existing one. Nodes are told at once, so
 *   counting starts now.
 */
import type { FastifyRequest } from 'fastify';
import type { CacheRecord, WatchedPrefix } from '../../../catalog/catalog.ts';
import { MAX_PREFIX_NAME_BYTES } from '../../../catalog/catalog.ts';
import { prefixNameProblem } from '../../../catalog/prefix-watch.ts';
import { V2Error, v2ServerError } from '../../../api/v2-errors.ts';
import { V2NoContent } from '../../../api/v2.ts';
import {
  CompoundStatsResponse, DEFAULT_KEYS_PAGE, DEFAULT_RECENT_LOGS, INTROSPECTION_COLUMNS, IntrospectionRangeQuery, KeysPage, KeysQuery,
  KeyStatsQuery, KeyStatsResponse, PopularItems, PrefixParams, PrefixStatsResponse, RecentLogsQuery, RecentLogsResponse,
  WatchedPrefixList, WatchedPrefixView, WatchPrefixBody,
} from '../../../api/v2-introspection.ts';
import { bucketOf } from '../../../catalog/rollups.ts';
import type { FanOut } from '../../node-client.ts';
import {
  BadCursorError, compoundRows, decodeKeysCursor, encodeKeysCursor, keyStatsRows, mergeKeysPage, mergePopular, planKeysPage,
  prefixRows, recentLogs,
} from '../../introspection-merge.ts';
import { formatTime, processedBucket } from '../../insight/queries.ts';
import type { V2Routes } from './index.ts';
import { requestRange } from './time-range.ts';

/**
 * How many of each list a node sends: more than the 20 we show, so a key that is 21st on
 * every node but first in the sum is not lost.
 */
const NODE_POPULAR_LIMIT = 100;
/** prefix stats read back this far before the first bucket, for the first step's start. */
const PREFIX_LOOKBACK_MS = 600_000;

const JSON_TYPE = 'application/json; charset=utf-8';

/** The cache, unless introspection is off for it. */
function introspectedCache(authOf: (r: FastifyRequest) => { cache: CacheRecord }, request: FastifyRequest): CacheRecord {
  const { cache } = authOf(request);
  if (cache.introspection === false) throw new V2Error('INTROSPECTION_DISABLED');
  return cache;
}

/** Every node's answer, or the 403 when one has introspection off, or the 500 naming the silent ones. */
function gathered<T>(fan: FanOut<T>): ReadonlyMap<string, T> {
  if ([...fan.statuses.values()].includes(409)) throw new V2Error('INTROSPECTION_DISABLED');
  if (fan.failed.length) throw v2ServerError(fan.failed);
  return fan.ok;
}

/** Strict base64, padded or not: anything that is not the canonical text of its bytes is refused. */
function fromBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  const canonical = bytes.toString('base64');
  return text === canonical || text === canonical.replace(/=+$/, '') ? bytes : undefined;
}

/** `name` (UTF-8) or `<name>_base64`, at most one; undefined when neither is given. */
function bytesParam(q: { readonly [k: string]: unknown }, name: 'key' | 'prefix'): Buffer | undefined {
  const text = q[name] as string | undefined;
  const b64 = q[`${name}_base64`] as string | undefined;
  if (text !== undefined && b64 !== undefined) throw new V2Error('BAD_KEY', `give ${name} or ${name}_base64, not both`);
  if (b64 !== undefined) {
    const bytes = fromBase64(b64);
    if (!bytes) throw new V2Error('BAD_KEY', `${name}_base64 is not base64`);
    return bytes;
  }
  return text === undefined ? undefined : Buffer.from(text, 'utf8');
}

function prefixView(p: WatchedPrefix) {
  return { id: p.id, name: p.name, created_at: formatTime(p.createdAt) };
}

function watchedPrefix(cache: CacheRecord, id: number): WatchedPrefix {
  const p = cache.watchedPrefixes.find((w) => w.id === id);
  if (!p) throw new V2Error('PREFIX_NOT_FOUND');
  return p;
}

export const introspectionRoutes: V2Routes = (app, { catalog, nodes, authOf, nodesChanged }) => {
  const cacheOf = (request: FastifyRequest) => introspectedCache(authOf, request);

  app.get('/introspection/popular_items', { schema: { response: { 200: PopularItems } } }, async (request): Promise<PopularItems> => {
    const cache = cacheOf(request);
    return mergePopular([...gathered(await nodes.popular(cache.id, NODE_POPULAR_LIMIT)).values()]);
  });

  app.get<{ Querystring: KeyStatsQuery }>(
    '/introspection/key_stats',
    { schema: { querystring: KeyStatsQuery, response: { 200: KeyStatsResponse } } },
    async (request): Promise<KeyStatsResponse> => {
      const cache = cacheOf(request);
      const key = bytesParam(request.query, 'key');
      if (key === undefined) throw new V2Error('KEY_REQUIRED');
      if (key.length === 0 || key.length > MAX_PREFIX_NAME_BYTES) throw new V2Error('BAD_KEY', `a key is 1 to ${MAX_PREFIX_NAME_BYTES} bytes`);
      return keyStatsRows(key, gathered(await nodes.keyStats(cache.id, key)), Date.now());
    },
  );

  app.get<{ Querystring: RecentLogsQuery }>(
    '/introspection/recent_logs',
    { schema: { querystring: RecentLogsQuery, response: { 200: RecentLogsResponse } } },
    async (request): Promise<RecentLogsResponse> => {
      const cache = cacheOf(request);
      return recentLogs(gathered(await nodes.recent(cache.id, request.query.limit ?? DEFAULT_RECENT_LOGS)));
    },
  );

  app.get<{ Querystring: IntrospectionRangeQuery }>(
    '/introspection/compound_stats',
    { schema: { querystring: IntrospectionRangeQuery, response: { 200: CompoundStatsResponse } } },
    async (request, reply) => {
      const cache = cacheOf(request);
      const r = requestRange(request.query);
      const rows = await catalog.historyRollups(cache.id, processedBucket(r.to - r.from), r.from, r.to);
      const series = [{ name: 'compound_stats', columns: INTROSPECTION_COLUMNS, values: compoundRows(rows) }];
      // Rows of mixed types: built whole and sent as one string, as insight's series.
      return reply.type(JSON_TYPE).send(JSON.stringify(series));
    },
  );

  app.get('/introspection/prefixes', { schema: { response: { 200: WatchedPrefixList } } }, async (request) =>
    cacheOf(request).watchedPrefixes.map(prefixView));

  app.post<{ Body: WatchPrefixBody }>(
    '/introspection/prefixes',
    {
      schema: { body: WatchPrefixBody, response: { 200: WatchedPrefixView } },
      // The validator would coerce 5 to "5" and null to "": a name is a JSON string.
      preValidation: async (request) => {
        const body = request.body as { name?: unknown } | null;
        if (body && typeof body === 'object' && 'name' in body && typeof body.name !== 'string') {
          throw new V2Error('BAD_PREFIX_NAME', 'not a string');
        }
      },
    },
    async (request) => {
      const cache = cacheOf(request);
      const { name } = request.body;
      const problem = prefixNameProblem(name);
      if (problem !== undefined) throw new V2Error('BAD_PREFIX_NAME', problem);
      const watched = await catalog.watchPrefix(cache.id, name);
      if (watched === 'limit') throw new V2Error('TOO_MANY_PREFIXES');
      if (watched === 'no_cache') throw new V2Error('CACHE_NOT_FOUND');
      await nodesChanged();
      return prefixView(watched);
    },
  );

  app.delete<{ Params: PrefixParams }>(
    '/introspection/prefixes/:prefix_id',
    { schema: { params: PrefixParams, response: { 204: V2NoContent } } },
    async (request, reply) => {
      const cache = cacheOf(request);
      if (!(await catalog.unwatchPrefix(cache.id, request.params.prefix_id))) throw new V2Error('PREFIX_NOT_FOUND');
      await nodesChanged();
      return reply.code(204).send();
    },
  );

  app.get<{ Params: PrefixParams; Querystring: IntrospectionRangeQuery }>(
    '/introspection/prefixes/:prefix_id/stats',
    { schema: { params: PrefixParams, querystring: IntrospectionRangeQuery, response: { 200: PrefixStatsResponse } } },
    async (request, reply) => {
      const cache = cacheOf(request);
      const prefix = watchedPrefix(cache, request.params.prefix_id);
      const r = requestRange(request.query);
      const level = processedBucket(r.to - r.from);
      const samples = await catalog.prefixHistory(cache.id, prefix.id, bucketOf(r.from, level) - Math.max(level, PREFIX_LOOKBACK_MS), r.to);
      const series = [{ name: 'prefix_stats', columns: INTROSPECTION_COLUMNS, values: prefixRows(samples, level, r) }];
      return reply.type(JSON_TYPE).send(JSON.stringify(series));
    },
  );

  app.get<{ Params: PrefixParams }>(
    '/introspection/prefixes/:prefix_id/popular_items',
    { schema: { params: PrefixParams, response: { 200: PopularItems } } },
    async (request): Promise<PopularItems> => {
      const cache = cacheOf(request);
      const prefix = Buffer.from(watchedPrefix(cache, request.params.prefix_id).name, 'utf8');
      return mergePopular([...gathered(await nodes.popular(cache.id, NODE_POPULAR_LIMIT, prefix)).values()]);
    },
  );

  app.get<{ Querystring: KeysQuery }>(
    '/introspection/keys',
    { schema: { querystring: KeysQuery, response: { 200: KeysPage } } },
    async (request): Promise<KeysPage> => {
      const cache = cacheOf(request);
      const prefix = bytesParam(request.query, 'prefix') ?? Buffer.alloc(0);
      if (prefix.length > MAX_PREFIX_NAME_BYTES) throw new V2Error('BAD_KEY', `a prefix is at most ${MAX_PREFIX_NAME_BYTES} bytes`);
      let walk: ReadonlyMap<string, string | null> = new Map();
      if (request.query.cursor !== undefined) {
        try {
          walk = decodeKeysCursor(request.query.cursor, cache.id, prefix);
        } catch (e) {
          if (e instanceof BadCursorError) throw new V2Error('BAD_CURSOR', e.message);
          throw e;
        }
      }
      const all = await catalog.listNodes(cache.cluster);
      const addresses = all.map((n) => n.address);
      const byAddress = new Map(all.map((n) => [n.address, n]));
      const asks = planKeysPage(addresses, walk, request.query.limit ?? DEFAULT_KEYS_PAGE)
        .map((a) => ({ node: byAddress.get(a.address)!, cursor: a.cursor, limit: a.limit }));
      const fan = await nodes.keysPages(cache.id, prefix, asks);
      // A node refusing the cursor we stored for it: the cursor is stale or forged.
      if ([...fan.statuses.values()].includes(400)) throw new V2Error('BAD_CURSOR', 'a server refused it');
      const page = mergeKeysPage(addresses, walk, gathered(fan));
      return { keys: page.keys, cursor: page.walk ? encodeKeysCursor(cache.id, prefix, page.walk) : null };
    },
  );
};
