// One cache over two nodes. The client shards keys itself (ketama consistent
// hashing, the memcached convention); each node must hold some of them and the
// per-node curr_items must add up to what was stored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PYTHON, clientScript, runJsonClient, show } from '../support/clients.ts';
import { openTarget, serverLog, type Target } from '../support/target.ts';

const KEYS = 200;

let target: Target;
before(async () => {
  // Create the cache once both nodes are up, so the catalog knows them for it.
  target = await openTarget({ nodes: 2, createAfterStart: true });
});
after(async () => {
  await target?.stop();
});

test('cache create lists both nodes of the running cluster as the cache servers', (t) => {
  if (target.kind !== 'cachier') return t.skip('cachier only');
  assert.deepEqual(
    [...target.cache!.servers].sort(),
    [...target.cluster!.servers].sort(),
    `cache create JSON: ${show(target.cache!.raw)}`,
  );
});

test(`pylibmc with ketama spreads ${KEYS} keys over both nodes`, { timeout: 90_000 }, async () => {
  const { result, stderr } = await runJsonClient<{
    stored: number;
    found: number;
    mismatched: number;
    errors: string[];
    stats: Record<string, Record<string, number | string>>;
  }>(PYTHON, [clientScript('pylibmc_hashing.py'), target.servers.join(','), target.username, target.password, String(KEYS)]);
  const context = `observed:\n${show(result)}\nstderr:\n${stderr}${serverLog(target)}`;

  assert.deepEqual(
    { stored: result.stored, found: result.found, mismatched: result.mismatched, errors: result.errors },
    { stored: KEYS, found: KEYS, mismatched: 0, errors: [] },
    context,
  );
  assert.deepEqual(Object.keys(result.stats).sort(), [...target.servers].sort(), `stats from every node\n${context}`);
  const perNode = target.servers.map((s) => Number(result.stats[s]?.curr_items));
  for (const [i, n] of perNode.entries()) {
    assert.ok(n > 0, `node ${target.servers[i]} holds no items (${perNode.join(' + ')})\n${context}`);
  }
  assert.equal(perNode.reduce((a, b) => a + b, 0), KEYS, `curr_items ${perNode.join(' + ')} != ${KEYS}\n${context}`);
  if (target.kind === 'cachier') {
    const limits = target.servers.map((s) => Number(result.stats[s]?.limit_maxbytes));
    assert.equal(limits.reduce((a, b) => a + b, 0), 64 * 1024 * 1024, `limit_maxbytes over the nodes sums to the plan\n${context}`);
  }
});
