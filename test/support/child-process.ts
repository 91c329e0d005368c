/**
 * The one helper for child processes in tests and the long-run scripts: the real
 * `cachier` CLI (or another node script, optionally with a raised open-file limit), kept
 * by pid, with every byte of stdout and stderr recorded. Children get the test's
 * environment without the runner's context or a developer's cache; every wait has a
 * deadline; at exit (also after Ctrl-C) every child still alive gets SIGKILL by pid and
 * every temp dir made here is removed.
 *
 *   const node = await spawnCli(['node', '--database-url', url, '--port', '11311'], 'cachier node ready:');
 *   node.kill('SIGKILL'); await exitOf(node);   // how it ended, 5 s at most
 *   await node.stop();                          // SIGTERM, SIGKILL after 5 s
 *   const { stdout } = await runCli(['cache', 'create', '--data', dir, '--memory', '1mb', '--json']);
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './wait.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(REPO_ROOT, 'bin', 'cachier.js');
export const HOST = '127.0.0.1';

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) if (alive(c)) try { process.kill(c.pid!, 'SIGKILL'); } catch { /* gone */ }
    if (!process.env.CACHIER_TEST_KEEP) for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
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
  tempDirs.add(dir);
  return dir;
}

/** Removes a directory tempDir made, now (never one it did not make); kept under CACHIER_TEST_KEEP. */
export function removeTempDir(dir: string): void {
  if (process.env.CACHIER_TEST_KEEP || !tempDirs.delete(dir)) return;
  fs.rmSync(dir, { recursive: true, force: true });
}

const alive = (c: ChildProcess) => c.pid !== undefined && c.exitCode === null && c.signalCode === null;

/** The test's environment without the runner's context or a developer's cache, then `extra`. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  delete env.MEMCACHIER_SERVERS;
  delete env.MEMCACHIER_USERNAME;
  delete env.MEMCACHIER_PASSWORD;
  return { ...env, ...extra };
}

/** Keeps `child` (any program) until it exits: SIGKILLed by pid if this process exits first. */
export function track(child: ChildProcess): ChildProcess {
  hookExit();
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGTERM by pid, SIGKILL after `graceMs`; resolves once it is gone (or 5 s after the SIGKILL). */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  const exited = new Promise<void>((resolve) => (alive(child) ? child.once('exit', () => resolve()) : resolve()));
  for (const [signal, ms] of [['SIGTERM', graceMs], ['SIGKILL', 5000]] as const) {
    if (!alive(child)) break;
    try { process.kill(child.pid!, signal); } catch { /* gone */ }
    await Promise.race([exited, sleep(ms)]);
  }
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
  /**
   * Lowers its open-files limit to this once it is ready (prlimit): start-up under tsx may
   * spawn esbuild when the transform cache is cold (a fresh clone), which a tight limit
   * breaks; what such tests measure is serving.
   */
  nofileOnceReady?: number;
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
  track(child);
  const command = `node ${argv.map((a) => (a.startsWith(`${REPO_ROOT}/`) ? path.relative(REPO_ROOT, a) : a)).join(' ')}`;
  let out = '';
  let err = '';
  let both = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; both += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; both += d; });
  child.stdin!.on('error', () => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const kill = (signal: NodeJS.Signals) => {
    if (alive(child)) try { process.kill(child.pid!, signal); } catch { /* gone */ }
  };
  const stop = (graceMs = 5000) => stopChild(child, graceMs);
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
      if (opts.nofileOnceReady !== undefined) {
        execFileSync('prlimit', ['--pid', String(child.pid), `--nofile=${opts.nofileOnceReady}:${opts.nofileOnceReady}`]);
      }
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

export interface CliExit {
  /** Exit code; null when a signal (the timeout's SIGKILL included) ended it. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A `cachier` run that did not exit 0: its exit and output on the error. */
export class CliFailure extends Error implements CliExit {
  constructor(readonly args: readonly string[], readonly code: number | null, readonly stdout: string, readonly stderr: string, why: string) {
    super(`cachier ${args.join(' ')}: ${why}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
  }
}

export interface RunOptions {
  /** Default 20 s; then SIGKILL. */
  timeoutMs?: number;
  /** Added to (or overriding) the child's environment. */
  env?: NodeJS.ProcessEnv;
}

/** Runs `cachier ARGS` to completion, whatever its exit code. */
export function cliExit(args: string[], opts: RunOptions = {}): Promise<CliExit> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args],
      { cwd: REPO_ROOT, env: childEnv(opts.env), timeout: opts.timeoutMs ?? 20_000, killSignal: 'SIGKILL' },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
}

/** Runs `cachier ARGS` to completion; resolves with stdout and stderr on exit 0, else rejects with a CliFailure. */
export async function runCli(args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const r = await cliExit(args, opts);
  if (r.code !== 0) throw new CliFailure(args, r.code, r.stdout, r.stderr, r.code === null ? 'killed (timeout?)' : `exit code ${r.code}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** VmRSS of `pid` in bytes (Linux). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Pids of every live descendant of `pid` (Linux), e.g. `cachier start`'s node processes. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const walk = (p: number) => {
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      return; // gone
    }
    for (const t of tasks) {
      let kids = '';
      try {
        kids = fs.readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.split(' ').filter(Boolean).map(Number)) {
        found.push(k);
        walk(k);
      }
    }
  };
  walk(pid);
  return found;
}

/**
 * VmRSS of `pid` and all its descendants: what `cachier start` holds now that each node is
 * a process of its own (its spare included, which holds nothing that grows).
 */
export function treeRssBytes(pid: number): number {
  let sum = rssBytes(pid);
  for (const p of descendants(pid)) {
    try {
      sum += rssBytes(p);
    } catch {
      // exited meanwhile
    }
  }
  return sum;
}

/** Open file descriptors of `pid` (Linux). */
export function openFds(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

export const MiB = 2 ** 20;
export const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

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
