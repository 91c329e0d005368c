/**
 * The operator API, `/api/operator/…` with `Authorization: Bearer <operator token>`:
 * provisioning caches (create, list, show, resize, rename, disable, enable, introspection on/off, move to another
 * cluster, delete), minting and deleting a cache's credentials (the way back for a tenant who lost its only password:
 * passwords are stored hashed and shown once), listing nodes, listing and creating clusters. A cache's
 * `servers` are the nodes of its cluster. Changes go to the catalog, then nodes are asked to sync at once; a resize
 * reaches each node as a new limit for the cache's store, its data kept. Creating a cache
 * also makes its dashboard sign-in link (shown once; `…/rotate_sso` makes a new one).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { cacheServers, CredentialLimitError, serversOf, type CacheRecord, type Catalog } from '../../catalog/catalog.ts';
import { UnknownClusterError } from '../../catalog/clusters.ts';
import { ApiError } from '../../api/errors.ts';
import {
  CacheDetail, CacheList, CacheView, ClusterList, ClusterView, CreateCacheBody, CreateClusterBody, CreateCredentialBody, NewCacheView,
  NodeList, OperatorCacheParams, OperatorCredentialParams, OperatorNewCredential, ResizeCacheBody, SsoLinkView, UpdateCacheBody,
} from '../../api/operator.ts';
import { resolveCredential } from './credentials.ts';
import { nodeState } from '../readiness.ts';
import { parseSize } from '../../shared/sizes.ts';
import { operatorGuard } from '../auth.ts';
import { signInLink } from '../sessions.ts';
import type { Routes } from '../app.ts';
import { cacheView, clusterView, credentialView } from '../../api/views.ts';

type ById = { Params: OperatorCacheParams };

export const operatorRoutes: Routes = (app, { catalog, nodes, localNodes }) => {
  const onRequest = operatorGuard(catalog);
  const servers = (cache: CacheRecord) => cacheServers(catalog, cache);
  const changed = async () => {
    try {
      await nodes.syncAll();
    } catch {
      // best effort: nodes poll the catalog revision anyway
    }
  };
  const update = async (
    id: number, patch: { memory?: number | string; name?: string; enabled?: boolean; introspection?: boolean; cluster?: string },
  ): Promise<CacheView> => {
    await mustExist(catalog, id);
    if (patch.name !== undefined) await nameFree(catalog, patch.name, id);
    // Checked first, so a 400 for the cluster leaves the rest of the patch unapplied too.
    if (patch.cluster !== undefined && !(await catalog.listClusters()).some((c) => c.name === patch.cluster)) {
      throw new ApiError('BAD_REQUEST', new UnknownClusterError(patch.cluster).message);
    }
    const memoryBytes = patch.memory === undefined ? undefined : memoryFrom(patch.memory);
    let cache = await catalog.updateCache(id, { memoryBytes, name: patch.name, enabled: patch.enabled, introspection: patch.introspection });
    if (cache && patch.cluster !== undefined) cache = await catalog.moveCache(id, patch.cluster).catch(badCluster);
    if (!cache) throw new ApiError('NO_CACHE');
    await changed();
    return cacheView(cache, await servers(cache));
  };

  app.get('/api/operator/nodes', { onRequest, schema: { response: { 200: NodeList } } }, async (): Promise<NodeList> => {
    const local = localNodes();
    return (await catalog.listNodes()).map((n) => ({
      address: n.address, admin_address: n.adminAddress, last_seen: n.lastSeen, cluster: n.cluster, capacity_bytes: n.capacityBytes, pid: n.pid,
      ...nodeState(n.address, local),
    }));
  });

  app.get('/api/operator/clusters', { onRequest, schema: { response: { 200: ClusterList } } }, async (): Promise<ClusterList> => {
    return (await catalog.listClusters()).map(clusterView);
  });

  app.post<{ Body: CreateClusterBody }>(
    '/api/operator/clusters',
    { onRequest, schema: { body: CreateClusterBody, response: { 200: ClusterView } } },
    async (request): Promise<ClusterView> => clusterView(await catalog.createCluster(request.body.name)),
  );

  app.get('/api/operator/caches', { onRequest, schema: { response: { 200: CacheList } } }, async (): Promise<CacheList> => {
    const [caches, nodes] = await Promise.all([catalog.listCaches(), catalog.listNodes()]);
    return caches.map((c) => cacheView(c, serversOf(nodes.filter((n) => n.cluster === c.cluster), c.cluster)));
  });

  app.post<{ Body: CreateCacheBody }>(
    '/api/operator/caches',
    { onRequest, schema: { body: CreateCacheBody, response: { 200: NewCacheView } } },
    async (request): Promise<NewCacheView> => {
      const memoryBytes = memoryFrom(request.body.memory ?? '64mb');
      if (request.body.name !== undefined) await nameFree(catalog, request.body.name);
      const { cache, credential, password } = await catalog.createCache({ name: request.body.name, memoryBytes, cluster: request.body.cluster })
        .catch(badCluster);
      const token = await catalog.rotateSsoToken(cache.id);
      if (token === undefined) throw new ApiError('NO_CACHE');
      await changed();
      return { ...cacheView(cache, await servers(cache)), username: credential.username, password, sso_url: signInLink(request, cache.id, token) };
    },
  );

  app.get<ById>(
    '/api/operator/caches/:id',
    { onRequest, schema: { params: OperatorCacheParams, response: { 200: CacheDetail } } },
    async (request): Promise<CacheDetail> => {
      const cache = await mustExist(catalog, request.params.id);
      const credentials = (await catalog.listCredentials(cache.id)).map(credentialView);
      return { ...cacheView(cache, await servers(cache)), credentials };
    },
  );

  app.patch<ById & { Body: UpdateCacheBody }>(
    '/api/operator/caches/:id',
    { onRequest, schema: { params: OperatorCacheParams, body: UpdateCacheBody, response: { 200: CacheView } } },
    async (request): Promise<CacheView> => update(request.params.id, request.body),
  );

  app.post<ById & { Body: ResizeCacheBody }>(
    '/api/operator/caches/:id/resize',
    { onRequest, schema: { params: OperatorCacheParams, body: ResizeCacheBody, response: { 200: CacheView } } },
    async (request): Promise<CacheView> => update(request.params.id, { memory: request.body.memory }),
  );

  for (const [action, enabled] of [['enable', true], ['disable', false]] as const) {
    app.post<ById>(
      `/api/operator/caches/:id/${action}`,
      { onRequest, schema: { params: OperatorCacheParams, response: { 200: CacheView } } },
      async (request): Promise<CacheView> => update(request.params.id, { enabled }),
    );
  }

  // A new dashboard sign-in link for the cache (what a portal embeds); old links and their sessions stop at once.
  app.post<ById>(
    '/api/operator/caches/:id/rotate_sso',
    { onRequest, schema: { params: OperatorCacheParams, response: { 200: SsoLinkView } } },
    async (request): Promise<SsoLinkView> => {
      const token = await catalog.rotateSsoToken(request.params.id);
      if (token === undefined) throw new ApiError('NO_CACHE');
      return { sso_url: signInLink(request, request.params.id, token) };
    },
  );

  // A new credential with every capability (optionally made the primary): its password shown only here.
  app.post<ById & { Body: CreateCredentialBody }>(
    '/api/operator/caches/:id/credentials',
    { onRequest, schema: { params: OperatorCacheParams, body: CreateCredentialBody, response: { 200: OperatorNewCredential } } },
    async (request): Promise<OperatorNewCredential> => {
      const cache = await mustExist(catalog, request.params.id);
      const made = await catalog.createCredential(cache.id, { write: true, flush: true, api: true }).catch((e: unknown) => {
        throw e instanceof CredentialLimitError ? new ApiError('TOO_MANY_CREDENTIALS') : e;
      });
      const credential = request.body.primary ? (await catalog.promoteCredential(made.credential.id)) ?? made.credential : made.credential;
      await changed();
      return { ...credentialView(credential), username: credential.username, password: made.password, servers: await servers(cache) };
    },
  );

  app.delete<{ Params: OperatorCredentialParams }>(
    '/api/operator/caches/:id/credentials/:cred',
    { onRequest, schema: { params: OperatorCredentialParams } },
    async (request, reply) => {
      const cache = await mustExist(catalog, request.params.id);
      const target = await resolveCredential(catalog, cache.id, request.params.cred);
      const result = await catalog.deleteCredential(target.id);
      if (result === 'primary') throw new ApiError('PRIMARY_CREDENTIAL');
      if (result === 'not_found') throw new ApiError('NO_CREDENTIAL');
      await changed();
      return reply.code(200).send();
    },
  );

  app.delete<ById>(
    '/api/operator/caches/:id',
    { onRequest, schema: { params: OperatorCacheParams } },
    async (request: FastifyRequest<ById>, reply: FastifyReply) => {
      if (!(await catalog.deleteCache(request.params.id))) throw new ApiError('NO_CACHE');
      await changed();
      return reply.code(200).send();
    },
  );
};

/** An unknown cluster named in a request is the caller's mistake. */
function badCluster(e: unknown): never {
  throw e instanceof UnknownClusterError ? new ApiError('BAD_REQUEST', e.message) : e;
}

async function mustExist(catalog: Catalog, id: number): Promise<CacheRecord> {
  const cache = await catalog.getCache(id);
  if (!cache) throw new ApiError('NO_CACHE');
  return cache;
}

async function nameFree(catalog: Catalog, name: string, self?: number): Promise<void> {
  if ((await catalog.listCaches()).some((c) => c.name === name && c.id !== self)) throw new ApiError('CACHE_NAME_TAKEN', name);
}

/** Bytes from an integer or a binary-unit string ("64mb"). */
export function memoryFrom(memory: number | string): number {
  if (typeof memory === 'number') {
    if (!Number.isSafeInteger(memory) || memory <= 0) throw new ApiError('BAD_REQUEST', 'memory must be a positive number of bytes');
    return memory;
  }
  try {
    return parseSize(memory);
  } catch (e) {
    throw new ApiError('BAD_REQUEST', (e as Error).message);
  }
}
