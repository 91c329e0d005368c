/**
 * The catalog: caches, credentials, nodes and the cluster secret. One interface with a
 * SQLite implementation (embedded default) and room for PostgreSQL (shared by many
 * machines). It knows tables and queries, never sockets or HTTP.
 */
import type { AccessCatalog } from './access.ts';
import type { AlertCatalog } from './alerts.ts';
import type { ApiTokenCatalog } from './api-tokens.ts';
import { DEFAULT_CLUSTER, type ClusterRecord } from './clusters.ts';
import type { LatencyLevel, LatencyProbe, LatencyRollupRow } from './latency.ts';
import type { RollupLevel, RollupRetention, RollupRow } from './rollups.ts';

export interface CacheRecord {
  readonly id: number;
  readonly name: string;
  /** The plan: total memory over all its nodes, in bytes. */
  readonly memoryBytes: number;
  readonly enabled: boolean;
  readonly createdAt: number;
  /** Per-key analytics on the cache's nodes (docs/introspection.md); on unless the operator turns it off. */
  readonly introspection: boolean;
  /** Oldest first; at most MAX_WATCHED_PREFIXES. On the row, so nodes learn them with the cache's own changes. */
  readonly watchedPrefixes: readonly WatchedPrefix[];
  /** The cluster whose nodes serve it (clusters.ts); its plan is split over them only. */
  readonly cluster: string;
}

/** A prefix whose keys the cache's nodes count exactly, from the moment it was watched. */
export interface WatchedPrefix {
  /** Unique in the catalog and never reused, so a sample or a URL names exactly one watch. */
  readonly id: number;
  /** The prefix as a UTF-8 string; the key bytes it matches are its UTF-8 encoding. */
  readonly name: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/** watchPrefix refuses the next one ('limit'): the row and every node's counters stay small. */
export const MAX_WATCHED_PREFIXES = 50;
/** A memcache key is at most 250 bytes, so a longer prefix could match nothing. */
export const MAX_PREFIX_NAME_BYTES = 250;

/**
 * One watched prefix's counters on one server at one moment: the node's cumulative figures
 * (`GET …/introspection/prefixes`), so a series is the differences between samples.
 */
export interface PrefixSample {
  readonly cacheId: number;
  readonly prefixId: number;
  /** host:port of the node, the same key as in stats. */
  readonly server: string;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly keys: number;
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
  readonly mutations: number;
}

export interface Capabilities {
  readonly write: boolean;
  readonly flush: boolean;
  readonly api: boolean;
}

export interface CredentialRecord extends Capabilities {
  readonly id: number;
  readonly cacheId: number;
  readonly username: string;
  readonly salt: string;
  readonly hash: string;
  readonly primary: boolean;
}

export interface NodeRecord {
  readonly id: number;
  /** host:port that clients connect to, and the key used in stats. */
  readonly address: string;
  /** host:port of the node's admin endpoint (control plane only). */
  readonly adminAddress: string;
  readonly lastSeen: number;
  /** The cluster it serves (clusters.ts). */
  readonly cluster: string;
  /** OS process id of the node, as it last registered; null when it did not say. */
  readonly pid: number | null;
  /** Memory it offers its caches, in bytes (placement counts it; DEFAULT_NODE_CAPACITY unless said). */
  readonly capacityBytes: number;
}

/** What a node says of itself when it registers; absent fields keep what the catalog holds (defaults for a new node). */
export interface NodeRegistration {
  /** Created if missing, so `cachier node --cluster NAME` is enough to start a cluster. Default `default`. */
  readonly cluster?: string;
  readonly pid?: number;
  readonly capacityBytes?: number;
}

/** What updateCache changes; absent fields stay as they are. */
export interface CachePatch {
  readonly memoryBytes?: number;
  readonly enabled?: boolean;
  readonly name?: string;
  readonly introspection?: boolean;
}

/** One sample of one cache's stats on one server, as the history API serves it. */
export interface HistorySample {
  readonly cacheId: number;
  /** host:port of the node, the same key as in stats. */
  readonly server: string;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly stats: Readonly<Record<string, number>>;
}

export interface HistoryQuery {
  /** Inclusive lower bound, ms. */
  readonly since?: number;
  /** Inclusive upper bound, ms. */
  readonly until?: number;
  /** Only the newest this many samples of the range (still returned oldest first). */
  readonly limit?: number;
  /**
   * Downsampling, ms: per server, only the last sample of each floor(timestamp / step)
   * bucket (stats are cumulative counters and gauges, so the last one is exact).
   */
  readonly step?: number;
}

/** How long samples are kept at full resolution, then thinned to one per hour per server, then dropped. */
export interface RetentionPolicy {
  readonly rawMs: number;
  readonly hourlyMs: number;
  /**
   * How long each rollup level is kept (rollups.ts; default DEFAULT_ROLLUP_RETENTION).
   * Latency: raw probes as long as the 1 min level, its 10 min / 1 h / 1 day rollups as those levels.
   */
  readonly rollupMs?: RollupRetention;
}

/**
 * Credentials a cache may have, its primary included. createCredential refuses the next
 * with CredentialLimitError, checked and inserted atomically (two control planes cannot
 * both make the 100th), so every path (API, operator, CLI) hits the same cap.
 */
export const MAX_CREDENTIALS_PER_CACHE = 100;

export class CredentialLimitError extends Error {
  constructor(readonly cacheId: number) {
    super(`cache ${cacheId} already has the most credentials a cache can have: at most ${MAX_CREDENTIALS_PER_CACHE} credentials`);
  }
}

/** A newly made credential: the only moment its password exists in clear. */
export interface NewCredential {
  readonly credential: CredentialRecord;
  readonly password: string;
}

/** What a node needs to serve: every cache and credential, plus the cluster size. */
export interface CatalogSnapshot {
  readonly caches: readonly CacheRecord[];
  readonly credentials: readonly CredentialRecord[];
  readonly nodes: readonly NodeRecord[];
  /** The revision this snapshot reflects (read in the same transaction). */
  readonly revision: number;
}

/**
 * What changed after a revision, for a node that applied everything up to it: the rows
 * as they are now, and what went away. Read in one transaction, so applying it brings
 * the reader exactly to `revision`.
 */
export interface CatalogChanges {
  readonly revision: number;
  /** Live caches created or changed since. */
  readonly caches: readonly CacheRecord[];
  /** Caches deleted since: drop them and their credentials. */
  readonly removedCaches: readonly number[];
  /** Credentials of live caches created or changed since. */
  readonly credentials: readonly CredentialRecord[];
  /** Usernames of credentials deleted since (applied before `credentials`). */
  readonly removedCredentials: readonly string[];
  /** Every node, when one was added, moved or removed since; otherwise absent. */
  readonly nodes?: readonly NodeRecord[];
  /** The cluster secret, when it was rotated since; otherwise absent. */
  readonly clusterSecret?: string;
}

/** How long the change log keeps deletions and node changes; a reader further behind takes a snapshot. */
export const CHANGE_LOG_RETENTION_S = 3600;

/**
 * `AccessCatalog` (access.ts): sign-in links, dashboard sessions, disabled reasons, cache activity.
 * `ApiTokenCatalog` (api-tokens.ts): scoped API tokens.
 * `AlertCatalog` (alerts.ts): alerts, delivery configs, alert state, deliveries, events.
 */
export interface Catalog extends AccessCatalog, ApiTokenCatalog, AlertCatalog {
  /**
   * Places the cache on `cluster`, or on the cluster with the most unallocated memory
   * (clusters.ts, placeCache). Throws UnknownClusterError for a cluster that does not exist.
   */
  createCache(input: { name?: string; memoryBytes: number; cluster?: string }): Promise<{ cache: CacheRecord } & NewCredential>;
  getCache(id: number): Promise<CacheRecord | undefined>;
  listCaches(): Promise<CacheRecord[]>;
  updateCache(id: number, patch: CachePatch): Promise<CacheRecord | undefined>;
  /** Also drops the cache's history and prefix history. */
  deleteCache(id: number): Promise<boolean>;

  /**
   * Watches a prefix of a live cache: its id is new, unless `name` is already watched (then
   * that one is returned, unchanged). Refuses a (MAX_WATCHED_PREFIXES + 1)th with 'limit',
   * counted and written atomically against other control planes. Moves the cache's revision.
   * Throws a RangeError for an empty name or one over MAX_PREFIX_NAME_BYTES (callers check first).
   */
  watchPrefix(cacheId: number, name: string): Promise<WatchedPrefix | 'limit' | 'no_cache'>;
  /** Stops watching and drops that prefix's history; false when the cache or prefix is unknown. */
  unwatchPrefix(cacheId: number, prefixId: number): Promise<boolean>;
  /**
   * Stores prefix samples. With `slotMs`, at most one per (cache, prefix, server, slot of that
   * many ms) is kept and later ones are ignored, as addHistory. Kept as long as the raw history
   * (thinHistory drops those older than policy.rawMs; they are never thinned to hourly).
   */
  addPrefixHistory(rows: readonly PrefixSample[], slotMs?: number): Promise<void>;
  /** One prefix's samples within [from, to] ms, by time, then server. */
  prefixHistory(cacheId: number, prefixId: number, from: number, to: number): Promise<PrefixSample[]>;

  createCredential(cacheId: number, caps?: Partial<Capabilities>): Promise<NewCredential>;
  listCredentials(cacheId: number): Promise<CredentialRecord[]>;
  findCredential(username: string): Promise<CredentialRecord | undefined>;
  updateCredential(id: number, caps: Partial<Capabilities>): Promise<CredentialRecord | undefined>;
  promoteCredential(id: number): Promise<CredentialRecord | undefined>;
  /** Refuses (returns 'primary') to delete a cache's primary credential. */
  deleteCredential(id: number): Promise<'deleted' | 'not_found' | 'primary'>;

  /**
   * Registers (or refreshes) a node by its client address. A change of address, cluster or
   * capacity moves the revision (nodes recompute their share); a heartbeat does not.
   */
  registerNode(address: string, adminAddress: string, opts?: NodeRegistration): Promise<NodeRecord>;
  /** Every node, or those of one cluster; by id. */
  listNodes(cluster?: string): Promise<NodeRecord[]>;
  removeNode(address: string): Promise<void>;

  /** Every cluster with its node count, capacity and allocation, by name. */
  listClusters(): Promise<ClusterRecord[]>;
  /** Makes a cluster (no nodes yet); an existing name is returned as it is. Throws a RangeError for a bad name. */
  createCluster(name: string): Promise<ClusterRecord>;
  /**
   * Moves a cache to another cluster (its data is not moved: the old nodes drop it, the new
   * ones start empty). Undefined for an unknown cache; UnknownClusterError for an unknown cluster.
   */
  moveCache(id: number, cluster: string): Promise<CacheRecord | undefined>;

  /** The secret nodes and control planes share for the admin endpoint; made once. */
  clusterSecret(): Promise<string>;
  /**
   * Replaces the cluster secret and returns the new one. Moves the revision, so running
   * nodes pick it up with the next change they read (`CatalogChanges.clusterSecret`).
   */
  rotateClusterSecret(): Promise<string>;

  /**
   * Stores samples. With `slotMs`, at most one sample per (cache, server, slot of that
   * many ms) is kept and later ones are ignored: several control planes sampling one
   * catalog write one sample per interval without coordinating.
   */
  addHistory(samples: readonly HistorySample[], slotMs?: number): Promise<void>;
  /** Oldest first (then by server), all in one array: for ranges known to be small. */
  history(cacheId: number, query?: HistoryQuery): Promise<HistorySample[]>;
  /**
   * The same samples as `history`, a page of at most `pageSize` at a time (keyset
   * pagination, see history-pages.ts): memory stays one page however long the range.
   * Stop iterating (or call `return`) and no further page is read.
   */
  historyPages(cacheId: number, query?: HistoryQuery, pageSize?: number): AsyncGenerator<HistorySample[], void, undefined>;
  /**
   * Thins samples older than policy.rawMs to one per hour per (cache, server); drops those older than hourlyMs;
   * drops rollup rows and latency probes past their level's retention, and prefix samples older than
   * policy.rawMs. Returns history samples removed (prefix samples are not counted).
   */
  thinHistory(policy: RetentionPolicy, now: number): Promise<number>;
  /**
   * A cache's rollup rows at one level (rollups.ts, maintained by addHistory) for the
   * buckets that overlap [from, to] ms, by bucket, then server.
   */
  historyRollups(cacheId: number, level: RollupLevel, from: number, to: number): Promise<RollupRow[]>;

  /**
   * Stores latency probes (latency.ts) and adds those inserted to the rollups, atomically.
   * With `slotMs`, at most one probe per (server, slot of that many ms) is kept.
   */
  addLatency(probes: readonly LatencyProbe[], slotMs?: number): Promise<void>;
  /** Raw probes of these servers within [from, to] ms, by time, then server. */
  latencyProbes(servers: readonly string[], from: number, to: number): Promise<LatencyProbe[]>;
  /** Latency rollup rows of these servers at one level for the buckets overlapping [from, to], by bucket, then server. */
  latencyRollups(servers: readonly string[], level: LatencyLevel, from: number, to: number): Promise<LatencyRollupRow[]>;

  /** Creates the operator token if none exists and returns it in clear (only then); stored hashed. */
  ensureOperatorToken(): Promise<string | undefined>;
  verifyOperatorToken(token: string): Promise<boolean>;

  snapshot(): Promise<CatalogSnapshot>;
  /**
   * Only what changed after `revision` (rows carry the revision that last changed them;
   * deletions and node changes are kept in a change log for CHANGE_LOG_RETENTION_S).
   * Undefined when the log no longer reaches back that far, or `revision` is not one of
   * this catalog's: take a snapshot instead.
   */
  changesSince(revision: number): Promise<CatalogChanges | undefined>;
  /** Changes whenever caches, credentials, nodes or the cluster secret change, from any process. */
  revision(): Promise<number>;
  /**
   * Optional push path (PostgreSQL LISTEN/NOTIFY): calls `listener` soon after any change
   * commits, from any process, and after reconnecting; returns the unsubscribe function.
   * A hint only — `revision()` stays the truth, so pollers need not subscribe.
   */
  onChange?(listener: () => void): () => void;
  close(): Promise<void>;
}

/**
 * Where a cache's clients connect: `nodes`, every node of its cluster. With none, a cache of
 * `default` (made before any node ran) gets the default node's address; one of another
 * cluster gets none, which says plainly that nothing serves it yet.
 */
export function serversOf(nodes: readonly NodeRecord[], cluster: string = DEFAULT_CLUSTER, fallback = '127.0.0.1:11211'): string[] {
  if (nodes.length) return nodes.map((n) => n.address);
  return cluster === DEFAULT_CLUSTER ? [fallback] : [];
}

/** serversOf for one cache, reading its cluster's nodes. */
export async function cacheServers(catalog: Catalog, cache: CacheRecord): Promise<string[]> {
  return serversOf(await catalog.listNodes(cache.cluster), cache.cluster);
}
