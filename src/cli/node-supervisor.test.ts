import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoff, BACKOFF_MAX_MS } from './node-supervisor.ts';

test('restart delay: none for a first death, then 0.5 s doubling per death in a row, capped at 30 s', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(backoff), [0, 500, 1000, 2000, 4000, 8000, 16000]);
  assert.equal(backoff(8), BACKOFF_MAX_MS);
  assert.equal(backoff(1000), BACKOFF_MAX_MS);
  assert.equal(backoff(0), 0);
});
