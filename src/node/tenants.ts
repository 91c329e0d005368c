/**
 * The caches one node serves and the credentials that reach them. Catalog snapshots
 * (at start) and deltas (every change after) are applied in place: a changed capability
 * mutates the live credential object (so it applies from the next command), a deleted
 * credential or a disabled/deleted cache closes its connections at once. A delta costs
 * what changed, not what the catalog holds.
 *
 * A node serves only the caches of its cluster, each with its plan split over that
 * cluster's nodes. A cache moved to another cluster goes as a deleted one does (connections
 * closed, data freed) but its credentials stay known, so it can come back with no
 * credential change; a login needs the cache to be served here.
 */
import type { CacheRecord, CatalogChanges, CatalogSnapshot, CredentialRecord, NodeRecord } from '../catalog/catalog.ts';
import { DEFAULT_CLUSTER } from '../catalog/clusters.ts';
import { verifySecret } from '../shared/secrets.ts';
import { snapshotStats, type StatsSnapshot } from '../store/stats.ts';
import type { TenantStore } from '../store/tenant-store.ts';
import type { CacheIntrospection } from '../introspection/cache-introspection.ts';
import type { IntrospectionRegistry } from '../introspection/registry.ts';
import { DEFAULT_NODE_LIMITS } from './limits.ts';
import { ReceiveBudget } from './receive-budget.ts';

export interface Credential {
  readonly username: string;
  readonly cacheId: number;
  salt: string;
  hash: string;
  write: boolean;
  flush: boolean;
  api: boolean;
}

/** What the registry needs of a connection: to know its login and to close it. */
export interface TenantConnection {
  readonly credential: Credential | undefined;
  close(reason: string): void;
}

export interface Tenant {
  readonly id: number;
  readonly store: TenantStore;
  enabled: boolean;
  planBytes: number;
  readonly connections: Set<TenantConnection>;
  /** Partly received requests its connections hold together on this node (receive-budget.ts). */
  readonly receive: ReceiveBudget;
  /** Hot keys, request log, watched prefixes (src/introspection); null when off for the cache or the node. */
  introspection: CacheIntrospection | null;
}

export type StoreFactory = (limitBytes: number) => TenantStore;

/** Every capability: for `--anonymous-cache` connections, which cannot log in. */
export const ANONYMOUS: Credential = Object.freeze({
  username: '', cacheId: 0, salt: '', hash: '', write: true, flush: true, api: true,
}) as Credential;

export const DEFAULT_RECEIVE_BYTES = DEFAULT_NODE_LIMITS.receiveBufferBytes;
/** What a connection holds unparsed before it counts against its cache's budget: one read. */
const UNCHARGED_RECEIVE_BYTES = 64 * 1024;

export class Tenants {
  private readonly byId = new Map<number, Tenant>();
  private readonly credentials = new Map<string, Credential>();
  private nodeCount = 1;
  /** The cluster this node serves; set before the first snapshot is applied. */
  cluster = DEFAULT_CLUSTER;

  /** `receiveBytes`: each cache's budget for partly received requests (see receive-budget.ts). */
  constructor(
    private readonly makeStore: StoreFactory,
    private readonly receiveBytes = DEFAULT_RECEIVE_BYTES,
    /** The node's introspection; none: off. */
    readonly introspection: IntrospectionRegistry | null = null,
  ) {}

  get(id: number): Tenant | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<Tenant> {
    return this.byId.values();
  }

  /** The cache a username belongs to, whatever the password (for auth_cmds accounting). */
  tenantOfUsername(username: string): Tenant | undefined {
    const cred = this.credentials.get(username);
    return cred && this.byId.get(cred.cacheId);
  }

  /** Checks a login in constant time; a disabled cache cannot log in. */
  authenticate(username: string, password: string): { credential: Credential; tenant: Tenant } | undefined {
    const credential = this.credentials.get(username);
    const tenant = credential && this.byId.get(credential.cacheId);
    if (!credential || !tenant || !tenant.enabled) return undefined;
    return verifySecret(password, credential) ? { credential, tenant } : undefined;
  }

  /** The whole catalog: whatever it does not hold goes. */
  apply(snapshot: CatalogSnapshot): void {
    this.nodeCount = this.countNodes(snapshot.nodes);
    const seenCaches = new Set<number>();
    for (const c of snapshot.caches) {
      seenCaches.add(c.id);
      this.upsertCache(c);
    }
    for (const id of this.byId.keys()) if (!seenCaches.has(id)) this.dropCache(id);

    const seenUsers = new Set<string>();
    for (const r of snapshot.credentials) {
      seenUsers.add(r.username);
      this.upsertCredential(r);
    }
    for (const [name, cred] of this.credentials) if (!seenUsers.has(name)) this.revoke(cred);
  }

  /** What changed since the last snapshot or delta applied (Catalog.changesSince). */
  applyChanges(changes: CatalogChanges): void {
    const before = this.nodeCount;
    if (changes.nodes) this.nodeCount = this.countNodes(changes.nodes);
    for (const id of changes.removedCaches) this.dropCache(id);
    for (const c of changes.caches) this.upsertCache(c);
    // The plan is split over the cluster's registered nodes: a new count changes every cache's share
    // (after the upserts, so a cache whose plan also changed is resized once).
    if (this.nodeCount !== before) {
      for (const t of this.byId.values()) {
        const limit = this.shareOf(t.planBytes);
        if (t.store.limit !== limit) t.store.setLimit(limit);
      }
    }
    for (const username of changes.removedCredentials) {
      const cur = this.credentials.get(username);
      if (cur) this.revoke(cur);
    }
    for (const r of changes.credentials) this.upsertCredential(r);
  }

  private countNodes(nodes: readonly NodeRecord[]): number {
    return Math.max(1, nodes.filter((n) => (n.cluster ?? DEFAULT_CLUSTER) === this.cluster).length);
  }

  private upsertCache(c: CacheRecord): void {
    if ((c.cluster ?? DEFAULT_CLUSTER) !== this.cluster) return this.release(c.id, 'cache moved to another cluster');
    const limit = this.shareOf(c.memoryBytes);
    let t = this.byId.get(c.id);
    if (!t) {
      t = {
        id: c.id, store: this.makeStore(limit), enabled: c.enabled, planBytes: c.memoryBytes, connections: new Set(),
        receive: new ReceiveBudget(this.receiveBytes, UNCHARGED_RECEIVE_BYTES),
        introspection: null,
      };
      this.byId.set(c.id, t);
    } else {
      if (t.store.limit !== limit) t.store.setLimit(limit);
      t.planBytes = c.memoryBytes;
      t.enabled = c.enabled;
    }
    this.followIntrospection(t, c);
    if (!t.enabled) this.closeAll(t, 'cache disabled');
  }

  /** Introspection on or off as the operator set it, and the cache's watched prefixes. */
  private followIntrospection(t: Tenant, c: CacheRecord): void {
    const registry = this.introspection;
    const on = registry !== null && c.introspection !== false;
    if (on && t.introspection === null) {
      t.introspection = registry.create();
    } else if (!on && t.introspection !== null) {
      registry?.release(t.introspection);
      t.introspection = null;
      t.store.listener = null;
    }
    if (t.introspection !== null) {
      const watched = t.introspection.watched;
      watched.follow(c.watchedPrefixes ?? []);
      // The store tells the watched prefixes of every event; with none, it has no listener.
      t.store.listener = watched.size !== 0 ? watched : null;
      registry!.walk(t.introspection, t.store);
    }
  }

  /** A deleted cache: its connections close, its data and its credentials go. */
  private dropCache(id: number): void {
    this.release(id, 'cache deleted');
    for (const [name, cred] of this.credentials) if (cred.cacheId === id) this.credentials.delete(name);
  }

  /** No longer served here: its connections close and its data goes (its credentials stay). */
  private release(id: number, reason: string): void {
    const t = this.byId.get(id);
    if (!t) return;
    this.closeAll(t, reason);
    if (t.introspection !== null) this.introspection?.release(t.introspection);
    t.store.listener = null;
    t.store.clear();
    this.byId.delete(id);
  }

  private upsertCredential(r: CredentialRecord): void {
    const cur = this.credentials.get(r.username);
    if (cur && cur.cacheId === r.cacheId) {
      Object.assign(cur, { salt: r.salt, hash: r.hash, write: r.write, flush: r.flush, api: r.api });
    } else {
      if (cur) this.revoke(cur);
      this.credentials.set(r.username, {
        username: r.username, cacheId: r.cacheId, salt: r.salt, hash: r.hash, write: r.write, flush: r.flush, api: r.api,
      });
    }
  }

  /** One cache's 31 stats on this node. */
  stats(t: Tenant, now: number): StatsSnapshot {
    return snapshotStats(t.store.counters, {
      bytes: t.store.bytes,
      curr_items: t.store.items,
      limit_maxbytes: t.store.limit,
      time: now,
      curr_connections: t.connections.size,
    });
  }

  private shareOf(planBytes: number): number {
    return Math.floor(planBytes / this.nodeCount);
  }

  private revoke(cred: Credential): void {
    this.credentials.delete(cred.username);
    const t = this.byId.get(cred.cacheId);
    if (!t) return;
    for (const conn of [...t.connections]) if (conn.credential === cred) conn.close('credential deleted');
  }

  private closeAll(t: Tenant, reason: string): void {
    for (const conn of [...t.connections]) conn.close(reason);
  }
}
