/**
 * API v2 insight shapes (`…/insight/processed_stats[/per_server]`, `…/insight/latency`):
 * the query strings the control plane validates, and the InfluxDB-1 series it answers
 * (the spec's §2.13–2.15; columns and formulas in insight-formulas.ts).
 */
import { PROCESSED_STAT_NAMES } from './insight-formulas.ts';
import type { Static } from './json-schema.ts';

export const RFC3339_TIME = {
  type: 'string', maxLength: 64,
  description: 'RFC 3339 date-time, e.g. 2026-12-06T07:20:00Z',
} as const;

/** The query's time range, as every v2 route over history reads it (src/control/routes/v2/time-range.ts). */
export const TIME_RANGE_PROPERTIES = {
  startTime: { ...RFC3339_TIME, description: 'Default: 24 hours ago' },
  endTime: { ...RFC3339_TIME, description: 'Default: now' },
} as const;

/**
 * The most names one request may ask for, repeats included: each is a column of every row
 * of every series, so the answer (and the server's memory building it) grows with them.
 */
export const MAX_PROCESSED_STAT_NAMES = 100;

/**
 * `names` is checked by the route (missing or empty → 400 "query parameter names is
 * required", more than MAX_PROCESSED_STAT_NAMES → 400, unknown names → 400 naming them).
 */
export const ProcessedStatsQuery = {
  type: 'object',
  properties: {
    names: {
      type: 'string', maxLength: 4096,
      description: `Comma-separated, at most ${MAX_PROCESSED_STAT_NAMES} (repeats count), from: ${PROCESSED_STAT_NAMES.join(', ')}`,
    },
    ...TIME_RANGE_PROPERTIES,
  },
  required: ['names'],
  additionalProperties: false,
} as const;
export type ProcessedStatsQuery = Static<typeof ProcessedStatsQuery>;

export const LatencyQuery = {
  type: 'object',
  properties: {
    ...TIME_RANGE_PROPERTIES,
  },
  additionalProperties: false,
} as const;
export type LatencyQuery = Static<typeof LatencyQuery>;

/** A row: the bucket's start (RFC 3339), then one number (or null) per column. */
const SeriesValues = {
  type: 'array',
  items: { type: 'array', items: { type: ['string', 'number', 'null'] } },
} as const;

export const ProcessedStatsResponse = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      name: { const: 'processed_stats' },
      tags: { type: 'object', properties: { server: { type: 'string' } }, required: ['server'], additionalProperties: false },
      columns: { type: 'array', items: { type: 'string' } },
      values: SeriesValues,
    },
    required: ['name', 'columns', 'values'],
    additionalProperties: false,
  },
} as const;

export const LatencyResponse = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      name: { const: 'latency' },
      tags: { type: 'object', properties: { server: { type: 'string' } }, required: ['server'], additionalProperties: false },
      columns: { type: 'array', items: { enum: ['time', 'duration', 'p50', 'p99', 'max'] } },
      values: SeriesValues,
    },
    required: ['name', 'tags', 'columns', 'values'],
    additionalProperties: false,
  },
} as const;
