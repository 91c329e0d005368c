/**
 * v2 management: `POST rotate_sso`, `POST enable_cache`, `POST switch_cluster`.
 *
 * - rotate_sso: a new dashboard sign-in link (src/control/sessions.ts), answered as a JSON
 *   string `<scheme>://<host>/sso/<id>/<token>`; the old link and every session it opened
 *   stop at once (one catalog transaction). The link signs in with the primary
 *   credential's rights, so making one needs all three capabilities (cachier's rule: a
 *   credential never gets, through a link, what it does not hold) — else 403.
 * - enable_cache: also answers for a disabled cache. Re-enables a cache disabled for
 *   inactivity (`--disable-idle-days`), counting now as traffic; 200 without a body, also
 *   when it already was enabled. One an operator disabled: 403 "Not allowed to enable this
 *   cache.". Nodes are told at once.
 * - switch_cluster: moves the cache to the cluster with the most unallocated memory other
 *   than its own (the placement of a new cache, src/catalog/clusters.ts) and answers its name
 *   as a JSON string; nodes are told at once, so the old ones drop its data and connections
 *   and the new ones accept its credentials within a second. Only a cluster with live nodes
 *   (clusters.ts) is a target: 403 when no other cluster has one (`can_switch` false in info). It empties the cache, so it needs all three
 *   capabilities, as rotate_sso.
 */
import type { FastifyReply } from 'fastify';
import { V2Error } from '../../../api/v2-errors.ts';
import { V2EmptyBody, V2NoContent, V2String } from '../../../api/v2.ts';
import { ALL, covers } from '../credentials.ts';
import { placeCache, UnknownClusterError } from '../../../catalog/clusters.ts';
import { signInLink } from '../../sessions.ts';
import type { V2Routes } from './index.ts';

/** A bare JSON string (a returned string would go out as text/plain, unquoted). */
function sendJsonString(reply: FastifyReply, text: V2String): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(text));
}

export const managementRoutes: V2Routes = (app, { catalog, authOf, nodesChanged }) => {
  app.post<{ Body: V2EmptyBody }>(
    '/rotate_sso',
    { schema: { body: V2EmptyBody, response: { 200: V2String } } },
    async (request, reply) => {
      const { cache, credential } = authOf(request);
      if (!covers(credential, ALL)) throw new V2Error('FORBIDDEN');
      const token = await catalog.rotateSsoToken(cache.id);
      if (token === undefined) throw new V2Error('CACHE_NOT_FOUND');
      return sendJsonString(reply, signInLink(request, cache.id, token));
    },
  );

  app.post<{ Body: V2EmptyBody }>(
    '/enable_cache',
    { config: { allowDisabledCache: true }, schema: { body: V2EmptyBody, response: { 200: V2NoContent } } },
    async (request, reply) => {
      const { cache } = authOf(request);
      const result = await catalog.enableIdleCache(cache.id);
      if (result === 'not_found') throw new V2Error('CACHE_NOT_FOUND');
      if (result === 'not_idle') throw new V2Error('ENABLE_NOT_ALLOWED');
      if (!cache.enabled) await nodesChanged();
      return reply.code(200).send();
    },
  );

  app.post<{ Body: V2EmptyBody }>(
    '/switch_cluster',
    { schema: { body: V2EmptyBody, response: { 200: V2String } } },
    async (request, reply) => {
      const { cache, credential } = authOf(request);
      if (!covers(credential, ALL)) throw new V2Error('FORBIDDEN');
      const target = placeCache(await catalog.listClusters(), cache.cluster);
      if (target === undefined) throw new V2Error('SWITCH_NOT_ALLOWED');
      const moved = await catalog.moveCache(cache.id, target).catch((e: unknown) => {
        throw e instanceof UnknownClusterError ? new V2Error('SWITCH_NOT_ALLOWED') : e;
      });
      if (!moved) throw new V2Error('CACHE_NOT_FOUND');
      await nodesChanged();
      return sendJsonString(reply, moved.cluster);
    },
  );
};
