// `cachier start --nodes 2`: the first node process is killed (kill -9) after it said ready
// but while start still waits for the second (whose ready test/slow-ready-preload.mjs holds
// back). start supervises every node from its spawn: the dead one is restarted on its port,
// start then completes, /readyz shows both listening and both serve memcache.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childEnv, CLI, REPO_ROOT, stopChild, tempDir, track } from './support/child-process.ts';
import { asciiLogin } from './support/node-process.ts';
import { freePorts } from './support/ports.ts';
import { RawClient } from './support/raw-client.ts';
import { until } from './support/wait.ts';

const PRELOAD = fileURLToPath(new URL('./slow-ready-preload.mjs', import.meta.url));
const HOLD_MS = 4000;

interface LogLine { event?: string; node?: string; node_pid?: number }

test('a node that dies after its ready, before the last node is ready, is restarted and reported as such', { timeout: 120_000 }, async () => {
  const dir = tempDir('cachier-early-death-');
  const ports = await freePorts(2, { consecutive: true });
  const [httpPort] = await freePorts(1) as [number];
  const child = track(spawn(process.execPath, [CLI, 'start', '--data', dir, '--host', '127.0.0.1', '--port', String(ports[0]),
    '--http-port', String(httpPort), '--nodes', '2', '--log-format', 'json'], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv({ NODE_OPTIONS: `--import=${PRELOAD}`, CACHIER_TEST_SLOW_READY: `${ports[1]}:${HOLD_MS}` }),
  }));
  after(() => stopChild(child));
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const events = (event: string) => err.split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine).filter((l) => l.event === event);
  const first = `127.0.0.1:${ports[0]}`;

  const started = await until(() => `node ${first} started\n${err}`, Date.now() + 60_000,
    () => events('node_process_started').find((l) => l.node === first), 20);
  assert.ok(!out.includes('cachier ready'), 'start still waits for the second node');
  process.kill(started.node_pid!, 'SIGKILL');

  await until(() => `cachier ready\n${out}\n${err}`, Date.now() + 60_000, () => out.includes('cachier ready'), 50);
  const restarted = await until(() => `node ${first} restarted\n${err}`, Date.now() + 30_000,
    () => events('node_process_restarted').find((l) => l.node === first), 50);
  assert.notEqual(restarted.node_pid, started.node_pid);
  const ready = await until('/readyz 200', Date.now() + 10_000, async () => {
    const r = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
    return r.status === 200 ? await r.json() as { nodes: { address: string; state: string }[] } : undefined;
  }, 100);
  assert.deepEqual(ready.nodes.map((n) => n.state), ['listening', 'listening']);

  const cred = {
    username: /^MEMCACHIER_USERNAME=(.*)$/m.exec(out)![1]!, password: /^MEMCACHIER_PASSWORD=(.*)$/m.exec(out)![1]!,
  };
  for (const port of ports) {
    const c = await RawClient.connect(port);
    try {
      assert.equal(await c.text(asciiLogin(cred)), 'STORED\r\n', `login on ${port}`);
      assert.equal(await c.text('set k 0 0 1\r\nv\r\n'), 'STORED\r\n');
    } finally {
      c.end();
    }
  }
});
