/**
 * The catalog in one SQLite file (WAL mode, so a running node and a CLI process can use
 * it at once). Triggers bump `revision` on every change so nodes in other processes
 * notice within one poll, stamp the changed cache or credential row with it (`rev`), and
 * log deletions and node changes in `catalog_changes`, so a node reads only what changed
 * (`changesSince`). BASE_SCHEMA is the original layout; MIGRATIONS (counted by
 * `PRAGMA user_version`) bring any older file up to date on open.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { generatePassword, generateToken, generateUsername, hashSecret, verifySecret } from '../shared/secrets.ts';
import {
  CHANGE_LOG_RETENTION_S, CredentialLimitError, MAX_CREDENTIALS_PER_CACHE, type CacheRecord, type CachePatch, type Capabilities, type Catalog,
  type CatalogChanges, type CatalogSnapshot, type CredentialRecord, type HistoryQuery, type HistorySample, type NewCredential, type NodeRecord,
  type NodeRegistration,
  type PrefixSample, type RetentionPolicy,
} from './catalog.ts';
import { CATALOG_FILES, prepareCatalogFiles, settleCatalogFiles, tightenedMessage } from './file-modes.ts';
import { collectHistory, readHistoryPages } from './history-pages.ts';
import { SqliteHistoryRows } from './sqlite-history.ts';
import { SQLITE_ACCESS_MIGRATION, SqliteAccess } from './sqlite-access.ts';
import type { ActivityUpdate } from './access.ts';
import { SQLITE_ALERTS_MIGRATION, SqliteAlerts } from './sqlite-alerts.ts';
import type { AlertInput, DeliveryOutcome, DeliveryType, NewDeliveryConfig, Transition } from './alerts.ts';
import { SQLITE_TOKENS_MIGRATION, SqliteTokens } from './sqlite-tokens.ts';
import type { NewApiTokenInput } from './api-tokens.ts';
import { SQLITE_INSIGHT_INDEX_MIGRATION, SQLITE_INSIGHT_MIGRATION, SqliteInsight } from './sqlite-insight.ts';
import type { LatencyLevel, LatencyProbe } from './latency.ts';
import type { RollupLevel } from './rollups.ts';
import { SQLITE_INTROSPECTION_MIGRATION, SqliteIntrospection } from './sqlite-introspection.ts';
import { readWatchedPrefixes } from './prefix-watch.ts';
import { sqliteClustersMigration, SqliteClusters } from './sqlite-clusters.ts';
import { checkClusterName, DEFAULT_CLUSTER, DEFAULT_NODE_CAPACITY, placeCache } from './clusters.ts';

const HOUR_MS = 3_600_000;

/** The original layout (user_version 0); exported for the migration test. */
export const BASE_SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', '0');
CREATE TABLE IF NOT EXISTS caches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  memory_bytes INTEGER NOT NULL CHECK (memory_bytes > 0),
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS credentials (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  cache_id INTEGER NOT NULL REFERENCES caches(id) ON DELETE CASCADE,
  username TEXT NOT NULL UNIQUE,
  salt TEXT NOT NULL,
  hash TEXT NOT NULL,
  write_cap INTEGER NOT NULL DEFAULT 1,
  flush_cap INTEGER NOT NULL DEFAULT 1,
  api_cap INTEGER NOT NULL DEFAULT 1,
  is_primary INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS credentials_cache ON credentials(cache_id);
CREATE TABLE IF NOT EXISTS nodes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  address TEXT NOT NULL UNIQUE,
  admin_address TEXT NOT NULL,
  last_seen INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
  cache_id INTEGER NOT NULL,
  server TEXT NOT NULL,
  ts INTEGER NOT NULL,
  stats TEXT NOT NULL,
  slot INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS history_cache_ts ON history(cache_id, ts);
CREATE UNIQUE INDEX IF NOT EXISTS history_one_per_slot ON history(cache_id, server, slot);
CREATE TRIGGER IF NOT EXISTS caches_ins AFTER INSERT ON caches BEGIN UPDATE meta SET value = value + 1 WHERE key = 'revision'; END;
CREATE TRIGGER IF NOT EXISTS caches_upd AFTER UPDATE ON caches BEGIN UPDATE meta SET value = value + 1 WHERE key = 'revision'; END;
CREATE TRIGGER IF NOT EXISTS caches_del AFTER DELETE ON caches BEGIN UPDATE meta SET value = value + 1 WHERE key = 'revision'; END;
CREATE TRIGGER IF NOT EXISTS creds_ins AFTER INSERT ON credentials BEGIN UPDATE meta SET value = value + 1 WHERE key = 'revision'; END;
CREATE TRIGGER IF NOT EXISTS creds_upd AFTER UPDATE ON credentials BEGIN UPDATE meta SET value = value + 1 WHERE key = 'revision'; END;
CREATE TRIGGER IF NOT EXISTS creds_del AFTER DELETE ON credentials BEGIN UPDATE meta SET value = value + 1 WHERE key = 'revision'; END;
CREATE TRIGGER IF NOT EXISTS nodes_ins AFTER INSERT ON nodes BEGIN UPDATE meta SET value = value + 1 WHERE key = 'revision'; END;
CREATE TRIGGER IF NOT EXISTS nodes_upd AFTER UPDATE OF address, admin_address ON nodes
  WHEN OLD.address IS NOT NEW.address OR OLD.admin_address IS NOT NEW.admin_address BEGIN UPDATE meta SET value = value + 1 WHERE key = 'revision'; END;
CREATE TRIGGER IF NOT EXISTS nodes_del AFTER DELETE ON nodes BEGIN UPDATE meta SET value = value + 1 WHERE key = 'revision'; END;
`;

const NOW_S = "CAST(strftime('%s', 'now') AS INTEGER)";
const BUMP = "UPDATE meta SET value = value + 1 WHERE key = 'revision';";
const REV = "(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'revision')";
/** Trigger body: a new revision, stamped on the row (the stamp's UPDATE names no watched column, so it fires nothing). */
const stamp = (table: string) => `${BUMP} UPDATE ${table} SET rev = ${REV} WHERE id = NEW.id;`;
/** Trigger body: a new revision, logged; entries past the retention go, and the watermark says how far. */
const logged = (kind: string, row: 'NEW' | 'OLD', key: string) => `${BUMP}
  UPDATE meta SET value = MAX(CAST(value AS INTEGER), (SELECT COALESCE(MAX(rev), 0) FROM catalog_changes WHERE at < ${NOW_S} - ${CHANGE_LOG_RETENTION_S}))
    WHERE key = 'changes_pruned_through';
  DELETE FROM catalog_changes WHERE at < ${NOW_S} - ${CHANGE_LOG_RETENTION_S};
  INSERT INTO catalog_changes (rev, kind, id, key, at) VALUES (${REV}, '${kind}', ${row}.id, ${key}, ${NOW_S});`;

/** Applied in order after BASE_SCHEMA; `PRAGMA user_version` is the number that ran. Append, never edit. */
export const MIGRATIONS: readonly string[] = [
  // 1: per-row revisions and a change log, so nodes apply deltas instead of whole snapshots.
  `
ALTER TABLE caches ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE credentials ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
CREATE INDEX caches_rev ON caches(rev);
CREATE INDEX credentials_rev ON credentials(rev);
CREATE TABLE catalog_changes (rev INTEGER NOT NULL, kind TEXT NOT NULL, id INTEGER NOT NULL, key TEXT, at INTEGER NOT NULL);
CREATE INDEX catalog_changes_rev ON catalog_changes(rev);
INSERT OR IGNORE INTO meta (key, value) VALUES ('changes_pruned_through', '0');
DROP TRIGGER caches_ins; DROP TRIGGER caches_upd; DROP TRIGGER caches_del;
DROP TRIGGER creds_ins; DROP TRIGGER creds_upd; DROP TRIGGER creds_del;
DROP TRIGGER nodes_ins; DROP TRIGGER nodes_upd; DROP TRIGGER nodes_del;
CREATE TRIGGER caches_ins AFTER INSERT ON caches BEGIN ${stamp('caches')} END;
CREATE TRIGGER caches_upd AFTER UPDATE OF name, memory_bytes, enabled, created_at, deleted ON caches BEGIN ${stamp('caches')} END;
CREATE TRIGGER caches_del AFTER DELETE ON caches BEGIN ${logged('cache', 'OLD', 'NULL')} END;
CREATE TRIGGER creds_ins AFTER INSERT ON credentials BEGIN ${stamp('credentials')} END;
CREATE TRIGGER creds_upd AFTER UPDATE OF cache_id, username, salt, hash, write_cap, flush_cap, api_cap, is_primary ON credentials
  BEGIN ${stamp('credentials')} END;
CREATE TRIGGER creds_del AFTER DELETE ON credentials BEGIN ${logged('credential', 'OLD', 'OLD.username')} END;
CREATE TRIGGER nodes_ins AFTER INSERT ON nodes BEGIN ${logged('node', 'NEW', 'NULL')} END;
CREATE TRIGGER nodes_upd AFTER UPDATE OF address, admin_address ON nodes
  WHEN OLD.address IS NOT NEW.address OR OLD.admin_address IS NOT NEW.admin_address BEGIN ${logged('node', 'NEW', 'NULL')} END;
CREATE TRIGGER nodes_del AFTER DELETE ON nodes BEGIN ${logged('node', 'OLD', 'NULL')} END;
`,
  // 2: API v2 management — sign-in links, dashboard sessions, why a cache is disabled, last memcache traffic (sqlite-access.ts).
  SQLITE_ACCESS_MIGRATION,
  // 3: insight — history rollups (1 min, 10 min, 1 h, 1 day; backfilled from the stored history), latency probes and their rollups.
  SQLITE_INSIGHT_MIGRATION,
  // 4: insight — an index on history (server, cache_id, ts) for the rollups' neighbour lookups.
  SQLITE_INSIGHT_INDEX_MIGRATION,
  // 5: scoped API tokens (sqlite-tokens.ts).
  SQLITE_TOKENS_MIGRATION,
  // 6: alerts — delivery configs, alerts, their state, deliveries (the claims) and events (sqlite-alerts.ts).
  SQLITE_ALERTS_MIGRATION,
  // 7: introspection — the flag and watched prefixes on the cache row (its trigger stamps them too), prefix history (sqlite-introspection.ts).
  `${SQLITE_INTROSPECTION_MIGRATION}
DROP TRIGGER caches_upd;
CREATE TRIGGER caches_upd AFTER UPDATE OF name, memory_bytes, enabled, created_at, deleted, introspection, watched_prefixes ON caches
  BEGIN ${stamp('caches')} END;
`,
  // 8: clusters — the table (with `default`), the cluster of every cache and node, each node's pid and capacity (sqlite-clusters.ts).
  sqliteClustersMigration(BUMP, stamp('caches'), logged('node', 'NEW', 'NULL')),
];

interface CacheRow {
  id: number; name: string; memory_bytes: number; enabled: number; created_at: number; deleted?: number;
  introspection: number; watched_prefixes: string; cluster: string;
}
interface CredRow {
  id: number; cache_id: number; username: string; salt: string; hash: string;
  write_cap: number; flush_cap: number; api_cap: number; is_primary: number;
}
interface NodeRow {
  id: number; address: string; admin_address: string; last_seen: number; cluster: string; pid: number | null; capacity_bytes: number;
}
interface ChangeRow { kind: 'cache' | 'credential' | 'node'; id: number; key: string | null }

const toCache = (r: CacheRow): CacheRecord => ({
  id: r.id, name: r.name, memoryBytes: r.memory_bytes, enabled: r.enabled === 1, createdAt: r.created_at,
  introspection: r.introspection === 1, watchedPrefixes: readWatchedPrefixes(r.watched_prefixes), cluster: r.cluster,
});
const toCred = (r: CredRow): CredentialRecord => ({
  id: r.id, cacheId: r.cache_id, username: r.username, salt: r.salt, hash: r.hash,
  write: r.write_cap === 1, flush: r.flush_cap === 1, api: r.api_cap === 1, primary: r.is_primary === 1,
});
const toNode = (r: NodeRow): NodeRecord => ({
  id: r.id, address: r.address, adminAddress: r.admin_address, lastSeen: r.last_seen,
  cluster: r.cluster, pid: r.pid, capacityBytes: r.capacity_bytes,
});

/**
 * Opens (creating if needed) `catalog.sqlite` under `dataDir`, owner-only (file-modes.ts):
 * the catalog holds the cluster secret. `warn` gets one line when an existing catalog's
 * modes were tightened (default: stderr).
 */
export function openSqliteCatalog(dataDir: string, warn: (line: string) => void = (l) => console.error(l)): SqliteCatalog {
  const changed = prepareCatalogFiles(dataDir);
  const catalog = new SqliteCatalog(join(dataDir, CATALOG_FILES[0]));
  settleCatalogFiles(dataDir);
  if (changed.length) warn(tightenedMessage(changed));
  return catalog;
}

export class SqliteCatalog implements Catalog {
  private readonly db: Database.Database;
  private readonly historyRows: SqliteHistoryRows;
  private readonly access: SqliteAccess;
  private readonly insight: SqliteInsight;
  private readonly tokens: SqliteTokens;
  private readonly alerts: SqliteAlerts;
  private readonly introspection: SqliteIntrospection;
  private readonly clusters: SqliteClusters;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    this.historyRows = new SqliteHistoryRows(this.db);
    this.access = new SqliteAccess(this.db);
    this.insight = new SqliteInsight(this.db);
    this.tokens = new SqliteTokens(this.db);
    this.alerts = new SqliteAlerts(this.db);
    this.introspection = new SqliteIntrospection(this.db);
    this.clusters = new SqliteClusters(this.db);
  }

  private liveCacheIds = '(SELECT id FROM caches WHERE deleted = 0)';

  /** Creates or upgrades the schema; IMMEDIATE, so two processes opening an old file migrate it once. */
  private migrate(): void {
    this.db.exec(BASE_SCHEMA);
    this.db.transaction(() => {
      const done = this.db.pragma('user_version', { simple: true }) as number;
      if (done > MIGRATIONS.length) {
        throw new Error(`catalog schema version ${done} is newer than this cachier understands (${MIGRATIONS.length})`);
      }
      for (let v = done; v < MIGRATIONS.length; v++) this.db.exec(MIGRATIONS[v]!);
      if (done !== MIGRATIONS.length) this.db.pragma(`user_version = ${MIGRATIONS.length}`);
    }).immediate();
  }

  async createCache(input: { name?: string; memoryBytes: number; cluster?: string }) {
    // IMMEDIATE: placement reads the allocation it adds to, so no other process places in between.
    return this.db.transaction(() => {
      const now = Date.now();
      const placeholder = `pending-${now}-${Math.random()}`;
      if (input.cluster !== undefined) this.clusters.mustExist(input.cluster);
      const cluster = input.cluster ?? placeCache(this.clusters.list()) ?? DEFAULT_CLUSTER;
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO caches (name, memory_bytes, created_at, cluster) VALUES (?, ?, ?, ?)')
        .run(input.name ?? placeholder, input.memoryBytes, now, cluster);
      const id = Number(lastInsertRowid);
      if (!input.name) this.db.prepare('UPDATE caches SET name = ? WHERE id = ?').run(`mc-${id}`, id);
      const made = this.insertCredential(id, {}, true);
      return { cache: this.cacheById(id)!, ...made };
    }).immediate();
  }

  private cacheById(id: number): CacheRecord | undefined {
    const row = this.db.prepare('SELECT * FROM caches WHERE id = ? AND deleted = 0').get(id) as CacheRow | undefined;
    return row && toCache(row);
  }

  async getCache(id: number) {
    return this.cacheById(id);
  }

  async listCaches() {
    return (this.db.prepare('SELECT * FROM caches WHERE deleted = 0 ORDER BY id').all() as CacheRow[]).map(toCache);
  }

  async updateCache(id: number, patch: CachePatch) {
    const cur = this.cacheById(id);
    if (!cur) return undefined;
    this.db.prepare('UPDATE caches SET memory_bytes = ?, enabled = ?, name = ?, introspection = ? WHERE id = ?').run(
      patch.memoryBytes ?? cur.memoryBytes, (patch.enabled ?? cur.enabled) ? 1 : 0, patch.name ?? cur.name,
      (patch.introspection ?? cur.introspection) ? 1 : 0, id,
    );
    return this.cacheById(id);
  }

  /**
   * A deleted cache leaves a tombstone: its credentials still identify it (so the API can
   * answer "No cache found." rather than "not authorized"), but nothing serves it, its
   * name is free again and its history (and prefix history) is gone.
   */
  async deleteCache(id: number) {
    return this.db.transaction(() => {
      const done = this.db
        .prepare("UPDATE caches SET deleted = 1, enabled = 0, name = name || '~deleted-' || id WHERE id = ? AND deleted = 0")
        .run(id).changes > 0;
      if (done) {
        this.db.prepare('DELETE FROM history WHERE cache_id = ?').run(id);
        this.introspection.dropCache(id);
      }
      return done;
    })();
  }

  private insertCredential(cacheId: number, caps: Partial<Capabilities>, primary: boolean): NewCredential {
    const password = generatePassword();
    const { salt, hash } = hashSecret(password);
    for (;;) {
      const username = generateUsername();
      const res = this.db
        .prepare(`INSERT OR IGNORE INTO credentials (cache_id, username, salt, hash, write_cap, flush_cap, api_cap, is_primary)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(cacheId, username, salt, hash, caps.write === false ? 0 : 1, caps.flush === false ? 0 : 1,
          caps.api === false ? 0 : 1, primary ? 1 : 0);
      if (res.changes === 1) return { credential: this.credById(Number(res.lastInsertRowid))!, password };
    }
  }

  private credById(id: number): CredentialRecord | undefined {
    const row = this.db.prepare('SELECT * FROM credentials WHERE id = ?').get(id) as CredRow | undefined;
    return row && toCred(row);
  }

  async createCredential(cacheId: number, caps: Partial<Capabilities> = {}) {
    // IMMEDIATE takes the write lock before counting: another process cannot insert between.
    return this.db.transaction(() => {
      if (!this.cacheById(cacheId)) throw new Error(`no cache ${cacheId}`);
      const { n } = this.db.prepare('SELECT COUNT(*) AS n FROM credentials WHERE cache_id = ?').get(cacheId) as { n: number };
      if (n >= MAX_CREDENTIALS_PER_CACHE) throw new CredentialLimitError(cacheId);
      return this.insertCredential(cacheId, caps, false);
    }).immediate();
  }

  async listCredentials(cacheId: number) {
    return (this.db.prepare(`SELECT * FROM credentials WHERE cache_id = ? AND cache_id IN ${this.liveCacheIds} ORDER BY id`)
      .all(cacheId) as CredRow[]).map(toCred);
  }

  async findCredential(username: string) {
    const row = this.db.prepare('SELECT * FROM credentials WHERE username = ?').get(username) as CredRow | undefined;
    return row && toCred(row);
  }

  async updateCredential(id: number, caps: Partial<Capabilities>) {
    const cur = this.credById(id);
    if (!cur) return undefined;
    this.db.prepare('UPDATE credentials SET write_cap = ?, flush_cap = ?, api_cap = ? WHERE id = ?').run(
      (caps.write ?? cur.write) ? 1 : 0, (caps.flush ?? cur.flush) ? 1 : 0, (caps.api ?? cur.api) ? 1 : 0, id,
    );
    return this.credById(id);
  }

  async promoteCredential(id: number) {
    return this.db.transaction(() => {
      const cur = this.credById(id);
      if (!cur) return undefined;
      this.db.prepare('UPDATE credentials SET is_primary = 0 WHERE cache_id = ? AND id <> ?').run(cur.cacheId, id);
      this.db.prepare('UPDATE credentials SET is_primary = 1 WHERE id = ?').run(id);
      return this.credById(id);
    })();
  }

  async deleteCredential(id: number) {
    return this.db.transaction(() => {
      const cur = this.credById(id);
      if (!cur) return 'not_found' as const;
      if (cur.primary) return 'primary' as const;
      this.db.prepare('DELETE FROM credentials WHERE id = ?').run(id);
      return 'deleted' as const;
    })();
  }

  async registerNode(address: string, adminAddress: string, opts: NodeRegistration = {}) {
    if (opts.cluster !== undefined) checkClusterName(opts.cluster);
    return this.db.transaction(() => {
      if (opts.cluster !== undefined) this.clusters.ensure(opts.cluster);
      // A field the node does not give keeps what the row holds (a heartbeat gives none).
      this.db
        .prepare(`INSERT INTO nodes (address, admin_address, last_seen, cluster, pid, capacity_bytes) VALUES (?, ?, ?, ?, ?, ?)
                  ON CONFLICT(address) DO UPDATE SET admin_address = excluded.admin_address, last_seen = excluded.last_seen,
                    cluster = COALESCE(?, cluster), pid = COALESCE(?, pid), capacity_bytes = COALESCE(?, capacity_bytes)`)
        .run(address, adminAddress, Date.now(), opts.cluster ?? DEFAULT_CLUSTER, opts.pid ?? null,
          opts.capacityBytes ?? DEFAULT_NODE_CAPACITY, opts.cluster ?? null, opts.pid ?? null, opts.capacityBytes ?? null);
      return toNode(this.db.prepare('SELECT * FROM nodes WHERE address = ?').get(address) as NodeRow);
    }).immediate();
  }

  async listNodes(cluster?: string) {
    const rows = cluster === undefined
      ? this.db.prepare('SELECT * FROM nodes ORDER BY id').all()
      : this.db.prepare('SELECT * FROM nodes WHERE cluster = ? ORDER BY id').all(cluster);
    return (rows as NodeRow[]).map(toNode);
  }

  // Clusters and placement: sqlite-clusters.ts, clusters.ts.
  async listClusters() {
    return this.clusters.list();
  }

  async createCluster(name: string) {
    return this.clusters.create(name);
  }

  async moveCache(id: number, cluster: string) {
    return this.db.transaction(() => {
      this.clusters.move(id, cluster);
      return this.cacheById(id);
    }).immediate();
  }

  async removeNode(address: string) {
    this.db.prepare('DELETE FROM nodes WHERE address = ?').run(address);
  }

  async clusterSecret() {
    this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('cluster_secret', ?)").run(generateToken());
    return (this.db.prepare("SELECT value FROM meta WHERE key = 'cluster_secret'").get() as { value: string }).value;
  }

  async rotateClusterSecret() {
    return this.db.transaction(() => {
      const secret = generateToken();
      this.db.prepare(BUMP).run();
      const upsert = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
      upsert.run('cluster_secret', secret);
      upsert.run('cluster_secret_rev', String(this.revisionNow()));
      return secret;
    }).immediate();
  }

  async addHistory(samples: readonly HistorySample[], slotMs = 1) {
    // Inserts and keeps the rollups (rollups.ts) of what it inserted, in one transaction.
    this.insight.addHistory(samples, slotMs);
  }

  async historyRollups(cacheId: number, level: RollupLevel, from: number, to: number) {
    return this.insight.historyRollups(cacheId, level, from, to);
  }

  async addLatency(probes: readonly LatencyProbe[], slotMs = 1) {
    this.insight.addLatency(probes, slotMs);
  }

  async latencyProbes(servers: readonly string[], from: number, to: number) {
    return this.insight.latencyProbes(servers, from, to);
  }

  async latencyRollups(servers: readonly string[], level: LatencyLevel, from: number, to: number) {
    return this.insight.latencyRollups(servers, level, from, to);
  }

  async history(cacheId: number, q: HistoryQuery = {}) {
    return collectHistory(this.historyPages(cacheId, q));
  }

  historyPages(cacheId: number, q: HistoryQuery = {}, pageSize?: number) {
    return readHistoryPages(this.historyRows, cacheId, q, pageSize);
  }

  async thinHistory(policy: RetentionPolicy, now: number) {
    return this.db.transaction(() => {
      let removed = this.db.prepare('DELETE FROM history WHERE ts < ?').run(now - policy.hourlyMs).changes;
      // Keep the first sample of each hour per (cache, server) once it is older than the raw window.
      removed += this.db
        .prepare(`DELETE FROM history WHERE ts < ? AND rowid NOT IN (
                    SELECT MIN(rowid) FROM history WHERE ts < ? GROUP BY cache_id, server, ts / ${HOUR_MS})`)
        .run(now - policy.rawMs, now - policy.rawMs).changes;
      this.insight.thin(policy, now);
      this.introspection.thin(policy.rawMs, now);
      return removed;
    })();
  }

  // Watched prefixes and their history: sqlite-introspection.ts.
  async watchPrefix(cacheId: number, name: string) { return this.introspection.watchPrefix(cacheId, name); }
  async unwatchPrefix(cacheId: number, prefixId: number) { return this.introspection.unwatchPrefix(cacheId, prefixId); }
  async addPrefixHistory(rows: readonly PrefixSample[], slotMs = 1) { this.introspection.addPrefixHistory(rows, slotMs); }
  async prefixHistory(cacheId: number, prefixId: number, from: number, to: number) {
    return this.introspection.prefixHistory(cacheId, prefixId, from, to);
  }

  // Sign-in links, dashboard sessions, disabled reasons, cache activity: sqlite-access.ts.
  rotateSsoToken(cacheId: number, now?: number) { return this.access.rotateSsoToken(cacheId, now); }
  openSsoSession(cacheId: number, token: string, ttlMs: number, now?: number) { return this.access.openSsoSession(cacheId, token, ttlMs, now); }
  sessionCache(sessionId: string, now?: number) { return this.access.sessionCache(sessionId, now); }
  endSession(sessionId: string) { return this.access.endSession(sessionId); }
  cacheStatus(cacheId: number) { return this.access.cacheStatus(cacheId); }
  cacheActivity() { return this.access.cacheActivity(); }
  recordActivity(updates: readonly ActivityUpdate[]) { return this.access.recordActivity(updates); }
  disableIdleCaches(idleBefore: number, now?: number) { return this.access.disableIdleCaches(idleBefore, now); }
  enableIdleCache(cacheId: number, now?: number) { return this.access.enableIdleCache(cacheId, now); }

  // Alerts, delivery configs, alert state, deliveries and events: sqlite-alerts.ts.
  createDeliveryConfig(cacheId: number, config: NewDeliveryConfig) { return this.alerts.createDeliveryConfig(cacheId, config); }
  listDeliveryConfigs(cacheId: number) { return this.alerts.listDeliveryConfigs(cacheId); }
  deliveryConfig(id: number) { return this.alerts.deliveryConfig(id); }
  deleteDeliveryConfig(cacheId: number, id: number) { return this.alerts.deleteDeliveryConfig(cacheId, id); }
  createAlert(cacheId: number, alert: AlertInput) { return this.alerts.createAlert(cacheId, alert); }
  listAlerts(cacheId: number) { return this.alerts.listAlerts(cacheId); }
  getAlert(cacheId: number, id: number) { return this.alerts.getAlert(cacheId, id); }
  updateAlert(cacheId: number, id: number, patch: Partial<AlertInput>) { return this.alerts.updateAlert(cacheId, id, patch); }
  deleteAlert(cacheId: number, id: number) { return this.alerts.deleteAlert(cacheId, id); }
  liveAlerts() { return this.alerts.liveAlerts(); }
  alertState(alertId: number) { return this.alerts.alertState(alertId); }
  recordTransition(t: Transition) { return this.alerts.recordTransition(t); }
  claimDeliveries(now: number, leaseUntil: number, limit: number, perCache?: number) { return this.alerts.claimDeliveries(now, leaseUntil, limit, perCache); }
  finishDelivery(id: number, attempt: number, outcome: DeliveryOutcome, now: number) { return this.alerts.finishDelivery(id, attempt, outcome, now); }
  delivery(id: number) { return this.alerts.delivery(id); }
  recordTestNotification(cacheId: number, deliveryType: DeliveryType, outcome: { ok: boolean; detail: string }, at: number) {
    return this.alerts.recordTestNotification(cacheId, deliveryType, outcome, at);
  }
  alertEvents(cacheId: number | undefined, limit: number) { return this.alerts.alertEvents(cacheId, limit); }
  pruneAlertEvents(before: number) { return this.alerts.pruneAlertEvents(before); }

  // Scoped API tokens: sqlite-tokens.ts.
  createApiToken(cacheId: number, input: NewApiTokenInput, now?: number) { return this.tokens.createApiToken(cacheId, input, now); }
  listApiTokens(cacheId: number, now?: number) { return this.tokens.listApiTokens(cacheId, now); }
  revokeApiToken(cacheId: number, tokenId: number) { return this.tokens.revokeApiToken(cacheId, tokenId); }
  verifyApiToken(token: string, now?: number) { return this.tokens.verifyApiToken(token, now); }

  async ensureOperatorToken() {
    const existing = this.db.prepare("SELECT value FROM meta WHERE key = 'operator_token'").get();
    if (existing) return undefined;
    const token = generateToken();
    const res = this.db
      .prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('operator_token', ?)")
      .run(JSON.stringify(hashSecret(token)));
    return res.changes === 1 ? token : undefined;
  }

  async verifyOperatorToken(token: string) {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'operator_token'").get() as { value: string } | undefined;
    return row !== undefined && verifySecret(token, JSON.parse(row.value));
  }

  async snapshot(): Promise<CatalogSnapshot> {
    return this.db.transaction(() => ({
      revision: this.revisionNow(),
      caches: (this.db.prepare('SELECT * FROM caches WHERE deleted = 0 ORDER BY id').all() as CacheRow[]).map(toCache),
      credentials: (this.db.prepare(`SELECT * FROM credentials WHERE cache_id IN ${this.liveCacheIds} ORDER BY id`)
        .all() as CredRow[]).map(toCred),
      nodes: (this.db.prepare('SELECT * FROM nodes ORDER BY id').all() as NodeRow[]).map(toNode),
    }))();
  }

  async changesSince(since: number): Promise<CatalogChanges | undefined> {
    return this.db.transaction(() => {
      const meta = new Map((this.db.prepare(
        "SELECT key, value FROM meta WHERE key IN ('revision', 'changes_pruned_through', 'cluster_secret_rev')",
      ).all() as { key: string; value: string }[]).map((r) => [r.key, Number(r.value)]));
      const revision = meta.get('revision')!;
      if (since > revision || since < (meta.get('changes_pruned_through') ?? 0)) return undefined;
      const caches = this.db.prepare('SELECT * FROM caches WHERE rev > ? ORDER BY id').all(since) as CacheRow[];
      const credentials = this.db
        .prepare(`SELECT * FROM credentials c WHERE rev > ? AND EXISTS (SELECT 1 FROM caches WHERE id = c.cache_id AND deleted = 0)
                  ORDER BY id`).all(since) as CredRow[];
      const log = this.db.prepare('SELECT kind, id, key FROM catalog_changes WHERE rev > ? ORDER BY rev').all(since) as ChangeRow[];
      const secretRev = meta.get('cluster_secret_rev') ?? 0;
      return {
        revision,
        caches: caches.filter((r) => r.deleted !== 1).map(toCache),
        removedCaches: [...caches.filter((r) => r.deleted === 1).map((r) => r.id), ...log.filter((r) => r.kind === 'cache').map((r) => r.id)],
        credentials: credentials.map(toCred),
        removedCredentials: log.filter((r) => r.kind === 'credential').map((r) => r.key!),
        ...(log.some((r) => r.kind === 'node') ? { nodes: (this.db.prepare('SELECT * FROM nodes ORDER BY id').all() as NodeRow[]).map(toNode) } : {}),
        ...(secretRev > since ? { clusterSecret: (this.db.prepare("SELECT value FROM meta WHERE key = 'cluster_secret'").get() as { value: string }).value } : {}),
      };
    })();
  }

  private revisionNow(): number {
    return Number((this.db.prepare("SELECT value FROM meta WHERE key = 'revision'").get() as { value: string }).value);
  }

  async revision() {
    return this.revisionNow();
  }

  async close() {
    this.db.close();
  }
}
