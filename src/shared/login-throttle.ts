/**
 * Throttling of repeated failed logins, shared by the cache node (binary SASL and the
 * ASCII `set <username>` login) and the control plane (HTTP Basic).
 *
 * Policy. Every failed login (a wrong password for a username that exists) takes one token from three
 * token buckets: its source (IP address; IPv6 by /64, since one host owns a whole /64),
 * its username, and the (source, username) pair. While a bucket the attempt is checked
 * against is empty, the attempt is refused WITHOUT the password being checked, and the
 * refusal itself takes no token (so the steady rate of guesses is the refill rate).
 * Defaults: 30 failures per minute per source, 10 per minute per username and per pair;
 * a bucket refills continuously (one token every 2 s per source, every 6 s per username),
 * so a throttled caller can try again after `retryAfterMs`. Successful logins take nothing.
 * Nor does a username that does not exist (callers record no failure for it): no password
 * can succeed for it, so it is no guess, and a client retrying a credential that has not
 * yet reached a node (propagation takes up to a second) must not lock itself out by it.
 *
 * Throttling by username alone would let anyone who knows a username (they are not
 * secret) lock its legitimate clients out, and throttling by source alone would let one
 * misconfigured process behind a NAT or on the same host lock out its neighbours. So a
 * (source, username) pair that logged in successfully within `trustMs` is "trusted": it
 * is checked against its pair bucket only. A trusted pair still gets at most the pair
 * bucket's rate of guesses; everyone else is held to the source and username buckets.
 *
 * Answers when throttled: cache node binary status 0x20 (auth error, as any failed
 * login), ASCII `CLIENT_ERROR authentication throttled`; HTTP 429 with the JSON message
 * "Too many failed logins; try again later." and Retry-After. 429 rather than 403: a 429
 * comes only after failures the caller itself caused (or others caused for the same
 * username, which the caller named), so it tells nothing a 403 would hide, and it tells
 * a client with a right password to wait rather than to check its credentials.
 *
 * Memory is bounded: an entry whose bucket has refilled is worth nothing and is deleted
 * when met (a few of the oldest are checked on every failure), and the map never holds
 * more than `maxEntries` entries (the least recently failed go first). The state is
 * per process: each machine of a cluster throttles on its own.
 *
 * Nothing here ever sees a password.
 */

export interface BucketLimit {
  /** Failures allowed in a burst (the bucket's size). */
  readonly failures: number;
  /** Time in which an empty bucket fills up again. */
  readonly windowMs: number;
}

export interface LoginThrottleOptions {
  readonly perSource?: BucketLimit;
  readonly perUsername?: BucketLimit;
  readonly perPair?: BucketLimit;
  /** How long a successful login exempts its (source, username) pair; default 1 hour. */
  readonly trustMs?: number;
  /** Most tracked entries (buckets plus trusted pairs); default 10 000. */
  readonly maxEntries?: number;
  /** Milliseconds clock; Date.now by default. */
  readonly now?: () => number;
}

export const DEFAULT_LOGIN_THROTTLE = {
  perSource: { failures: 30, windowMs: 60_000 },
  perUsername: { failures: 10, windowMs: 60_000 },
  perPair: { failures: 10, windowMs: 60_000 },
  trustMs: 3_600_000,
  maxEntries: 10_000,
} as const;

/** The answer for an attempt: go ahead and check the password, or refuse it now. */
export type ThrottleVerdict = { readonly throttled: false } | { readonly throttled: true; readonly retryAfterMs: number };

const ALLOWED: ThrottleVerdict = Object.freeze({ throttled: false });

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
}

/** How many of the oldest entries each failure checks for expiry. */
const PRUNE_PER_FAILURE = 2;

export class LoginThrottle {
  private readonly source: BucketLimit;
  private readonly username: BucketLimit;
  private readonly pair: BucketLimit;
  private readonly trustMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** Keys `s <source>`, `u <username>`, `p <source> <username>`; insertion order is failure order. */
  private readonly buckets = new Map<string, Bucket>();
  /** Key `<source> <username>` → when the trust ends. */
  private readonly trusted = new Map<string, number>();

  constructor(opts: LoginThrottleOptions = {}) {
    this.source = opts.perSource ?? DEFAULT_LOGIN_THROTTLE.perSource;
    this.username = opts.perUsername ?? DEFAULT_LOGIN_THROTTLE.perUsername;
    this.pair = opts.perPair ?? DEFAULT_LOGIN_THROTTLE.perPair;
    this.trustMs = opts.trustMs ?? DEFAULT_LOGIN_THROTTLE.trustMs;
    this.maxEntries = Math.max(16, opts.maxEntries ?? DEFAULT_LOGIN_THROTTLE.maxEntries);
    this.now = opts.now ?? Date.now;
  }

  /** Call before checking the password; a throttled attempt must not be checked. */
  check(sourceAddress: string, username: string): ThrottleVerdict {
    const now = this.now();
    const source = sourceKey(sourceAddress);
    let wait = this.wait(`p ${source} ${username}`, this.pair, now);
    if (!this.isTrusted(`${source} ${username}`, now)) {
      wait = Math.max(wait, this.wait(`s ${source}`, this.source, now), this.wait(`u ${username}`, this.username, now));
    }
    return wait > 0 ? { throttled: true, retryAfterMs: wait } : ALLOWED;
  }

  /** A login whose password was checked and was wrong, for a username that exists. */
  recordFailure(sourceAddress: string, username: string): void {
    const now = this.now();
    const source = sourceKey(sourceAddress);
    this.take(`s ${source}`, this.source, now);
    this.take(`u ${username}`, this.username, now);
    this.take(`p ${source} ${username}`, this.pair, now);
    this.prune(now);
  }

  /** A login whose password was right: its pair is trusted for a while. Takes no token. */
  recordSuccess(sourceAddress: string, username: string): void {
    const key = `${sourceKey(sourceAddress)} ${username}`;
    this.trusted.delete(key);
    this.trusted.set(key, this.now() + this.trustMs);
    this.bound();
  }

  /** Entries held (for tests of the memory bound). */
  get size(): number {
    return this.buckets.size + this.trusted.size;
  }

  private isTrusted(key: string, now: number): boolean {
    const until = this.trusted.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    this.trusted.delete(key);
    return false;
  }

  /** Milliseconds until the bucket has a token again; 0 if it has one now. */
  private wait(key: string, limit: BucketLimit, now: number): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    const tokens = refill(b, limit, now);
    if (tokens >= 1) return 0;
    return Math.ceil(((1 - tokens) * limit.windowMs) / limit.failures);
  }

  private take(key: string, limit: BucketLimit, now: number): void {
    const b = this.buckets.get(key);
    const tokens = b ? refill(b, limit, now) : limit.failures;
    // Re-inserted so the map stays ordered by last failure: the oldest come first.
    this.buckets.delete(key);
    this.buckets.set(key, { tokens: Math.max(0, tokens - 1), at: now });
    this.bound();
  }

  /** Drops a few of the oldest entries if they have expired (a full bucket, an ended trust). */
  private prune(now: number): void {
    let n = 0;
    for (const [key, b] of this.buckets) {
      if (n++ >= PRUNE_PER_FAILURE) break;
      const limit = this.limitOf(key);
      if (refill(b, limit, now) >= limit.failures) this.buckets.delete(key);
    }
    n = 0;
    for (const [key, until] of this.trusted) {
      if (n++ >= PRUNE_PER_FAILURE) break;
      if (until <= now) this.trusted.delete(key);
    }
  }

  private limitOf(key: string): BucketLimit {
    return key[0] === 's' ? this.source : key[0] === 'u' ? this.username : this.pair;
  }

  /** Keeps the total under maxEntries by forgetting the oldest. */
  private bound(): void {
    while (this.buckets.size + this.trusted.size > this.maxEntries) {
      const map = this.buckets.size >= this.trusted.size ? this.buckets : this.trusted;
      const oldest = map.keys().next();
      if (oldest.done) break;
      map.delete(oldest.value);
    }
  }
}

/** Tokens in the bucket now (never above its size). */
function refill(b: Bucket, limit: BucketLimit, now: number): number {
  const elapsed = Math.max(0, now - b.at);
  return Math.min(limit.failures, b.tokens + (elapsed * limit.failures) / limit.windowMs);
}

/**
 * The throttled unit for an address: an IPv4 address (also when IPv4-mapped), or the /64
 * network of an IPv6 address, which one host typically has all of.
 */
export function sourceKey(address: string): string {
  if (!address.includes(':')) return address;
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && lower.includes('.')) return lower.slice(7);
  const zone = lower.indexOf('%');
  const bare = zone < 0 ? lower : lower.slice(0, zone);
  const [head = '', tail] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => (g === '' ? '0' : g.replace(/^0+(?=.)/, ''))).join(':')}::/64`;
}
