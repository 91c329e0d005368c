/**
 * Sends the notifications the catalog holds (the delivery rows the evaluator claimed),
 * from any control plane: each round it leases the due ones (claimDeliveries; a lease
 * outlives a send's deadline, and a plane that stops mid-send loses nothing — the lease
 * runs out and a plane sends it again), sends each on its own, and records the attempt.
 *
 * - Bounded: at most `concurrency` sends at once; the rest wait in the catalog (the
 *   queue), so memory does not grow with a dead receiver. Each send ends by its deadline
 *   (senders.ts), so a slow or dead receiver holds one slot for at most that long and
 *   never the evaluator, which only writes rows. One cache's deliveries take at most
 *   `perCacheConcurrency` slots (a quarter by default): a tenant whose receivers all hang
 *   cannot hold up the other tenants' notifications.
 * - Retries: a failed attempt is tried again after retryBaseMs, doubling up to
 *   retryMaxMs, for as long as the next attempt would start within giveUpAfterMs (one
 *   hour) of the notification; then the delivery is abandoned. Each attempt is an event.
 * - `counts`: this plane's attempts and their outcomes since it started, for a metrics
 *   endpoint to export.
 * - Each attempt is a log line: delivery, alert, cache, config and its type, attempt,
 *   outcome (delivered, retry, abandoned) and the receiver's answer with any URL in it
 *   replaced (a Slack URL is a secret, a webhook's may carry one); never the target.
 */
import type { Catalog } from '../../catalog/catalog.ts';
import type { AlertDelivery } from '../../catalog/alerts.ts';
import { alertMessage } from './message.ts';
import type { AlertSenders } from './senders.ts';
import type { Logger } from '../../shared/logger.ts';

export interface DelivererOptions {
  readonly catalog: Catalog;
  readonly senders: AlertSenders;
  readonly dashboardUrl: () => string;
  readonly concurrency?: number;
  /** At most this many of one cache's deliveries leased at once (default a quarter of `concurrency`, at least 1). */
  readonly perCacheConcurrency?: number;
  /** How often to look for due deliveries (also woken at once by `wake`). */
  readonly pollMs?: number;
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly giveUpAfterMs?: number;
  readonly now?: () => number;
  readonly onError?: (e: unknown) => void;
  /** Where each attempt is logged. */
  readonly log?: Logger;
}

export const DEFAULT_RETRY = { baseMs: 10_000, maxMs: 10 * 60_000, giveUpAfterMs: 3_600_000 } as const;

/** When to try again after failed attempt `attempt` (1, 2, …), or undefined to give up. */
export function retryAt(d: Pick<AlertDelivery, 'at'>, attempt: number, now: number, o: { baseMs: number; maxMs: number; giveUpAfterMs: number }): number | undefined {
  const next = now + Math.min(o.baseMs * 2 ** Math.min(attempt - 1, 30), o.maxMs);
  return next - d.at <= o.giveUpAfterMs ? next : undefined;
}

export interface DeliveryCounts {
  attempts: number;
  delivered: number;
  /** Failed attempts that will be retried. */
  failed: number;
  /** Failed attempts after which the delivery was given up. */
  abandoned: number;
}

/** A receiver's answer or error text with every URL in it replaced by `<url>`. */
export function withoutUrls(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>').slice(0, 300);
}

export class AlertDeliverer {
  readonly counts: DeliveryCounts = { attempts: 0, delivered: 0, failed: 0, abandoned: 0 };
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private pumping: Promise<void> | undefined;
  private again = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly now: () => number;
  private readonly concurrency: number;
  private readonly perCache: number;
  private readonly retry: { baseMs: number; maxMs: number; giveUpAfterMs: number };

  constructor(private readonly opts: DelivererOptions) {
    this.now = opts.now ?? Date.now;
    this.concurrency = opts.concurrency ?? 16;
    this.perCache = opts.perCacheConcurrency ?? Math.max(1, Math.floor(this.concurrency / 4));
    this.retry = {
      baseMs: opts.retryBaseMs ?? DEFAULT_RETRY.baseMs, maxMs: opts.retryMaxMs ?? DEFAULT_RETRY.maxMs,
      giveUpAfterMs: opts.giveUpAfterMs ?? DEFAULT_RETRY.giveUpAfterMs,
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.wake();
      this.timer = setTimeout(tick, this.opts.pollMs ?? 1000);
      this.timer.unref();
    };
    tick();
  }

  /** Looks for due deliveries now (after a claim, or when a slot frees). */
  wake(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().catch((e) => this.opts.onError?.(e)).finally(() => {
      this.pumping = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.pumping;
    await Promise.all(this.inFlight);
  }

  private async pump(): Promise<void> {
    const free = this.concurrency - this.inFlight.size;
    if (free <= 0) return;
    const now = this.now();
    const leaseUntil = now + this.opts.senders.timeoutMs + 30_000;
    const due = await this.opts.catalog.claimDeliveries(now, leaseUntil, free, this.perCache);
    for (const d of due) {
      const p = this.deliver(d).catch((e) => this.opts.onError?.(e)).finally(() => {
        this.inFlight.delete(p);
        this.wake();
      });
      this.inFlight.add(p);
    }
  }

  private async deliver(d: AlertDelivery): Promise<void> {
    const { catalog, senders } = this.opts;
    const [config, cache] = await Promise.all([catalog.deliveryConfig(d.configId), catalog.getCache(d.cacheId)]);
    let result: { ok: boolean; detail: string; refused?: boolean };
    if (!config) result = { ok: false, detail: 'the delivery config was deleted' };
    else {
      const message = alertMessage(d, { id: d.cacheId, name: cache?.name ?? `(deleted cache ${d.cacheId})` }, this.opts.dashboardUrl());
      result = await senders.send(config, message, d.id);
    }
    const now = this.now();
    this.counts.attempts++;
    const line = {
      event: 'alert_delivery', delivery: d.id, alert: d.alertId, cache: d.cacheId, config: d.configId,
      type: config?.type ?? null, kind: d.kind, attempt: d.attempts, detail: withoutUrls(result.detail),
    };
    if (result.ok) {
      this.opts.log?.info({ ...line, outcome: 'delivered' }, 'alert delivered');
      this.counts.delivered++;
      await catalog.finishDelivery(d.id, d.attempts, { ok: true, detail: result.detail }, now);
      return;
    }
    // A refused target (a private address, target-guard.ts) is given up at once.
    const next = config && !result.refused ? retryAt(d, d.attempts, now, this.retry) : undefined;
    if (next === undefined) this.counts.abandoned++;
    else this.counts.failed++;
    this.opts.log?.warn({ ...line, outcome: next === undefined ? 'abandoned' : 'retry' }, next === undefined ? 'alert delivery abandoned' : 'alert delivery failed, will retry');
    await catalog.finishDelivery(d.id, d.attempts, next === undefined ? { ok: false, detail: result.detail } : { ok: false, detail: result.detail, retryAt: next }, now);
  }
}
