/**
 * The servers under test, each started fresh on a free loopback port and pinned to the
 * server core: memcached with one worker thread, and one cachier node (the real CLI,
 * `cachier start`, serving its anonymous cache so memcaslap needs no login); for the
 * introspection rows a pair of nodes every round, one started with `--no-introspection`. The
 * scaling bench (scale.ts) starts memcached with K threads on K cores and K `cachier node`
 * processes, one per core, sharing one catalog.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../../test/support/ports.ts';
import { SERVER_CORE, pinned, runBounded, startTracked, stopTracked } from './processes.ts';
import { readServingPid } from './server-stats.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(REPO_ROOT, 'bin', 'cachier.js');

/** `cachier` is always the default node (introspection on); the other cachier is its baseline. */
export type ServerName = 'memcached' | 'cachier' | 'cachier-no-introspection';

export interface RunningServer {
  readonly name: ServerName;
  readonly host: string;
  readonly port: number;
  /** The process that serves (for CPU and RSS): for `cachier start`, its node child process. */
  readonly pid: number;
  /** The process the bench started (ended by stop()). */
  readonly startedPid: number;
  /** The command line, for the report. */
  readonly command: string;
  /** cachier: sourceFingerprint() when it started. */
  readonly source?: string;
  /** What it printed so far (stdout and stderr), for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface BenchCache {
  readonly id: number;
  readonly username: string;
  readonly password: string;
}

const HOST = '127.0.0.1';

/** Environment for children: none of a developer's cache settings or node flags. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.MEMCACHIER_SERVERS;
  delete env.MEMCACHIER_USERNAME;
  delete env.MEMCACHIER_PASSWORD;
  return env;
}

/**
 * A hash of the server's sources (bin/, src/ and package-lock.json). Others may change the
 * tree while a run is under way; a fingerprint per server start shows it.
 */
export function sourceFingerprint(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) hash.update(path.relative(REPO_ROOT, p)).update('\0').update(fs.readFileSync(p)).update('\0');
    }
  };
  walk(path.join(REPO_ROOT, 'bin'));
  walk(path.join(REPO_ROOT, 'src'));
  const lock = path.join(REPO_ROOT, 'package-lock.json');
  if (fs.existsSync(lock)) hash.update(fs.readFileSync(lock));
  return hash.digest('hex').slice(0, 12);
}

export function makeDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cachier-bench-'));
}

/** `cachier cache create --data DIR --memory SIZE --json`, before any server runs. */
export async function createBenchCache(dataDir: string, memory: string): Promise<BenchCache> {
  const r = await runBounded([process.execPath, CLI, 'cache', 'create', '--data', dataDir, '--memory', memory, '--json'], 30_000, {
    cwd: REPO_ROOT,
    env: childEnv(),
  });
  if (r.code !== 0) throw new Error(`cache create failed (code ${r.code}):\n${r.stdout}\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').reverse().find((l) => l.trim().startsWith('{'));
  const raw = JSON.parse(line ?? 'null') as { id: number; username: string; password: string } | null;
  if (!raw) throw new Error(`cache create printed no JSON:\n${r.stdout}`);
  return { id: Number(raw.id), username: raw.username, password: raw.password };
}

/** `threads` worker threads (-t), pinned to `cores` (taskset -c list; the server core by default). */
export async function startMemcached(memoryMb = 2048, opts: { threads?: number; cores?: string } = {}): Promise<RunningServer> {
  const port = await freePort();
  const args = ['memcached', '-p', String(port), '-U', '0', '-l', HOST, '-t', String(opts.threads ?? 1), '-m', String(memoryMb)];
  if (process.getuid?.() === 0) args.push('-u', 'root');
  const child = startTracked(pinned(opts.cores ?? SERVER_CORE, args), { env: childEnv() });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout!.resume();
  await waitListening(child, port, () => err);
  return server('memcached', child, port, args.join(' '), () => err);
}

export interface CachierOptions {
  readonly dataDir: string;
  readonly cacheId: number;
  /** Write a V8 CPU profile of the node process into this directory when it exits. */
  readonly profileDir?: string;
  /** false: `--no-introspection`, and the server is named cachier-no-introspection. */
  readonly introspection?: boolean;
}

export async function startCachier(opts: CachierOptions): Promise<RunningServer> {
  const port = await freePort();
  let httpPort = await freePort();
  while (httpPort === port) httpPort = await freePort();
  const source = sourceFingerprint();
  const nodeFlags = opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : [];
  const cliArgs = [
    'start', '--data', opts.dataDir, '--host', HOST, '--http-port', String(httpPort), '--port', String(port),
    '--anonymous-cache', String(opts.cacheId),
    ...(opts.introspection === false ? ['--no-introspection'] : []),
  ];
  const child = startTracked(pinned(SERVER_CORE, [process.execPath, ...nodeFlags, CLI, ...cliArgs]), {
    cwd: REPO_ROOT,
    env: childEnv(),
  });
  // Not ready in time: stopped here, not left to the bench's exit (a pair round goes on after).
  const output = await waitReady(child, /^cachier ready/m).catch(async (e: unknown) => {
    await stopTracked(child);
    throw e;
  });
  const command = `node ${nodeFlags.join(' ')}${nodeFlags.length ? ' ' : ''}bin/cachier.js ${cliArgs.join(' ')}`;
  const name: ServerName = opts.introspection === false ? 'cachier-no-introspection' : 'cachier';
  // `start` serves from a node child process (issue 16): CPU and RSS are that process's.
  const serving = await readServingPid(HOST, port);
  return { ...server(name, child, port, command, output, serving), source };
}

export interface CachierNodeOptions {
  readonly dataDir: string;
  readonly cacheId: number;
  /** The core this node process is pinned to. */
  readonly core: number;
  /** Flags for node itself, e.g. --perf-basic-prof. */
  readonly nodeFlags?: readonly string[];
  /** More `cachier node` flags, e.g. ['--io', 'native']. */
  readonly extraArgs?: readonly string[];
}

/**
 * One `cachier node` process joining the catalog in `dataDir` (SQLite, shared by every
 * node of a scaling point), serving the bench cache to unauthenticated connections.
 */
export async function startCachierNode(opts: CachierNodeOptions): Promise<RunningServer> {
  const port = await freePort();
  const source = sourceFingerprint();
  const nodeFlags = opts.nodeFlags ?? [];
  const cliArgs = ['node', '--data', opts.dataDir, '--host', HOST, '--port', String(port), '--anonymous-cache', String(opts.cacheId), ...(opts.extraArgs ?? [])];
  const child = startTracked(pinned(opts.core, [process.execPath, ...nodeFlags, CLI, ...cliArgs]), { cwd: REPO_ROOT, env: childEnv() });
  const output = await waitReady(child, /^cachier node ready/m);
  const command = `taskset -c ${opts.core} node ${nodeFlags.join(' ')}${nodeFlags.length ? ' ' : ''}bin/cachier.js ${cliArgs.join(' ')}`;
  return { ...server('cachier', child, port, command, output), source };
}

/** Waits (30 s at most) for `ready` on stdout; returns what the process printed so far, live. */
async function waitReady(child: ChildProcess, ready: RegExp): Promise<() => string> {
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cachier not ready within 30 s\n${out}\n${err}`)), 30_000);
    child.stdout!.on('data', (d: string) => {
      out += d;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cachier exited (code ${code}) before it was ready\n${out}\n${err}`));
    });
  });
  return () => `${out}${err}`;
}

/** `servingPid`: the process that serves, when not the one started (it is stopped through `child`). */
function server(name: ServerName, child: ChildProcess, port: number, command: string, output: () => string, servingPid?: number): RunningServer {
  let stopped: Promise<void> | undefined;
  return {
    name,
    host: HOST,
    port,
    pid: servingPid ?? child.pid!,
    startedPid: child.pid!,
    command,
    output,
    stop: () => (stopped ??= stopTracked(child, 15_000)),
  };
}

async function waitListening(child: ChildProcess, port: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`memcached exited (code ${child.exitCode}): ${stderr()}`);
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`memcached not listening on ${port} after 10 s: ${stderr()}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: HOST });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
