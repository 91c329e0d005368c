// Tenant isolation and capabilities, model-checked: a seeded random walk of commands from
// three caches and four credentials each, over ASCII, meta and binary connections to one
// node, every answer compared with a simple model (see fuzz/isolation-model.ts).
// FUZZ_SEED=<n> replays a run; `npm run fuzz` runs a longer walk.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { fuzzSeed } from '../src/shared/testing/seeded-random.ts';
import { runIsolationModel } from './fuzz/isolation-model.ts';

const seed = fuzzSeed();
let t: TestNode;
before(async () => {
  t = await startTestNode();
});
after(() => t.close());

test(`no cache observes another's keys, values, stats or flushes, and every capability is enforced (seed ${seed})`, async (ctx) => {
  const report = await runIsolationModel(t, { seed, ops: 30_000, statsEvery: 250 });
  ctx.diagnostic(`${report.ops} operations (${JSON.stringify(report.byWire)}), ${report.refused} refused as the model expected, ${report.statsChecks} stats comparisons`);
  assert.ok(report.refused > 0);
  for (const action of ['set', 'get', 'delete', 'incr', 'append', 'flush', 'touch', 'stats']) assert.ok(report.byAction[action]! > 0, action);
});
