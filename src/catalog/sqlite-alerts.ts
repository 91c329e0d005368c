/**
 * AlertCatalog (alerts.ts) on SQLite. SQLITE_ALERTS_MIGRATION is one step of sqlite.ts's
 * MIGRATIONS. Writes that read before they write are IMMEDIATE transactions, so another
 * process on the same file (a second control plane) sees all of one or none of it.
 */
import type Database from 'better-sqlite3';
import type {
  AlertCatalog, AlertDelivery, AlertEvent, AlertInput, AlertRecord, AlertState, DeleteConfigResult, DeliveryConfigRecord,
  DeliveryOutcome, LiveAlert, NewDeliveryConfig, Transition,
} from './alerts.ts';

export const SQLITE_ALERTS_MIGRATION = `
CREATE TABLE alert_configs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  cache_id INTEGER NOT NULL,
  delivery_type TEXT NOT NULL,
  email TEXT NOT NULL DEFAULT '',
  slack_url TEXT NOT NULL DEFAULT '',
  slack_channel TEXT NOT NULL DEFAULT '',
  url TEXT NOT NULL DEFAULT '',
  secret TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
CREATE INDEX alert_configs_cache ON alert_configs(cache_id);
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  cache_id INTEGER NOT NULL,
  trigger_type TEXT NOT NULL,
  trigger_threshold INTEGER NOT NULL CHECK (trigger_threshold BETWEEN 0 AND 100),
  delivery_config_id INTEGER NOT NULL REFERENCES alert_configs(id),
  description TEXT NOT NULL DEFAULT '',
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL
);
CREATE INDEX alerts_cache ON alerts(cache_id);
CREATE INDEX alerts_config ON alerts(delivery_config_id);
CREATE TABLE alert_state (
  alert_id INTEGER PRIMARY KEY,
  state TEXT NOT NULL,
  since INTEGER,
  last_notified_at INTEGER,
  seq INTEGER NOT NULL
);
CREATE TABLE alert_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  cache_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  config_id INTEGER NOT NULL,
  trigger_type TEXT NOT NULL,
  threshold INTEGER NOT NULL,
  description TEXT NOT NULL,
  value REAL NOT NULL,
  at INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL DEFAULT 0,
  UNIQUE (alert_id, seq)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries(status, next_attempt_at);
CREATE TABLE alert_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  cache_id INTEGER NOT NULL,
  alert_id INTEGER NOT NULL,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  value REAL,
  threshold INTEGER,
  trigger_type TEXT,
  delivery_type TEXT,
  attempt INTEGER,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_events_cache ON alert_events(cache_id, id);
CREATE INDEX alert_events_at ON alert_events(at);
`;

interface ConfigRow {
  id: number; cache_id: number; delivery_type: DeliveryConfigRecord['type']; email: string; slack_url: string;
  slack_channel: string; url: string; secret: string;
}
interface AlertRow {
  id: number; cache_id: number; trigger_type: AlertRecord['triggerType']; trigger_threshold: number; delivery_config_id: number;
  description: string; enabled: number;
}
interface StateRow { state: AlertState['state']; since: number | null; last_notified_at: number | null; seq: number }
interface DeliveryRow {
  id: number; alert_id: number; seq: number; cache_id: number; kind: AlertDelivery['kind']; config_id: number;
  trigger_type: AlertDelivery['triggerType']; threshold: number; description: string; value: number; at: number;
  status: AlertDelivery['status']; attempts: number;
}
interface EventRow {
  id: number; cache_id: number; alert_id: number; at: number; kind: AlertEvent['kind']; value: number | null; threshold: number | null;
  trigger_type: AlertEvent['triggerType']; delivery_type: AlertEvent['deliveryType']; attempt: number | null; detail: string;
}

export const toConfig = (r: ConfigRow): DeliveryConfigRecord => ({
  id: r.id, cacheId: r.cache_id, type: r.delivery_type, email: r.email, slackUrl: r.slack_url, slackChannel: r.slack_channel,
  url: r.url, secret: r.secret,
});
export const toAlert = (r: AlertRow): AlertRecord => ({
  id: r.id, cacheId: r.cache_id, triggerType: r.trigger_type, threshold: Number(r.trigger_threshold),
  deliveryConfigId: r.delivery_config_id, description: r.description, enabled: r.enabled === 1 || (r.enabled as unknown) === true,
});
export const toState = (r: StateRow): AlertState => ({
  state: r.state, since: r.since === null ? null : Number(r.since),
  lastNotifiedAt: r.last_notified_at === null ? null : Number(r.last_notified_at), seq: Number(r.seq),
});
export const toDelivery = (r: DeliveryRow): AlertDelivery => ({
  id: Number(r.id), alertId: r.alert_id, seq: Number(r.seq), cacheId: r.cache_id, kind: r.kind, configId: r.config_id,
  triggerType: r.trigger_type, threshold: Number(r.threshold), description: r.description, value: Number(r.value), at: Number(r.at),
  status: r.status, attempts: Number(r.attempts),
});
export const toEvent = (r: EventRow): AlertEvent => ({
  id: Number(r.id), cacheId: r.cache_id, alertId: r.alert_id, at: Number(r.at), kind: r.kind,
  value: r.value === null ? null : Number(r.value), threshold: r.threshold === null ? null : Number(r.threshold),
  triggerType: r.trigger_type, deliveryType: r.delivery_type, attempt: r.attempt === null ? null : Number(r.attempt), detail: r.detail,
});

/** Whether a change of these fields puts the alert back to ok. */
export function resetsState(cur: AlertRecord, patch: Partial<AlertInput>): boolean {
  return (patch.triggerType !== undefined && patch.triggerType !== cur.triggerType)
    || (patch.threshold !== undefined && patch.threshold !== cur.threshold)
    || (patch.enabled === false && cur.enabled);
}

export class SqliteAlerts implements AlertCatalog {
  constructor(private readonly db: Database.Database) {}

  async createDeliveryConfig(cacheId: number, c: NewDeliveryConfig) {
    const { lastInsertRowid } = this.db.prepare(
      `INSERT INTO alert_configs (cache_id, delivery_type, email, slack_url, slack_channel, url, secret, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(cacheId, c.type, c.email, c.slackUrl, c.slackChannel, c.url, c.secret, Date.now());
    return toConfig(this.db.prepare('SELECT * FROM alert_configs WHERE id = ?').get(lastInsertRowid) as ConfigRow);
  }

  async listDeliveryConfigs(cacheId: number) {
    return (this.db.prepare('SELECT * FROM alert_configs WHERE cache_id = ? ORDER BY id').all(cacheId) as ConfigRow[]).map(toConfig);
  }

  async deliveryConfig(id: number) {
    const row = this.db.prepare('SELECT * FROM alert_configs WHERE id = ?').get(id) as ConfigRow | undefined;
    return row && toConfig(row);
  }

  async deleteDeliveryConfig(cacheId: number, id: number): Promise<DeleteConfigResult> {
    return this.db.transaction((): DeleteConfigResult => {
      const found = this.db.prepare('SELECT 1 FROM alert_configs WHERE id = ? AND cache_id = ?').get(id, cacheId);
      if (!found) return { result: 'not_found' };
      const users = (this.db.prepare('SELECT id FROM alerts WHERE delivery_config_id = ? ORDER BY id').all(id) as { id: number }[]).map((r) => r.id);
      if (users.length) return { result: 'in_use', alertIds: users };
      this.db.prepare('DELETE FROM alert_configs WHERE id = ?').run(id);
      return { result: 'deleted' };
    }).immediate();
  }

  private configOf(cacheId: number, configId: number): boolean {
    return this.db.prepare('SELECT 1 FROM alert_configs WHERE id = ? AND cache_id = ?').get(configId, cacheId) !== undefined;
  }

  private alertRow(cacheId: number, id: number): AlertRecord | undefined {
    const row = this.db.prepare('SELECT * FROM alerts WHERE id = ? AND cache_id = ?').get(id, cacheId) as AlertRow | undefined;
    return row && toAlert(row);
  }

  async createAlert(cacheId: number, a: AlertInput) {
    return this.db.transaction((): AlertRecord | 'no_config' => {
      if (!this.configOf(cacheId, a.deliveryConfigId)) return 'no_config';
      const { lastInsertRowid } = this.db.prepare(
        `INSERT INTO alerts (cache_id, trigger_type, trigger_threshold, delivery_config_id, description, enabled, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(cacheId, a.triggerType, a.threshold, a.deliveryConfigId, a.description, a.enabled ? 1 : 0, Date.now());
      return this.alertRow(cacheId, Number(lastInsertRowid))!;
    }).immediate();
  }

  async listAlerts(cacheId: number) {
    return (this.db.prepare('SELECT * FROM alerts WHERE cache_id = ? ORDER BY id').all(cacheId) as AlertRow[]).map(toAlert);
  }

  async getAlert(cacheId: number, id: number) {
    return this.alertRow(cacheId, id);
  }

  async updateAlert(cacheId: number, id: number, patch: Partial<AlertInput>) {
    return this.db.transaction((): AlertRecord | 'not_found' | 'no_config' => {
      const cur = this.alertRow(cacheId, id);
      if (!cur) return 'not_found';
      const next = { ...cur, ...patch };
      if (!this.configOf(cacheId, next.deliveryConfigId)) return 'no_config';
      this.db.prepare(
        `UPDATE alerts SET trigger_type = ?, trigger_threshold = ?, delivery_config_id = ?, description = ?, enabled = ? WHERE id = ?`,
      ).run(next.triggerType, next.threshold, next.deliveryConfigId, next.description, next.enabled ? 1 : 0, id);
      if (resetsState(cur, patch)) {
        this.db.prepare("UPDATE alert_state SET state = 'ok', since = NULL WHERE alert_id = ?").run(id);
      }
      return this.alertRow(cacheId, id)!;
    }).immediate();
  }

  async deleteAlert(cacheId: number, id: number) {
    return this.db.transaction(() => {
      const done = this.db.prepare('DELETE FROM alerts WHERE id = ? AND cache_id = ?').run(id, cacheId).changes > 0;
      // The state row stays: its seq keeps the claims of this id unique (ids are never reused anyway).
      return done;
    }).immediate();
  }

  async liveAlerts(): Promise<LiveAlert[]> {
    const rows = this.db.prepare(
      `SELECT a.*, s.state, s.since, s.last_notified_at, s.seq FROM alerts a
       JOIN caches c ON c.id = a.cache_id AND c.deleted = 0 AND c.enabled = 1
       LEFT JOIN alert_state s ON s.alert_id = a.id
       WHERE a.enabled = 1 ORDER BY a.id`,
    ).all() as (AlertRow & Partial<StateRow>)[];
    return rows.map((r) => ({
      ...toAlert(r),
      alertState: r.seq === null || r.seq === undefined ? { state: 'ok', since: null, lastNotifiedAt: null, seq: 0 } : toState(r as StateRow),
    }));
  }

  async alertState(alertId: number) {
    const row = this.db.prepare('SELECT * FROM alert_state WHERE alert_id = ?').get(alertId) as StateRow | undefined;
    return row && toState(row);
  }

  async recordTransition(t: Transition) {
    return this.db.transaction((): AlertDelivery | undefined => {
      const seq = t.fromSeq + 1;
      const res = this.db.prepare(
        `INSERT INTO alert_deliveries (alert_id, seq, cache_id, kind, config_id, trigger_type, threshold, description, value, at, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id, seq) DO NOTHING`,
      ).run(t.alert.id, seq, t.alert.cacheId, t.kind, t.alert.deliveryConfigId, t.alert.triggerType, t.alert.threshold,
        t.alert.description, t.value, t.at, t.at);
      if (res.changes === 0) return undefined;
      const state = t.kind === 'resolved' ? 'ok' : 'firing';
      this.db.prepare(
        `INSERT INTO alert_state (alert_id, state, since, last_notified_at, seq) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (alert_id) DO UPDATE SET state = excluded.state,
           since = CASE WHEN excluded.state = alert_state.state THEN alert_state.since ELSE excluded.since END,
           last_notified_at = excluded.last_notified_at, seq = excluded.seq`,
      ).run(t.alert.id, state, t.at, t.at, seq);
      this.db.prepare(
        `INSERT INTO alert_events (cache_id, alert_id, at, kind, value, threshold, trigger_type) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(t.alert.cacheId, t.alert.id, t.at, t.kind, t.value, t.alert.threshold, t.alert.triggerType);
      return toDelivery(this.db.prepare('SELECT * FROM alert_deliveries WHERE id = ?').get(res.lastInsertRowid) as DeliveryRow);
    }).immediate();
  }

  async claimDeliveries(now: number, leaseUntil: number, limit: number, perCache = limit) {
    if (limit <= 0) return [];
    return this.db.transaction(() => {
      // Due rows ranked within their cache, after the ones of that cache leased now
      // (counted once per cache, not per row).
      const rows = this.db.prepare(
        `WITH busy AS (SELECT cache_id, COUNT(*) AS n FROM alert_deliveries WHERE status = 'pending' AND lease_until > ? GROUP BY cache_id)
         SELECT id FROM (
           SELECT d.id, d.next_attempt_at,
                  ROW_NUMBER() OVER (PARTITION BY d.cache_id ORDER BY d.next_attempt_at, d.id) + COALESCE(b.n, 0) AS place
           FROM alert_deliveries d LEFT JOIN busy b ON b.cache_id = d.cache_id
           WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.lease_until <= ?)
         WHERE place <= ? ORDER BY next_attempt_at, id LIMIT ?`,
      ).all(now, now, now, perCache, limit) as { id: number }[];
      const lease = this.db.prepare('UPDATE alert_deliveries SET lease_until = ?, attempts = attempts + 1 WHERE id = ?');
      const read = this.db.prepare('SELECT * FROM alert_deliveries WHERE id = ?');
      return rows.map((r) => {
        lease.run(leaseUntil, r.id);
        return toDelivery(read.get(r.id) as DeliveryRow);
      });
    }).immediate();
  }

  async finishDelivery(id: number, attempt: number, outcome: DeliveryOutcome, now: number) {
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT * FROM alert_deliveries WHERE id = ? AND attempts = ? AND status = 'pending'")
        .get(id, attempt) as DeliveryRow | undefined;
      if (!row) return false;
      if (outcome.ok) {
        this.db.prepare("UPDATE alert_deliveries SET status = 'delivered', lease_until = 0 WHERE id = ?").run(id);
      } else if (outcome.retryAt !== undefined) {
        this.db.prepare('UPDATE alert_deliveries SET next_attempt_at = ?, lease_until = 0 WHERE id = ?').run(outcome.retryAt, id);
      } else {
        this.db.prepare("UPDATE alert_deliveries SET status = 'failed', lease_until = 0 WHERE id = ?").run(id);
      }
      const type = this.db.prepare('SELECT delivery_type FROM alert_configs WHERE id = ?').get(row.config_id) as { delivery_type: string } | undefined;
      const kind = outcome.ok ? 'delivered' : outcome.retryAt !== undefined ? 'delivery_failed' : 'delivery_abandoned';
      this.db.prepare(
        `INSERT INTO alert_events (cache_id, alert_id, at, kind, value, threshold, trigger_type, delivery_type, attempt, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(row.cache_id, row.alert_id, now, kind, row.value, row.threshold, row.trigger_type, type?.delivery_type ?? null, attempt, outcome.detail);
      return true;
    }).immediate();
  }

  async delivery(id: number) {
    const row = this.db.prepare('SELECT * FROM alert_deliveries WHERE id = ?').get(id) as DeliveryRow | undefined;
    return row && toDelivery(row);
  }

  async recordTestNotification(cacheId: number, deliveryType: DeliveryConfigRecord['type'], outcome: { ok: boolean; detail: string }, at: number) {
    const res = this.db.prepare(
      `INSERT INTO alert_events (cache_id, alert_id, at, kind, delivery_type, attempt, detail) VALUES (?, 0, ?, ?, ?, 1, ?)`,
    ).run(cacheId, at, outcome.ok ? 'test_delivered' : 'test_failed', deliveryType, outcome.detail);
    return toEvent(this.db.prepare('SELECT * FROM alert_events WHERE id = ?').get(res.lastInsertRowid) as EventRow);
  }

  async alertEvents(cacheId: number | undefined, limit: number) {
    const rows = cacheId === undefined
      ? this.db.prepare('SELECT * FROM alert_events ORDER BY id DESC LIMIT ?').all(limit)
      : this.db.prepare('SELECT * FROM alert_events WHERE cache_id = ? ORDER BY id DESC LIMIT ?').all(cacheId, limit);
    return (rows as EventRow[]).map(toEvent);
  }

  async pruneAlertEvents(before: number) {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM alert_events WHERE at < ?').run(before);
      this.db.prepare("DELETE FROM alert_deliveries WHERE status <> 'pending' AND at < ?").run(before);
    })();
  }
}
