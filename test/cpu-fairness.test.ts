// CPU one tenant can take from all: requests that cost far more than their bytes (an
// append of nothing to a 1 MiB value copies 1 MiB; incr on a long value scans it) must
// not hold the node's one event loop. A connection's batch yields to others after a slice
// of CPU time, so another tenant's requests are served in between. No timing is asserted:
// the test checks the interleaving (the victim's gets finish while the attack is still
// far from done), which a node that ran each batch to its end could not show.
// npm test runs this file alone: it judges how a loaded node interleaves two tenants, and a neighbour taking the other core changes the interleaving it sees.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { asciiLogin, nonReadingSocket, startNodeProcess, writeAll, type NodeProcess } from './support/node-process.ts';
import { RawClient } from './support/raw-client.ts';

// One node process for both tests: the first floods its first cache, the second uses only
// keys of its own in the second cache.
let n: NodeProcess;
before(async () => {
  n = await startNodeProcess({ caches: 2, memory: '64mb' });
});
after(() => n?.stop());

async function stat(c: RawClient, name: string): Promise<number> {
  return Number(new RegExp(`STAT ${name} (\\d+)\r\n`).exec(await c.text('stats\r\n', 'END\r\n'))![1]);
}

test('pipelined appends to a 1 MiB value in one cache do not hold up another cache\'s gets', { timeout: 120_000 }, async () => {
  const [attackerCache, victimCache] = n.caches as [typeof n.caches[0], typeof n.caches[0]];
  const attacker = await RawClient.connect(n.port);
  assert.equal(await attacker.text(asciiLogin(attackerCache)), 'STORED\r\n');
  const big = 'x'.repeat(1_000_000);
  assert.equal(await attacker.text(`set big 0 0 ${big.length}\r\n${big}\r\n`), 'STORED\r\n');
  const watcher = await RawClient.connect(n.port);
  assert.equal(await watcher.text(asciiLogin(attackerCache)), 'STORED\r\n');
  const victim = await RawClient.connect(n.port);
  assert.equal(await victim.text(asciiLogin(victimCache)), 'STORED\r\n');
  assert.equal(await victim.text('set k 0 0 1\r\nv\r\n'), 'STORED\r\n');
  const sets0 = await stat(watcher, 'cmd_set');

  // 4,000 appends of nothing: 96 KB sent, 4 GB copied by a node that ran them back to back.
  const APPENDS = 4000;
  const flood = await nonReadingSocket(n.port);
  flood.resume(); // it reads (and drops) its replies: only CPU is at stake here
  await writeAll(flood, asciiLogin(attackerCache) + 'append big 0 0 0 noreply\r\n\r\n'.repeat(APPENDS));
  for (let i = 0; i < 20; i++) assert.equal(await victim.text('get k\r\n', 'END\r\n'), 'VALUE k 0 1\r\nv\r\nEND\r\n');
  const done = (await stat(watcher, 'cmd_set')) - sets0;
  assert.ok(done < APPENDS, `the victim's 20 gets were answered only after all ${done} appends ran`);
  flood.destroy();
});

test('incr on a long value is refused as non-numeric without scanning it; a short padded counter still counts', async () => {
  const c = await RawClient.connect(n.port);
  assert.equal(await c.text(asciiLogin(n.caches[1]!)), 'STORED\r\n');
  const spaces = ' '.repeat(1_000_000);
  assert.equal(await c.text(`set long 0 0 ${spaces.length}\r\n${spaces}\r\n`), 'STORED\r\n');
  assert.equal(await c.text('incr long 1\r\n'), 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
  const padded = `5${' '.repeat(20)}`;
  assert.equal(await c.text(`set padded 0 0 ${padded.length}\r\n${padded}\r\n`), 'STORED\r\n');
  assert.equal(await c.text('incr padded 2\r\n'), '7\r\n');
});
