/**
 * The alert evaluator of a control plane: every `intervalMs` (--alert-interval, default
 * 60 s) it reads every enabled alert of every enabled cache with its state, measures each
 * cache once from the history the sampler stores (the 1-minute rollups of the last 10
 * minutes: hit rate over them, memory from each server's latest sample), decides with
 * policy.ts, and claims each notification in the catalog (recordTransition). Only a
 * claim that this plane made is delivered from here first (the deliverer is woken); the
 * state lives in the catalog, so a restart neither repeats nor loses a notification, and
 * several planes on one catalog notify once per transition: the claim's unique key
 * (alert, seq) decides, not an election. The evaluator never sends anything itself, so
 * no receiver can delay it.
 */
import type { Catalog } from '../../catalog/catalog.ts';
import type { LiveAlert } from '../../catalog/alerts.ts';
import { HIT_RATE_WINDOW_MS, measuresOf, nextNotification, valueFor, type CacheMeasures } from './policy.ts';

const DAY_MS = 86_400_000;
/** Events and finished deliveries are kept this long. */
export const ALERT_EVENT_RETENTION_MS = 30 * DAY_MS;
export const DEFAULT_ALERT_INTERVAL_S = 60;

export interface EvaluatorOptions {
  readonly catalog: Catalog;
  readonly intervalMs: number;
  /** Called after this plane claimed a notification. */
  readonly onClaimed?: () => void;
  readonly now?: () => number;
  readonly onError?: (e: unknown) => void;
}

export class AlertEvaluator {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private round: Promise<void> | undefined;
  private lastPrune = -Infinity;
  /** Rounds completed (tests wait on it). */
  rounds = 0;
  /** Notifications this plane claimed since it started (a metrics endpoint may export it). */
  claimed = 0;
  private readonly now: () => number;

  constructor(private readonly opts: EvaluatorOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.round = this.evaluateOnce().then(() => {}, (e) => this.opts.onError?.(e)).finally(() => {
        this.round = undefined;
        this.rounds++;
        if (this.stopped) return;
        this.timer = setTimeout(tick, this.opts.intervalMs);
        this.timer.unref();
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.round;
  }

  /** One round; returns how many notifications this plane claimed. */
  async evaluateOnce(now = this.now()): Promise<number> {
    const { catalog } = this.opts;
    const alerts = await catalog.liveAlerts();
    const byCache = new Map<number, LiveAlert[]>();
    for (const a of alerts) byCache.set(a.cacheId, [...(byCache.get(a.cacheId) ?? []), a]);
    let claimed = 0;
    await Promise.all([...byCache].map(async ([cacheId, list]) => {
      const measures: CacheMeasures = measuresOf(await catalog.historyRollups(cacheId, 60_000, now - HIT_RATE_WINDOW_MS, now));
      for (const alert of list) {
        const value = valueFor(alert, measures);
        const kind = nextNotification(alert, alert.alertState, value, now);
        if (kind === undefined || value === undefined) continue;
        const made = await catalog.recordTransition({ alert, fromSeq: alert.alertState.seq, kind, value, at: now });
        if (made) claimed++;
      }
    }));
    this.claimed += claimed;
    if (claimed) this.opts.onClaimed?.();
    if (now - this.lastPrune >= 3_600_000) {
      this.lastPrune = now;
      await catalog.pruneAlertEvents(now - ALERT_EVENT_RETENTION_MS);
    }
    return claimed;
  }
}
