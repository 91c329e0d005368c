// A real memcached for validating the compatibility harness itself
// (CACHIER_COMPAT_TARGET=memcached npm run test:compat). With `sasl`, memcached
// runs with -S and a throwaway sasldb (needs saslpasswd2 from sasl2-bin); the
// realm is the host name, which is memcached's default.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stopChild, track } from './child-process.ts';
import { freePort } from './ports.ts';
import { sleep } from './wait.ts';

export interface Memcached {
  port: number;
  server: string;
  pid: number;
  stop(): Promise<void>;
}

export const SASLPASSWD2 = '/usr/sbin/saslpasswd2';

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export async function startMemcached(opts: { sasl?: { username: string; password: string } } = {}): Promise<Memcached> {
  const port = await freePort();
  const args = ['-p', String(port), '-U', '0', '-l', '127.0.0.1', '-m', '64', '-t', '2'];
  if (process.getuid?.() === 0) args.push('-u', 'root');
  const env = { ...process.env };
  let confDir: string | undefined;
  if (opts.sasl) {
    confDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cachier-sasl-'));
    const db = path.join(confDir, 'sasldb2');
    fs.writeFileSync(path.join(confDir, 'memcached.conf'), `mech_list: plain\nsasldb_path: ${db}\n`);
    execFileSync(SASLPASSWD2, ['-a', 'memcached', '-c', '-p', '-f', db, '-u', os.hostname(), opts.sasl.username], {
      input: opts.sasl.password,
      timeout: 10_000,
    });
    env.SASL_CONF_PATH = confDir;
    args.push('-S');
  }
  const child = track(spawn('memcached', args, { env, stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  child.stderr!.on('data', (c) => (err += c));
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    if (child.exitCode !== null) break;
    if (await canConnect(port)) {
      return {
        port,
        server: `127.0.0.1:${port}`,
        pid: child.pid!,
        stop: async () => {
          await stopChild(child);
          if (confDir) fs.rmSync(confDir, { recursive: true, force: true });
        },
      };
    }
    await sleep(50);
  }
  try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ }
  throw new Error(`memcached ${args.join(' ')} did not start: ${err}`);
}
