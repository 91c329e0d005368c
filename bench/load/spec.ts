/** What bench/run.ts asks the load generator for, and what it answers (JSON both ways). */
import type { LatencySummary } from './histogram.ts';
import type { Protocol } from './protocols.ts';

export type LoadAuth =
  | { readonly kind: 'ascii-login'; readonly username: string; readonly password: string }
  | { readonly kind: 'sasl-plain'; readonly username: string; readonly password: string };

interface Target {
  readonly host: string;
  readonly port: number;
}

interface Mix {
  readonly protocol: Protocol;
  readonly auth?: LoadAuth;
  readonly connections: number;
  /** Fraction of requests that are gets; the rest are sets. */
  readonly getRatio: number;
  readonly valueSize: number;
  /** Keys `key:0000000` … chosen uniformly. */
  readonly keys: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
}

/** Each connection keeps `depth` requests in flight and sends the next on every reply. */
export interface ClosedLoopSpec extends Target, Mix {
  readonly mode: 'closed';
  readonly depth: number;
  /**
   * Several servers (host and port are then ignored): each of the `connections` clients
   * holds one connection to every server and sends each request to the server its key
   * maps to on a ketama ring (load/ketama.ts), as a MemCachier client does; still
   * `depth` requests in flight per client. The scaling bench (harness/scale.ts).
   */
  readonly servers?: readonly Target[];
}

/**
 * Requests at a fixed total rate whatever the server does; latency is measured from the
 * time a request was scheduled, so a stalled server shows up in the percentiles
 * (no coordinated omission).
 */
export interface OpenLoopSpec extends Target, Mix {
  readonly mode: 'open';
  readonly rate: number;
}

/** Stores `items` keys `key:%07d` with pipelined noreply sets, then syncs and reads `stats`. */
export interface FillSpec extends Target {
  readonly mode: 'fill';
  readonly connections: number;
  readonly items: number;
  readonly valueSize: number;
  readonly firstItem?: number;
}

export type LoadSpec = ClosedLoopSpec | OpenLoopSpec | FillSpec;

export interface LoadResult {
  readonly mode: 'closed' | 'open';
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  readonly latency: LatencySummary;
  /** Replies in the measured window: hits (and stored sets), misses, and how many were gets. */
  readonly hits: number;
  readonly misses: number;
  readonly gets: number;
  /**
   * Error replies (error lines and statuses, wrong values, broken frames) from the first
   * request on, warm-up included, plus requests lost when the server closed a connection
   * (at least one per closed connection).
   * Not counted in `ops`.
   */
  readonly errors: number;
  /** Connections the server closed while the load ran. */
  readonly connectionsClosed: number;
  /** The first few error replies, as text. */
  readonly errorSamples: readonly string[];
  /** Open loop: the rate asked for, and requests still unanswered at the end. */
  readonly offeredRate?: number;
  readonly unanswered?: number;
  /** Open loop: how late the generator itself sent requests (actual send − due time). */
  readonly sendLag?: LatencySummary;
  /** CPU the load process used, as a percentage of one core. */
  readonly clientCpuPercent: number;
}

export interface FillResult {
  readonly mode: 'fill';
  readonly items: number;
  readonly seconds: number;
  readonly itemsPerSec: number;
  /** `curr_items` from the server's `stats` afterwards. */
  readonly currItems: number | undefined;
  readonly evictions: number | undefined;
}
