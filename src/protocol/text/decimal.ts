/**
 * Decimal tokens read straight from the receive buffer, without making strings or using
 * regexes. Each reader accepts only what memcached accepts and reports anything else as
 * invalid. A token of any length is rejected without allocating, so lengths like
 * 99999999999999999999 can never turn into a huge buffer.
 */

export const UINT32_MAX = 0xffffffff;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT64_MAX_DIGITS = '18446744073709551615';

/** Index of the first non-'0' byte, keeping one digit so "000" still reads as 0. */
function skipZeros(buf: Buffer, s: number, e: number): number {
  while (s < e - 1 && buf[s] === 48) s++;
  return s;
}

/** Unsigned decimal in buf[s, e) that is at most `max` (max <= 2^53), or -1. */
export function readUint(buf: Buffer, s: number, e: number, max: number): number {
  if (s >= e) return -1;
  s = skipZeros(buf, s, e);
  if (e - s > 16) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n <= max ? n : -1;
}

/** Signed 32-bit decimal (exptimes, TTLs), or NaN. */
export function readInt32(buf: Buffer, s: number, e: number): number {
  if (s < e && buf[s] === 45 /* - */) {
    const n = readUint(buf, s + 1, e, -INT32_MIN);
    return n < 0 ? NaN : n === 0 ? 0 : -n;
  }
  const n = readUint(buf, s, e, INT32_MAX);
  return n < 0 ? NaN : n;
}

/** Whether buf[s, e) is an unsigned decimal that fits in 64 bits. */
export function isUint64(buf: Buffer, s: number, e: number): boolean {
  if (s >= e) return false;
  s = skipZeros(buf, s, e);
  const len = e - s;
  if (len > 20) return false;
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 57) return false;
  }
  if (len < 20) return true;
  for (let i = 0; i < 20; i++) {
    const d = buf[s + i]! - UINT64_MAX_DIGITS.charCodeAt(i);
    if (d !== 0) return d < 0;
  }
  return true;
}

/**
 * A 64-bit CAS token as a number, or -1. The store's CAS values stay far below 2^53;
 * a larger token loses precision but can still never match one of them.
 */
export function readCas(buf: Buffer, s: number, e: number): number {
  if (!isUint64(buf, s, e)) return -1;
  let n = 0;
  for (let i = s; i < e; i++) n = n * 10 + (buf[i]! - 48);
  return n;
}

/** A 64-bit unsigned decimal as a bigint (incr/decr deltas, ma initial values), or null. */
export function readUint64(buf: Buffer, s: number, e: number): bigint | null {
  if (!isUint64(buf, s, e)) return null;
  // Up to 15 digits a double is exact, which skips making a string on the common path.
  if (e - s <= 15) return BigInt(readUint(buf, s, e, Number.MAX_SAFE_INTEGER));
  return BigInt(buf.toString('latin1', s, e));
}
