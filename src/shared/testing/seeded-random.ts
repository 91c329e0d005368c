/**
 * Randomness in tests is seeded, so a failure can be replayed: seeds come from fuzzSeed()
 * (FUZZ_SEED=<n> replays, a fresh one otherwise) and each test names its seed where a
 * failure prints it (its title, or the failure message).
 */

/**
 * The seed of a fuzz run: FUZZ_SEED when set (to replay a failure), else a fresh random
 * one, so every CI run explores new inputs. Failures always print the seed.
 */
export function fuzzSeed(): number {
  const env = process.env.FUZZ_SEED;
  if (env !== undefined && env !== '' && env !== 'random') {
    const n = Number(env);
    if (!Number.isInteger(n)) throw new Error(`FUZZ_SEED must be an integer, got ${env}`);
    return n | 0;
  }
  return (Math.random() * 0x7fffffff) | 0;
}

/** mulberry32: small, fast, seedable; numbers in [0, 1) like Math.random. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` bytes from `random`. */
export function seededBytes(random: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(random() * 256);
  return b;
}
