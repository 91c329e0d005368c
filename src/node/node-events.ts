/**
 * What a cache node tells its log about clients, aggregated: failed logins and
 * connection limits hit are counted as they happen (a Map update, on failure paths
 * only: the request path never calls in here) and written as one line per kind per
 * window (a minute), with the total and the sources and usernames that failed most. A
 * guesser making thousands of attempts a minute costs the log two lines, and the
 * counting memory is bounded (MAX_KEYS per table; the rest is counted as `other`).
 *
 * A username that belongs to a credential of this node is logged as it is (cachier makes
 * them; they are not secret) with its cache. Any other "username" may be a secret typed
 * into the wrong field (a password pasted as the username): it is logged only as
 * `?` and the first 8 hex digits of its SHA-256, enough to tell one repeated name from
 * many. A password never reaches this file.
 */
import { createHash } from 'node:crypto';
import { sourceKey } from '../shared/login-throttle.ts';
import type { Logger } from '../shared/logger.ts';

/** Which limit refused or displaced a connection (the flag that sets it, in the log's spelling). */
export type LimitName = 'max_connections' | 'max_cache_connections' | 'max_pending_per_source' | 'max_pending_connections' | 'auth_timeout';

export const LOG_WINDOW_MS = 60_000;
/** Distinct keys counted per table per window; more are summed as `other`. */
const MAX_KEYS = 1000;
/** Entries of each table a line shows, most frequent first. */
const TOP = 10;

class Tally {
  readonly counts = new Map<string, number>();
  other = 0;

  add(key: string): void {
    const n = this.counts.get(key);
    if (n !== undefined) this.counts.set(key, n + 1);
    else if (this.counts.size < MAX_KEYS) this.counts.set(key, 1);
    else this.other++;
  }

  top(): { key: string; count: number }[] {
    return [...this.counts].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([key, count]) => ({ key, count }));
  }
}

/** A failed login's username as the log shows it (see the top of the file). */
export function loggedUsername(username: string, known: boolean): string {
  return known ? username.slice(0, 64) : `?${createHash('sha256').update(username).digest('hex').slice(0, 8)}`;
}

export class NodeEvents {
  private failures = 0;
  /** Failed logins dropped unanswered (the source had its fill waiting). */
  private dropped = 0;
  private failedSources = new Tally();
  private failedUsernames = new Tally();
  private limits = new Map<LimitName, number>();
  private limitSources = new Tally();
  private limitCaches = new Tally();
  private timer: NodeJS.Timeout | undefined;

  constructor(private log: Logger, private readonly windowMs = LOG_WINDOW_MS) {}

  /** Log through `log` from now on (a node takes a child naming its address once it listens). */
  setLogger(log: Logger): void {
    this.log = log;
  }

  start(): void {
    this.timer ??= setInterval(() => this.flush(), this.windowMs).unref();
  }

  /** Writes what is pending and stops the window timer. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  /** A wrong password or unknown username; `cacheId` when the username is one of this node's. */
  loginFailed(remoteAddress: string, username: string, cacheId: number | undefined, dropped: boolean): void {
    this.failures++;
    if (dropped) this.dropped++;
    this.failedSources.add(sourceKey(remoteAddress));
    this.failedUsernames.add(cacheId === undefined ? loggedUsername(username, false) : `${loggedUsername(username, true)}\0${cacheId}`);
  }

  limitHit(limit: LimitName, remoteAddress: string, cacheId?: number): void {
    this.limits.set(limit, (this.limits.get(limit) ?? 0) + 1);
    this.limitSources.add(sourceKey(remoteAddress));
    if (cacheId !== undefined) this.limitCaches.add(String(cacheId));
  }

  /** One line per kind with anything counted since the last one. */
  flush(): void {
    const window_s = Math.round(this.windowMs / 1000);
    if (this.failures > 0) {
      this.log.warn({
        event: 'login_failures', window_s, failures: this.failures, dropped: this.dropped,
        sources: this.failedSources.top().map(({ key, count }) => ({ source: key, failures: count })),
        other_sources: this.failedSources.other + Math.max(0, this.failedSources.counts.size - TOP),
        usernames: this.failedUsernames.top().map(({ key, count }) => {
          const [username, cache] = key.split('\0');
          return { username, ...(cache === undefined ? {} : { cache: Number(cache) }), failures: count };
        }),
        other_usernames: this.failedUsernames.other + Math.max(0, this.failedUsernames.counts.size - TOP),
      }, `${this.failures} failed login${this.failures === 1 ? '' : 's'}`);
      this.failures = 0;
      this.dropped = 0;
      this.failedSources = new Tally();
      this.failedUsernames = new Tally();
    }
    if (this.limits.size > 0) {
      const hits = Object.fromEntries(this.limits);
      const total = [...this.limits.values()].reduce((a, b) => a + b, 0);
      this.log.warn({
        event: 'connection_limits', window_s, hits,
        sources: this.limitSources.top().map(({ key, count }) => ({ source: key, hits: count })),
        caches: this.limitCaches.top().map(({ key, count }) => ({ cache: Number(key), hits: count })),
      }, `connection limits hit ${total} time${total === 1 ? '' : 's'}`);
      this.limits = new Map();
      this.limitSources = new Tally();
      this.limitCaches = new Tally();
    }
  }
}
