/**
 * Keeps a node's tenants in step with the catalog: every 200 ms it asks for what changed
 * since the revision it last applied (`changesSince`: an index lookup, empty when nothing
 * did) and applies that, so any change reaches the node well within
 * the 1 s the contract promises and costs the node what changed, not what the catalog
 * holds (thousands of credentials must not stall other tenants' gets). A whole
 * snapshot is read at start, and when the change log does not reach back to the
 * node's revision. A catalog that can push (`onChange`, PostgreSQL LISTEN/NOTIFY)
 * triggers a sync at once as well; polling stays as the safety net for lost notifications.
 *
 * It also follows the cluster secret for the admin endpoint: a rotation moves the
 * revision, and the delta carries the new secret.
 *
 * Each snapshot or delta applied is one log line with the revision and counts (never a
 * row's contents: credentials carry hashes, the delta may carry the cluster secret); a
 * run of failed syncs logs its first failure and the recovery.
 */
import type { Catalog } from '../catalog/catalog.ts';
import { silentLogger, type Logger } from '../shared/logger.ts';
import type { Tenants } from './tenants.ts';

export class CatalogSync {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private seen = -1;
  private running: Promise<void> | undefined;
  /** The run after the one under way, for syncNow calls made while it runs. */
  private following: Promise<void> | undefined;
  /** A change was announced while a sync was running: run once more when it ends. */
  private again = false;
  private secret: string | undefined;
  private failing = false;
  /** The node's log (set once it knows its address). */
  log: Logger = silentLogger;

  constructor(private readonly catalog: Catalog, private readonly tenants: Tenants, private readonly intervalMs = 200) {}

  async start(): Promise<void> {
    await this.run();
    this.timer = setInterval(() => void this.run().catch(() => {}), this.intervalMs);
    this.timer.unref();
    this.unsubscribe = this.catalog.onChange?.(() => {
      if (this.running) this.again = true;
      else void this.run().catch(() => {});
    });
  }

  /** Reads the cluster secret; the getter returned follows rotations as syncs apply them. */
  async trackClusterSecret(): Promise<() => string> {
    this.secret ??= await this.catalog.clusterSecret();
    return () => this.secret!;
  }

  /**
   * Applies what changed in the catalog up to now, if anything did. A run already under way
   * may have read the catalog before the caller's change (a credential just created, then
   * "sync now"): the caller gets the run after it, which every call made meanwhile shares.
   */
  syncNow(): Promise<void> {
    if (this.running === undefined) return this.run();
    this.following ??= this.running.catch(() => {}).then(() => {
      this.following = undefined;
      return this.run();
    });
    return this.following;
  }

  /** One sync, or the one under way (concurrent calls share it). */
  private run(): Promise<void> {
    this.running ??= (async () => {
      try {
        // One read either way: an empty delta when nothing changed (as cheap as revision()).
        const changes = this.seen < 0 ? undefined : await this.catalog.changesSince(this.seen);
        if (changes) {
          this.recovered();
          if (changes.revision === this.seen) return;
          this.tenants.applyChanges(changes);
          if (changes.clusterSecret !== undefined) this.secret = changes.clusterSecret;
          this.log.info({
            event: 'catalog_changes', revision: changes.revision, from_revision: this.seen,
            caches: changes.caches.length, removed_caches: changes.removedCaches.length,
            credentials: changes.credentials.length, removed_credentials: changes.removedCredentials.length,
            ...(changes.nodes ? { nodes: changes.nodes.length } : {}),
            cluster_secret_rotated: changes.clusterSecret !== undefined,
          }, 'catalog changes applied');
          this.seen = changes.revision;
          return;
        }
        const snap = await this.catalog.snapshot();
        this.tenants.apply(snap);
        if (this.secret !== undefined) this.secret = await this.catalog.clusterSecret();
        this.recovered();
        this.log.info({
          event: 'catalog_snapshot', revision: snap.revision, from_revision: this.seen,
          caches: snap.caches.length, credentials: snap.credentials.length, nodes: snap.nodes.length,
        }, 'catalog snapshot applied');
        this.seen = snap.revision;
      } catch (e) {
        if (!this.failing) this.log.warn({ event: 'catalog_sync_failed', err: e }, 'catalog sync failing');
        this.failing = true;
        throw e;
      } finally {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          void this.run().catch(() => {});
        }
      }
    })();
    return this.running;
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.log.info({ event: 'catalog_sync_recovered', revision: this.seen }, 'catalog sync recovered');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
