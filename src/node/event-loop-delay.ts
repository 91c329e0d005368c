/**
 * The process's event-loop delay in fixed windows: every `windowMs` the figures of the window
 * that just ended are kept and the sampling starts afresh. Readers (each node's /metrics,
 * any number of scrapers) only read the last completed window, so no reader can reset what
 * another one sees, and a stall shows for one whole window whoever scrapes when.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface LoopDelayFigures {
  readonly p50Seconds: number;
  readonly p99Seconds: number;
  readonly maxSeconds: number;
}

const nsToSeconds = (ns: number) => (Number.isFinite(ns) && ns > 0 ? ns / 1e9 : 0);

export class EventLoopDelayWindows {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private last: LoopDelayFigures | undefined;

  constructor(readonly windowMs: number, resolutionMs = 10) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.last = this.figures();
      this.histogram.reset();
    }, windowMs).unref();
  }

  /** The last completed window; before the first one ends, the window so far. */
  read(): LoopDelayFigures {
    return this.last ?? this.figures();
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private figures(): LoopDelayFigures {
    const h = this.histogram;
    return { p50Seconds: nsToSeconds(h.percentile(50)), p99Seconds: nsToSeconds(h.percentile(99)), maxSeconds: nsToSeconds(h.max) };
  }
}
