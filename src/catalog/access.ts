/**
 * What the catalog keeps for the API v2's management calls, beside the caches
 * themselves: each cache's dashboard sign-in link, the dashboard sessions it opened, why
 * a cache is disabled, and when it last had memcache traffic. Both catalogs implement
 * `AccessCatalog` (sqlite-access.ts, postgres-access.ts); the contract test runs on both.
 *
 * - Sign-in link `<control plane>/sso/<cache id>/<token>`: a random 256-bit token, stored
 *   only as its SHA-256 (high-entropy tokens need no salt or slow hash, and the hash can be
 *   looked up). Rotating replaces it and ends every session of the cache in the same
 *   transaction: old links and the sessions they opened stop at once.
 * - Dashboard session: a random 256-bit id in an HttpOnly cookie, stored as its SHA-256
 *   with its cache and expiry. Opening one checks the token and inserts the session
 *   atomically with respect to a rotation (no session from a link rotated meanwhile).
 * - Disabled reason: `operator` (the operator API, the CLI, or anything else that sets
 *   `enabled` false — a trigger records it, so no path can forget) or `idle` (no memcache
 *   traffic for --disable-idle-days, `disableIdleCaches`). Re-enabling clears it. Only an
 *   idle-disabled cache may be re-enabled through the API (`enableIdleCache`).
 * - Activity: per cache, the time traffic was last seen and the counter marks (per server)
 *   the history sampler compares each round's stats with (src/control/idle.ts decides).
 *   These rows are written every sampling round, so they live outside `caches` and never
 *   move the catalog revision (nodes are not woken for them).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type DisabledReason = 'operator' | 'idle';

export interface CacheStatus {
  readonly enabled: boolean;
  /** Why it is disabled; null while enabled. */
  readonly disabledReason: DisabledReason | null;
  /** When it was disabled (ms), if known; null while enabled. */
  readonly disabledAt: number | null;
  /** When the sampler last saw memcache traffic (ms); null before its first look. */
  readonly lastTrafficAt: number | null;
  /** Whether a sign-in link exists (made by rotateSsoToken). */
  readonly hasSsoLink: boolean;
}

export interface CacheActivity {
  readonly lastTrafficAt: number;
  /** Per server (host:port): the counter mark of the last round that saw the server. */
  readonly marks: Readonly<Record<string, number>>;
}

export interface ActivityUpdate {
  readonly cacheId: number;
  readonly marks: Readonly<Record<string, number>>;
  /** Traffic seen at this time (ms); absent: none seen this round. A row's first update must carry it. */
  readonly trafficAt?: number;
}

export type EnableIdleResult = 'enabled' | 'not_idle' | 'not_found';

export interface AccessCatalog {
  /**
   * Makes a new sign-in token for a live cache (replacing any old one) and ends every
   * session of the cache, atomically; returns the token in clear (the only time it
   * exists), or undefined when there is no such live cache.
   */
  rotateSsoToken(cacheId: number, now?: number): Promise<string | undefined>;
  /**
   * If `token` is the live cache's current sign-in token, opens a dashboard session that
   * expires after `ttlMs` and returns its id in clear (only then); otherwise undefined.
   * Expired sessions are removed on the way.
   */
  openSsoSession(cacheId: number, token: string, ttlMs: number, now?: number): Promise<string | undefined>;
  /** The cache of a session that exists and has not expired, else undefined. */
  sessionCache(sessionId: string, now?: number): Promise<number | undefined>;
  /** Ends one session (sign-out); unknown ids are ignored. */
  endSession(sessionId: string): Promise<void>;

  /** A cache's enabled state, disabled reason, last traffic; undefined if it does not exist (or was deleted). */
  cacheStatus(cacheId: number): Promise<CacheStatus | undefined>;
  /** Every cache's activity row (caches the sampler has not seen yet have none). */
  cacheActivity(): Promise<Map<number, CacheActivity>>;
  /** Stores marks, and moves last traffic forward (never back) where trafficAt is given. */
  recordActivity(updates: readonly ActivityUpdate[]): Promise<void>;
  /**
   * Disables, with reason `idle`, every enabled live cache whose last traffic is before
   * `idleBefore` (caches without an activity row are never idle); returns their ids.
   */
  disableIdleCaches(idleBefore: number, now?: number): Promise<number[]>;
  /**
   * Re-enables a cache disabled for inactivity and counts now as its last traffic (so the
   * next round does not disable it again). 'enabled' also when it already was enabled;
   * 'not_idle' when an operator disabled it; 'not_found' for no such live cache.
   */
  enableIdleCache(cacheId: number, now?: number): Promise<EnableIdleResult>;
}

/** A new sign-in token or session id: 256 random bits, URL-safe. */
export function newAccessToken(): string {
  return randomBytes(32).toString('base64url');
}

/** How tokens and session ids are stored and looked up. */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time comparison of a token with a stored hash. */
export function accessTokenMatches(token: string, storedHash: string): boolean {
  const a = Buffer.from(accessTokenHash(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A plausible token or session id (what newAccessToken makes); anything else is refused unread. */
export function isAccessToken(text: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(text);
}
