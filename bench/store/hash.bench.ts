/**
 * `node --import tsx bench/store/hash.bench.ts [--ms=300]`
 *
 * ns per key hash of the arena index's hash functions: an unkeyed FNV-1a + fmix32,
 * the keyed HalfSipHash-1-3 the index uses (reading words byte by byte, as the index does),
 * and the same reading words through a DataView (made per call: keys arrive in many
 * different buffers). 1,024 distinct keys per length, each function timed in its own
 * compiled loop (one call site each, as in the index), in CPU time of this process
 * (steadier than wall time on a shared machine); the median of 5 runs.
 *
 * Then what it costs a store: ns per get (hit) and per set (replace) of an
 * ArenaStore over 100,000 14-byte keys, the unkeyed hash injected against the keyed
 * default, in alternating 100 ms slices within one process, so both see the same noise
 * from the rest of the machine; medians of 15 slices each.
 */
import { createArenaStore } from '../../src/store/arena/arena-engine.ts';
import { halfSipHash13, keyedHash, type KeyHash } from '../../src/store/arena/keyed-hash.ts';
import { fnvHash } from '../../src/store/testing/unkeyed-hash.ts';

const ms = Number(process.argv.find((a) => a.startsWith('--ms='))?.slice(5) ?? 300);

function halfSipHash13DataView(k0: number, k1: number, buf: Uint8Array, start: number, end: number): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = end - start;
  const whole = start + (len & ~3);
  let b = len << 24;
  for (let i = whole, j = 0; i < end; i++, j += 8) b |= buf[i]! << j;
  // Same compression as halfSipHash13 on the DataView's words; checked against it below.
  let v0 = k0 | 0;
  let v1 = k1 | 0;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  for (let i = start; i <= whole; i += 4) {
    const m = i < whole ? view.getInt32(i, true) : b;
    v3 ^= m;
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
    v0 ^= m;
  }
  v2 ^= 0xff;
  for (let r = 0; r < 3; r++) {
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
  }
  return (v1 ^ v3) >>> 0;
}

const KEY = Buffer.from('benchkey');
const K0 = KEY.readUInt32LE(0);
const K1 = KEY.readUInt32LE(4);
const variants: [string, KeyHash][] = [
  ['fnv1a+fmix32 (old, unkeyed)', fnvHash],
  ['halfsiphash-1-3 (keyed, index)', keyedHash(KEY)],
  ['halfsiphash-1-3 via DataView', (buf, start, end) => halfSipHash13DataView(K0, K1, buf, start, end)],
];

type Loop = (hash: KeyHash, keys: Buffer[], n: number) => number;
/** A freshly compiled loop per function, so each call site sees one callee. */
function compileLoop(): Loop {
  return new Function('hash', 'keys', 'n', `
    let sink = 0;
    for (let i = 0; i < n; i++) { const k = keys[i & 1023]; sink ^= hash(k, 0, k.length); }
    return sink;`) as Loop;
}

function nsPerHash(loop: Loop, hash: KeyHash, keys: Buffer[]): number {
  let n = 1024;
  for (;;) {
    const t0 = process.cpuUsage();
    loop(hash, keys, n);
    const d = process.cpuUsage(t0);
    const elapsed = (d.user + d.system) / 1000;
    if (elapsed >= ms) return (elapsed * 1e6) / n;
    n *= elapsed < ms / 8 ? 8 : 2;
  }
}

const LENGTHS = [10, 32, 64, 250];
// Keys sliced from one pool at odd offsets, as request keys are.
const pool = Buffer.alloc(1024 * 260);
const keysOf = (len: number): Buffer[] =>
  Array.from({ length: 1024 }, (_, i) => {
    const k = pool.subarray(i * 253 + (i % 3), i * 253 + (i % 3) + len);
    k.write(`key:${i}:`.padEnd(len, 'abcdefghijklmnopqrstuvwxyz').slice(0, len), 'latin1');
    return k;
  });

for (const len of LENGTHS) {
  for (const k of keysOf(len).slice(0, 64)) {
    if (halfSipHash13DataView(K0, K1, k, 0, k.length) !== halfSipHash13(K0, K1, k, 0, k.length)) throw new Error('DataView variant disagrees');
  }
}

console.log(`CPU ns per hash, median of 5 runs of ${ms} ms (node ${process.version})`);
console.log(['function'.padEnd(32), ...LENGTHS.map((l) => `${l} B`.padStart(8))].join(''));
const rows = variants.map(([name, hash]) => {
  const loop = compileLoop();
  return { name, hash, loop, runs: LENGTHS.map(() => [] as number[]) };
});
for (let run = 0; run < 5; run++) {
  LENGTHS.forEach((len, j) => {
    const keys = keysOf(len);
    for (const r of rows) r.runs[j]!.push(nsPerHash(r.loop, r.hash, keys));
  });
}
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
for (const r of rows) console.log([r.name.padEnd(32), ...r.runs.map((xs) => median(xs).toFixed(1).padStart(8))].join(''));

// ---- the same in a store ----
const NOW = 1_700_000_000;
const STORE_KEYS = 100_000;
const storeKeys = Array.from({ length: STORE_KEYS }, (_, i) => Buffer.from(`key:${String((i * 7919) % STORE_KEYS).padStart(10, '0')}`));
const value = Buffer.alloc(100, 0x76);
const stores = [
  { name: 'store, fnv1a+fmix32 (old)', store: createArenaStore({ limit: 1 << 30, maxItemSize: 1 << 20, hash: fnvHash }) },
  { name: 'store, halfsiphash-1-3', store: createArenaStore({ limit: 1 << 30, maxItemSize: 1 << 20 }) },
].map((x) => ({ ...x, get: [] as number[], set: [] as number[] }));
for (const { store } of stores) for (const k of storeKeys) store.store({ mode: 'set', key: k, value, flags: 0, exptime: 0 }, NOW);

/** CPU ns per op of `op` over the keys in order for one slice. */
function slice(op: (k: Buffer) => void): number {
  let n = 0;
  const t0 = process.cpuUsage();
  let d = process.cpuUsage(t0);
  while (d.user + d.system < 100_000) {
    for (let i = 0; i < 10_000; i++) op(storeKeys[(n + i) % STORE_KEYS]!);
    n += 10_000;
    d = process.cpuUsage(t0);
  }
  return ((d.user + d.system) * 1000) / n;
}
const getOps = stores.map(({ store }) => (k: Buffer) => {
  if (store.get(k, NOW) === null) throw new Error('miss');
});
const setOps = stores.map(({ store }) => (k: Buffer) => {
  store.store({ mode: 'set', key: k, value, flags: 0, exptime: 0 }, NOW);
});
for (let r = 0; r < 16; r++) {
  stores.forEach((x, j) => {
    const g = slice(getOps[j]!);
    const st = slice(setOps[j]!);
    if (r > 0) { // the first round warms up
      x.get.push(g);
      x.set.push(st);
    }
  });
}
console.log(`\nCPU ns per op, ${STORE_KEYS} keys of 14 B, 100-byte values, median of 15 interleaved 100 ms slices`);
console.log(`${'store'.padEnd(32)}${'get'.padStart(8)}${'set'.padStart(8)}`);
for (const x of stores) console.log(`${x.name.padEnd(32)}${median(x.get).toFixed(0).padStart(8)}${median(x.set).toFixed(0).padStart(8)}`);
