import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tuneV8ForServing } from './v8-tuning.ts';

test('the inlining budget is set, unless node was started with its own', () => {
  assert.equal(tuneV8ForServing(['--max-inlined-bytecode-size-cumulative=500']), false);
  assert.equal(tuneV8ForServing(['--max_inlined_bytecode_size_cumulative=500']), false);
  assert.equal(tuneV8ForServing(['--max-old-space-size=512']), true);
});
