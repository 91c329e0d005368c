// Sustained mixed load, bounded for CI: 6 s of the `npm run soak` mix (ASCII, binary SASL
// and meta clients with checked replies, an evicting cache, reconnecting clients, the API
// polled, a credential made and seen by both nodes) with no error of any kind.
// npm test runs this file alone: 6 s of full load on two nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak } from './support/soak.ts';

test('6 s of mixed load on two nodes: no error', { timeout: 180_000 }, async () => {
  const r = await runSoak({ seconds: 6, reportEverySeconds: 3, minApiRequests: 11, log: (l) => console.log(l) });
  assert.deepEqual([...r.memcache.samples, ...r.api.samples], []);
  assert.equal(r.serverStderr, '');
  assert.equal(r.errors, 0);
  for (const [name, s] of Object.entries(r.memcache.byClient)) assert.ok(s.ops > 0, `${name} did some work`);
  assert.ok(r.api.requests > 10, `${r.api.requests} API requests`);
});
