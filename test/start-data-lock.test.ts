// One `cachier start` per --data directory (src/cli/data-lock.ts): a second start on it
// exits 1 naming the first's pid and touches no node row; the lock goes with the start
// (SIGTERM), and one left by a start killed with SIGKILL is taken over. A start forgets only
// node rows not seen within NODE_STALE_MS: a standalone `cachier node` on the same catalog,
// and the rows of a start that just stopped, stay.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { NODE_STALE_MS } from '../src/catalog/clusters.ts';
import { openSqliteCatalog } from '../src/catalog/sqlite.ts';
import { cliExit, spawnCli, tempDir, type Proc } from './support/child-process.ts';
import { freePorts } from './support/ports.ts';

const LOCK = 'cachier-start.lock';
const STALE = '127.0.0.1:1';

async function nodeAddresses(dir: string): Promise<string[]> {
  const c = openSqliteCatalog(dir, () => {});
  try {
    return (await c.listNodes()).map((n) => n.address).sort();
  } finally {
    await c.close();
  }
}

test('start locks its --data; a second is refused (exit 1); only stale node rows are forgotten', { timeout: 150_000 }, async () => {
  const dir = tempDir('cachier-lock-');
  const [pA, pB, pC, pD, pN, hA, hB, hC, hD] = await freePorts(9) as number[] as [number, number, number, number, number, number, number, number, number];
  const procs: Proc[] = [];
  after(() => Promise.all(procs.map((p) => p.stop())));
  const start = async (port: number, http: number) => {
    const p = await spawnCli(['start', '--data', dir, '--port', String(port), '--http-port', String(http)], 'cachier ready', { timeoutMs: 60_000 });
    procs.push(p);
    return p;
  };

  const a = await start(pA, hA);
  assert.equal(fs.readFileSync(path.join(dir, LOCK), 'utf8').trim(), String(a.pid), 'the lock holds its pid');
  const node = await spawnCli(['node', '--data', dir, '--port', String(pN)], 'cachier node ready', { timeoutMs: 60_000 });
  procs.push(node);
  // A node row whose last heartbeat is older than the staleness window: a dead node.
  const c = openSqliteCatalog(dir, () => {});
  const realNow = Date.now;
  const then = realNow() - NODE_STALE_MS - 5000;
  Date.now = () => then;
  try {
    await c.registerNode(STALE, '127.0.0.1:2');
  } finally {
    Date.now = realNow;
    await c.close();
  }
  const before = await nodeAddresses(dir);
  assert.deepEqual(before, [STALE, `127.0.0.1:${pA}`, `127.0.0.1:${pN}`].sort());

  const b = await cliExit(['start', '--data', dir, '--port', String(pB), '--http-port', String(hB)], { timeoutMs: 30_000 });
  assert.equal(b.code, 1, `${b.stdout}\n${b.stderr}`);
  assert.match(b.stderr, new RegExp(`another cachier start \\(pid ${a.pid}\\) is running on --data`));
  assert.deepEqual(await nodeAddresses(dir), before, 'the refused start changed no node row');

  await a.stop();
  assert.equal((await a.exited).code, 0);
  assert.ok(!fs.existsSync(path.join(dir, LOCK)), 'released on exit');

  const cStart = await start(pC, hC);
  assert.deepEqual(await nodeAddresses(dir), [`127.0.0.1:${pA}`, `127.0.0.1:${pC}`, `127.0.0.1:${pN}`].sort(),
    'the stale row is gone; the live standalone node and the start just stopped (seen recently) stay');

  // Killed outright, start leaves its lock behind; its pid is gone, so the next start takes it over.
  cStart.kill('SIGKILL');
  await cStart.exited;
  assert.equal(fs.readFileSync(path.join(dir, LOCK), 'utf8').trim(), String(cStart.pid));
  const d = await start(pD, hD);
  assert.equal(fs.readFileSync(path.join(dir, LOCK), 'utf8').trim(), String(d.pid));
});
