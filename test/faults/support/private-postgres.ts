/**
 * A PostgreSQL server of our own for tests that stop and start it: `initdb` into a temp
 * directory, `pg_ctl start` on a free loopback port with its socket in that directory. As
 * root it runs everything through `runuser -u postgres` (initdb refuses root). Skips with
 * a reason when the binaries or the user are missing. At exit a running server gets
 * SIGQUIT (immediate shutdown) by its postmaster pid.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../support/ports.ts';

export interface PrivatePostgres {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly dir: string;
  /** The server log so far. */
  log(): string;
  /** `pg_ctl stop -m fast`: clients are disconnected, the server shuts down cleanly. */
  stop(): Promise<void>;
  /** `pg_ctl start` again, same port and data. */
  start(): Promise<void>;
  /** Stops it (immediate) if running and removes the directory. */
  destroy(): Promise<void>;
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(root, versions[0], 'bin');
}

const isRoot = () => process.getuid?.() === 0;

function postgresUser(): { uid: number; gid: number } | undefined {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) return undefined;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** Undefined when a private server can be made here; otherwise why not. */
export function privatePostgresSkipReason(): string | undefined {
  if (process.env.CACHIER_TEST_PRIVATE_POSTGRES === 'off') return 'CACHIER_TEST_PRIVATE_POSTGRES=off';
  if (process.platform !== 'linux') return 'needs Linux';
  if (!binDir()) return 'no /usr/lib/postgresql/*/bin/initdb (install postgresql to run this test)';
  if (isRoot()) {
    if (!postgresUser()) return 'running as root and there is no user "postgres" to run initdb as';
    if (!fs.existsSync('/usr/sbin/runuser') && !fs.existsSync('/sbin/runuser')) return 'running as root without runuser';
  }
  return undefined;
}

function run(file: string, args: string[], timeoutMs: number): Promise<string> {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  return new Promise((resolve, reject) => {
    execFile(cmd as string, argv as string[], { timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, LC_ALL: 'C' } },
      (error, stdout, stderr) => (error ? reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout)));
  });
}

const running = new Set<number>();
let hooked = false;

function postmasterPid(dataDir: string): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const why = privatePostgresSkipReason();
  if (why) throw new Error(why);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const pid of running) try { process.kill(pid, 'SIGQUIT'); } catch { /* gone */ }
    });
  }
  const bin = binDir()!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cachier-pg-'));
  if (isRoot()) {
    const u = postgresUser()!;
    fs.chownSync(dir, u.uid, u.gid);
  }
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  await run(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], 60_000);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  let pid: number | undefined;

  const start = async () => {
    await run(path.join(bin, 'pg_ctl'), ['-D', data, '-o', options, '-l', logFile, '-w', '-t', '30', 'start'], 40_000);
    pid = postmasterPid(data);
    if (pid) running.add(pid);
  };
  const stop = async (mode: 'fast' | 'immediate') => {
    await run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', mode, '-w', '-t', '30', 'stop'], 40_000);
    if (pid) running.delete(pid);
    pid = undefined;
  };
  await start();
  return {
    port, dir,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    log: () => {
      try {
        return fs.readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    stop: () => stop('fast'),
    start,
    async destroy() {
      if (pid !== undefined) await stop('immediate').catch(() => {
        if (pid) try { process.kill(pid, 'SIGQUIT'); } catch { /* gone */ }
      });
      if (!process.env.CACHIER_TEST_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
