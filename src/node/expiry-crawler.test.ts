// The expiry crawler's budget: a run visits at most maxSlots slots, in turns round-robin
// over the caches, going on where the last run stopped, until every dead item is reaped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createArenaStore } from '../store/arena/arena-engine.ts';
import type { TenantStore } from '../store/tenant-store.ts';
import { ExpiryCrawler } from './expiry-crawler.ts';
import type { Tenant } from './tenants.ts';

const NOW = 1_700_000_000;

function cacheWith(id: number, dying: number, living: number): { id: number; store: TenantStore } {
  const store = createArenaStore({ limit: 64 << 20, maxItemSize: 1 << 20 });
  for (let i = 0; i < dying + living; i++) {
    store.store({ mode: 'set', key: Buffer.from(`k${i}`), value: Buffer.from('v'), flags: 0, exptime: i < dying ? 5 : 0 }, NOW);
  }
  return { id, store };
}

const fakeTenants = (caches: { id: number; store: TenantStore }[]) => ({
  all: () => (caches as unknown as Tenant[])[Symbol.iterator]() as IterableIterator<Tenant>,
});

test('a run stays within its slot budget, shares it round-robin, and goes on where it stopped', () => {
  // Listed out of id order: the crawler takes them by id.
  const caches = [cacheWith(3, 5000, 1000), cacheWith(1, 5000, 1000), cacheWith(2, 10, 2)];
  const crawler = new ExpiryCrawler(fakeTenants(caches), { maxSlots: 4096, turnSlots: 1024, maxMs: 1000 });
  const items = () => caches.map((c) => c.store.items);
  assert.equal(crawler.run((NOW + 4) * 1000), 4096, 'nothing dead yet: the whole budget visited');
  assert.deepEqual(items(), [6000, 6000, 12]);
  const dead = (NOW + 5) * 1000;
  let runs = 0;
  const before = caches.map((c) => c.store.counters.expired);
  while (items().join() !== '1000,1000,2' && runs < 20) {
    const visited = crawler.run(dead);
    assert.ok(visited <= 4096, `${visited} slots in one run`);
    runs++;
  }
  assert.deepEqual(items(), [1000, 1000, 2]);
  assert.deepEqual(caches.map((c, i) => c.store.counters.expired - before[i]!), [5000, 5000, 10]);
  // 12,012 slots at 4,096 a run (a cache's pass ends a run's turns for it): 3 to 5 runs.
  assert.ok(runs >= 3 && runs <= 5, `${runs} runs`);
  for (const c of caches) c.store.verify();
});

test('the time budget ends a run after the turn that used it up', () => {
  const caches = [cacheWith(1, 3000, 0), cacheWith(2, 3000, 0)];
  const crawler = new ExpiryCrawler(fakeTenants(caches), { maxSlots: 65_536, turnSlots: 1000, maxMs: 0 });
  assert.equal(crawler.run((NOW + 5) * 1000), 1000, 'one turn');
  assert.deepEqual(caches.map((c) => c.store.items), [2000, 3000]);
  assert.equal(crawler.run((NOW + 5) * 1000), 1000, 'the next cache\'s turn');
  assert.deepEqual(caches.map((c) => c.store.items), [2000, 2000]);
  assert.equal(crawler.run((NOW + 5) * 1000), 1000);
  assert.deepEqual(caches.map((c) => c.store.items), [1000, 2000]);
});

test('no caches: nothing to do', () => {
  assert.equal(new ExpiryCrawler(fakeTenants([])).run(Date.now()), 0);
});
