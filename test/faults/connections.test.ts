// Connection scale, bounded for CI: one cache node holds 1,000 idle logged-in connections
// (a holder process with a raised ulimit) while a loaded client (4 connections, 8 requests
// in flight each, every reply checked) runs for 3 s; every idle connection still answers
// afterwards and the node's memory per connection stays small. Twice, so memory that keeps
// growing from one round to the next would show. The long run is
// `npm run connections -- --connections 10000 --seconds 60` (RELIABILITY.md).
// npm test runs this file alone: 1,000 idle connections and the node's RSS per connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runConnections } from './support/connections.ts';

/** Node RSS growth per idle logged-in connection we accept (measured: 6-12 KiB). */
const MAX_BYTES_PER_CONNECTION = 48 * 1024;

test('1,000 idle connections plus a loaded client, twice: no error, all still answer, memory bounded', { timeout: 300_000 }, async () => {
  const r = await runConnections({ connections: 1000, seconds: 3, cycles: 2, baselineSeconds: 1, minOps: 2000, log: (l) => console.log(l) });
  assert.equal(r.nodeExitedEarly, false);
  assert.equal(r.baseline.errors, 0);
  for (const [i, c] of r.cycles.entries()) {
    assert.equal(c.opened, 1000, c.openErrors.join('; '));
    assert.equal(c.currConnections, 1000 + 4 + 1, 'the cache counts every connection');
    assert.deepEqual(c.load.samples, []);
    assert.equal(c.load.errors, 0);
    assert.ok(c.load.ops > 1000, `${c.load.ops} operations`);
    assert.deepEqual({ ok: c.idleAfterLoad.ok, bad: c.idleAfterLoad.bad, closedByServer: c.idleAfterLoad.closedByServer }, { ok: 1000, bad: 0, closedByServer: 0 });
    assert.ok(c.perConnectionBytes < MAX_BYTES_PER_CONNECTION, `cycle ${i + 1}: ${Math.round(c.perConnectionBytes)} bytes per connection`);
  }
  // The second round reuses what the first one took: the node grew by less than one round's worth.
  const [one, two] = r.cycles as [typeof r.cycles[0], typeof r.cycles[0]];
  assert.ok(two.rssDuringLoadMax - one.rssDuringLoadMax < 1000 * MAX_BYTES_PER_CONNECTION,
    `RSS max ${one.rssDuringLoadMax} then ${two.rssDuringLoadMax}`);
  assert.equal(r.errors, 0);
});
