/**
 * API v2 introspection shapes (`…/introspection/…`, the spec's §2.24–2.32 as cachier's
 * decisions settle them, and cachier's own `introspection/keys`): the query strings and
 * bodies the control plane validates, and the answers it serializes.
 *
 * Keys are bytes. Every key (or prefix) object carries `name`, the bytes as UTF-8 when
 * they are valid UTF-8 and otherwise escaped (`\xNN`, `\\`; docs/introspection.md "Key
 * names in JSON"), and `key_base64`, the exact bytes. recent_logs keeps the spec's field
 * `key` for the name.
 */
import type { Static } from './json-schema.ts';
import { RFC3339_TIME, TIME_RANGE_PROPERTIES } from './v2-insight.ts';
import { MAX_PREFIX_NAME_BYTES } from '../catalog/catalog.ts';
/** The most lines `recent_logs` answers per server, and its default. */
export const MAX_RECENT_LOGS = 1000;
export const DEFAULT_RECENT_LOGS = 100;
/** `introspection/keys`: the most keys a page holds, and the default. */
export const MAX_KEYS_PAGE = 1000;
export const DEFAULT_KEYS_PAGE = 100;
/** Each list of popular_items. */
export const POPULAR_TOP = 20;

/** Ids as stored (PostgreSQL integer): a larger one is a 400, not a catalog error. */
const ROW_ID = { type: 'integer', minimum: 1, maximum: 2147483647 } as const;

// ---------------------------------------------------------------- requests

/** `key` (UTF-8) or `key_base64` (any bytes); exactly one (checked by the route). */
export const KeyStatsQuery = {
  type: 'object',
  properties: {
    key: { type: 'string', maxLength: 1000, description: 'The key as UTF-8 (at most 250 bytes).' },
    key_base64: { type: 'string', maxLength: 1000, description: 'The key\'s bytes, base64 (instead of key).' },
  },
  additionalProperties: false,
} as const;
export type KeyStatsQuery = Static<typeof KeyStatsQuery>;

export const RecentLogsQuery = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: MAX_RECENT_LOGS, description: `Lines per server, default ${DEFAULT_RECENT_LOGS}.` },
  },
  additionalProperties: false,
} as const;
export type RecentLogsQuery = Static<typeof RecentLogsQuery>;

export const IntrospectionRangeQuery = {
  type: 'object',
  properties: {
    ...TIME_RANGE_PROPERTIES,
  },
  additionalProperties: false,
} as const;
export type IntrospectionRangeQuery = Static<typeof IntrospectionRangeQuery>;

/** POST `introspection/prefixes`: the name is 1 to 250 bytes of UTF-8 (checked by the route). */
export const WatchPrefixBody = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 1000, description: `The prefix, 1 to ${MAX_PREFIX_NAME_BYTES} bytes of UTF-8.` } },
  required: ['name'],
  additionalProperties: false,
} as const;
export type WatchPrefixBody = Static<typeof WatchPrefixBody>;

/** `…/introspection/prefixes/:prefix_id[/…]`. */
export const PrefixParams = {
  type: 'object',
  properties: { cache_id: { type: 'integer', minimum: 1 }, prefix_id: ROW_ID },
  required: ['cache_id', 'prefix_id'],
} as const;
export type PrefixParams = Static<typeof PrefixParams>;

export const KeysQuery = {
  type: 'object',
  properties: {
    prefix: { type: 'string', maxLength: 1000, description: 'Only keys starting with this (UTF-8); default every key.' },
    prefix_base64: { type: 'string', maxLength: 1000, description: 'The prefix\'s bytes, base64 (instead of prefix).' },
    cursor: { type: 'string', maxLength: 16384, description: 'The cursor of the previous page (opaque).' },
    limit: { type: 'integer', minimum: 1, maximum: MAX_KEYS_PAGE, description: `Keys per page, default ${DEFAULT_KEYS_PAGE}.` },
  },
  additionalProperties: false,
} as const;
export type KeysQuery = Static<typeof KeysQuery>;

// ---------------------------------------------------------------- responses

const keyProperties = {
  name: { type: 'string', description: 'The key as UTF-8, or escaped (\\xNN, \\\\) when it is not valid UTF-8.' },
  key_base64: { type: 'string', description: 'The key\'s exact bytes, base64.' },
} as const;

const PopularEntry = {
  type: 'object',
  properties: { ...keyProperties, popularity: { type: 'number', description: 'Requests in the window (an estimate).' } },
  required: ['name', 'key_base64', 'popularity'],
} as const;
export type PopularEntry = Static<typeof PopularEntry>;

const PopularList = { type: 'array', items: PopularEntry, maxItems: POPULAR_TOP } as const;

export const PopularItems = {
  type: 'object',
  properties: {
    time_slice: { type: 'integer', description: 'The window, nanoseconds (180000000000: 3 minutes).' },
    most_hit_keys: PopularList,
    most_missed_keys: PopularList,
    most_mutated_keys: PopularList,
    popular_prefixes: PopularList,
  },
  required: ['time_slice', 'most_hit_keys', 'most_missed_keys', 'most_mutated_keys', 'popular_prefixes'],
} as const;
export type PopularItems = Static<typeof PopularItems>;

const KeyStatsRow = {
  type: 'object',
  properties: {
    timestamp: RFC3339_TIME,
    ...keyProperties,
    size: { type: 'integer', description: 'The value\'s bytes now, 0 when not in the cache.' },
    hit_count: { type: 'number' },
    miss_count: { type: 'number' },
    mutation_count: { type: 'number' },
    in_cache: { type: 'boolean' },
    server: { type: 'string', description: 'cachier: the server (host:port) this row is from.' },
  },
  required: ['timestamp', 'name', 'key_base64', 'size', 'hit_count', 'miss_count', 'mutation_count', 'in_cache', 'server'],
} as const;
export type KeyStatsRow = Static<typeof KeyStatsRow>;

/** One row per server that knows the key (in the cache, or counted in the window). */
export const KeyStatsResponse = { type: 'array', items: KeyStatsRow } as const;
export type KeyStatsResponse = Static<typeof KeyStatsResponse>;

const RecentLine = {
  type: 'object',
  properties: {
    timestamp: { type: 'string', description: 'RFC 3339 with milliseconds.' },
    key: { type: 'string', description: 'The key\'s name ("" for a command without one).' },
    key_base64: { type: 'string' },
    command: { type: 'string' },
    status: { type: 'string' },
    size: { type: 'integer' },
  },
  required: ['timestamp', 'key', 'key_base64', 'command', 'status', 'size'],
} as const;
export type RecentLine = Static<typeof RecentLine>;

/** Keyed by server (host:port); each server's lines oldest first. */
export const RecentLogsResponse = {
  type: 'object',
  additionalProperties: { type: 'array', items: RecentLine },
} as const;
export type RecentLogsResponse = Record<string, RecentLine[]>;

export const INTROSPECTION_COLUMNS = [
  'time', 'num_keys', 'total_size', 'total_hits_rate', 'total_misses_rate', 'total_mutations_rate',
] as const;

const FiveSeries = (name: 'compound_stats' | 'prefix_stats') => ({
  type: 'array',
  items: {
    type: 'object',
    properties: {
      name: { const: name },
      columns: { type: 'array', items: { enum: INTROSPECTION_COLUMNS } },
      values: { type: 'array', items: { type: 'array', items: { type: ['string', 'number', 'null'] } } },
    },
    required: ['name', 'columns', 'values'],
    additionalProperties: false,
  },
} as const);

export const CompoundStatsResponse = FiveSeries('compound_stats');
export const PrefixStatsResponse = FiveSeries('prefix_stats');

export const WatchedPrefixView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    created_at: { ...RFC3339_TIME, description: 'cachier: when it was watched (counting starts then).' },
  },
  required: ['id', 'name', 'created_at'],
} as const;
export type WatchedPrefixView = Static<typeof WatchedPrefixView>;

export const WatchedPrefixList = { type: 'array', items: WatchedPrefixView } as const;

export const KeysPage = {
  type: 'object',
  properties: {
    keys: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          ...keyProperties,
          size: { type: 'integer', description: 'The value\'s bytes.' },
          ttl: { type: 'integer', description: 'Seconds left, -1 for none.' },
          server: { type: 'string' },
        },
        required: ['name', 'key_base64', 'size', 'ttl', 'server'],
      },
    },
    cursor: { type: ['string', 'null'], description: 'Pass it back for the next page; null at the end.' },
  },
  required: ['keys', 'cursor'],
} as const;
export type KeysPage = Static<typeof KeysPage>;
