/**
 * Keeps a node's tenants in step with the catalog: polls the catalog's revision (a cheap
 * single-row read) every 200 ms and applies a fresh snapshot when it moved, so any change
 * reaches the node well within the 1 s the contract promises. A catalog that can push
 * (`onChange`, PostgreSQL LISTEN/NOTIFY) triggers a sync at once as well; polling stays
 * as the safety net for lost notifications.
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

  /** Applies the latest snapshot if the catalog changed; concurrent calls share one run. */
  syncNow(): Promise<void> {
    this.running ??= (async () => {
      try {
        const rev = await this.catalog.revision();
        if (rev === this.seen) return;
        const snap = await this.catalog.snapshot();
        this.tenants.apply(snap);
        this.seen = rev;
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
