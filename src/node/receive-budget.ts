/**
 * How much of partly received requests one cache's connections may hold together on a
 * node. A connection receiving a large value holds it until the last byte arrives (at
 * most one item, 1 MiB by default), and a cache may have a thousand connections: without
 * a shared bound one cache could make the node hold a gigabyte it never stores. Past the
 * budget, connections that would hold more are paused (TCP backpressure) until the cache's
 * others finish their frames; only that cache waits. The connection holding the most is
 * never paused, so two big writers cannot wait for each other forever.
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
   * The one connection let past the budget: the biggest holder, the first of equals.
   * One only, or equal holders (the same value sent on many connections) would all go on.
   */
  private exempt: Receiver | undefined;

  constructor(private readonly limit: number, private readonly freeBytes: number) {}

  /** Bytes charged now (tests). */
  get charged(): number {
    return this.used;
  }

  /**
   * The connection now holds `bytes` it has not parsed. False when the cache is over its
   * budget and this is not its biggest holder: stop reading until `resumeReceiving`.
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

  /** Whether `hold(r, bytes)` would let it read on (nothing changes). */
  allows(r: Receiver, bytes: number): boolean {
    const mine = bytes > this.freeBytes ? bytes : 0;
    if (mine === 0 || this.used - (this.held.get(r) ?? 0) + mine <= this.limit) return true;
    return this.mayPass(r, mine);
  }

  /** The connection is gone. */
  release(r: Receiver): void {
    this.waiting.delete(r);
    this.set(r, 0);
  }

  private mayPass(r: Receiver, mine: number): boolean {
    for (const b of this.held.values()) if (b > mine) return false;
    const e = this.exempt;
    return e === undefined || e === r || (this.held.get(e) ?? 0) < mine;
  }

  private set(r: Receiver, bytes: number): void {
    const had = this.held.get(r) ?? 0;
    if (bytes === had) return;
    if (bytes === 0) {
      this.held.delete(r);
      if (this.exempt === r) this.exempt = undefined;
    } else {
      this.held.set(r, bytes);
    }
    this.used += bytes - had;
    if (bytes < had && this.waiting.size > 0) this.wake();
  }

  /**
   * Room again: every waiter reads on (each asks again on its next read). Still over (the
   * waiters alone hold more than the budget): the biggest of them goes on by itself, so
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
