import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IntrospectionRegistry } from './registry.ts';
import { CacheIntrospection } from './cache-introspection.ts';

test('sampled events wait in a batch, and every reader sees them counted', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: 64 << 20 });
  t.after(() => r.close());
  const c = r.create()!;
  const now = Date.now();
  c.hit(Buffer.from('user:1'));
  c.hit(Buffer.from('user:1'));
  c.miss(Buffer.from('ghost'));
  assert.deepEqual(c.keyCounts(Buffer.from('user:1'), now), { hits: 2, misses: 0, mutations: 0 });
  c.stored(Buffer.from('user:2'));
  // 250-byte keys fill a batch's key bytes long before its count: each is counted all the same.
  for (let i = 0; i < 40; i++) c.hit(Buffer.alloc(250, 0x61 + (i % 3)));
  const p = c.popular(10, Date.now());
  assert.deepEqual(p.mutated, [{ key: 'user:2', count: 1 }]);
  assert.deepEqual(p.miss, [{ key: 'ghost', count: 1 }]);
  assert.deepEqual(p.hit.map((e) => [e.key.length, e.count]), [[250, 14], [250, 13], [250, 13], [6, 2]]);
  assert.deepEqual(p.prefixes, [{ key: 'user', count: 3 }]);
});

// A key longer than 255 bytes (a node may be configured for them) keeps its length in the
// batch, and the keys after it are read where they are.
test('a 300-byte key and the keys after it are counted as themselves', () => {
  const budget = { charge: () => true, refund: () => {} };
  const ci = new CacheIntrospection(budget);
  const long = Buffer.alloc(300, 0x61); // 'aaa…'
  const short = Buffer.from('user:42');
  ci.hit(long);
  ci.hit(short);
  ci.hit(short);
  const hits = ci.popular(10, Date.now()).hit;
  assert.deepEqual(
    hits.map((e) => [e.key.length > 20 ? `${e.key.length} bytes` : e.key, e.count]).sort(),
    [['300 bytes', 1], ['user:42', 2]].sort(),
  );
});
