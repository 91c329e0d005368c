/**
 * The API v2 shapes (`/api/v2/caches/:cache_id/…`), as MemCachier's v2 documents them and
 * as cachier's decisions (../shared/spec/analytics-api-v2.md, first section) settle them:
 * request schemas the control plane validates with, response schemas it serializes with
 * (a field outside them, such as a password, can never leak) and the types derived from
 * both. Differences from v1 (src/api/v1.ts): credentials carry no `uuid`; an update's
 * left-out capability is false, not true; errors are `{"message": …}` objects.
 */
import { STAT_NAMES } from '../shared/stat-names.ts';
import type { Static } from './json-schema.ts';

// ---------------------------------------------------------------- requests

/**
 * `:cache_id` of every v2 path. The guard (src/control/routes/v2/guard.ts) answers a
 * non-numeric one with 400 "The specified cache ID is invalid (not a number)." before
 * validation runs; the schema documents it (and keeps the OpenAPI document honest).
 */
export const V2CacheParams = {
  type: 'object',
  properties: { cache_id: { type: 'integer', minimum: 1 } },
  required: ['cache_id'],
} as const;
export type V2CacheParams = Static<typeof V2CacheParams>;

/** `…/credentials/:username`: a credential of the cache by its sasl_username. */
export const V2CredentialParams = {
  type: 'object',
  properties: {
    cache_id: { type: 'integer', minimum: 1 },
    username: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' },
  },
  required: ['cache_id', 'username'],
} as const;
export type V2CredentialParams = Static<typeof V2CredentialParams>;

/**
 * The body of `PATCH …/credentials/:username`: a full replace, so a capability left out
 * becomes false (v1's default, true, does not apply). JSON booleans; "true"/"false"
 * strings are accepted too, as v1's document example sends them.
 */
export const V2CapabilitiesInput = {
  type: 'object',
  properties: {
    write_capability: { type: 'boolean' },
    flush_capability: { type: 'boolean' },
    api_capability: { type: 'boolean' },
  },
  additionalProperties: false,
} as const;
export type V2CapabilitiesInput = Static<typeof V2CapabilitiesInput>;

/** Endpoints that take no body: anything but nothing (or `{}`) is a 400. */
export const V2EmptyBody = {
  type: 'object',
  properties: {},
  additionalProperties: false,
} as const;
export type V2EmptyBody = Static<typeof V2EmptyBody>;

/** The query string of a route that takes no parameters: any parameter is a 400. */
export const V2NoQuery = {
  type: 'object',
  properties: {},
  additionalProperties: false,
} as const;

// ---------------------------------------------------------------- responses

/** Every v2 error: `{"message": "<text>"}` (src/api/v2-errors.ts lists the texts). */
export const V2ErrorBody = {
  type: 'object',
  properties: { message: { type: 'string' } },
  required: ['message'],
} as const;
export type V2ErrorBody = Static<typeof V2ErrorBody>;

const capabilityProperties = {
  write_capability: { type: 'boolean' },
  flush_capability: { type: 'boolean' },
  api_capability: { type: 'boolean' },
} as const;

/** The answer of PATCH: the three flags after the update. */
export const V2CapabilitiesView = {
  type: 'object',
  properties: capabilityProperties,
  required: ['write_capability', 'flush_capability', 'api_capability'],
} as const;
export type V2CapabilitiesView = Static<typeof V2CapabilitiesView>;

const credentialProperties = {
  id: { type: 'integer' },
  cache_id: { type: 'integer' },
  sasl_username: { type: 'string' },
  ...capabilityProperties,
  primary: { type: 'boolean' },
} as const;
const credentialRequired = [
  'id', 'cache_id', 'sasl_username', 'write_capability', 'flush_capability', 'api_capability', 'primary',
] as const;

/**
 * A credential as listed, promoted and shown in `info`: never its password (cachier keeps
 * only salted hashes, so `sasl_password` appears once, when the credential is created).
 */
export const V2CredentialView = {
  type: 'object',
  properties: credentialProperties,
  required: credentialRequired,
} as const;
export type V2CredentialView = Static<typeof V2CredentialView>;

export const V2CredentialList = { type: 'array', items: V2CredentialView } as const;
export type V2CredentialList = Static<typeof V2CredentialList>;

/** The 201 of `POST …/credentials`: the only answer that carries the password. */
export const V2NewCredentialView = {
  type: 'object',
  properties: { ...credentialProperties, sasl_password: { type: 'string' } },
  required: [...credentialRequired, 'sasl_password'],
} as const;
export type V2NewCredentialView = Static<typeof V2NewCredentialView>;

/** `GET …/info`. */
export const V2CacheInfo = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    /** The cache's name (operator-chosen, or `mc-<id>`). */
    name: { type: 'string' },
    /** The same as name until an operator sets a label. */
    label: { type: 'string' },
    cache_type: { const: 'memcache' },
    /** The plan: memory summed over the cache's servers, bytes. */
    plan: { type: 'integer' },
    provider: { const: 'self-hosted' },
    enabled: { type: 'boolean' },
    /** "default" until clusters exist. */
    cluster_name: { type: 'string' },
    /** host:port of every server, what MEMCACHIER_SERVERS lists. */
    servers: { type: 'array', items: { type: 'string' } },
    credentials: V2CredentialList,
    /** Whether switch_cluster may move it: another cluster exists. */
    can_switch: { type: 'boolean' },
    can_manage_credentials: { type: 'boolean' },
    can_update_capabilities: { type: 'boolean' },
  },
  required: [
    'id', 'name', 'label', 'cache_type', 'plan', 'provider', 'enabled', 'cluster_name', 'servers', 'credentials',
    'can_switch', 'can_manage_credentials', 'can_update_capabilities',
  ],
} as const;
export type V2CacheInfo = Static<typeof V2CacheInfo>;

const statProperties = Object.fromEntries(STAT_NAMES.map((n) => [n, { type: 'integer' }])) as {
  readonly [K in (typeof STAT_NAMES)[number]]: { readonly type: 'integer' };
};

/** `GET …/stats`: one flat object, every stat summed over the servers, `time` the newest. */
export const V2Stats = {
  type: 'object',
  properties: statProperties,
  required: STAT_NAMES,
} as const;
export type V2Stats = Static<typeof V2Stats>;

/** A bare JSON string: the sign-in link of rotate_sso, the cluster of switch_cluster. */
export const V2String = { type: 'string' } as const;
export type V2String = Static<typeof V2String>;

/** 200/204 answers without a body. */
export const V2NoContent = { type: 'null', description: 'No body.' } as const;
