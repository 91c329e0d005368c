/**
 * How failed logins are slowed, shared by the cache node (binary SASL and the ASCII
 * `set <username>` login) and the control plane (HTTP Basic).
 *
 * A right password always logs in, at once, whatever failed before and from wherever.
 * Passwords carry 128 bits of entropy: no guessing rate finds one, so refusing a right
 * password would buy nothing and would let anyone who knows a username (they are not
 * secret) lock its clients out. What gets slowed is failure:
 *
 * - A failed attempt (a wrong password, or a username that does not exist: the two are
 *   treated alike, so timing tells nothing about which usernames exist) is answered after
 *   a delay that grows with the recent failures of its source and of its (source,
 *   username) pair: `baseDelayMs × 2^(n-1)`, n = max(pair failures, source failures / 4),
 *   capped at `maxDelayMs` (2 s). Recent means decayed with a half-life of a minute.
 *   So one typo costs 10 ms; a test suite checking a dozen wrong passwords in a row
 *   waits about 10 s in all; a guesser gets one answer per 2 s per connection.
 * - A source may have at most `maxInFlightPerSource` failed attempts waiting for their
 *   answer; past that an attempt is dropped unanswered (the connection closed, or HTTP
 *   429). That caps a source's guessing rate at maxInFlight / maxDelay however many
 *   connections it opens.
 *
 * Memory is bounded: at most `maxEntries` failure scores (the least recently failed go
 * first, and decayed ones are dropped as they are met), plus one in-flight count per
 * source with a delayed answer outstanding (bounded by the connections that hold them).
 * No entry protects a legitimate client (none is needed: its right password is never
 * refused), so an attacker who churns the map only forgets its own failures' weight,
 * while its rate stays held by the in-flight cap.
 *
 * Nothing here ever sees a password.
 */

export interface LoginThrottleOptions {
  /** Delay of the first recent failure. */
  readonly baseDelayMs?: number;
  /** Longest delay. */
  readonly maxDelayMs?: number;
  /** Failures fade by half in this time. */
  readonly halfLifeMs?: number;
  /** Failed attempts from one source whose answer may be outstanding at once. */
  readonly maxInFlightPerSource?: number;
  /** Most failure scores kept (sources plus pairs). */
  readonly maxEntries?: number;
  /** Milliseconds clock; Date.now by default. */
  readonly now?: () => number;
}

export const DEFAULT_LOGIN_THROTTLE = {
  baseDelayMs: 10,
  maxDelayMs: 2000,
  halfLifeMs: 60_000,
  maxInFlightPerSource: 16,
  maxEntries: 10_000,
} as const;

/** A failure's answer: send it after `delayMs`, then call `release` (also if the client went away). */
export interface DelayedFailure {
  readonly delayMs: number;
  release(): void;
}

/** Sources divide their failures by this before they weigh like one pair's. */
const SOURCE_WEIGHT = 4;
/** A score below this is as good as none and is dropped when met. */
const FORGOTTEN = 0.05;
/** How many of the oldest scores each failure checks for having faded. */
const PRUNE_PER_FAILURE = 2;

interface Score {
  value: number;
  /** When `value` was last brought up to date. */
  at: number;
}

export class LoginThrottle {
  /** Failed logins since start: answered after a delay, or dropped unanswered (a node's /metrics). */
  readonly counts = { delayed: 0, dropped: 0 };
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly halfLifeMs: number;
  private readonly maxInFlight: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** Keys `s <source>` and `p <source> <username>`; insertion order is failure order. */
  private readonly scores = new Map<string, Score>();
  /** Source → failed attempts whose answer is outstanding. */
  private readonly inFlight = new Map<string, number>();
  /**
   * Told of every failure recorded here, so processes that serve one cluster can share
   * their scores (`cachier start`'s node processes, through the parent: node-supervisor.ts).
   */
  onFailure?: (sourceAddress: string, username: string) => void;

  constructor(opts: LoginThrottleOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? DEFAULT_LOGIN_THROTTLE.baseDelayMs;
    this.maxDelayMs = opts.maxDelayMs ?? DEFAULT_LOGIN_THROTTLE.maxDelayMs;
    this.halfLifeMs = opts.halfLifeMs ?? DEFAULT_LOGIN_THROTTLE.halfLifeMs;
    this.maxInFlight = Math.max(1, opts.maxInFlightPerSource ?? DEFAULT_LOGIN_THROTTLE.maxInFlightPerSource);
    this.maxEntries = Math.max(16, opts.maxEntries ?? DEFAULT_LOGIN_THROTTLE.maxEntries);
    this.now = opts.now ?? Date.now;
  }

  /**
   * A login that failed (wrong password or unknown username): records it and says when
   * to answer; undefined when the source already has its fill of answers outstanding
   * (drop the attempt unanswered).
   */
  fail(sourceAddress: string, username: string): DelayedFailure | undefined {
    const now = this.now();
    const source = sourceKey(sourceAddress);
    const pair = this.add(`p ${source} ${username}`, now);
    const bySource = this.add(`s ${source}`, now);
    this.prune(now);
    this.onFailure?.(sourceAddress, username);
    const held = this.inFlight.get(source) ?? 0;
    if (held >= this.maxInFlight) {
      this.counts.dropped++;
      return undefined;
    }
    this.counts.delayed++;
    this.inFlight.set(source, held + 1);
    const n = Math.max(pair, bySource / SOURCE_WEIGHT, 1);
    const delayMs = Math.min(this.maxDelayMs, Math.round(this.baseDelayMs * 2 ** (n - 1)));
    let released = false;
    return {
      delayMs,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.inFlight.get(source) ?? 1) - 1;
        if (left > 0) this.inFlight.set(source, left);
        else this.inFlight.delete(source);
      },
    };
  }

  /**
   * A failure another process recorded (see onFailure): it weighs on this one's delays as
   * its own would; the in-flight cap stays each process's own.
   */
  failedElsewhere(sourceAddress: string, username: string): void {
    const now = this.now();
    const source = sourceKey(sourceAddress);
    this.add(`p ${source} ${username}`, now);
    this.add(`s ${source}`, now);
    this.prune(now);
  }

  /** Failure scores held (for tests of the memory bound). */
  get size(): number {
    return this.scores.size;
  }

  /** Sources with answers outstanding (for tests). */
  inFlightOf(sourceAddress: string): number {
    return this.inFlight.get(sourceKey(sourceAddress)) ?? 0;
  }

  /** Adds one failure to a score and returns its new value. */
  private add(key: string, now: number): number {
    const s = this.scores.get(key);
    const value = (s ? this.decayed(s, now) : 0) + 1;
    // Re-inserted so the map stays ordered by last failure: the oldest come first.
    this.scores.delete(key);
    this.scores.set(key, { value, at: now });
    while (this.scores.size > this.maxEntries) this.scores.delete(this.scores.keys().next().value!);
    return value;
  }

  private decayed(s: Score, now: number): number {
    return s.value * 2 ** (-Math.max(0, now - s.at) / this.halfLifeMs);
  }

  /** Drops a few of the oldest scores if they have faded away. */
  private prune(now: number): void {
    let n = 0;
    for (const [key, s] of this.scores) {
      if (n++ >= PRUNE_PER_FAILURE) break;
      if (this.decayed(s, now) < FORGOTTEN) this.scores.delete(key);
    }
  }
}

/**
 * The unit an address counts as: an IPv4 address (also when IPv4-mapped), or the /64
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
