/**
 * How much of partly received requests one cache's connections may hold together on a
 * node. A connection receiving a large value holds it until the last byte arrives (at
 * most one item, 1 MiB by default), and a cache may have a thousand connections: without
 * a shared bound one cache could make the node hold a gigabyte it never stores. Past the
 * budget, connections that would hold more are paused (TCP backpressure) until the cache's
 * others finish their frames; only that cache waits. One connection at a time, the biggest
 * holder, is let on past the budget until its frame is done (then the biggest waiter is),
 * so big writers cannot wait for each other forever, and only that one may size its buffer
 * for a whole frame beyond the budget.
 *
 * The first `freeBytes` a connection holds (one read's worth) are not charged, so
 * ordinary pipelines never meet the budget.
 */

/** A connection that can be told to read again. */
export interface Receiver {
  resumeReceiving(): void;
}

export class ReceiveBudget {
  private used = 0;
  private readonly held = new Map<Receiver, number>();
  private readonly waiting = new Set<Receiver>();
  /**
   * The one connection let on past the budget until its frames are done: the biggest holder
   * when the budget was passed (the first of equals), or the biggest waiter woken. One only:
   * equal holders (one value sent on many connections) must not all go on, and a newcomer
   * announcing a bigger frame must not take a buffer for it past the budget.
   */
  private exempt: Receiver | undefined;

  constructor(private readonly limit: number, private readonly freeBytes: number) {}

  /** Bytes charged now (tests). */
  get charged(): number {
    return this.used;
  }

  /**
   * The connection now holds `bytes` it has not parsed. False when the cache is over its
   * budget and this is not the connection let on past it: stop reading until `resumeReceiving`.
   */
  hold(r: Receiver, bytes: number): boolean {
    const mine = bytes > this.freeBytes ? bytes : 0;
    this.set(r, mine);
    if (mine > 0 && this.used > this.limit) {
      if (!this.mayPass(r, mine)) {
        this.waiting.add(r);
        return false;
      }
      this.exempt = r;
    }
    this.waiting.delete(r);
    return true;
  }

  /**
   * Whether the connection may take a buffer of `bytes` now: within the budget, or it is
   * the one let on past it. Nothing changes.
   */
  allows(r: Receiver, bytes: number): boolean {
    const mine = bytes > this.freeBytes ? bytes : 0;
    return mine === 0 || this.used - (this.held.get(r) ?? 0) + mine <= this.limit || this.exempt === r;
  }

  /** The connection is gone. */
  release(r: Receiver): void {
    this.waiting.delete(r);
    this.set(r, 0);
  }

  /** Over the budget: the exempt connection goes on; with none, the biggest holder becomes it. */
  private mayPass(r: Receiver, mine: number): boolean {
    if (this.exempt !== undefined) return this.exempt === r;
    for (const b of this.held.values()) if (b > mine) return false;
    return true;
  }

  private set(r: Receiver, bytes: number): void {
    const had = this.held.get(r) ?? 0;
    if (bytes === had) return;
    if (bytes === 0) this.held.delete(r);
    else this.held.set(r, bytes);
    // Its frame is done (it holds less): the exemption goes to whoever needs it next.
    if (bytes < had && this.exempt === r) this.exempt = undefined;
    this.used += bytes - had;
    if (bytes < had && this.waiting.size > 0) this.wake();
  }

  /**
   * Room again: every waiter reads on (each asks again on its next read). Still over (the
   * waiters alone hold more than the budget) and nobody let on: the biggest of them is, so
   * nobody waits for a connection that is waiting too.
   */
  private wake(): void {
    if (this.used < this.limit) {
      const all = [...this.waiting];
      this.waiting.clear();
      for (const r of all) r.resumeReceiving();
      return;
    }
    if (this.exempt !== undefined) return;
    let best: Receiver | undefined;
    let most = 0;
    for (const r of this.waiting) {
      const b = this.held.get(r) ?? 0;
      if (b > most) [best, most] = [r, b];
    }
    if (best === undefined) return;
    this.waiting.delete(best);
    this.exempt = best;
    best.resumeReceiving();
  }
}
