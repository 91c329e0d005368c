/**
 * The API v2 alert shapes (`…/alerts`, `…/alerts/<id>`, `…/alerts/configs`,
 * `…/alerts/configs/<id>`, cachier's `…/alerts/events`), as MemCachier's v2 documents the
 * alert and delivery config objects, with cachier's additions: the `webhook` delivery type
 * (its `url`, and its `secret` in the 201 answer only) and the events list.
 */
import type { Static } from './json-schema.ts';
import { DELIVERY_TYPES, TRIGGER_TYPES } from '../shared/alert-kinds.ts';

/** A row id: PostgreSQL's `serial` is a 32-bit integer, so a larger id is a 400 rather than a failed query (500). */
const ROW_ID = { type: 'integer', minimum: 1, maximum: 2147483647 } as const;

/** `…/alerts/:alert_id` and `…/alerts/configs/:config_id`. */
export const V2AlertParams = {
  type: 'object',
  properties: { cache_id: { type: 'integer', minimum: 1 }, alert_id: ROW_ID },
  required: ['cache_id', 'alert_id'],
} as const;
export type V2AlertParams = Static<typeof V2AlertParams>;

export const V2ConfigParams = {
  type: 'object',
  properties: { cache_id: { type: 'integer', minimum: 1 }, config_id: ROW_ID },
  required: ['cache_id', 'config_id'],
} as const;
export type V2ConfigParams = Static<typeof V2ConfigParams>;

const alertFields = {
  trigger_type: { type: 'string', enum: TRIGGER_TYPES },
  /** Percent. */
  trigger_threshold: { type: 'integer', minimum: 0, maximum: 100 },
  delivery_config_id: ROW_ID,
  description: { type: 'string', maxLength: 1000 },
  enabled: { type: 'boolean' },
} as const;

/** POST `…/alerts`. `trigger_type` is required (the route answers MemCachier's text when it is missing). */
export const V2AlertInput = {
  type: 'object',
  properties: alertFields,
  additionalProperties: false,
} as const;
export type V2AlertInput = Static<typeof V2AlertInput>;

/** PUT `…/alerts/:alert_id`: a partial update (fields left out are kept); `id`, if sent, must be the path's. */
export const V2AlertUpdate = {
  type: 'object',
  properties: { id: { type: 'integer' }, ...alertFields },
  additionalProperties: false,
} as const;
export type V2AlertUpdate = Static<typeof V2AlertUpdate>;

export const V2AlertView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    trigger_type: { type: 'string', enum: TRIGGER_TYPES },
    trigger_threshold: { type: 'integer' },
    delivery_config_id: { type: 'integer' },
    description: { type: 'string' },
    enabled: { type: 'boolean' },
  },
  required: ['id', 'trigger_type', 'trigger_threshold', 'delivery_config_id', 'description', 'enabled'],
} as const;
export type V2AlertView = Static<typeof V2AlertView>;

export const V2AlertList = { type: 'array', items: V2AlertView } as const;
export type V2AlertList = Static<typeof V2AlertList>;

/** POST `…/alerts/configs`. `delivery_type` is required (the route answers MemCachier's text when it is missing). */
export const V2DeliveryConfigInput = {
  type: 'object',
  properties: {
    delivery_type: { type: 'string', enum: DELIVERY_TYPES },
    email: { type: 'string', maxLength: 254 },
    slack_url: { type: 'string', maxLength: 2000 },
    slack_channel: { type: 'string', maxLength: 200 },
    /** The webhook's URL (cachier's delivery type `webhook`). */
    url: { type: 'string', maxLength: 2000 },
  },
  additionalProperties: false,
} as const;
export type V2DeliveryConfigInput = Static<typeof V2DeliveryConfigInput>;

const configProperties = {
  id: { type: 'integer' },
  delivery_type: { type: 'string', enum: DELIVERY_TYPES },
  email: { type: 'string' },
  slack_url: { type: 'string' },
  slack_channel: { type: 'string' },
  url: { type: 'string' },
} as const;
const configRequired = ['id', 'delivery_type', 'email', 'slack_url', 'slack_channel', 'url'] as const;

/** A delivery config as listed: fields that do not apply are "", and a webhook's secret is never shown. */
export const V2DeliveryConfigView = { type: 'object', properties: configProperties, required: configRequired } as const;
export type V2DeliveryConfigView = Static<typeof V2DeliveryConfigView>;

export const V2DeliveryConfigList = { type: 'array', items: V2DeliveryConfigView } as const;
export type V2DeliveryConfigList = Static<typeof V2DeliveryConfigList>;

/** The 201 of POST `…/alerts/configs`: a webhook's carries its signing `secret`, the only time it is shown. */
export const V2NewDeliveryConfigView = {
  type: 'object',
  properties: { ...configProperties, secret: { type: 'string' } },
  required: configRequired,
} as const;
export type V2NewDeliveryConfigView = Static<typeof V2NewDeliveryConfigView>;

const eventProperties = {
  id: { type: 'integer' },
  /** RFC 3339 UTC with milliseconds. */
  time: { type: 'string' },
  /**
   * firing, resolved, reminder (the notifications), delivered, delivery_failed (retried),
   * delivery_abandoned (retries over or target refused), test_delivered / test_failed (a
   * test notification, `alert_id` 0).
   */
  kind: { type: 'string', enum: ['firing', 'resolved', 'reminder', 'delivered', 'delivery_failed', 'delivery_abandoned', 'test_delivered', 'test_failed'] },
  alert_id: { type: 'integer' },
  trigger_type: { anyOf: [{ type: 'string', enum: TRIGGER_TYPES }, { type: 'null' }] },
  /** The measured value, percent. */
  value: { anyOf: [{ type: 'number' }, { type: 'null' }] },
  trigger_threshold: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
  delivery_type: { anyOf: [{ type: 'string', enum: DELIVERY_TYPES }, { type: 'null' }] },
  /** Which attempt of the delivery (1, 2, …); null for a notification. */
  attempt: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
  /** A delivery's answer ("HTTP 200", "250 OK …") or error. */
  detail: { type: 'string' },
} as const;
const eventRequired = ['id', 'time', 'kind', 'alert_id', 'trigger_type', 'value', 'trigger_threshold', 'delivery_type', 'attempt', 'detail'] as const;

/** One of the last 100 firings, resolutions and delivery results, newest first. */
export const V2AlertEvent = { type: 'object', properties: eventProperties, required: eventRequired } as const;
export type V2AlertEvent = Static<typeof V2AlertEvent>;
export const V2AlertEventList = { type: 'array', items: V2AlertEvent } as const;
export type V2AlertEventList = Static<typeof V2AlertEventList>;

/** The answer of cachier's POST `…/alerts/configs/<id>/test`: whether the receiver took it, its answer or the error, and the event recorded. */
export const V2TestNotificationResult = {
  type: 'object',
  properties: { delivered: { type: 'boolean' }, detail: { type: 'string' }, event: V2AlertEvent },
  required: ['delivered', 'detail', 'event'],
} as const;
export type V2TestNotificationResult = Static<typeof V2TestNotificationResult>;

/** The operator's view across caches: each event with its cache. */
export const OperatorAlertEvent = {
  type: 'object',
  properties: { ...eventProperties, cache_id: { type: 'integer' } },
  required: [...eventRequired, 'cache_id'],
} as const;
export type OperatorAlertEvent = Static<typeof OperatorAlertEvent>;
export const OperatorAlertEventList = { type: 'array', items: OperatorAlertEvent } as const;
export type OperatorAlertEventList = Static<typeof OperatorAlertEventList>;
