/**
 * v2 alerts: `GET|POST alerts`, `GET|PUT|DELETE alerts/:alert_id`, `GET|POST alerts/configs`,
 * `DELETE alerts/configs/:config_id`, and cachier's `GET alerts/events`.
 *
 * - Route order: `alerts/configs` and `alerts/events` are static paths, which the router
 *   always matches before the parametric `alerts/:alert_id`; a DELETE or PUT of
 *   `alerts/configs` reaches `alerts/:alert_id` and is a 400 (not a number).
 * - Status codes are MemCachier's, quirks included: create alert 201, update alert 201
 *   (a partial update: fields left out are kept), delete alert 201, create config 201,
 *   delete config 204.
 * - Bad input is a 400 and changes nothing: unknown trigger or delivery type, threshold
 *   not an integer 0–100, a config that is not this cache's, an email that is not an
 *   address, a slack_url or webhook url that is not http(s), a JSON null anywhere.
 * - A webhook config's signing secret is made here and shown once, in the 201.
 * - Deleting a config that alerts use: 400 "The alert delivery config is used by alerts: <ids>.".
 * - At most ALERTS_PER_CACHE alerts and CONFIGS_PER_CACHE configs per cache (then a 400;
 *   checked before the insert, so two creations at the same moment may pass it by one).
 * - A slack_url or webhook url whose host is a literal loopback, private, link-local,
 *   unique-local, multicast or unspecified address (any spelling: 2130706433, 0x7f.1,
 *   [::ffff:127.0.0.1]) is a 400 unless the operator allows private targets
 *   (`--alert-allow-private-targets`); names are checked when resolved, at send time.
 * - cachier's `POST alerts/configs/:config_id/test` sends a test notification to the
 *   target now, through the same senders as a real one (same address check, signature,
 *   deadline), records it in alerts/events (test_delivered / test_failed, alert_id 0) and
 *   answers 200 `{"delivered","detail","event"}` once the receiver answered or the
 *   deadline passed; no retries. Another cache's config: 404. At most TEST_LIMIT tests a
 *   minute per cache on each control plane (429 after), so the endpoint cannot be used to
 *   make the control plane flood a receiver.
 */
import { randomBytes } from 'node:crypto';
import type { AlertEvent, AlertRecord, DeliveryConfigRecord, NewDeliveryConfig } from '../../../catalog/alerts.ts';
import { V2Error } from '../../../api/v2-errors.ts';
import { V2NoContent } from '../../../api/v2.ts';
import {
  V2AlertEventList, V2AlertInput, V2AlertList, V2AlertParams, V2AlertUpdate, V2AlertView, V2ConfigParams, V2DeliveryConfigInput,
  V2DeliveryConfigList, V2NewDeliveryConfigView, V2TestNotificationResult, type V2AlertEvent, type V2DeliveryConfigView,
} from '../../../api/v2-alerts.ts';
import type { V2Routes } from './index.ts';
import { literalTargetRefusal } from '../../alerts/target-guard.ts';
import { testMessage } from '../../alerts/message.ts';
import { withoutUrls } from '../../alerts/deliverer.ts';

/** How many events `alerts/events` lists. */
export const ALERT_EVENTS_LISTED = 100;

/**
 * Alerts and delivery configs one cache may have: without a bound a tenant could make the
 * control plane send thousands of notifications (each retried for an hour) per transition.
 */
export const ALERTS_PER_CACHE = 100;
export const CONFIGS_PER_CACHE = 100;

/** Test notifications a cache may send per minute (per control plane). */
export const TEST_LIMIT = { count: 10, windowMs: 60_000 } as const;

/** Per cache, the times of its recent tests; true when one more is allowed now (and counts it). */
function testLimiter(): (cacheId: number, now: number) => boolean {
  const recent = new Map<number, number[]>();
  return (cacheId, now) => {
    const times = (recent.get(cacheId) ?? []).filter((t) => now - t < TEST_LIMIT.windowMs);
    if (times.length >= TEST_LIMIT.count) {
      recent.set(cacheId, times);
      return false;
    }
    times.push(now);
    recent.set(cacheId, times);
    // Forget caches that have not tested for a window, so the map stays small.
    if (recent.size > 10_000) for (const [id, ts] of recent) if (ts.every((t) => now - t >= TEST_LIMIT.windowMs)) recent.delete(id);
    return true;
  };
}

export function alertView(a: AlertRecord): V2AlertView {
  return {
    id: a.id, trigger_type: a.triggerType, trigger_threshold: a.threshold, delivery_config_id: a.deliveryConfigId,
    description: a.description, enabled: a.enabled,
  };
}

function configView(c: DeliveryConfigRecord): V2DeliveryConfigView {
  return { id: c.id, delivery_type: c.type, email: c.email, slack_url: c.slackUrl, slack_channel: c.slackChannel, url: c.url };
}

export function eventView(e: AlertEvent): V2AlertEvent {
  return {
    id: e.id, time: new Date(e.at).toISOString(), kind: e.kind, alert_id: e.alertId, trigger_type: e.triggerType, value: e.value,
    trigger_threshold: e.threshold, delivery_type: e.deliveryType, attempt: e.attempt, detail: e.detail,
  };
}

const EMAIL = /^[^\s@<>(),;:"[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function isEmailAddress(text: string): boolean {
  return EMAIL.test(text);
}

/** An absolute http: or https: URL with a host. */
export function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** The JSON type each body field must have (the validator would coerce "50", "0x10", true or [50] to 50, "false" to false, 7 to "7"). */
const FIELD_TYPES: Readonly<Record<string, 'number' | 'boolean' | 'string'>> = {
  id: 'number', trigger_type: 'string', trigger_threshold: 'number', delivery_config_id: 'number', description: 'string', enabled: 'boolean',
  delivery_type: 'string', email: 'string', slack_url: 'string', slack_channel: 'string', url: 'string',
};

/**
 * Before validation: a JSON null is none of 0, false or "" (the validator's coercions), and
 * a field of another JSON type than its own is a 400 naming it, never coerced.
 */
async function refuseNulls(request: { body: unknown }): Promise<void> {
  const body = request.body as Record<string, unknown> | null;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return;
  if (Object.values(body).some((v) => v === null)) throw new V2Error('BAD_REQUEST', 'a field may not be null');
  for (const [field, value] of Object.entries(body)) {
    const type = FIELD_TYPES[field];
    if (type !== undefined && typeof value !== type) {
      throw new V2Error('BAD_REQUEST', `body/${field} must be ${type === 'number' ? 'integer' : type}`);
    }
  }
}

/** The 400 for a URL that names a private address literally (unless allowed). */
function checkTarget(field: string, url: string, allowPrivate: boolean): void {
  if (allowPrivate) return;
  const refusal = literalTargetRefusal(url);
  if (refusal) throw new V2Error('ALERT_CONFIG_BAD_INPUT', `${field} ${refusal}`);
}

/** The config to store for a POST body, or the 400 that says why not. */
function newConfig(body: V2DeliveryConfigInput, allowPrivate: boolean): NewDeliveryConfig {
  const type = body.delivery_type;
  if (type === undefined) throw new V2Error('ALERT_CONFIG_TYPE_REQUIRED');
  const blank = { email: '', slackUrl: '', slackChannel: '', url: '', secret: '' };
  switch (type) {
    case 'email':
      if (!body.email || !isEmailAddress(body.email)) throw new V2Error('ALERT_CONFIG_BAD_INPUT', 'email must be an email address');
      return { ...blank, type, email: body.email };
    case 'slack':
      if (!body.slack_url || !isHttpUrl(body.slack_url)) throw new V2Error('ALERT_CONFIG_BAD_INPUT', 'slack_url must be an http(s) URL');
      checkTarget('slack_url', body.slack_url, allowPrivate);
      return { ...blank, type, slackUrl: body.slack_url, slackChannel: body.slack_channel ?? '' };
    case 'webhook':
      if (!body.url || !isHttpUrl(body.url)) throw new V2Error('ALERT_CONFIG_BAD_INPUT', 'url must be an http(s) URL');
      checkTarget('url', body.url, allowPrivate);
      return { ...blank, type, url: body.url, secret: randomBytes(32).toString('hex') };
  }
}

export const alertRoutes: V2Routes = (app, { catalog, authOf, alerts }) => {
  const mayTest = testLimiter();
  app.get('/alerts', { schema: { response: { 200: V2AlertList } } }, async (request): Promise<V2AlertList> => {
    const { cache } = authOf(request);
    return (await catalog.listAlerts(cache.id)).map(alertView);
  });

  app.post<{ Body: V2AlertInput }>(
    '/alerts',
    { schema: { body: V2AlertInput, response: { 201: V2AlertView } }, preValidation: refuseNulls },
    async (request, reply): Promise<V2AlertView> => {
      const { cache } = authOf(request);
      const b = request.body;
      if (b.trigger_type === undefined) throw new V2Error('ALERT_TYPE_REQUIRED');
      if (b.trigger_threshold === undefined) throw new V2Error('ALERT_BAD_INPUT', 'trigger_threshold (0–100) is required');
      if (b.delivery_config_id === undefined) throw new V2Error('ALERT_BAD_INPUT', 'delivery_config_id is required');
      if ((await catalog.listAlerts(cache.id)).length >= ALERTS_PER_CACHE) {
        throw new V2Error('ALERT_NOT_ADDED', `a cache has at most ${ALERTS_PER_CACHE} alerts`);
      }
      const made = await catalog.createAlert(cache.id, {
        triggerType: b.trigger_type, threshold: b.trigger_threshold, deliveryConfigId: b.delivery_config_id,
        description: b.description ?? '', enabled: b.enabled ?? true,
      });
      if (made === 'no_config') throw new V2Error('ALERT_BAD_CONFIG', String(b.delivery_config_id));
      reply.code(201);
      return alertView(made);
    },
  );

  // Static paths first in this file for the reader; the router prefers them whatever the order.
  app.get('/alerts/configs', { schema: { response: { 200: V2DeliveryConfigList } } }, async (request): Promise<V2DeliveryConfigList> => {
    const { cache } = authOf(request);
    return (await catalog.listDeliveryConfigs(cache.id)).map(configView);
  });

  app.post<{ Body: V2DeliveryConfigInput }>(
    '/alerts/configs',
    { schema: { body: V2DeliveryConfigInput, response: { 201: V2NewDeliveryConfigView } }, preValidation: refuseNulls },
    async (request, reply): Promise<V2NewDeliveryConfigView> => {
      const { cache } = authOf(request);
      const config = newConfig(request.body, alerts.senders.allowPrivateTargets);
      if ((await catalog.listDeliveryConfigs(cache.id)).length >= CONFIGS_PER_CACHE) {
        throw new V2Error('ALERT_CONFIG_BAD_INPUT', `a cache has at most ${CONFIGS_PER_CACHE} delivery configs`);
      }
      const made = await catalog.createDeliveryConfig(cache.id, config);
      reply.code(201);
      return made.type === 'webhook' ? { ...configView(made), secret: made.secret } : configView(made);
    },
  );

  app.delete<{ Params: V2ConfigParams }>(
    '/alerts/configs/:config_id',
    { schema: { params: V2ConfigParams, response: { 204: V2NoContent } } },
    async (request, reply) => {
      const { cache } = authOf(request);
      const result = await catalog.deleteDeliveryConfig(cache.id, request.params.config_id);
      if (result.result === 'not_found') throw new V2Error('ALERT_CONFIG_NOT_FOUND');
      if (result.result === 'in_use') throw new V2Error('ALERT_CONFIG_IN_USE', `${result.alertIds.join(', ')}.`);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: V2ConfigParams }>(
    '/alerts/configs/:config_id/test',
    { schema: { params: V2ConfigParams, response: { 200: V2TestNotificationResult } } },
    async (request): Promise<V2TestNotificationResult> => {
      const { cache } = authOf(request);
      const config = await catalog.deliveryConfig(request.params.config_id);
      if (!config || config.cacheId !== cache.id) throw new V2Error('ALERT_CONFIG_NOT_FOUND');
      const at = Date.now();
      if (!mayTest(cache.id, at)) throw new V2Error('ALERT_TESTS_LIMITED');
      const message = testMessage({ id: cache.id, name: cache.name }, config, at, alerts.dashboardUrl());
      const result = await alerts.senders.send(config, message, `test-${at}`);
      const event = await catalog.recordTestNotification(cache.id, config.type, { ok: result.ok, detail: result.detail }, Date.now());
      request.log.info({
        event: 'alert_test_notification', cache: cache.id, config: config.id, type: config.type,
        outcome: result.ok ? 'delivered' : 'failed', detail: withoutUrls(result.detail),
      }, 'alert test notification');
      return { delivered: result.ok, detail: result.detail, event: eventView(event) };
    },
  );

  app.get('/alerts/events', { schema: { response: { 200: V2AlertEventList } } }, async (request): Promise<V2AlertEventList> => {
    const { cache } = authOf(request);
    return (await catalog.alertEvents(cache.id, ALERT_EVENTS_LISTED)).map(eventView);
  });

  app.get<{ Params: V2AlertParams }>(
    '/alerts/:alert_id',
    { schema: { params: V2AlertParams, response: { 200: V2AlertView } } },
    async (request): Promise<V2AlertView> => {
      const { cache } = authOf(request);
      const alert = await catalog.getAlert(cache.id, request.params.alert_id);
      if (!alert) throw new V2Error('ALERT_NOT_FOUND');
      return alertView(alert);
    },
  );

  app.put<{ Params: V2AlertParams; Body: V2AlertUpdate }>(
    '/alerts/:alert_id',
    { schema: { params: V2AlertParams, body: V2AlertUpdate, response: { 201: V2AlertView } }, preValidation: refuseNulls },
    async (request, reply): Promise<V2AlertView> => {
      const { cache } = authOf(request);
      const b = request.body;
      if (b.id !== undefined && b.id !== request.params.alert_id) throw new V2Error('ALERT_BAD_INPUT', 'id is not the alert of the path');
      const result = await catalog.updateAlert(cache.id, request.params.alert_id, {
        ...(b.trigger_type !== undefined ? { triggerType: b.trigger_type } : {}),
        ...(b.trigger_threshold !== undefined ? { threshold: b.trigger_threshold } : {}),
        ...(b.delivery_config_id !== undefined ? { deliveryConfigId: b.delivery_config_id } : {}),
        ...(b.description !== undefined ? { description: b.description } : {}),
        ...(b.enabled !== undefined ? { enabled: b.enabled } : {}),
      });
      if (result === 'not_found') throw new V2Error('ALERT_NOT_FOUND');
      if (result === 'no_config') throw new V2Error('ALERT_BAD_CONFIG', String(b.delivery_config_id));
      reply.code(201);
      return alertView(result);
    },
  );

  app.delete<{ Params: V2AlertParams }>(
    '/alerts/:alert_id',
    { schema: { params: V2AlertParams, response: { 201: V2NoContent } } },
    async (request, reply) => {
      const { cache } = authOf(request);
      if (!(await catalog.deleteAlert(cache.id, request.params.alert_id))) throw new V2Error('ALERT_NOT_FOUND');
      return reply.code(201).send();
    },
  );
};
