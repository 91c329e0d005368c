/**
 * Child processes for the fault tests and the long-run scripts: the real `cachier` CLI
 * (optionally with a raised open-file limit), kept by pid, with every byte of stdout and
 * stderr recorded. Every wait has a deadline; at exit every child still alive gets SIGKILL
 * by pid.
 *
 *   const node = await spawnCli(['node', '--database-url', url, '--port', '11311'], 'cachier node ready:');
 *   node.kill('SIGKILL'); await exitOf(node);   // how it ended, 5 s at most
 *   await node.stop();                      // SIGTERM, SIGKILL after 5 s
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLI = path.join(REPO_ROOT, 'bin', 'cachier.js');
export const HOST = '127.0.0.1';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) if (alive(c)) try { process.kill(c.pid!, 'SIGKILL'); } catch { /* gone */ }
  });
  // Interrupted (Ctrl-C, a runner's timeout): exit, so the hook above runs.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(sig === 'SIGINT' ? 130 : 143));
}

/**
 * A fresh directory under the OS temp dir, removed when the process exits (also after
 * Ctrl-C) unless CACHIER_TEST_KEEP is set; callers may remove it sooner.
 */
export function tempDir(prefix: string): string {
  hookExit();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => {
    if (!process.env.CACHIER_TEST_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const alive = (c: ChildProcess) => c.pid !== undefined && c.exitCode === null && c.signalCode === null;

export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  delete env.MEMCACHIER_SERVERS;
  delete env.MEMCACHIER_USERNAME;
  delete env.MEMCACHIER_PASSWORD;
  return env;
}

export interface Proc {
  readonly pid: number;
  readonly child: ChildProcess;
  /** What `ready` matched: the first line starting with it. */
  readonly readyLine: string;
  readonly command: string;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr interleaved as they arrived. */
  output(): string;
  /** Resolves when the process has exited (any reason). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM by pid, SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  /** Run under `bash -c 'ulimit -n …; exec …'` (same pid) with this many open files, or the hard limit if lower. */
  nofile?: number;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Extra node flags before the script, e.g. ['--expose-gc']. */
  nodeFlags?: string[];
}

/** Spawns `node SCRIPT ARGS` and resolves on its first stdout line starting with `ready`. */
export function spawnNode(script: string, args: string[], ready: string, opts: SpawnOptions = {}): Promise<Proc> {
  hookExit();
  const argv = [...(opts.nodeFlags ?? []), script, ...args];
  const child = opts.nofile
    ? spawn('bash', ['-c', `ulimit -n ${opts.nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`, process.execPath, ...argv],
      { cwd: REPO_ROOT, env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, argv, { cwd: REPO_ROOT, env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  const command = `node ${argv.map((a) => (a.startsWith(`${REPO_ROOT}/`) ? path.relative(REPO_ROOT, a) : a)).join(' ')}`;
  let out = '';
  let err = '';
  let both = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; both += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; both += d; });
  child.stdin!.on('error', () => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const kill = (signal: NodeJS.Signals) => {
    if (alive(child)) try { process.kill(child.pid!, signal); } catch { /* gone */ }
  };
  const stop = async (graceMs = 5000) => {
    for (const [signal, ms] of [['SIGTERM', graceMs], ['SIGKILL', 5000]] as const) {
      if (!alive(child)) break;
      kill(signal);
      await Promise.race([exited, sleep(ms)]);
    }
  };
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => fail(`not ready within ${timeoutMs} ms`), timeoutMs);
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop(1000).then(() => reject(new Error(`${command}: ${why}\n--- output ---\n${both}`)));
    };
    child.stdout!.on('data', () => {
      if (settled) return;
      const line = out.split('\n').slice(0, -1).find((l) => l.startsWith(ready));
      if (line === undefined) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        pid: child.pid!, child, readyLine: line, command, exited, kill, stop,
        stdout: () => out, stderr: () => err, output: () => both,
      });
    });
    child.once('error', (e) => fail(`cannot spawn: ${e.message}`));
    void exited.then(({ code, signal }) => setTimeout(() => fail(`exited (code ${code}, signal ${signal})`), 50));
  });
}

/** How `proc` ended, waiting at most `ms` (SIGKILL is not instant on a loaded machine). */
export async function exitOf(proc: Proc, ms = 5000): Promise<{ code: number | null; signal: string | null }> {
  return Promise.race([proc.exited, sleep(ms).then(() => ({ code: null, signal: `still running after ${ms} ms` }))]);
}

/** `cachier ARGS`, ready at the first stdout line starting with `ready`. */
export function spawnCli(args: string[], ready: string, opts: SpawnOptions = {}): Promise<Proc> {
  return spawnNode(CLI, args, ready, opts);
}

/** Runs `cachier ARGS` to completion (20 s at most); resolves with stdout and stderr. */
export function runCli(args: string[], timeoutMs = 20_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: childEnv(), timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => (error
        ? reject(new Error(`cachier ${args.join(' ')}: ${error.message}\n${stdout}\n${stderr}`))
        : resolve({ stdout, stderr })));
  });
}

export { until } from '../../support/wait.ts';

/** VmRSS of `pid` in bytes (Linux). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Open file descriptors of `pid` (Linux). */
export function openFds(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

export const MiB = 2 ** 20;
export const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

// ------------------------------------------------------------------ HTTP

export interface HttpAuth {
  basic?: { username: string; password: string };
  bearer?: string;
}

export interface HttpResult {
  status: number;
  text: string;
  body: any;
  ms: number;
}

/** One HTTP request to the control plane on loopback, 10 s at most. */
export async function http(port: number, method: string, urlPath: string, auth: HttpAuth = {}, json?: unknown, timeoutMs = 10_000): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (auth.basic) headers.authorization = `Basic ${Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString('base64')}`;
  if (auth.bearer) headers.authorization = `Bearer ${auth.bearer}`;
  if (json !== undefined) headers['content-type'] = 'application/json';
  const t0 = Date.now();
  const res = await fetch(`http://${HOST}:${port}${urlPath}`, {
    method, headers, body: json === undefined ? undefined : JSON.stringify(json), signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, text, body, ms: Date.now() - t0 };
}

/** The `KEY=value` line a CLI printed. */
export function printed(output: string, key: string): string {
  const m = new RegExp(`^${key}=(.*)$`, 'm').exec(output);
  if (!m) throw new Error(`no ${key}= line in:\n${output}`);
  return m[1]!.trim();
}

/** The operator token from the one-time line. */
export function printedOperatorToken(output: string): string | undefined {
  return /Operator API token[^:]*: (\S+)/.exec(output)?.[1];
}
