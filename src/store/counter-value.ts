/**
 * How incr/decr read a stored value: memcached's rules for what counts as a number.
 */

const UINT64_MAX = (1n << 64n) - 1n;
/** Longest stored value incr/decr reads as a number. */
export const MAX_COUNTER_BYTES = 64;

/**
 * A stored counter: 1..20 ASCII digits within uint64, optionally followed by spaces
 * (memcached pads a shrinking in-place decr with them), 64 bytes at most. Anything else
 * is non-numeric.
 * Reads `value[start, end)` so a store can parse a counter where it lies.
 */
export function parseCounter(value: Uint8Array, start = 0, end = value.length): bigint | null {
  // A counter is at most 20 digits and the padding of an in-place decr: a longer value is
  // no number, and is refused before any scan (incr on a 1 MiB value must cost no more than on 20 bytes).
  if (end - start > MAX_COUNTER_BYTES) return null;
  while (end > start && value[end - 1] === 0x20) end--;
  const len = end - start;
  if (len === 0 || len > 20) return null;
  let small = 0;
  for (let i = start; i < end; i++) {
    const d = value[i]! - 0x30;
    if (d < 0 || d > 9) return null;
    small = small * 10 + d;
  }
  // Up to 15 digits the double above is exact.
  if (len <= 15) return BigInt(small);
  let digits = '';
  for (let i = start; i < end; i++) digits += String.fromCharCode(value[i]!);
  const big = BigInt(digits);
  return big > UINT64_MAX ? null : big;
}
