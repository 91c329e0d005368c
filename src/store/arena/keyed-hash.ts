/**
 * HalfSipHash (Aumasson & Bernstein): SipHash's 32-bit-word variant with a 64-bit key and
 * a 32-bit output, the function Linux uses as `hsiphash` to keep hash tables safe from
 * chosen keys. Without the key, an attacker cannot find keys that share a bucket, short
 * of trying them against the server. All arithmetic is 32-bit, which V8 keeps in
 * registers; keys are read 4 bytes at a time, little-endian, with no allocation.
 *
 * The index uses 1 compression round per word and 3 finalization rounds (HalfSipHash-1-3,
 * as hsiphash): enough for hash-table keys, where outputs are never shown to the attacker.
 * `halfSipHash` takes the round counts, so tests check it against the reference 2-4
 * vectors and check the unrolled 1-3 against it.
 */
import { randomBytes } from 'node:crypto';

/** Hash of buf[start, end), spread over all 32 bits. */
export type KeyHash = (buf: Uint8Array, start: number, end: number) => number;

/**
 * Any number of rounds, written as the reference C is (a state of four words, a padded
 * last block): what the unrolled halfSipHash13 is tested against, not fast.
 */
export function halfSipHash(
  cRounds: number, dRounds: number, k0: number, k1: number, buf: Uint8Array, start: number, end: number,
): number {
  const v = Uint32Array.of(k0, k1, 0x6c796765 ^ k0, 0x74656462 ^ k1);
  const rotl = (x: number, b: number) => (x << b) | (x >>> (32 - b));
  const sipRound = () => {
    v[0] += v[1]!; v[1] = rotl(v[1]!, 5) ^ v[0]!; v[0] = rotl(v[0]!, 16);
    v[2] += v[3]!; v[3] = rotl(v[3]!, 8) ^ v[2]!;
    v[0] += v[3]!; v[3] = rotl(v[3]!, 7) ^ v[0]!;
    v[2] += v[1]!; v[1] = rotl(v[1]!, 13) ^ v[2]!; v[2] = rotl(v[2]!, 16);
  };
  const len = end - start;
  // The message, zero-padded to whole words, its length in the top byte of the last one.
  const blocks = new DataView(new ArrayBuffer((Math.floor(len / 4) + 1) * 4));
  new Uint8Array(blocks.buffer).set(buf.subarray(start, end));
  blocks.setUint8(blocks.byteLength - 1, len & 0xff);
  for (let at = 0; at < blocks.byteLength; at += 4) {
    const m = blocks.getUint32(at, true);
    v[3] ^= m;
    for (let r = 0; r < cRounds; r++) sipRound();
    v[0] ^= m;
  }
  v[2] ^= 0xff;
  for (let r = 0; r < dRounds; r++) sipRound();
  return (v[1]! ^ v[3]!) >>> 0;
}

/**
 * HalfSipHash-1-3 of buf[start, end) under the key (k0, k1), every round unrolled, two
 * lines a SipRound (its two half-steps): a loop over the rounds, or the last word read
 * inside the word loop, costs 2-5 ns of ~20 on a 10-byte key. Words are read byte by byte: a
 * DataView would have to be made per call, as keys arrive in many buffers, and cost more
 * than it saves below ~250 bytes (bench/store/hash.bench.ts).
 */
export function halfSipHash13(k0: number, k1: number, buf: Uint8Array, start: number, end: number): number {
  let v0 = k0 | 0;
  let v1 = k1 | 0;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  const len = end - start;
  const whole = start + (len & ~3);
  let i = start;
  for (; i < whole; i += 4) {
    const m = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    v3 ^= m;
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16); v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0; v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
    v0 ^= m;
  }
  let b = len << 24;
  const rest = end - i;
  if (rest === 3) b |= buf[i + 2]! << 16;
  if (rest >= 2) b |= buf[i + 1]! << 8;
  if (rest >= 1) b |= buf[i]!;
  v3 ^= b;
  v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16); v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
  v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0; v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
  v0 ^= b;
  v2 ^= 0xff;
  v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16); v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
  v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0; v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
  v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16); v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
  v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0; v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
  v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16); v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
  v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0; v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
  return (v1 ^ v3) >>> 0;
}

/** The 8-byte key as its two little-endian words (int32: V8 keeps them unboxed). */
export function keyWords(key: Uint8Array): [number, number] {
  if (key.length !== 8) throw new Error('a HalfSipHash key is 8 bytes');
  const word = (at: number) => key[at]! | (key[at + 1]! << 8) | (key[at + 2]! << 16) | (key[at + 3]! << 24);
  return [word(0), word(4)];
}

/** HalfSipHash-1-3 under `key` (8 bytes; a fresh random one by default). */
export function keyedHash(key: Uint8Array = randomBytes(8)): KeyHash {
  const [k0, k1] = keyWords(key);
  return (buf, start, end) => halfSipHash13(k0, k1, buf, start, end);
}
