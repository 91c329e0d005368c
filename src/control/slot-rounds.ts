/**
 * The schedule of the control plane's periodic work (history sampling, latency probes):
 * a round now, then one at each next multiple of the interval since the epoch. Planes
 * that share a catalog do not coordinate, so their rounds fall in the same slots and the
 * catalog keeps one sample per slot. A round starts only after the previous one ended,
 * however long that took; `stop()` waits for the round in flight.
 */
export class SlotRounds {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private round: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
    /** One round; it must not reject (its owner reports its own failures). */
    private readonly run: () => Promise<void>,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.round = this.run().finally(() => {
        this.round = undefined;
        if (this.stopped) return;
        const interval = this.intervalMs;
        const wait = Math.max(0, (Math.floor(this.now() / interval) + 1) * interval - this.now());
        this.timer = setTimeout(tick, wait);
        this.timer.unref();
      });
    };
    tick();
  }

  /** Stops the timer and waits for a round in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.round;
  }
}
