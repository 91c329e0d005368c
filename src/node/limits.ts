/**
 * Every limit a cache node enforces, in one object: the request sizes the parsers check
 * (ProtocolLimits: keys, items, command lines, as memcached's), and the limits on
 * connections. Each connection limit answers a way a client could take more than its
 * share of a node:
 *
 * - maxConnections: logged-in connections (and anonymous-cache ones). Past it a login is
 *   refused with `SERVER_ERROR too many connections` (binary: out of memory) and the
 *   connection closed; in anonymous mode a new connection gets that line (as text: its
 *   protocol is not known yet, as memcached does) and is closed.
 * - maxPendingConnections, maxPendingPerSource: connections that have not logged in yet
 *   wait in a pool of their own, a share per source address; a newcomer displaces the
 *   oldest idle waiter rather than being refused (connection-slots.ts), so a flood of
 *   idle connections can take neither logged-in slots nor other addresses' logins. The
 *   share is a quarter of the pool: an application that opens a few hundred connections
 *   at once from one host (a pool warming up) still gets them all.
 * - maxCacheConnections: past it a login to that cache is refused (ASCII `SERVER_ERROR
 *   too many connections for this cache`, binary status 0x86 "temporary failure") and
 *   the connection closed; other caches on the node are unaffected.
 * - authTimeoutMs: a connection that has not logged in by then is closed.
 * - idleTimeoutMs: a connection with no traffic either way (no request read, no blocked
 *   reply drained) for that long is closed; 0 is off, as memcached's default.
 * - replyQueueBytes: a connection stops reading requests once this much of its replies
 *   are waiting, until the client has read them, and a multi-key get stops between two
 *   values at this much and goes on when the client has read them (it is streamed, never
 *   refused): a client that never reads holds at most this plus one item (plus the
 *   kernel's socket buffers), however much it asks for.
 * - receiveBufferBytes: what one cache's connections together may hold of partly received
 *   requests (large values still arriving); past it they are paused until others finish
 *   (receive-budget.ts), so a thousand connections each trickling a 1 MiB value cost the
 *   node this, not a gigabyte.
 * - closingGraceMs: a connection we are closing (quit, a fatal protocol error) whose
 *   client will not take the last bytes is dropped after this.
 */
import { DEFAULT_LIMITS, type ProtocolLimits } from '../protocol/command.ts';

export interface NodeLimits extends ProtocolLimits {
  readonly maxConnections: number;
  readonly maxPendingConnections: number;
  readonly maxPendingPerSource: number;
  readonly maxCacheConnections: number;
  readonly authTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly replyQueueBytes: number;
  readonly receiveBufferBytes: number;
  readonly closingGraceMs: number;
}

export const DEFAULT_NODE_LIMITS: NodeLimits = Object.freeze({
  ...DEFAULT_LIMITS,
  maxConnections: 4096,
  maxPendingConnections: 1024,
  maxPendingPerSource: 256,
  maxCacheConnections: 1024,
  authTimeoutMs: 5000,
  idleTimeoutMs: 0,
  replyQueueBytes: 4 * 1024 * 1024,
  receiveBufferBytes: 64 * 1024 * 1024,
  closingGraceMs: 10_000,
});

/** The defaults with `given` over them (only the limits' own keys; every count at least 1). */
export function nodeLimits(given: Partial<NodeLimits>): NodeLimits {
  const limits: Record<string, number> = { ...DEFAULT_NODE_LIMITS };
  for (const key of Object.keys(DEFAULT_NODE_LIMITS) as (keyof NodeLimits)[]) {
    const v = given[key];
    if (v !== undefined) limits[key] = v;
  }
  for (const key of ['maxConnections', 'maxPendingConnections', 'maxPendingPerSource', 'maxCacheConnections', 'replyQueueBytes']) {
    limits[key] = Math.max(1, limits[key]!);
  }
  return Object.freeze(limits as unknown as NodeLimits);
}

/**
 * What a connection may send before it has logged in: a login and little else. A
 * username of at most 250 bytes, a password of about 1 KiB (a SASL frame stays under
 * 2 KiB); anything bigger closes the connection instead of being buffered.
 */
export const PRE_LOGIN_LIMITS: ProtocolLimits = Object.freeze({ maxKeyLength: 250, maxItemSize: 1300, maxLineLength: 1024 });

/** How often the node looks for idle connections and connections stuck closing. */
export const SWEEP_INTERVAL_MS = 1000;
