// Ctrl-C in a terminal sends SIGINT to the whole foreground process group: `cachier start`
// and every node process at once. The nodes leave it to start (node-supervisor.ts: a node
// alone ignores SIGINT), which closes the control plane first, then stops them: no node is
// seen to die, none is restarted, start exits 0 and nothing is left. Start runs in a
// process group of its own here, as a shell would put it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI, childEnv, descendants, REPO_ROOT, tempDir, track } from './support/child-process.ts';
import { freePorts } from './support/ports.ts';
import { until } from './support/wait.ts';

test('Ctrl-C (SIGINT to start\'s process group): control plane, then nodes, exit 0, no process left', { timeout: 60_000 }, async () => {
  const dir = tempDir('cachier-ctrl-c-');
  const ports = await freePorts(2, { consecutive: true });
  const [httpPort] = await freePorts(1);
  const child = track(spawn(process.execPath, [CLI, 'start', '--data', dir, '--host', '127.0.0.1', '--port', String(ports[0]),
    '--http-port', String(httpPort), '--nodes', '2', '--log-format', 'json'], { cwd: REPO_ROOT, env: childEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await until(() => `ready and a spare\n${out}\n${err}`, Date.now() + 40_000, () => out.includes('cachier ready') && err.includes('"event":"node_process_spare"'), 100);
  const processes = descendants(child.pid!);
  assert.ok(processes.length >= 3, `two nodes and a spare: ${processes.join(', ')}`);

  // A node alone ignores SIGINT: the stop is start's to order.
  const nodePid = (JSON.parse(err.split('\n').find((l) => l.includes('"event":"node_process_started"'))!) as { node_pid: number }).node_pid;
  process.kill(nodePid, 'SIGINT');
  await new Promise((r) => setTimeout(r, 1000));
  assert.doesNotThrow(() => process.kill(nodePid, 0), 'the node process is still running');
  assert.doesNotMatch(err, /node_process_exited|"event":"node_stop"/);

  process.kill(-child.pid!, 'SIGINT');
  const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running after 15 s'), 15_000))]);
  assert.equal(code, 0, err);
  const events = err.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event?: string });
  const at = (event: string) => events.findIndex((e) => e.event === event);
  assert.ok(at('control_stop') >= 0 && at('control_stop') < at('node_stop'), 'the control plane stops before any node');
  assert.equal(events.filter((e) => e.event === 'node_stop').length, 2);
  assert.equal(at('node_process_exited'), -1, 'no node was seen to die');
  assert.equal(at('node_process_restarted'), -1);
  assert.ok(at('node_processes_stopped') > at('node_stop'));
  const alive = processes.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  assert.deepEqual(alive, [], 'no process left');
});
