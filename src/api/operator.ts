/**
 * The operator API's shapes (`/api/operator/…`, bearer token): provisioning caches.
 * Not part of MemCachier's document; field names follow the same snake_case style.
 */
import type { Static } from './json-schema.ts';
import { CredentialView, CredentialParams } from './v1.ts';

/** A memory size: bytes as an integer, or binary units as a string ("64mb" = 64 × 2^20). */
const Memory = { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', minLength: 1, maxLength: 32 }] } as const;
const Name = { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' } as const;
/** A cluster's name: as a cache's (src/catalog/clusters.ts checks the same). */
const ClusterName = Name;

/** A cache id: PostgreSQL's `serial` is a 32-bit integer, so a larger id is a 400 rather than a failed query (500). */
const CACHE_ID = { type: 'integer', minimum: 1, maximum: 2147483647 } as const;

export const OperatorCacheParams = {
  type: 'object',
  properties: { id: CACHE_ID },
  required: ['id'],
} as const;
export type OperatorCacheParams = Static<typeof OperatorCacheParams>;

/** `cluster` left out: the cluster with the most unallocated memory (src/catalog/clusters.ts). */
export const CreateCacheBody = {
  type: 'object',
  properties: { memory: Memory, name: Name, cluster: ClusterName },
  additionalProperties: false,
} as const;
export type CreateCacheBody = Static<typeof CreateCacheBody>;

export const ResizeCacheBody = {
  type: 'object',
  properties: { memory: Memory },
  required: ['memory'],
  additionalProperties: false,
} as const;
export type ResizeCacheBody = Static<typeof ResizeCacheBody>;

/**
 * `introspection`: per-key analytics on the cache's nodes (docs/introspection.md).
 * `cluster`: moves the cache there (its data is not moved; an unknown cluster is a 400).
 */
export const UpdateCacheBody = {
  type: 'object',
  properties: {
    memory: Memory, name: Name, enabled: { type: 'boolean' }, introspection: { type: 'boolean' }, cluster: ClusterName,
  },
  additionalProperties: false,
} as const;
export type UpdateCacheBody = Static<typeof UpdateCacheBody>;

const cacheProperties = {
  id: { type: 'integer' },
  name: { type: 'string' },
  /** The plan in binary units, e.g. "64mb". */
  memory: { type: 'string' },
  memory_bytes: { type: 'integer' },
  enabled: { type: 'boolean' },
  /** Milliseconds since the epoch. */
  created_at: { type: 'integer' },
  /** Per-key analytics (hot keys, watched prefixes, recent requests) on; default true. */
  introspection: { type: 'boolean' },
  /** The cluster whose nodes serve it. */
  cluster: { type: 'string' },
  /** Every node of its cluster, host:port: what MEMCACHIER_SERVERS lists. */
  servers: { type: 'array', items: { type: 'string' } },
} as const;
const cacheRequired = ['id', 'name', 'memory', 'memory_bytes', 'enabled', 'created_at', 'introspection', 'cluster', 'servers'] as const;

export const CacheView = { type: 'object', properties: cacheProperties, required: cacheRequired } as const;
export type CacheView = Static<typeof CacheView>;

export const CacheList = { type: 'array', items: CacheView } as const;
export type CacheList = Static<typeof CacheList>;

/** One cache with its credentials (no passwords). */
export const CacheDetail = {
  type: 'object',
  properties: { ...cacheProperties, credentials: { type: 'array', items: CredentialView } },
  required: [...cacheRequired, 'credentials'],
} as const;
export type CacheDetail = Static<typeof CacheDetail>;

/**
 * A cache just created, with its primary credential and its dashboard sign-in link
 * (`<control plane>/sso/<id>/<token>`): the only time the password and the link are shown.
 */
export const NewCacheView = {
  type: 'object',
  properties: { ...cacheProperties, username: { type: 'string' }, password: { type: 'string' }, sso_url: { type: 'string' } },
  required: [...cacheRequired, 'username', 'password', 'sso_url'],
} as const;
export type NewCacheView = Static<typeof NewCacheView>;

/** `POST /api/operator/caches/:id/rotate_sso`: the new sign-in link (old ones stop at once). */
export const SsoLinkView = {
  type: 'object',
  properties: { sso_url: { type: 'string' } },
  required: ['sso_url'],
} as const;
export type SsoLinkView = Static<typeof SsoLinkView>;

/** `POST /api/operator/caches/:id/credentials`: `{"primary": true}` also promotes the new credential. */
export const CreateCredentialBody = {
  type: 'object',
  properties: { primary: { type: 'boolean' } },
  additionalProperties: false,
} as const;
export type CreateCredentialBody = Static<typeof CreateCredentialBody>;

/** `…/credentials/:cred`: a credential of the cache by its id or sasl_username. */
export const OperatorCredentialParams = {
  type: 'object',
  properties: { id: CACHE_ID, cred: CredentialParams.properties.cred },
  required: ['id', 'cred'],
} as const;
export type OperatorCredentialParams = Static<typeof OperatorCredentialParams>;

/**
 * A credential the operator made (every capability), with its password — the only time it
 * is shown — and what a client needs to connect (also what `cachier credentials create --json` prints).
 */
export const OperatorNewCredential = {
  type: 'object',
  properties: {
    ...CredentialView.properties, username: { type: 'string' }, password: { type: 'string' },
    servers: { type: 'array', items: { type: 'string' } },
  },
  required: [...CredentialView.required, 'username', 'password', 'servers'],
} as const;
export type OperatorNewCredential = Static<typeof OperatorNewCredential>;

export const NodeList = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      address: { type: 'string' },
      admin_address: { type: 'string' },
      last_seen: { type: 'integer' },
      cluster: { type: 'string' },
      /** Memory it offers its cluster's caches (`--node-memory`), bytes. */
      capacity_bytes: { type: 'integer' },
      /** OS process id of the node as it last registered (each node of `cachier start` is a process); null if it did not say. */
      pid: { type: ['integer', 'null'] },
      /** Whether this control plane's `cachier start` runs the node (as a child process). */
      local: { type: 'boolean' },
      /** listening or stopped for a local node; unknown for another process's. */
      state: { enum: ['listening', 'stopped', 'unknown'] },
    },
    required: ['address', 'admin_address', 'last_seen', 'cluster', 'capacity_bytes', 'pid', 'local', 'state'],
  },
} as const;
export type NodeList = Static<typeof NodeList>;

/**
 * A cluster: a named group of nodes serving its caches. Unallocated memory, what placement
 * compares, is capacity_bytes − allocated_bytes (negative when over-committed).
 */
export const ClusterView = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    /** Milliseconds since the epoch. */
    created_at: { type: 'integer' },
    nodes: { type: 'integer' },
    /** Sum of its nodes' capacities, bytes. */
    capacity_bytes: { type: 'integer' },
    /** Sum of its live caches' plans, bytes. */
    allocated_bytes: { type: 'integer' },
    unallocated_bytes: { type: 'integer' },
  },
  required: ['name', 'created_at', 'nodes', 'capacity_bytes', 'allocated_bytes', 'unallocated_bytes'],
} as const;
export type ClusterView = Static<typeof ClusterView>;

export const ClusterList = { type: 'array', items: ClusterView } as const;
export type ClusterList = Static<typeof ClusterList>;

/** `POST /api/operator/clusters`: an existing name answers that cluster as it is. */
export const CreateClusterBody = {
  type: 'object',
  properties: { name: ClusterName },
  required: ['name'],
  additionalProperties: false,
} as const;
export type CreateClusterBody = Static<typeof CreateClusterBody>;
