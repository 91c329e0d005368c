// A node that runs out of file descriptors (its `ulimit -n` is 64) must neither spin nor
// stop serving: connections beyond what it can accept wait in the listen backlog, those it
// holds keep working, and once some close the waiting ones are accepted and served.
// npm test runs this file alone: it runs a node out of file descriptors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { openFds, runCli, spawnCli } from '../support/child-process.ts';
import { makeDataDir } from '../support/cluster.ts';
import { freePort } from '../support/ports.ts';
import { RawClient } from '../support/raw-client.ts';
import { PROMPTLY_MS, sleep, until } from '../support/wait.ts';

const cpuTicks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
};

test('out of file descriptors: no busy loop, held connections answer, waiting ones are served once fds free', { timeout: 120_000 }, async (t) => {
  const dataDir = makeDataDir();
  const created = JSON.parse((await runCli(['cache', 'create', '--data', dataDir, '--json'])).stdout) as { id: number };
  const port = await freePort();
  const node = await spawnCli(['node', '--data', dataDir, '--host', '127.0.0.1', '--port', String(port), '--anonymous-cache', String(created.id)],
    'cachier node ready', { nofileOnceReady: 64 });
  t.after(() => node.stop());

  const clients: RawClient[] = [];
  for (let i = 0; i < 100; i++) clients.push(await RawClient.connect(port));
  const answered = clients.map(() => false);
  const replies = clients.map((c, i) =>
    c.readUntil((b) => b.toString('latin1').endsWith('\r\n'), 100_000).then((b) => {
      answered[i] = true;
      return b.toString('latin1');
    }, (e: Error) => e.message));
  for (const c of clients) c.send('version\r\n');
  // The node answers what it could accept; the rest wait in the backlog, as it has no fd for them.
  await until('the accepted connections answered', Date.now() + PROMPTLY_MS, async () => answered.some(Boolean) || undefined);
  const before = cpuTicks(node.pid);
  await sleep(1000); // a window to measure CPU over, not a wait for anything
  const ticks = cpuTicks(node.pid) - before;
  assert.ok(ticks < 50, `node used ${ticks} ticks of CPU in 1 s while out of fds: it is spinning`);

  const served = answered.flatMap((a, i) => (a ? [i] : []));
  assert.ok(served.length < 100, `${served.length} of 100 served while out of fds`);
  // Closing the served ones frees descriptors for the waiting ones, round after round,
  // until every client has been accepted and answered.
  const closed = new Set<number>();
  const all = Promise.all(replies);
  let done = false;
  void all.then(() => (done = true), () => (done = true)); // a failed reply ends the loop too; `await all` reports it
  const deadline = Date.now() + 60_000;
  while (!done && Date.now() < deadline) {
    answered.forEach((a, i) => {
      if (a && !closed.has(i)) {
        closed.add(i);
        clients[i]!.end();
      }
    });
    await sleep(50);
  }
  assert.deepEqual(new Set(await all), new Set(['VERSION 1.6.21-cachier\r\n']));
  assert.equal(node.child.exitCode, null);
});

test('descriptors taken and given back through another port (the admin port) let the memcache port accept again', { timeout: 120_000 }, async (t) => {
  const dataDir = makeDataDir();
  const created = JSON.parse((await runCli(['cache', 'create', '--data', dataDir, '--json'])).stdout) as { id: number };
  const [port, adminPort] = [await freePort(), await freePort()];
  const node = await spawnCli(['node', '--data', dataDir, '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort),
    '--anonymous-cache', String(created.id)], 'cachier node ready', { nofileOnceReady: 64 });
  t.after(() => node.stop());
  const held = await RawClient.connect(port);
  assert.equal(await held.text('version\r\n'), 'VERSION 1.6.21-cachier\r\n');

  // Idle connections to the admin port (no secret needed to connect) use up the process's descriptors.
  const flood: Socket[] = [];
  for (let i = 0; i < 80; i++) {
    flood.push(await new Promise<Socket>((resolve) => {
      const s = connect({ port: adminPort, host: '127.0.0.1' }, () => resolve(s));
      s.on('error', () => resolve(s));
    }));
  }
  await until('the node is out of descriptors', Date.now() + PROMPTLY_MS, async () => (openFds(node.pid) >= 60 ? true : undefined));
  // A new memcache client now waits in the backlog: the node cannot accept it.
  const waiting = await RawClient.connect(port);
  waiting.send('version\r\n');
  // The flood goes; none of the memcache port's own connections closed.
  for (const s of flood) s.destroy();
  assert.equal(await waiting.readUntil((b) => b.toString('latin1').endsWith('\r\n'), PROMPTLY_MS).then(String), 'VERSION 1.6.21-cachier\r\n');
  assert.equal(await held.text('version\r\n'), 'VERSION 1.6.21-cachier\r\n');
});
