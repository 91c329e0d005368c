// Bounded property-based and mutation fuzzing of the ASCII, meta and binary request
// parsers and the reply encoders (see parser-fuzz.ts). `npm run fuzz` runs the same
// properties for millions of frames; FUZZ_SEED=<n> replays a failing run.
import { test } from 'node:test';
import fc from 'fast-check';
import { encoderProperty } from './encoder-fuzz.ts';
import { emptyCounts, PROPERTIES, PROTOCOLS, type PropertyName } from './parser-fuzz.ts';
import { fuzzSeed } from './fuzz-seed.ts';

const seed = fuzzSeed();
const RUNS: Record<PropertyName, number> = { valid: 3000, mutated: 4000, random: 6000 };
const counts = emptyCounts();

for (const name of Object.keys(RUNS) as PropertyName[]) {
  for (const p of PROTOCOLS) {
    test(`${name} ${p} frames: parser contract holds, split anywhere (seed ${seed})`, () => {
      fc.assert(PROPERTIES[name](p, counts), { numRuns: RUNS[name], seed });
    });
  }
}

for (const p of PROTOCOLS) {
  test(`${p} reply encoders never throw and frame every random reply (seed ${seed})`, () => {
    fc.assert(encoderProperty(p, { replies: 0 }), { numRuns: 4000, seed });
  });
}

test('fuzzed frames per protocol', (t) => {
  for (const p of PROTOCOLS) t.diagnostic(`${p}: ${counts[p].frames} frames, ${counts[p].parses} parse calls`);
});
