/**
 * An unkeyed hash (FNV-1a finished with fmix32) and what an attacker does with one: many
 * printable keys with one 32-bit hash. Tests and benchmarks only: they show the keyed
 * index hash (keyed-hash.ts) is what keeps such keys in short chains.
 */

const FNV_PRIME = 0x01000193;

/** FNV-1a over buf[start, end), finished with murmur3's fmix32. */
export function fnvHash(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, FNV_PRIME);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const CHARS = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', 'latin1');

/** FNV state after `bytes`, from `h`. */
function fnvState(h: number, bytes: Uint8Array): number {
  for (const b of bytes) h = Math.imul(h ^ b, FNV_PRIME);
  return h;
}

/**
 * `count` distinct keys `prefix` + 4 + 4 printable characters whose fnvHash is one value,
 * by meet in the middle: fmix32 is a bijection and each FNV step can be run backwards
 * (the prime is odd), so the states after 2^21 forward middles go in a table and
 * suffixes are unwound from the target state until they land on one. About 2^11
 * suffixes per key.
 */
export function fnvCollisions(count: number, prefix = 'flood:'): Buffer[] {
  let inverse = FNV_PRIME; // Newton's iteration for FNV_PRIME^-1 mod 2^32
  for (let i = 0; i < 5; i++) inverse = Math.imul(inverse, 2 - Math.imul(FNV_PRIME, inverse));
  const start = fnvState(0x811c9dc5 | 0, Buffer.from(prefix, 'latin1'));
  const target = fnvState(start, Buffer.from('zzzzzzzz', 'latin1'));

  // Open addressing on the state's top bits: middle index + 1, 0 when empty.
  const MIDDLES = 1 << 21;
  const bits = 22;
  const states = new Int32Array(1 << bits);
  const middles = new Int32Array(1 << bits);
  const middle = (n: number, out: Uint8Array, at: number): void => {
    for (let j = 0; j < 4; j++, n >>>= 6) out[at + j] = CHARS[n & 63]!;
  };
  const buf = new Uint8Array(4);
  for (let n = 0; n < MIDDLES; n++) {
    middle(n, buf, 0);
    const s = fnvState(start, buf);
    let slot = s >>> (32 - bits);
    while (middles[slot] !== 0) slot = (slot + 1) & ((1 << bits) - 1);
    states[slot] = s;
    middles[slot] = n + 1;
  }

  const keys: Buffer[] = [];
  const head = Buffer.byteLength(prefix, 'latin1');
  for (let c3 = 0; c3 < 64 && keys.length < count; c3++) {
    const x3 = Math.imul(target, inverse) ^ CHARS[c3]!;
    for (let c2 = 0; c2 < 64 && keys.length < count; c2++) {
      const x2 = Math.imul(x3, inverse) ^ CHARS[c2]!;
      for (let c1 = 0; c1 < 64 && keys.length < count; c1++) {
        const x1 = Math.imul(x2, inverse) ^ CHARS[c1]!;
        for (let c0 = 0; c0 < 64; c0++) {
          const x0 = Math.imul(x1, inverse) ^ CHARS[c0]!; // the state the middle must reach
          for (let slot = x0 >>> (32 - bits); middles[slot] !== 0; slot = (slot + 1) & ((1 << bits) - 1)) {
            if (states[slot] !== x0) continue;
            const key = Buffer.alloc(head + 8);
            key.write(prefix, 0, 'latin1');
            middle(middles[slot]! - 1, key, head);
            key[head + 4] = CHARS[c0]!;
            key[head + 5] = CHARS[c1]!;
            key[head + 6] = CHARS[c2]!;
            key[head + 7] = CHARS[c3]!;
            keys.push(key);
            break;
          }
          if (keys.length === count) break;
        }
      }
    }
  }
  if (keys.length < count) throw new Error(`found only ${keys.length} colliding keys`);
  return keys;
}
