/**
 * Clusters: named groups of nodes. A cache lives on exactly one cluster and is split over
 * that cluster's nodes only, so a client's server list stays as short as its cluster however
 * many machines share the catalog. `default` exists in every catalog and holds every node
 * and cache that names no other. Clusters are never deleted (a cache or node may still name
 * one), so a name once known stays valid.
 *
 * Placement (written once here, both catalogs call it): a new cache goes to the cluster with
 * the most unallocated memory, the sum of its nodes' capacities minus the plans of its live
 * caches. A cluster without nodes can serve nobody, so it is chosen only when no cluster has
 * nodes. Ties go to `default`, then to the first name.
 *
 * Only live nodes count: a node re-registers every NODE_HEARTBEAT_MS (`last_seen`), and one
 * not seen for NODE_STALE_MS (three heartbeats missed) is taken for dead — its capacity
 * counts for nothing, and a cluster of such nodes cannot be switched to.
 */

export const DEFAULT_CLUSTER = 'default';
/** A node's memory capacity when it does not say (`--node-memory`): 1 GiB. */
export const DEFAULT_NODE_CAPACITY = 1024 * 1024 * 1024;
/** How often a node refreshes its registration (`last_seen`). */
export const NODE_HEARTBEAT_MS = 10_000;
/** A node not seen for this long counts as dead (placement, switch_cluster, start's clean-up). */
export const NODE_STALE_MS = 3 * NODE_HEARTBEAT_MS;
export const MAX_CLUSTER_NAME_LENGTH = 100;
/** As cache names: safe in URLs, logs and a shell. */
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface ClusterRecord {
  readonly name: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  /** Live nodes in the cluster (seen within NODE_STALE_MS). */
  readonly nodes: number;
  /** Sum of its live nodes' capacities, in bytes. */
  readonly capacityBytes: number;
  /** Sum of the plans of its live caches (enabled or not), in bytes. */
  readonly allocatedBytes: number;
}

/** The cluster named does not exist (createCache, moveCache). */
export class UnknownClusterError extends Error {
  constructor(readonly cluster: string) {
    super(`no cluster named "${cluster}"`);
  }
}

export function isClusterName(name: string): boolean {
  return name.length >= 1 && name.length <= MAX_CLUSTER_NAME_LENGTH && CLUSTER_NAME.test(name);
}

/** Throws a RangeError for a name the catalog would not store (callers check first). */
export function checkClusterName(name: string): void {
  if (!isClusterName(name)) {
    throw new RangeError(`a cluster name is 1 to ${MAX_CLUSTER_NAME_LENGTH} letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
}

export const unallocatedBytes = (c: ClusterRecord): number => c.capacityBytes - c.allocatedBytes;

/**
 * Where a new cache goes, or, `except` its own cluster, where switch_cluster moves one:
 * then only a cluster with live nodes will do (else the cache could not be served), and
 * undefined when there is none.
 */
export function placeCache(clusters: readonly ClusterRecord[], except?: string): string | undefined {
  const candidates = clusters.filter((c) => except === undefined || (c.name !== except && c.nodes > 0));
  candidates.sort((a, b) =>
    Number(b.nodes > 0) - Number(a.nodes > 0)
    || unallocatedBytes(b) - unallocatedBytes(a)
    || Number(b.name === DEFAULT_CLUSTER) - Number(a.name === DEFAULT_CLUSTER)
    || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return candidates[0]?.name;
}
