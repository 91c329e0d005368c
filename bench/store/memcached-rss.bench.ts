/**
 * The yardstick for bench/store/set-get.bench.ts: how much RSS memcached 1.6 itself
 * grows by for the same 1,000,000 items of 100-byte values under `key:NNNNNNN` keys.
 * Starts `memcached -p <free port> -U 0 -l 127.0.0.1 -t 1 -m 1024` (plus `-u root` when
 * run as root), reads VmRSS from
 * /proc, pipelines `set ... noreply` over one socket, syncs with a `get`, reads VmRSS
 * again, checks `curr_items`, and stops the server it started.
 *
 *   node --import tsx bench/store/memcached-rss.bench.ts [--items=N] [--memcached=/usr/bin/memcached]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';

const VALUE_SIZE = 100;

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function vmRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error('no VmRSS');
  return Number(m[1]) * 1024;
}

async function connectWhenUp(port: number): Promise<Socket> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
      });
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('memcached did not come up');
}

/** Sends `text` and resolves with everything received up to and including `until`. */
function request(sock: Socket, text: string, until: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      if (got.endsWith(until)) {
        sock.off('data', onData);
        resolve(got);
      }
    };
    sock.on('data', onData);
    sock.write(text);
  });
}

async function main(): Promise<void> {
  const items = Number(arg('items') ?? 1_000_000);
  const bin = arg('memcached') ?? 'memcached';
  const port = await freePort();
  const args = ['-p', String(port), '-U', '0', '-l', '127.0.0.1', '-t', '1', '-m', '1024'];
  if (process.getuid?.() === 0) args.push('-u', 'root'); // memcached refuses root without it
  const child = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  child.once('exit', (code) => {
    if (code !== null && code !== 0) process.exitCode = 1;
  });
  const pid = child.pid!;
  try {
    const sock = await connectWhenUp(port);
    const version = (await request(sock, 'version\r\n', '\r\n')).trim();
    const before = vmRss(pid);

    const value = 'v'.repeat(VALUE_SIZE);
    const t0 = process.hrtime.bigint();
    const batch = 1000;
    for (let i = 1; i <= items; i += batch) {
      let chunk = '';
      for (let j = i; j < i + batch && j <= items; j++) {
        chunk += `set key:${String(j).padStart(7, '0')} 0 0 ${VALUE_SIZE} noreply\r\n${value}\r\n`;
      }
      if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
    }
    await request(sock, 'get key:0000001\r\n', 'END\r\n');
    const loadNs = Number(process.hrtime.bigint() - t0);
    const after = vmRss(pid);
    const stats = await request(sock, 'stats\r\n', 'END\r\n');
    const stat = (name: string): number => Number(new RegExp(`STAT ${name} (\\d+)`).exec(stats)?.[1]);
    sock.destroy();

    if (stat('curr_items') !== items) throw new Error(`memcached holds ${stat('curr_items')} items of ${items}`);
    console.log(`${version}: ${items} items, ${VALUE_SIZE}-byte values, 11-byte keys`);
    console.log(`VmRSS before ${before} B, after ${after} B`);
    console.log(`RSS growth per item ${((after - before) / items).toFixed(1)} B; stat bytes per item ${(stat('bytes') / items).toFixed(1)} B`);
    console.log(`load over one socket: ${Math.round(items / (loadNs / 1e9)).toLocaleString('en-US')} sets/s (noreply, pipelined)`);
  } finally {
    child.kill('SIGTERM');
  }
}

await main();
