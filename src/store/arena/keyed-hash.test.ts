/**
 * HalfSipHash against published vectors: 2-4 from the reference implementation
 * (github.com/veorq/SipHash, vectors.h, vectors_hsip32) and 1-3, what the index uses,
 * from Linux's hsiphash self-test (lib/siphash_kunit.c, the 32-bit HalfSipHash branch).
 * Both: key bytes 00..07, message i = bytes 00..i-1, output as a little-endian word.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzSeed } from '../../../test/fuzz/fuzz-seed.ts';
import { seededBytes, seededRandom } from '../../../test/support/random.ts';
import { halfSipHash, halfSipHash13, keyedHash, keyWords } from './keyed-hash.ts';

const HSIP_2_4 = [
  0x5b9f35a9, 0xb85a4727, 0x03a662fa, 0x04e7fe8a, 0x89466e2a, 0x69b6fac5, 0x23fc6358, 0xc563cf8b,
  0x8f84b8d0, 0x79e706f8, 0x3479b094, 0x50300808, 0x2f87f057, 0xff63e677, 0x7cf8ffd6, 0x972bfe74,
  0x84acb5d9, 0x5b6474c4, 0x9b8d5b46, 0x87e3ef7b, 0x45104de3, 0xb3623f61, 0xfe67f370, 0xbdb8ade6,
  0x630c4027, 0x75787826, 0x5f7b564f, 0x69e6b03a, 0x004064b0, 0xb40f67ff, 0x8b339e50, 0x1a9f585d,
  0x1221e7fe, 0x59327533, 0x8c4f436a, 0x29b728fe, 0xecc65ce7, 0x548d7e69, 0x0f8b6863, 0xb4620b65,
  0x4018bcb6, 0x0545075d, 0x2efd4224, 0x3a86b77b, 0x48d50577, 0xb10852d7, 0xc899d4b6, 0x2e209208,
  0xe32ce169, 0xe580b58d, 0xc6649736, 0x04026e01, 0xd4f3853b, 0xbe66dbfe, 0x3a2a691e, 0xc08489c6,
  0x40b9c5a5, 0x8ce8e99b, 0x4081bc7d, 0xc58e077c, 0x736ce7d4, 0xb9cb8f42, 0x7a9983bd, 0x744aea59,
];

const HSIP_1_3 = [
  0x5814c896, 0xe7e864ca, 0xbc4b0e30, 0x01539939, 0x7e059ea6, 0x88e3d89b, 0xa0080b65, 0x9d38d9d6,
  0x577999b1, 0xc839caed, 0xe4fa32cf, 0x959246ee, 0x6b28096c, 0x66dd9cd6, 0x16658a7c, 0xd0257b04,
  0x8b31d501, 0x2b1cd04b, 0x06712339, 0x522aca67, 0x911bb605, 0x90a65f0e, 0xf826ef7b, 0x62512deb,
  0x57150ad7, 0x5d473507, 0x1ec47442, 0xab64afd3, 0x0a4100d0, 0x6d2ce652, 0x2331b6a3, 0x08d8791a,
  0xbc6dda8d, 0xe0f6c934, 0xb0652033, 0x9b9851cc, 0x7c46fb7f, 0x732ba8cb, 0xf142997a, 0xfcc9aa1b,
  0x05327eb2, 0xe110131c, 0xf9e5e7c0, 0xa7d708a6, 0x11795ab1, 0x65671619, 0x9f5fff91, 0xd89c5267,
  0x007783eb, 0x95766243, 0xab639262, 0x9c7e1390, 0xc368dda6, 0x38ddc455, 0xfa13d379, 0x979ea4e8,
  0x53ecd77e, 0x2ee80657, 0x33dbb66a, 0xae3f0577, 0x88b4c4cc, 0x3e7f480b, 0x74c1ebf8, 0x87178304,
];

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
