import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryTenantStore } from './tenant-store.ts';
import { casSource, runStoreContract } from './testing/store-contract.ts';

runStoreContract('MemoryTenantStore', (options) => new MemoryTenantStore(options));

// Beyond the contract: this store keeps values by reference and never writes in place.
test('MemoryTenantStore: a value handed out earlier is never changed by later writes', () => {
  const NOW = 1_700_000_000;
  const s = new MemoryTenantStore({ limit: 1 << 20, maxItemSize: 1 << 20, nextCas: casSource() });
  s.store('set', Buffer.from('a'), Buffer.from('base'), 0, 0, NOW);
  const seen = s.get(Buffer.from('a'), NOW);
  assert.ok(seen);
  s.store('append', Buffer.from('a'), Buffer.from('-tail'), 0, 0, NOW);
  s.store('prepend', Buffer.from('a'), Buffer.from('head-'), 0, 0, NOW);
  assert.equal(seen.value.toString(), 'base');
  assert.equal(s.get(Buffer.from('a'), NOW)?.value.toString(), 'head-base-tail');
});
