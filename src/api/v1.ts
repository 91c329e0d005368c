/**
 * The Analytics API v1 shapes, as MemCachier's document shows them: request schemas that
 * the control plane validates with, response schemas it serializes with (so a field
 * outside them, such as a password, can never leak), and the types derived from both.
 * Shared with the CLI and the dashboard.
 */
import { STAT_NAMES } from '../shared/stat-names.ts';
import type { Static } from './json-schema.ts';

// ---------------------------------------------------------------- requests

/** `:id` of /api/v1/:id/…, the cache_id that login returns. */
export const CacheIdParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 } },
  required: ['id'],
} as const;
export type CacheIdParams = Static<typeof CacheIdParams>;

/** `:cred` is a credential's numeric id or its sasl_username. */
export const CredentialParams = {
  type: 'object',
  properties: {
    id: { type: 'integer', minimum: 1 },
    cred: { type: 'string', minLength: 1, maxLength: 64 },
  },
  required: ['id', 'cred'],
} as const;
export type CredentialParams = Static<typeof CredentialParams>;

/**
 * Capabilities in a JSON body, a form body or the query string. Booleans arrive as JSON
 * booleans or as the strings "true"/"false" (the validator coerces them). A capability
 * left out means true, as the document's parameter table says (Default: true).
 */
export const CapabilitiesInput = {
  type: 'object',
  properties: {
    flush_capability: { type: 'boolean' },
    write_capability: { type: 'boolean' },
    api_capability: { type: 'boolean' },
  },
  additionalProperties: false,
} as const;
export type CapabilitiesInput = Static<typeof CapabilitiesInput>;

export const HistoryQuery = {
  type: 'object',
  properties: {
    /** Inclusive lower bound, milliseconds since the epoch. */
    since: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    /** Inclusive upper bound, milliseconds since the epoch. */
    until: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    /** Only the newest this many records of the range (still sent oldest first). */
    limit: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    /**
     * Downsampling, milliseconds (at least a second): per server, only the last record of
     * each floor(timestamp / step) bucket. Stats are counters and gauges, so it is exact.
     */
    step: { type: 'integer', minimum: 1000, maximum: 366 * 86_400_000 },
  },
} as const;
export type HistoryQuery = Static<typeof HistoryQuery>;

// ---------------------------------------------------------------- responses

export const LoginResponse = {
  type: 'object',
  properties: { cache_id: { type: 'integer' } },
  required: ['cache_id'],
} as const;
export type LoginResponse = Static<typeof LoginResponse>;

const statProperties = Object.fromEntries(STAT_NAMES.map((n) => [n, { type: 'integer' }])) as {
  readonly [K in (typeof STAT_NAMES)[number]]: { readonly type: 'integer' };
};

/** One cache's 31 stats on one server. */
export const ServerStats = {
  type: 'object',
  properties: statProperties,
  required: STAT_NAMES,
} as const;
export type ServerStats = Static<typeof ServerStats>;

/** Stats of a cache: one entry per server, keyed host:port. */
export const StatsResponse = {
  type: 'object',
  additionalProperties: ServerStats,
} as const;
export type StatsResponse = Static<typeof StatsResponse>;

/** One history sample as the document shows it: id and timestamp as strings. */
export const HistoryRecord = {
  type: 'object',
  properties: {
    memcachier_id: { type: 'string' },
    server: { type: 'string' },
    /** The raw stats as sampled (the 31 of ServerStats). */
    stats: { type: 'object', additionalProperties: { type: 'number' } },
    /** Milliseconds since the epoch, as a decimal string. */
    timestamp: { type: 'string' },
  },
  required: ['memcachier_id', 'server', 'stats', 'timestamp'],
} as const;
export type HistoryRecord = Static<typeof HistoryRecord>;

export const HistoryResponse = { type: 'array', items: HistoryRecord } as const;
export type HistoryResponse = Static<typeof HistoryResponse>;

const capabilityProperties = {
  flush_capability: { type: 'boolean' },
  write_capability: { type: 'boolean' },
  api_capability: { type: 'boolean' },
} as const;

/** The response of an update: the credential's capabilities after it. */
export const CapabilitiesView = {
  type: 'object',
  properties: capabilityProperties,
  required: ['flush_capability', 'write_capability', 'api_capability'],
} as const;
export type CapabilitiesView = Static<typeof CapabilitiesView>;

const credentialProperties = {
  cache_id: { type: 'integer' },
  id: { type: 'integer' },
  sasl_username: { type: 'string' },
  uuid: { type: 'null' },
  primary: { type: 'boolean' },
  ...capabilityProperties,
} as const;
const credentialRequired = [
  'cache_id', 'id', 'sasl_username', 'uuid', 'primary', 'flush_capability', 'write_capability', 'api_capability',
] as const;

/** A credential as listed and promoted: never its password. */
export const CredentialView = {
  type: 'object',
  properties: credentialProperties,
  required: credentialRequired,
} as const;
export type CredentialView = Static<typeof CredentialView>;

export const CredentialList = { type: 'array', items: CredentialView } as const;
export type CredentialList = Static<typeof CredentialList>;

/** A credential just created: the only response that carries its password. */
export const NewCredentialView = {
  type: 'object',
  properties: { ...credentialProperties, sasl_password: { type: 'string' } },
  required: [...credentialRequired, 'sasl_password'],
} as const;
export type NewCredentialView = Static<typeof NewCredentialView>;
