/**
 * Who holds a node's connection slots. Connections that have logged in (and those of an
 * `--anonymous-cache`) take slots from `maxConnections`. Connections that have not logged
 * in yet wait in a separate, smaller pool, `maxPendingConnections`, of which one source
 * address (IPv6 by /64) may hold `maxPendingPerSource`.
 *
 * A new connection that finds its source's share, or the whole pool, full is not refused:
 * it displaces the oldest waiting connection of its own source (or, when the pool is full,
 * of the source holding the most). A real client logs in within a round trip of
 * connecting, so what gets displaced is whoever sits idle without logging in; a flood of
 * idle connections from one address therefore never keeps other addresses out, and never
 * touches the slots of clients that logged in.
 */
import { sourceKey } from '../shared/login-throttle.ts';

export interface SlotLimits {
  readonly maxConnections: number;
  readonly maxPendingConnections: number;
  readonly maxPendingPerSource: number;
}

/** What the slots need of a connection: to close one that is displaced. */
export interface SlotHolder {
  close(reason: string): void;
}

export class ConnectionSlots<C extends SlotHolder> {
  /** Source → its waiting connections, oldest first (a Set keeps insertion order). */
  private readonly pending = new Map<string, Set<C>>();
  private readonly sourceOf = new Map<C, string>();
  private readonly loggedIn = new Set<C>();
  private pendingCount = 0;

  constructor(private readonly limits: SlotLimits) {}

  /** Connections holding a slot of either kind. */
  get size(): number {
    return this.pendingCount + this.loggedIn.size;
  }

  get waiting(): number {
    return this.pendingCount;
  }

  /** A new connection that must log in: always admitted, displacing an idle one if need be. */
  wait(conn: C, remoteAddress: string): void {
    const source = sourceKey(remoteAddress);
    let mine = this.pending.get(source);
    if (mine && mine.size >= this.limits.maxPendingPerSource) {
      this.displace(mine.values().next().value!);
    } else if (this.pendingCount >= this.limits.maxPendingConnections) {
      this.displace(this.oldestOfLargestSource());
    }
    mine = this.pending.get(source);
    if (!mine) this.pending.set(source, (mine = new Set()));
    mine.add(conn);
    this.sourceOf.set(conn, source);
    this.pendingCount++;
  }

  /** A connection logs in (or is anonymous): false when every logged-in slot is taken. */
  login(conn: C): boolean {
    if (this.loggedIn.has(conn)) return true;
    if (this.loggedIn.size >= this.limits.maxConnections) return false;
    this.leavePending(conn);
    this.loggedIn.add(conn);
    return true;
  }

  /** The connection is gone; safe to call more than once. */
  release(conn: C): void {
    this.leavePending(conn);
    this.loggedIn.delete(conn);
  }

  private displace(conn: C): void {
    this.leavePending(conn);
    conn.close('displaced: too many connections waiting to log in');
  }

  private leavePending(conn: C): void {
    const source = this.sourceOf.get(conn);
    if (source === undefined) return;
    this.sourceOf.delete(conn);
    const set = this.pending.get(source)!;
    set.delete(conn);
    if (set.size === 0) this.pending.delete(source);
    this.pendingCount--;
  }

  /** Only when the pool is full: a scan over at most maxPendingConnections sources. */
  private oldestOfLargestSource(): C {
    let largest: Set<C> | undefined;
    for (const set of this.pending.values()) if (!largest || set.size > largest.size) largest = set;
    return largest!.values().next().value!;
  }
}
