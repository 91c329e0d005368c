// Bounded fuzzing of a live node over sockets (see live-fuzz.ts): random, mutated and
// valid pipelined frames split at random points on many connections at once; after each
// batch well-formed clients must be served and nothing may have crashed. `npm run fuzz`
// runs it for minutes; FUZZ_SEED=<n> replays a failing run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { plain, readResponses, req } from '../../src/protocol/binary/testing/frames.ts';
import { startTestNode, type TestCache, type TestNode } from '../support/test-node.ts';
import { PROMPTLY_MS } from '../support/wait.ts';
import { fuzzSeed } from '../../src/shared/testing/seeded-random.ts';
import { assertServes, runLiveFuzz, watchCrashes, type CrashWatch } from './live-fuzz.ts';

const seed = fuzzSeed();
let t: TestNode;
let cache: TestCache;
let quiet: TestCache;
let crashes: CrashWatch;
before(async () => {
  crashes = watchCrashes();
  t = await startTestNode({ logger: crashes.logger });
  cache = await t.createCache();
  quiet = await t.createCache();
});
after(async () => {
  await t.close();
  crashes.dispose();
});

test(`random, mutated and split frames on many connections never crash or hang the node (seed ${seed})`, async (ctx) => {
  const report = await runLiveFuzz(t, cache, quiet, { seed, batches: 40 }, () => crashes.check());
  ctx.diagnostic(`${report.connections} connections, frames ${JSON.stringify(report.frames)}, ${report.sentinels} valid streams answered in full`);
  assert.ok(report.sentinels > 0);
  crashes.check();
});

test('connections stopped halfway through a frame do not block anyone else, and are answered once the frame is whole', async () => {
  const login = (binary: boolean): Buffer => (binary
    ? req.saslAuth('PLAIN', plain(cache.username, cache.password))
    : Buffer.from(`set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\n`));
  const text = (reply: RegExp) => (b: Buffer) => reply.test(b.toString('latin1'));
  const binary = (statuses: number[]) => (b: Buffer) => {
    const rs = readResponses(b).responses;
    return rs.length === statuses.length && rs.every((r, i) => r.status === statuses[i]);
  };
  const withRest = (frame: Buffer, cut: number, prefix: Buffer = Buffer.alloc(0)): readonly [Buffer, Buffer] => [Buffer.concat([prefix, frame.subarray(0, cut)]), frame.subarray(cut)];
  const bigValue = Buffer.concat([Buffer.from('ms k 1048000 T0\r\n'), Buffer.alloc(1048000, 120), Buffer.from('\r\n')]);
  // [what is sent now, the rest of the frame sent later, the whole reply then expected]
  const partial: [Buffer, Buffer, (b: Buffer) => boolean][] = [
    [...withRest(Buffer.from('get something\r\n'), 8), text(/^CLIENT_ERROR [^\r]*\r\n$/)], // a line without its end (no login)
    [...withRest(Buffer.from(`set k 0 0 100\r\n${'p'.repeat(100)}\r\n`), 31, login(false)), text(/^STORED\r\nSTORED\r\n$/)], // a data block cut short
    [...withRest(bigValue, 17 + 65536, login(false)), text(/^STORED\r\nHD\r\n$/)], // a big value on its way
    [...withRest(Buffer.concat([Buffer.alloc(60000, 97), Buffer.from('\r\n')]), 60000, login(false)), text(/^STORED\r\nERROR\r\n$/)], // a line near the length limit
    [...withRest(req.get('key'), 13, login(true)), binary([0, 1])], // half a binary header
    [...withRest(req.set('k', Buffer.alloc(1000)), 500, login(true)), binary([0, 0])], // a binary body cut short
    [...withRest(req.noop(), 1), (b) => readResponses(b).responses.length === 1], // one byte
  ];
  const held = await Promise.all(partial.map(async ([now]) => {
    const c = await t.connect();
    c.send(now);
    return c;
  }));
  await assertServes(t, cache, quiet, 'stalled', PROMPTLY_MS);
  // Each half-sent request was waited for, not refused: its rest completes it.
  for (const [i, c] of held.entries()) {
    const [, rest, whole] = partial[i]!;
    c.send(rest);
    const got = await c.readUntil((b) => whole(b), PROMPTLY_MS);
    assert.ok(whole(got), `stalled connection ${i}: ${got.toString('latin1').slice(0, 200)}`);
    c.end();
  }
  crashes.check();
});
