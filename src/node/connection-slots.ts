/**
 * Who holds a node's connection slots. Connections that have logged in (and those of an
 * `--anonymous-cache`) take slots from `maxConnections`. Connections that have not logged
 * in yet wait in a separate, smaller pool, `maxPendingConnections`, of which one source
 * address (IPv6 by /64) may hold `maxPendingPerSource`.
 *
 * A new connection that finds its source's share, or the whole pool, full is not refused:
 * it displaces a waiting connection, chosen at random among those that have sent nothing
 * yet (of its own source when its share is full; of any source when the pool is). A real
 * client starts its login at once (a binary one asks for the SASL mechanisms first), so
 * what gets displaced is whoever sits silent; and chance rather than age decides, so an
 * attacker who churns the pool from many addresses cannot time out a client whose login
 * takes a few round trips: each displacement hits a given waiter with probability
 * 1 / pool size. Either way a flood never touches the slots of clients that logged in.
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

/** A waiting connection, kept in two lists (its source's and the node's silent or heard one) for O(1) removal. */
interface Waiter {
  readonly conn: SlotHolder;
  readonly source: Source;
  heard: boolean;
  /** Index in `source.waiters`. */
  inSource: number;
  /** Index in the node's `silent` or `heard` list. */
  inNode: number;
}

interface Source {
  readonly key: string;
  readonly waiters: Waiter[];
  silent: number;
}

/** Connections turned away since the node started, for its /metrics (node-metrics.ts). */
export interface SlotCounts {
  /** Logins refused at --max-connections (and anonymous connections refused there). */
  refused: number;
  /** Logins refused at --max-cache-connections. */
  refusedForCache: number;
  /** Waiting connections displaced by newcomers. */
  displaced: number;
}

export class ConnectionSlots {
  readonly counts: SlotCounts = { refused: 0, refusedForCache: 0, displaced: 0 };
  private readonly sources = new Map<string, Source>();
  private readonly waiters = new Map<SlotHolder, Waiter>();
  /** Waiting connections that have sent nothing yet, and those that have. */
  private readonly silent: Waiter[] = [];
  private readonly heardFrom: Waiter[] = [];
  private readonly loggedIn = new Set<SlotHolder>();

  constructor(
    private readonly limits: SlotLimits,
    private readonly random: () => number = Math.random,
    /** Told which limit made a newcomer from `remoteAddress` displace a waiting connection (the node's log). */
    private readonly onDisplace?: (limit: 'max_pending_per_source' | 'max_pending_connections', remoteAddress: string) => void,
  ) {}

  /** Connections holding a slot of either kind. */
  get size(): number {
    return this.waiters.size + this.loggedIn.size;
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /** A new connection that must log in: always admitted, displacing a waiting one if need be. */
  wait(conn: SlotHolder, remoteAddress: string): void {
    const key = sourceKey(remoteAddress);
    let source = this.sources.get(key);
    if (source && source.waiters.length >= this.limits.maxPendingPerSource) {
      this.onDisplace?.('max_pending_per_source', remoteAddress);
      this.displace(this.pickInSource(source));
    } else if (this.waiters.size >= this.limits.maxPendingConnections) {
      this.onDisplace?.('max_pending_connections', remoteAddress);
      this.displace(this.pickAnywhere());
    }
    source = this.sources.get(key);
    if (!source) this.sources.set(key, (source = { key, waiters: [], silent: 0 }));
    const w: Waiter = { conn, source, heard: false, inSource: source.waiters.length, inNode: this.silent.length };
    source.waiters.push(w);
    source.silent++;
    this.silent.push(w);
    this.waiters.set(conn, w);
  }

  /** A waiting connection sent its first bytes: it is displaced only after every silent one. */
  heard(conn: SlotHolder): void {
    const w = this.waiters.get(conn);
    if (!w || w.heard) return;
    removeAt(this.silent, w.inNode, (x, i) => (x.inNode = i));
    w.heard = true;
    w.source.silent--;
    w.inNode = this.heardFrom.length;
    this.heardFrom.push(w);
  }

  /** A connection logs in (or is anonymous): false when every logged-in slot is taken. */
  login(conn: SlotHolder): boolean {
    if (this.loggedIn.has(conn)) return true;
    if (this.loggedIn.size >= this.limits.maxConnections) {
      this.counts.refused++;
      return false;
    }
    this.leave(conn);
    this.loggedIn.add(conn);
    return true;
  }

  /** The connection is gone; safe to call more than once. */
  release(conn: SlotHolder): void {
    this.leave(conn);
    this.loggedIn.delete(conn);
  }

  private displace(w: Waiter): void {
    this.counts.displaced++;
    this.leave(w.conn);
    w.conn.close('displaced: too many connections waiting to log in');
  }

  private leave(conn: SlotHolder): void {
    const w = this.waiters.get(conn);
    if (!w) return;
    this.waiters.delete(conn);
    removeAt(w.heard ? this.heardFrom : this.silent, w.inNode, (x, i) => (x.inNode = i));
    removeAt(w.source.waiters, w.inSource, (x, i) => (x.inSource = i));
    if (!w.heard) w.source.silent--;
    if (w.source.waiters.length === 0) this.sources.delete(w.source.key);
  }

  /** A random silent waiter of the source, else a random one of it. */
  private pickInSource(source: Source): Waiter {
    const all = source.waiters;
    if (source.silent > 0) {
      // Silent ones are most of a flooding source: a few random draws find one.
      for (let i = 0; i < 8; i++) {
        const w = all[Math.floor(this.random() * all.length)]!;
        if (!w.heard) return w;
      }
      for (const w of all) if (!w.heard) return w;
    }
    return all[Math.floor(this.random() * all.length)]!;
  }

  private pickAnywhere(): Waiter {
    const list = this.silent.length > 0 ? this.silent : this.heardFrom;
    return list[Math.floor(this.random() * list.length)]!;
  }
}

/** Removes list[i] by moving the last element into its place (telling it its new index). */
function removeAt<T>(list: T[], i: number, moved: (x: T, i: number) => void): void {
  const last = list.pop()!;
  if (i < list.length) {
    list[i] = last;
    moved(last, i);
  }
}
