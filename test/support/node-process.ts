/**
 * A cache node in a process of its own (`cachier start`, the real CLI), for tests that
 * measure what the node holds: its RSS from /proc/<pid>/status sees everything, the
 * native socket loop's C++ buffers included, which a node inside the test process would
 * hide among the test's own memory. `start` runs the node in a child process, so rss()
 * sums start's own and its node process's (not the spare's, which holds no cache; it is
 * loaded before this returns, so it does not compete for the CPU either).
 */
import { connect, type Socket } from 'node:net';
import { rssBytes, runCli, spawnCli, tempDir, treeRssBytes, type Proc } from './child-process.ts';
import { freePorts } from './ports.ts';
import { until } from './wait.ts';

export interface ProcessCache {
  id: number;
  username: string;
  password: string;
}

export interface NodeProcess {
  readonly proc: Proc;
  readonly port: number;
  readonly httpPort: number;
  readonly caches: ProcessCache[];
  rss(): number;
  stop(): Promise<void>;
}

/** Creates `caches` caches of `memory` each, then starts one node with `args` on them. */
export async function startNodeProcess(opts: { caches?: number; memory?: string; args?: string[]; nofile?: number } = {}): Promise<NodeProcess> {
  const dir = tempDir('cachier-proc-');
  const caches: ProcessCache[] = [];
  for (let i = 0; i < (opts.caches ?? 1); i++) {
    const { stdout } = await runCli(['cache', 'create', '--data', dir, '--memory', opts.memory ?? '64mb', '--json']);
    const c = JSON.parse(stdout) as ProcessCache;
    caches.push({ id: c.id, username: c.username, password: c.password });
  }
  const [httpPort, port] = await freePorts(2) as [number, number];
  const proc = await spawnCli(
    ['start', '--data', dir, '--host', '127.0.0.1', '--http-port', String(httpPort), '--port', String(port), ...(opts.args ?? [])],
    'cachier ready', { nofile: opts.nofile },
  );
  // With JSON logs at info (the default here) start names its node processes and its spare.
  const events = (event: string) => proc.stderr().split('\n').filter((l) => l.includes(`"event":"${event}"`)).map((l) => JSON.parse(l) as { node_pid: number });
  const logged = events('node_process_started').length > 0;
  if (logged) await until('the spare node process loaded', Date.now() + 60_000, () => events('node_process_spare').length > 0, 100);
  const rss = () => {
    if (!logged) return treeRssBytes(proc.pid);
    const nodePid = [...events('node_process_started'), ...events('node_process_restarted')].at(-1)!.node_pid;
    return rssBytes(proc.pid) + rssBytes(nodePid);
  };
  return { proc, port, httpPort, caches, rss, stop: () => proc.stop() };
}

/** A socket that reads nothing (paused) until told to; errors are ignored. */
export function nonReadingSocket(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.pause();
    s.on('error', () => {});
    s.once('error', reject);
  });
}

/** Writes and waits until the data left this process (so client buffers do not count as the node's). */
export function writeAll(s: Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => s.write(data, (e) => (e ? reject(e) : resolve())));
}

export const asciiLogin = (c: { username: string; password: string }) => `set ${c.username} 0 0 ${c.password.length}\r\n${c.password}\r\n`;
