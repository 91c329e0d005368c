import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMapStore } from './map-engine.ts';
import { casSource } from './store-contract.ts';

// Beyond the contract: this engine copies values in and never writes in place.
test('Map engine: a value handed out earlier is never changed by later writes', () => {
  const NOW = 1_700_000_000;
  const s = createMapStore({ limit: 1 << 20, maxItemSize: 1 << 20, nextCas: casSource() });
  const a = Buffer.from('a');
  s.store({ mode: 'set', key: a, value: Buffer.from('base'), flags: 0, exptime: 0 }, NOW);
  const seen = s.get(a, NOW);
  assert.ok(seen);
  s.store({ mode: 'append', key: a, value: Buffer.from('-tail'), flags: 0, exptime: 0 }, NOW);
  s.store({ mode: 'prepend', key: a, value: Buffer.from('head-'), flags: 0, exptime: 0 }, NOW);
  assert.equal(seen.value.toString(), 'base');
  assert.equal(s.get(a, NOW)?.value.toString(), 'head-base-tail');
});
