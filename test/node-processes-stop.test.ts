// No orphans from `cachier start`'s node processes (src/cli/node-supervisor.ts): SIGTERM to
// start stops every child and exits 0; kill -9 of start leaves children that exit by
// themselves within a few seconds and free their ports; a node that cannot start (its
// port taken) fails the whole start with nothing left running. Processes are found by
// their command line (each start here has its own data directory), spares included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { cliExit, exitOf, spawnCli, tempDir } from './support/child-process.ts';
import { freePorts } from './support/ports.ts';
import { until } from './support/wait.ts';

/** Pids of live processes whose command line names `dir` (cachier's node processes of one start). */
function processesOf(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const state = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (argv.includes(dir) && argv.includes('node') && state !== 'Z') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function startWithSpare(nodes: number | 'auto') {
  const dir = tempDir('cachier-stop-');
  const ports = await freePorts(nodes === 'auto' ? availableParallelism() : nodes, { consecutive: true });
  const [httpPort] = await freePorts(1);
  const proc = await spawnCli(['start', '--data', dir, '--host', '127.0.0.1', '--port', String(ports[0]), '--http-port', String(httpPort),
    '--nodes', String(nodes), '--log-format', 'json'], 'cachier ready', { timeoutMs: 40_000 });
  const count = nodes === 'auto' ? availableParallelism() : nodes;
  assert.equal(/nodes=(\S+)/.exec(proc.readyLine)![1]!.split(',').length, count, proc.readyLine);
  // Every process there is to stop: the nodes and the spare.
  await until('the spare', Date.now() + 30_000, () => proc.stderr().includes('"event":"node_process_spare"'), 100);
  const children = processesOf(dir).filter((p) => p !== proc.pid);
  assert.equal(children.length, count + 1, 'a process per node and a spare');
  return { dir, ports, proc, children };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^State:\s+(\S)/m)?.[1] !== 'Z';
  } catch {
    return false;
  }
};

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

test('SIGTERM to cachier start: every node process stops, then start exits 0', { timeout: 60_000 }, async () => {
  // auto: one node per core (where the machine has few enough for a test).
  const { dir, proc, children } = await startWithSpare(availableParallelism() <= 4 ? 'auto' : 2);
  proc.kill('SIGTERM');
  const exit = await exitOf(proc, 15_000);
  assert.deepEqual(exit, { code: 0, signal: null }, proc.stderr());
  assert.deepEqual(children.filter(alive), [], 'no node process outlives start');
  assert.deepEqual(processesOf(dir), []);
  assert.match(proc.stderr(), new RegExp(`"event":"node_processes_stopped","processes":${children.length}`));
});

test('kill -9 of cachier start: its node processes exit by themselves within a few seconds and free their ports', { timeout: 60_000 }, async () => {
  const { dir, ports, proc, children } = await startWithSpare(2);
  proc.kill('SIGKILL');
  await exitOf(proc);
  const killedAt = Date.now();
  await until(() => `node processes still running: ${children.filter(alive).join(', ')}`, killedAt + 5000, () => children.every((p) => !alive(p)), 50);
  console.log(`node processes gone ${Date.now() - killedAt} ms after their parent's kill -9`);
  assert.deepEqual(processesOf(dir), []);
  for (const port of ports) assert.ok(await bindable(port), `port ${port} free again`);
});

test('a node that cannot listen fails the whole start: exit 1, nothing left running', { timeout: 60_000 }, async () => {
  const dir = tempDir('cachier-stop-');
  const ports = await freePorts(2, { consecutive: true });
  const [httpPort] = await freePorts(1);
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(ports[1], '127.0.0.1', resolve));
  try {
    const r = await cliExit(['start', '--data', dir, '--host', '127.0.0.1', '--port', String(ports[0]), '--http-port', String(httpPort),
      '--nodes', '2', '--log-format', 'json'], { timeoutMs: 40_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /EADDRINUSE|Address already in use/);
    assert.match(r.stderr, new RegExp(`cachier: node 127\\.0\\.0\\.1:${ports[1]} exited before it was ready`));
    assert.doesNotMatch(r.stdout, /cachier ready/);
    assert.deepEqual(processesOf(dir), []);
  } finally {
    squatter.close();
  }
});
