import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fuzzSeed } from '../shared/testing/seeded-random.ts';
import { ReplyBuffer } from './reply-buffer.ts';

const seed = fuzzSeed();

test(`decimal writes what String() writes, for every non-negative safe integer (seed ${seed})`, () => {
  const edges = [0, 1, 9, 10, 11, 99, 100, 999_999, 2 ** 32 - 1, 2 ** 32, 1e15 - 1, 1e15, 1e15 + 1, 2 ** 53 - 1];
  for (const v of edges) assert.equal(new ReplyBuffer().decimal(v).take().toString('latin1'), String(v));
  fc.assert(
    fc.property(fc.array(fc.maxSafeNat(), { maxLength: 20 }), (vs) => {
      const out = new ReplyBuffer(4); // small: the digits must also survive a grow
      for (const v of vs) out.decimal(v).uint8(44);
      assert.equal(out.take().toString('latin1'), vs.map((v) => `${v},`).join(''));
    }),
    { numRuns: 2000, seed },
  );
});

test('a view taken stays intact while more is written and the buffer grows', () => {
  const out = new ReplyBuffer(8);
  out.ascii('first');
  const a = out.take();
  out.ascii('x'.repeat(100)).decimal(12345);
  assert.equal(a.toString('latin1'), 'first');
  assert.equal(out.take().toString('latin1'), 'x'.repeat(100) + '12345');
});
