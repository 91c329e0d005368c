/**
 * Every process the benchmark starts goes through here: pinned to a core with taskset
 * when it exists, tracked by pid, ended by pid (SIGTERM, then SIGKILL after a grace
 * period), and SIGKILLed if the benchmark itself exits first. Nothing is ever killed by
 * name.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export const SERVER_CORE = 0;
export const LOAD_CORE = 1;

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const TASKSET = which('taskset');
const CORES = (() => {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    return 1;
  }
})();

/** Whether servers and load run on separate cores (taskset present, two cores or more). */
export const PINNED = TASKSET !== undefined && CORES >= 2;

export function requireTool(cmd: string, hint: string): string {
  const path = which(cmd);
  if (!path) throw new Error(`${cmd} not found: ${hint}`);
  return path;
}

/** `[command, ...args]` prefixed with `taskset -c <core>` (or a list, "0,1") when pinning is possible. */
export function pinned(core: number | string, argv: readonly string[]): string[] {
  return PINNED ? [TASKSET!, '-c', String(core), ...argv] : [...argv];
}

function killAllNow(): void {
  for (const child of live) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  live.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAllNow();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

export function startTracked(argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  installHooks();
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM by pid; SIGKILL by pid if it has not exited after `graceMs`. */
export async function stopTracked(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      exited(child).then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (late) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await exited(child);
    }
  }
  live.delete(child);
}

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Runs a command to completion, SIGKILLing it by pid after `timeoutMs`. */
export function runBounded(
  argv: readonly string[],
  timeoutMs: number,
  opts: SpawnOptions = {},
  onStart?: (pid: number) => void,
): Promise<Finished> {
  const child = startTracked(argv, opts);
  if (child.pid !== undefined) onStart?.(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (stdout += d));
  child.stderr!.on('data', (d: string) => (stderr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }, timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
