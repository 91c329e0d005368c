/**
 * What the catalog keeps for alerts: per cache, delivery configs (email, Slack,
 * webhook) and alerts (hit rate or memory usage against a threshold, one config each);
 * per alert its state (ok / firing, since, last notified); the deliveries (one row per
 * notification, the claim); and the events the API lists. Both catalogs implement
 * `AlertCatalog` (sqlite-alerts.ts, postgres-alerts.ts); the contract test runs on both.
 *
 * Exactly once across control planes: every notification of an alert has a sequence
 * number, one more than the last. `recordTransition` inserts the delivery row keyed
 * (alert_id, seq) with INSERT … ON CONFLICT DO NOTHING and, only when that inserted it,
 * moves the alert's state in the same transaction. Two planes that saw the same state
 * both try the same (alert, seq): one row, one notification. The delivery row is also
 * the work item: any plane leases a due one (`claimDeliveries`), so a plane that stops
 * between the claim and the send loses nothing — its lease runs out and another sends.
 */

import type { DeliveryType, TriggerType } from '../shared/alert-kinds.ts';

export { DELIVERY_TYPES, TRIGGER_TYPES, type DeliveryType, type TriggerType } from '../shared/alert-kinds.ts';

export interface AlertRecord {
  readonly id: number;
  readonly cacheId: number;
  readonly triggerType: TriggerType;
  /** Percent, 0–100. */
  readonly threshold: number;
  readonly deliveryConfigId: number;
  readonly description: string;
  readonly enabled: boolean;
}

export interface DeliveryConfigRecord {
  readonly id: number;
  readonly cacheId: number;
  readonly type: DeliveryType;
  /** '' when not used (as every field that does not apply to the type). */
  readonly email: string;
  readonly slackUrl: string;
  readonly slackChannel: string;
  /** The webhook's URL. */
  readonly url: string;
  /** The webhook's HMAC-SHA256 key (shown once by the API, kept here to sign with). */
  readonly secret: string;
}

export type NewDeliveryConfig = Omit<DeliveryConfigRecord, 'id' | 'cacheId'>;

export type AlertInput = Omit<AlertRecord, 'id' | 'cacheId'>;

export type AlertStateName = 'ok' | 'firing';

export interface AlertState {
  readonly state: AlertStateName;
  /** When it went into this state (ms); null for an alert never evaluated into one. */
  readonly since: number | null;
  /** When the last notification was claimed (ms). */
  readonly lastNotifiedAt: number | null;
  /** Number of the last notification (0: none yet). */
  readonly seq: number;
}

export const INITIAL_ALERT_STATE: AlertState = { state: 'ok', since: null, lastNotifiedAt: null, seq: 0 };

/** An enabled alert of an enabled live cache, with its state, for the evaluator. */
export interface LiveAlert extends AlertRecord {
  readonly alertState: AlertState;
}

export type NotificationKind = 'firing' | 'resolved' | 'reminder';

export interface Transition {
  readonly alert: AlertRecord;
  /** The seq the evaluator read; the notification is fromSeq + 1. */
  readonly fromSeq: number;
  readonly kind: NotificationKind;
  /** The measured value, percent. */
  readonly value: number;
  readonly at: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One notification to one target: the claim row and its delivery's progress. */
export interface AlertDelivery {
  readonly id: number;
  readonly alertId: number;
  readonly seq: number;
  readonly cacheId: number;
  readonly kind: NotificationKind;
  readonly configId: number;
  /** The alert as it was when the notification was made. */
  readonly triggerType: TriggerType;
  readonly threshold: number;
  readonly description: string;
  readonly value: number;
  /** When the transition happened (ms). */
  readonly at: number;
  readonly status: DeliveryStatus;
  /** Attempts started so far (claimDeliveries counts the one it leases). */
  readonly attempts: number;
}

/** test_delivered / test_failed: a test notification (POST …/alerts/configs/<id>/test); its alertId is 0. */
export type AlertEventKind = NotificationKind | 'delivered' | 'delivery_failed' | 'delivery_abandoned' | 'test_delivered' | 'test_failed';

export interface AlertEvent {
  readonly id: number;
  readonly cacheId: number;
  readonly alertId: number;
  readonly at: number;
  readonly kind: AlertEventKind;
  readonly value: number | null;
  readonly threshold: number | null;
  readonly triggerType: TriggerType | null;
  readonly deliveryType: DeliveryType | null;
  readonly attempt: number | null;
  /** A delivery's answer or error; '' for transitions. */
  readonly detail: string;
}

export type DeleteConfigResult =
  | { readonly result: 'deleted' }
  | { readonly result: 'not_found' }
  | { readonly result: 'in_use'; readonly alertIds: readonly number[] };

/** What the outcome of one delivery attempt does to its row. */
export type DeliveryOutcome =
  | { readonly ok: true; readonly detail: string }
  /** retryAt: when to try again; absent: give up (status failed). */
  | { readonly ok: false; readonly detail: string; readonly retryAt?: number };

export interface AlertCatalog {
  createDeliveryConfig(cacheId: number, config: NewDeliveryConfig): Promise<DeliveryConfigRecord>;
  listDeliveryConfigs(cacheId: number): Promise<DeliveryConfigRecord[]>;
  deliveryConfig(id: number): Promise<DeliveryConfigRecord | undefined>;
  /** Refuses (in_use, with the alerts' ids) while alerts use it; not_found for another cache's. */
  deleteDeliveryConfig(cacheId: number, id: number): Promise<DeleteConfigResult>;

  /** 'no_config' when the config is not one of this cache's (checked in the same transaction). */
  createAlert(cacheId: number, alert: AlertInput): Promise<AlertRecord | 'no_config'>;
  listAlerts(cacheId: number): Promise<AlertRecord[]>;
  getAlert(cacheId: number, id: number): Promise<AlertRecord | undefined>;
  /**
   * Changes the given fields. A change of type or threshold, or disabling, puts the alert
   * back to ok without a notification (its seq kept, so no claim is ever reused).
   */
  updateAlert(cacheId: number, id: number, patch: Partial<AlertInput>): Promise<AlertRecord | 'not_found' | 'no_config'>;
  deleteAlert(cacheId: number, id: number): Promise<boolean>;
  /** Every enabled alert of every enabled live cache, with its state. */
  liveAlerts(): Promise<LiveAlert[]>;
  alertState(alertId: number): Promise<AlertState | undefined>;

  /**
   * Claims notification fromSeq + 1 of the alert and, if this call made the claim, moves
   * the state (firing/reminder: firing; resolved: ok) and records the event, atomically.
   * Undefined when another caller claimed it first.
   */
  recordTransition(t: Transition): Promise<AlertDelivery | undefined>;
  /**
   * Leases up to `limit` pending deliveries due at `now` (none leased by anyone else)
   * until `leaseUntil`, counting an attempt on each; oldest due first, but no more of one
   * cache's than makes `perCache` of its deliveries leased at once (by any plane), so one
   * cache's dead receivers cannot take every sender and hold up the other caches'.
   */
  claimDeliveries(now: number, leaseUntil: number, limit: number, perCache?: number): Promise<AlertDelivery[]>;
  /**
   * Records the outcome of attempt `attempt` of a delivery and its event; ignored
   * (false) when the delivery is no longer at that attempt (its lease ran out and
   * another plane took it).
   */
  finishDelivery(id: number, attempt: number, outcome: DeliveryOutcome, now: number): Promise<boolean>;
  delivery(id: number): Promise<AlertDelivery | undefined>;

  /** Records the outcome of a test notification to one of the cache's configs (alert id 0, attempt 1). */
  recordTestNotification(cacheId: number, deliveryType: DeliveryType, outcome: { ok: boolean; detail: string }, at: number): Promise<AlertEvent>;
  /** Newest first; a cache's, or every cache's when cacheId is undefined. */
  alertEvents(cacheId: number | undefined, limit: number): Promise<AlertEvent[]>;
  /** Drops events and finished deliveries older than `before`. */
  pruneAlertEvents(before: number): Promise<void>;
}
