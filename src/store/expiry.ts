/**
 * Expiry times as memcached reads them. Clients send a raw exptime: 0 never expires,
 * a negative value is already expired, up to 30 days is seconds from now, anything
 * larger is an absolute unix time. The store keeps only the absolute form (0 = never).
 */

/** 30 days: the largest exptime memcached reads as relative seconds. */
export const MAX_RELATIVE_EXPTIME = 60 * 60 * 24 * 30;

/** Absolute exptime of an item that is dead on arrival (negative raw exptime). */
export const ALREADY_EXPIRED = -1;

/** Raw exptime as sent by a client -> absolute unix seconds, 0 for never. */
export function toAbsoluteExptime(exptime: number, now: number): number {
  if (exptime === 0) return 0;
  if (exptime < 0) return ALREADY_EXPIRED;
  if (exptime <= MAX_RELATIVE_EXPTIME) return now + exptime;
  return exptime;
}

/** An item whose absolute exptime has been reached is gone (memcached: exptime <= now). */
export function isExpired(absolute: number, now: number): boolean {
  return absolute !== 0 && absolute <= now;
}
