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
 */
import type { Catalog } from '../catalog/catalog.ts';
import type { Tenants } from './tenants.ts';

export class CatalogSync {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private seen = -1;
  private running: Promise<void> | undefined;
  /** A change was announced while a sync was running: run once more when it ends. */
  private again = false;
  private secret: string | undefined;

  constructor(private readonly catalog: Catalog, private readonly tenants: Tenants, private readonly intervalMs = 200) {}

  async start(): Promise<void> {
    await this.syncNow();
    this.timer = setInterval(() => void this.syncNow().catch(() => {}), this.intervalMs);
    this.timer.unref();
    this.unsubscribe = this.catalog.onChange?.(() => {
      if (this.running) this.again = true;
      else void this.syncNow().catch(() => {});
    });
  }

  /** Reads the cluster secret; the getter returned follows rotations as syncs apply them. */
  async trackClusterSecret(): Promise<() => string> {
    this.secret ??= await this.catalog.clusterSecret();
    return () => this.secret!;
  }

  /** Applies what changed in the catalog, if anything did; concurrent calls share one run. */
  syncNow(): Promise<void> {
    this.running ??= (async () => {
      try {
        // One read either way: an empty delta when nothing changed (as cheap as revision()).
        const changes = this.seen < 0 ? undefined : await this.catalog.changesSince(this.seen);
        if (changes) {
          if (changes.revision === this.seen) return;
          this.tenants.applyChanges(changes);
          if (changes.clusterSecret !== undefined) this.secret = changes.clusterSecret;
          this.seen = changes.revision;
          return;
        }
        const snap = await this.catalog.snapshot();
        this.tenants.apply(snap);
        if (this.secret !== undefined) this.secret = await this.catalog.clusterSecret();
        this.seen = snap.revision;
      } finally {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          void this.syncNow().catch(() => {});
        }
      }
    })();
    return this.running;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
