// Runs a stock-client script (test/compat/clients/*) as a child process and parses
// the one JSON line it prints. The scripts only observe; the tests judge.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './child-process.ts';

export const CLIENTS_DIR = path.join(REPO_ROOT, 'test', 'compat', 'clients');
export const PYTHON = '/usr/bin/python3'; // Debian's python, where python3-pylibmc lives

export interface ClientRun<T = Record<string, unknown>> {
  result: T;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs `command args…`; resolves with the last JSON line on stdout. */
export function runJsonClient<T = Record<string, unknown>>(
  command: string,
  args: string[],
  opts: RunOptions = {},
): Promise<ClientRun<T>> {
  const timeout = opts.timeoutMs ?? 30_000;
  const env = { ...process.env, ...opts.env };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: opts.cwd ?? REPO_ROOT, env, timeout, killSignal: 'SIGKILL', maxBuffer: 8 << 20 },
      (error, stdout, stderr) => {
        const context = `command: ${command} ${args.join(' ')}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
        if (error) {
          const why = error.killed ? `timed out after ${timeout} ms` : error.message;
          return reject(new Error(`client failed: ${why}\n${context}`));
        }
        const line = stdout
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l.startsWith('{'))
          .pop();
        if (!line) return reject(new Error(`client printed no JSON line\n${context}`));
        try {
          resolve({ result: JSON.parse(line) as T, stdout, stderr });
        } catch (e) {
          reject(new Error(`client printed bad JSON (${(e as Error).message})\n${context}`));
        }
      },
    );
  });
}

/** Absolute path of a client script. */
export function clientScript(name: string): string {
  const p = path.join(CLIENTS_DIR, name);
  if (!fs.existsSync(p)) throw new Error(`missing client script ${p}`);
  return p;
}

/** True if an executable exists at an absolute path or on PATH. */
export function haveCommand(cmd: string): boolean {
  if (cmd.includes('/')) return fs.existsSync(cmd);
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .some((dir) => dir && fs.existsSync(path.join(dir, cmd)));
}

/**
 * Replaces every `{ error: "Class: message" }` a client script recorded by the string
 * `error:Class`, so a whole run can be compared with one deepEqual (and one diff).
 */
export function errorsToClass(observed: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(observed)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && typeof (v as { error?: unknown }).error === 'string') {
      const msg = (v as { error: string }).error;
      out[k] = `error:${msg.split(':')[0]}`;
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** Pretty JSON for assertion messages. */
export function show(v: unknown): string {
  return JSON.stringify(v, null, 2);
}
