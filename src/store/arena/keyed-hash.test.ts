/**
 * HalfSipHash against published vectors: 2-4 from the reference implementation
 * (github.com/veorq/SipHash, vectors.h, vectors_hsip32) and 1-3, what the index uses,
 * from Linux's hsiphash self-test (lib/siphash_kunit.c, the 32-bit HalfSipHash branch).
 * Both: key bytes 00..07, message i = bytes 00..i-1, output as a little-endian word
 * (keyed-hash-vectors.json).
 */
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzSeed, seededBytes, seededRandom } from '../../shared/testing/seeded-random.ts';
import { halfSipHash, halfSipHash13, keyedHash, keyWords } from './keyed-hash.ts';

const vectors = JSON.parse(readFileSync(new URL('./keyed-hash-vectors.json', import.meta.url), 'utf8')) as Record<string, string[]>;
const words = (name: string): number[] => vectors[name]!.join(' ').split(' ').map((hex) => parseInt(hex, 16));
const HSIP_2_4 = words('halfsiphash-2-4');
const HSIP_1_3 = words('halfsiphash-1-3');

const KEY = Uint8Array.from({ length: 8 }, (_, i) => i);
const [K0, K1] = keyWords(KEY);
const MESSAGE = Uint8Array.from({ length: 64 }, (_, i) => i);

test('HalfSipHash-2-4 matches the reference vectors', () => {
  assert.deepEqual([K0 >>> 0, K1 >>> 0], [0x03020100, 0x07060504]);
  for (let i = 0; i < 64; i++) assert.equal(halfSipHash(2, 4, K0, K1, MESSAGE, 0, i), HSIP_2_4[i], `length ${i}`);
});

test('HalfSipHash-1-3 (unrolled and generic) matches the hsiphash vectors', () => {
  const hash = keyedHash(KEY);
  for (let i = 0; i < 64; i++) {
    assert.equal(halfSipHash(1, 3, K0, K1, MESSAGE, 0, i), HSIP_1_3[i], `generic, length ${i}`);
    assert.equal(halfSipHash13(K0, K1, MESSAGE, 0, i), HSIP_1_3[i], `unrolled, length ${i}`);
    assert.equal(hash(MESSAGE, 0, i), HSIP_1_3[i], `keyedHash, length ${i}`);
  }
});

const seed = fuzzSeed();

test(`the unrolled 1-3 agrees with the generic one anywhere in a buffer, for any key (seed ${seed})`, () => {
  const random = seededRandom(seed);
  const buf = seededBytes(random, 600);
  for (let n = 0; n < 2000; n++) {
    const [k0, k1] = keyWords(seededBytes(random, 8));
    const start = n % 50;
    const end = start + (n % 300);
    assert.equal(halfSipHash13(k0, k1, buf, start, end), halfSipHash(1, 3, k0, k1, buf, start, end));
    // Bytes outside [start, end) are not read.
    const copy = Buffer.from(buf.subarray(start, end));
    assert.equal(halfSipHash13(k0, k1, copy, 0, copy.length), halfSipHash13(k0, k1, buf, start, end));
  }
});

test('different keys give unrelated outputs; a random key by default', () => {
  const keys = Array.from({ length: 200 }, (_, i) => Buffer.from(`key:${i}`));
  const a = keyedHash(Buffer.from('abcdefgh'));
  const b = keyedHash(Buffer.from('abcdefgi')); // one bit apart
  const c = keyedHash();
  const d = keyedHash();
  let sameAB = 0;
  let sameCD = 0;
  let bits = 0;
  for (const k of keys) {
    const x = a(k, 0, k.length);
    const y = b(k, 0, k.length);
    if (x === y) sameAB++;
    if (c(k, 0, k.length) === d(k, 0, k.length)) sameCD++;
    for (let z = (x ^ y) >>> 0; z !== 0; z &= z - 1) bits++;
  }
  assert.equal(sameAB, 0);
  assert.equal(sameCD, 0);
  // About half the output bits flip: 16 per key on average.
  const mean = bits / keys.length;
  assert.ok(mean > 14 && mean < 18, `${mean} bits differ on average`);
  assert.throws(() => keyedHash(new Uint8Array(16)), /8 bytes/);
});
