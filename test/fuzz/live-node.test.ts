// Bounded fuzzing of a live node over sockets (see live-fuzz.ts): random, mutated and
// valid pipelined frames split at random points on many connections at once; after each
// batch well-formed clients must be served and nothing may have crashed. `npm run fuzz`
// runs it for minutes; FUZZ_SEED=<n> replays a failing run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { plain, req } from '../../src/protocol/binary/testing/frames.ts';
import { startTestNode, type TestCache, type TestNode } from '../support/test-node.ts';
import { fuzzSeed } from './fuzz-seed.ts';
import { assertServes, runLiveFuzz, watchCrashes, type CrashWatch } from './live-fuzz.ts';

let t: TestNode;
let cache: TestCache;
let quiet: TestCache;
let crashes: CrashWatch;
before(async () => {
  crashes = watchCrashes();
  t = await startTestNode();
  cache = await t.createCache();
  quiet = await t.createCache();
});
after(async () => {
  await t.close();
  crashes.dispose();
});

test('random, mutated and split frames on many connections never crash or hang the node', async (ctx) => {
  const seed = fuzzSeed();
  ctx.diagnostic(`seed ${seed}`);
  const report = await runLiveFuzz(t, cache, quiet, { seed, batches: 40 }, () => crashes.check());
  ctx.diagnostic(`${report.connections} connections, frames ${JSON.stringify(report.frames)}, ${report.sentinels} valid streams answered in full`);
  assert.ok(report.sentinels > 0);
  crashes.check();
});

test('connections stopped halfway through a frame do not block anyone else', async () => {
  const login = (binary: boolean): Buffer => (binary
    ? req.saslAuth('PLAIN', plain(cache.username, cache.password))
    : Buffer.from(`set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\n`));
  const partial: Buffer[] = [
    Buffer.from('get some'), // a line without its end
    Buffer.concat([login(false), Buffer.from('set k 0 0 100\r\nonly part of the')]), // a data block cut short
    Buffer.concat([login(false), Buffer.from('ms k 1048000 T0\r\n'), Buffer.alloc(65536, 120)]), // a big value on its way
    Buffer.concat([login(false), Buffer.alloc(60000, 97)]), // a line near the length limit
    Buffer.concat([login(true), req.get('key').subarray(0, 13)]), // half a binary header
    Buffer.concat([login(true), req.set('k', Buffer.alloc(1000)).subarray(0, 500)]), // a binary body cut short
    Buffer.from([0x80]), // one byte
  ];
  const held = await Promise.all(partial.map(async (bytes) => {
    const c = await t.connect();
    c.send(bytes);
    return c;
  }));
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  await assertServes(t, cache, quiet, 'stalled', 1000);
  assert.ok(Date.now() - started < 1000);
  for (const c of held) assert.equal(c.closed, false, 'a half-sent request is waited for, not refused');
  for (const c of held) c.end();
  crashes.check();
});
