// Runs the real `cachier` CLI as a child process for the compatibility suite.
//
//   const dataDir = makeDataDir();
//   const cache = await createCache(dataDir);           // works without a server
//   const cluster = await startCluster({ dataDir, anonymousCacheId: cache.id });
//   ... cluster.servers ...
//   await cluster.stop();                                // SIGTERM, SIGKILL after 5 s
//
// Every child is tracked and SIGKILLed by pid if the test process exits first.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, freePorts } from './ports.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(REPO_ROOT, 'bin', 'cachier.js');
const DATA_DIR_PREFIX = path.join(os.tmpdir(), 'cachier-test-');

/** How long a credential/cache change may take to reach every node (contract: 1 s). */
export const PROPAGATION_MS = 1200;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface StartClusterOptions {
  nodes?: number;
  anonymousCacheId?: string | number;
  historyInterval?: number;
  /** Reuse a directory (e.g. one `createCache` already wrote to). Default: a fresh temp dir. */
  dataDir?: string;
  extraArgs?: string[];
  /** Default 20 000 ms. */
  readyTimeoutMs?: number;
}

export interface Cluster {
  host: string;
  httpPort: number;
  /** Node ports, ports[0] .. ports[0]+nodes-1. */
  ports: number[];
  /** 'host:port' for every node. */
  servers: string[];
  dataDir: string;
  pid: number;
  /** The `cachier ready …` line. */
  readyLine: string;
  stdout(): string;
  stderr(): string;
  stop(): Promise<void>;
}

export interface CreatedCache {
  id: number | string;
  name: string;
  servers: string[];
  username: string;
  password: string;
  /** The whole JSON object the CLI printed. */
  raw: Record<string, unknown>;
}

// ---------------------------------------------------------------- cleanup

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let exitHooksInstalled = false;

function killAllNow(): void {
  for (const child of liveChildren) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  liveChildren.clear();
  if (!process.env.CACHIER_TEST_KEEP) {
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  }
  tempDirs.clear();
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAllNow();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** A fresh data directory under the OS temp dir, removed by `stop()` / at exit. */
export function makeDataDir(): string {
  installExitHooks();
  const dir = fs.mkdtempSync(DATA_DIR_PREFIX);
  tempDirs.add(dir);
  return dir;
}

function removeDataDir(dir: string): void {
  if (process.env.CACHIER_TEST_KEEP) return;
  if (!tempDirs.has(dir)) return; // never remove a directory we did not create
  tempDirs.delete(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  // Don't leak the test runner's context or a developer's cache into the child.
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  delete env.MEMCACHIER_SERVERS;
  delete env.MEMCACHIER_USERNAME;
  delete env.MEMCACHIER_PASSWORD;
  return env;
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const exited = waitForExit(child);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await exited;
    }
  }
  liveChildren.delete(child);
}

// ---------------------------------------------------------------- start

class StartFailure extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
  }
}

async function startOnce(
  opts: StartClusterOptions,
  dataDir: string,
  httpPort: number,
  ports: number[],
): Promise<Cluster> {
  const host = '127.0.0.1';
  const nodes = ports.length;
  const args = [
    CLI,
    'start',
    '--data', dataDir,
    '--host', host,
    '--http-port', String(httpPort),
    '--port', String(ports[0]),
    '--nodes', String(nodes),
  ];
  if (opts.anonymousCacheId !== undefined) args.push('--anonymous-cache', String(opts.anonymousCacheId));
  if (opts.historyInterval !== undefined) args.push('--history-interval', String(opts.historyInterval));
  if (opts.extraArgs) args.push(...opts.extraArgs);

  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    err += chunk;
  });

  const timeoutMs = opts.readyTimeoutMs ?? 20_000;
  const command = `node ${args.map((a) => (a === CLI ? 'bin/cachier.js' : a)).join(' ')}`;
  const describe = (why: string) =>
    `${why}\ncommand: ${command}\n--- stdout ---\n${out}\n--- stderr ---\n${err}`;

  const readyLine = await new Promise<string>((resolve, reject) => {
    let pending = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      finish(() => {
        void stopChild(child, 1000).then(() =>
          reject(new StartFailure(describe(`cachier did not print "cachier ready" within ${timeoutMs} ms`), false)),
        );
      });
    }, timeoutMs);
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        if (line.startsWith('cachier ready')) finish(() => resolve(line));
      }
    });
    child.once('error', (e) => finish(() => reject(new StartFailure(describe(`cannot spawn cachier: ${e.message}`), false))));
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      // Give the pipes a moment so the message includes the last output.
      setTimeout(() => {
        finish(() =>
          reject(
            new StartFailure(
              describe(`cachier exited before it was ready (code ${code}, signal ${signal})`),
              /EADDRINUSE/.test(out + err),
            ),
          ),
        );
      }, 50);
    });
  });

  let stopped: Promise<void> | undefined;
  return {
    host,
    httpPort,
    ports,
    servers: ports.map((p) => `${host}:${p}`),
    dataDir,
    pid: child.pid!,
    readyLine,
    stdout: () => out,
    stderr: () => err,
    stop: () => {
      stopped ??= stopChild(child).then(() => removeDataDir(dataDir));
      return stopped;
    },
  };
}

/** Starts `cachier start` and resolves once it prints a line beginning with `cachier ready`. */
export async function startCluster(opts: StartClusterOptions = {}): Promise<Cluster> {
  installExitHooks();
  const nodes = opts.nodes ?? 1;
  const dataDir = opts.dataDir ?? makeDataDir();
  let lastError: unknown;
  // Ports are found by bind-and-close, so another process may grab one in between:
  // retry on EADDRINUSE with fresh ports.
  for (let attempt = 0; attempt < 3; attempt++) {
    const ports = await freePorts(nodes, { consecutive: true });
    let httpPort = await freePort();
    while (ports.includes(httpPort)) httpPort = await freePort();
    try {
      return await startOnce(opts, dataDir, httpPort, ports);
    } catch (e) {
      lastError = e;
      if (!(e instanceof StartFailure && e.addressInUse)) break;
    }
  }
  if (!opts.dataDir) removeDataDir(dataDir);
  throw lastError;
}

// ---------------------------------------------------------------- cache create

/** Runs `cachier cache create --data DIR --memory MEM --json` and parses the JSON it prints. */
export function createCache(dataDir: string, memory = '64mb'): Promise<CreatedCache> {
  const args = [CLI, 'cache', 'create', '--data', dataDir, '--memory', memory, '--json'];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { cwd: REPO_ROOT, env: childEnv(), timeout: 20_000, killSignal: 'SIGKILL', maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        const context = `command: node bin/cachier.js ${args.slice(1).join(' ')}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
        if (error) return reject(new Error(`cache create failed: ${error.message}\n${context}`));
        let raw: Record<string, unknown>;
        try {
          raw = parseJsonObject(stdout);
        } catch (e) {
          return reject(new Error(`cache create printed no JSON object: ${(e as Error).message}\n${context}`));
        }
        const missing = ['id', 'name', 'servers', 'username', 'password'].filter((k) => raw[k] === undefined);
        if (missing.length) return reject(new Error(`cache create JSON lacks ${missing.join(', ')}\n${context}`));
        const servers = Array.isArray(raw.servers)
          ? raw.servers.map(String)
          : String(raw.servers).split(/[\s,]+/).filter(Boolean);
        resolve({
          id: raw.id as number | string,
          name: String(raw.name),
          servers,
          username: String(raw.username),
          password: String(raw.password),
          raw,
        });
      },
    );
  });
}

function parseJsonObject(stdout: string): Record<string, unknown> {
  const text = stdout.trim();
  try {
    const v = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* fall through: maybe other lines around it */
  }
  const lines = text.split('\n').filter((l) => l.trim().startsWith('{'));
  for (const line of lines.reverse()) {
    try {
      const v = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      /* next */
    }
  }
  throw new Error('no parseable JSON object on stdout');
}
