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
