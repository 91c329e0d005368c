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
 */

export const DEFAULT_CLUSTER = 'default';
/** A node's memory capacity when it does not say (`--node-memory`): 1 GiB. */
export const DEFAULT_NODE_CAPACITY = 1024 * 1024 * 1024;
export const MAX_CLUSTER_NAME_LENGTH = 100;
/** As cache names: safe in URLs, logs and a shell. */
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface ClusterRecord {
  readonly name: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  /** Registered nodes in the cluster. */
  readonly nodes: number;
  /** Sum of its nodes' capacities, in bytes. */
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

/** Where a new cache goes, `except` one cluster (switch_cluster); undefined when no other exists. */
export function placeCache(clusters: readonly ClusterRecord[], except?: string): string | undefined {
  const candidates = clusters.filter((c) => c.name !== except);
  candidates.sort((a, b) =>
    Number(b.nodes > 0) - Number(a.nodes > 0)
    || unallocatedBytes(b) - unallocatedBytes(a)
    || Number(b.name === DEFAULT_CLUSTER) - Number(a.name === DEFAULT_CLUSTER)
    || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return candidates[0]?.name;
}
