/**
 * `GET info`: everything about the cache, as cachier's decisions list it. Answers for a
 * disabled cache too (`enabled: false`), so a client can tell "disabled" from "gone" and
 * call `enable_cache`. `servers` and `cluster_name` are the cache's cluster;
 * `can_switch` says whether `switch_cluster` has somewhere to go: another cluster with live
 * nodes (one whose nodes are all dead or gone could not serve the cache).
 */
import { serversOf } from '../../../catalog/catalog.ts';
import { placeCache } from '../../../catalog/clusters.ts';
import { V2CacheInfo } from '../../../api/v2.ts';
import { v2CredentialView } from './views.ts';
import type { V2Routes } from './index.ts';

export const infoRoutes: V2Routes = (app, { catalog, authOf }) => {
  app.get(
    '/info',
    { config: { allowDisabledCache: true }, schema: { response: { 200: V2CacheInfo } } },
    async (request): Promise<V2CacheInfo> => {
      const { cache } = authOf(request);
      const [nodes, credentials, clusters] = await Promise.all([
        catalog.listNodes(cache.cluster), catalog.listCredentials(cache.id), catalog.listClusters(),
      ]);
      return {
        id: cache.id,
        name: cache.name,
        label: cache.name,
        cache_type: 'memcache',
        plan: cache.memoryBytes,
        provider: 'self-hosted',
        enabled: cache.enabled,
        cluster_name: cache.cluster,
        servers: serversOf(nodes, cache.cluster),
        credentials: credentials.map(v2CredentialView),
        can_switch: placeCache(clusters, cache.cluster) !== undefined,
        can_manage_credentials: true,
        can_update_capabilities: true,
      };
    },
  );
};
