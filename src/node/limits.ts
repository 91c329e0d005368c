/**
 * The limits a cache node puts on its connections, beyond the protocol's own (key, item
 * and line sizes, in ProtocolLimits). Each one answers a way a client could take more
 * than its share of a node:
 *
 * - maxConnections: past it a new connection gets `SERVER_ERROR too many connections`
 *   (as text: its protocol is not known yet, as memcached does) and is closed.
 * - maxCacheConnections: past it a login to that cache is refused (ASCII `SERVER_ERROR
 *   too many connections for this cache`, binary status 0x86 "temporary failure") and
 *   the connection closed; other caches on the node are unaffected.
 * - authTimeoutMs: a connection that has not logged in by then is closed.
 * - idleTimeoutMs: a connection with no traffic either way (no request read, no blocked
 *   reply drained) for that long is closed; 0 is off, as memcached's default.
 * - replyQueueBytes: a connection stops reading requests once this much of its replies
 *   are waiting, until the client has read them: a client that never reads holds at most
 *   this plus one reply (plus the kernel's socket buffers), however much it asks for.
 * - maxReplyBytes: one multi-key get whose values add up to more is answered
 *   `SERVER_ERROR out of memory writing get response` (memcached's words for it), since
 *   `get k k k …` can otherwise ask for line-length / 2 copies of a 1 MiB item.
 * - closingGraceMs: a connection we are closing (quit, a fatal protocol error) whose
 *   client will not take the last bytes is dropped after this.
 */

export interface NodeLimits {
  readonly maxConnections: number;
  readonly maxCacheConnections: number;
  readonly authTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly replyQueueBytes: number;
  readonly maxReplyBytes: number;
  readonly closingGraceMs: number;
}

export const DEFAULT_NODE_LIMITS: NodeLimits = Object.freeze({
  maxConnections: 4096,
  maxCacheConnections: 1024,
  authTimeoutMs: 5000,
  idleTimeoutMs: 0,
  replyQueueBytes: 4 * 1024 * 1024,
  maxReplyBytes: 64 * 1024 * 1024,
  closingGraceMs: 10_000,
});

/** The defaults with `given` over them; a reply may always hold one item of `maxItemSize`. */
export function nodeLimits(given: Partial<NodeLimits>, maxItemSize: number): NodeLimits {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<NodeLimits>;
  const limits = { ...DEFAULT_NODE_LIMITS, ...defined };
  return Object.freeze({ ...limits, maxReplyBytes: Math.max(limits.maxReplyBytes, maxItemSize + 1024) });
}

/** How often the node looks for idle connections and connections stuck closing. */
export const SWEEP_INTERVAL_MS = 1000;
