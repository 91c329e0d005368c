/**
 * Review (hostile) test of the sample batch added in aef439e (cache-introspection.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheIntrospection } from './cache-introspection.ts';

// Defect (open, latent): SampleBatch.lengths is a Uint8Array, so a key of 256-2048 bytes
// is staged with its length mod 256 while its bytes advance keyBytes by the full length;
// count() then reads every later key of the batch at the wrong offset and counts byte
// runs that were never keys. Keys are ≤ 250 bytes only because DEFAULT_LIMITS says so:
// NodeLimits.maxKeyLength is an option of createCacheNode, and the comment in sample()
// ("keys are ≤ 255 bytes") is the only guard. A Uint16Array (or a check) costs nothing.
test('review: a 300-byte key and the keys after it are counted as themselves', () => {
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
