/**
 * The live view of one cache, shared by the Overview and History screens: the current
 * stats and the history of the selected range, refreshed on the sampling interval.
 *
 * The API does not say how often it samples, so the interval is read off the history
 * (the median gap between one server's samples); until there are two samples it polls
 * every few seconds. After the first load only new records are fetched (with a little
 * overlap, de-duplicated), so a refresh costs one interval's worth of records.
 *
 * A range longer than MAX_CHART_POINTS sampling intervals (7 d, 30 d) is fetched
 * downsampled: the API keeps each server's last record per `step` (historyStepMs), chosen
 * at the range's first load and kept for its refreshes, which keep one record per server
 * and step too (the newest). Such a history shows the step, not the interval, so the
 * interval is then read off the newest few raw records.
 */
import { ApiRequestError, type ApiClient, type HistoryRecord, type StatsResponse } from './api-client.ts';
import { MAX_CHART_POINTS, historyStepMs, mergeHistory, samplingIntervalMs } from './metrics.ts';

export const RANGES = [
  { id: '1h', label: '1 h', ms: 3_600_000 },
  { id: '24h', label: '24 h', ms: 86_400_000 },
  { id: '7d', label: '7 d', ms: 7 * 86_400_000 },
  { id: '30d', label: '30 d', ms: 30 * 86_400_000 },
] as const;
export type RangeId = (typeof RANGES)[number]['id'];

const UNKNOWN_INTERVAL_POLL_MS = 3_000;
const MIN_POLL_MS = 1_000;
const MAX_POLL_MS = 60_000;
/** Newest raw records read to learn the sampling interval when the range is downsampled. */
const INTERVAL_PROBE_RECORDS = 200;

export interface MonitorState {
  readonly stats: StatsResponse | undefined;
  readonly statsAt: number | undefined;
  readonly statsError: string | undefined;
  readonly history: readonly HistoryRecord[];
  readonly historyLoaded: boolean;
  readonly historyError: string | undefined;
  readonly range: RangeId;
  /** The sampling interval as observed, if known. */
  readonly intervalMs: number | undefined;
  /** The range's history is downsampled to one record per server and this many ms, if set. */
  readonly stepMs: number | undefined;
  readonly autoRefresh: boolean;
  readonly loading: boolean;
}

type Listener = (state: MonitorState) => void;

interface HistoryFetch {
  readonly records: readonly HistoryRecord[];
  /** The step the records were read with; undefined: every sample. */
  readonly stepMs: number | undefined;
  /** The records are the whole range (a first load), not an addition. */
  readonly replace: boolean;
  /** The sampling interval, when it had to be read separately. */
  readonly intervalMs: number | undefined;
}

export class CacheMonitor {
  private stats: StatsResponse | undefined;
  private statsAt: number | undefined;
  private statsError: string | undefined;
  private history: HistoryRecord[] = [];
  private historyLoaded = false;
  private historyError: string | undefined;
  private range: RangeId = '1h';
  private intervalMs: number | undefined;
  private stepMs: number | undefined;
  private autoRefresh = true;
  private loading = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;
  private running = false;
  private inFlight: Promise<void> | undefined;
  private again = false;
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly api: ApiClient,
    private readonly onUnauthorized: (error: ApiRequestError) => void,
  ) {}

  get state(): MonitorState {
    return {
      stats: this.stats, statsAt: this.statsAt, statsError: this.statsError, history: this.history,
      historyLoaded: this.historyLoaded, historyError: this.historyError, range: this.range,
      intervalMs: this.intervalMs, stepMs: this.stepMs, autoRefresh: this.autoRefresh, loading: this.loading,
    };
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    document.addEventListener('visibilitychange', this.onVisibility);
    void this.refresh();
  }

  stop(): void {
    this.running = false;
    this.generation++;
    clearTimeout(this.timer);
    document.removeEventListener('visibilitychange', this.onVisibility);
  }

  setRange(range: RangeId): void {
    if (range === this.range) return;
    this.range = range;
    this.history = [];
    this.stepMs = undefined;
    this.historyLoaded = false;
    this.generation++;
    this.emit();
    void this.refresh();
  }

  setAutoRefresh(on: boolean): void {
    this.autoRefresh = on;
    this.emit();
    if (on) void this.refresh();
    else clearTimeout(this.timer);
  }

  /** Fetches stats and new history now, then schedules the next refresh. */
  refresh(): Promise<void> {
    if (this.inFlight) {
      // One is running (maybe for the old range): run again as soon as it ends.
      this.again = true;
      return this.inFlight;
    }
    clearTimeout(this.timer);
    this.inFlight = this.load().finally(() => {
      this.inFlight = undefined;
      if (this.again && this.running) {
        this.again = false;
        void this.refresh();
      } else {
        this.schedule();
      }
    });
    return this.inFlight;
  }

  private readonly onVisibility = (): void => {
    if (document.visibilityState === 'visible' && this.running && this.autoRefresh) void this.refresh();
  };

  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.running || !this.autoRefresh) return;
    const every = this.intervalMs === undefined
      ? UNKNOWN_INTERVAL_POLL_MS
      : Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, this.intervalMs));
    this.timer = setTimeout(() => {
      if (document.visibilityState === 'hidden') return; // resumed by onVisibility
      void this.refresh();
    }, every);
  }

  private async load(): Promise<void> {
    const generation = this.generation;
    const rangeMs = RANGES.find((r) => r.id === this.range)!.ms;
    this.loading = true;
    this.emit();
    const [stats, history] = await Promise.allSettled([this.api.stats(), this.fetchHistory(rangeMs)]);
    if (generation !== this.generation) return; // range changed or stopped meanwhile
    this.loading = false;

    if (stats.status === 'fulfilled') {
      this.stats = stats.value;
      this.statsAt = Date.now();
      this.statsError = undefined;
    } else {
      this.statsError = this.handle(stats.reason);
    }
    if (history.status === 'fulfilled') {
      const { records, stepMs, replace, intervalMs } = history.value;
      this.stepMs = stepMs;
      this.history = mergeHistory(replace ? [] : this.history, records, Date.now() - rangeMs, stepMs);
      this.historyLoaded = true;
      this.historyError = undefined;
      this.intervalMs = (stepMs === undefined ? samplingIntervalMs(this.history.slice(-INTERVAL_PROBE_RECORDS)) : intervalMs)
        ?? this.intervalMs;
    } else {
      this.historyError = this.handle(history.reason);
    }
    this.emit();
  }

  /**
   * The range's new records. A first load (`replace`) picks the range's step; when its
   * samples span less than the range (a young cache) and a finer step, or none, fits that
   * span, they are read again so, rather than drawn as a point or two. A range read finely
   * that has since grown past twice the points a chart needs is read afresh.
   */
  private async fetchHistory(rangeMs: number): Promise<HistoryFetch> {
    const rangeStart = Date.now() - rangeMs;
    const servers = new Set(this.history.map((r) => r.server)).size;
    const last = this.history.length <= 2 * MAX_CHART_POINTS * servers ? this.history.at(-1) : undefined;
    let stepMs = last ? this.stepMs : historyStepMs(rangeMs, this.intervalMs);
    let records: readonly HistoryRecord[];
    if (last) {
      // Re-read a little before the newest record: another control plane may store late.
      const since = Math.max(rangeStart, Number(last.timestamp) - 2 * (this.intervalMs ?? 1000));
      records = await this.api.history({ sinceMs: since, stepMs });
    } else {
      records = await this.api.history({ sinceMs: rangeStart, stepMs });
      const first = records[0];
      if (stepMs !== undefined && first) {
        const dataStart = Math.max(rangeStart, Math.floor(Number(first.timestamp) / stepMs) * stepMs);
        const finer = historyStepMs(Date.now() - dataStart, this.intervalMs);
        if ((finer ?? 0) < stepMs) {
          stepMs = finer;
          records = await this.api.history({ sinceMs: dataStart, stepMs });
        }
      }
    }
    // Downsampled records are a step apart: the sampling interval is read off the newest raw ones.
    const intervalMs = stepMs !== undefined && this.intervalMs === undefined
      ? samplingIntervalMs(await this.api.history({ limit: INTERVAL_PROBE_RECORDS }))
      : undefined;
    return { records, stepMs, replace: !last, intervalMs };
  }

  private handle(error: unknown): string {
    if (error instanceof ApiRequestError) {
      if (error.status === 403 || error.status === 404) this.onUnauthorized(error);
      return error.message;
    }
    return String(error);
  }

  private emit(): void {
    const state = this.state;
    for (const fn of this.listeners) fn(state);
  }
}
