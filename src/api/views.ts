/**
 * Catalog records in the API's shapes, the one place the field names are mapped; used by
 * the control plane's routes and the CLI's --json output. Imports only catalog types.
 */
import type { CacheRecord, CredentialRecord, HistorySample } from '../catalog/catalog.ts';
import { unallocatedBytes, type ClusterRecord } from '../catalog/clusters.ts';
import type { CacheView, ClusterView } from './operator.ts';
import type { CapabilitiesView, CredentialView, HistoryRecord } from './v1.ts';
import { formatSize } from '../shared/sizes.ts';

export function capabilitiesView(c: CredentialRecord): CapabilitiesView {
  return { flush_capability: c.flush, write_capability: c.write, api_capability: c.api };
}

export function credentialView(c: CredentialRecord): CredentialView {
  return {
    cache_id: c.cacheId, id: c.id, sasl_username: c.username, uuid: null, primary: c.primary,
    ...capabilitiesView(c),
  };
}

export function historyView(s: HistorySample): HistoryRecord {
  return { memcachier_id: String(s.cacheId), server: s.server, stats: { ...s.stats }, timestamp: String(s.timestamp) };
}

export function cacheView(c: CacheRecord, servers: string[]): CacheView {
  return {
    id: c.id, name: c.name, memory: formatSize(c.memoryBytes), memory_bytes: c.memoryBytes, enabled: c.enabled,
    created_at: c.createdAt, introspection: c.introspection, cluster: c.cluster, servers,
  };
}

export function clusterView(c: ClusterRecord): ClusterView {
  return {
    name: c.name, created_at: c.createdAt, nodes: c.nodes, capacity_bytes: c.capacityBytes,
    allocated_bytes: c.allocatedBytes, unallocated_bytes: unallocatedBytes(c),
  };
}
