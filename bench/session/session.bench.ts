/**
 * `node --import tsx bench/session/session.bench.ts [--seconds S] [--no-introspection] [--only TEXT] [--rounds N]`
 *
 * `--rounds N` runs each case exactly N rounds (of its 200-1000 requests) instead of for
 * S seconds: under `perf stat -e instructions:u`, the difference between N and 0 rounds is
 * a count that other processes on a shared machine do not change.
 *
 * The CPU cost of our own request path, without sockets: a real node, built but not
 * listening, serving a Connection that swallows writes, fed whole requests as a socket would. Prints ns per
 * request (and per key for multi-gets) for the memcaslap-like requests. Use it to see
 * what a change to parse → execute → encode costs; the end-to-end numbers come from
 * `npm run bench`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openSqliteCatalog } from '../../src/catalog/sqlite.ts';
import { createCacheNode } from '../../src/node/cache-node.ts';
import { req } from '../../src/protocol/binary/testing/frames.ts';
import type { Connection, ConnectionHandlers } from '../../src/node/io/connection.ts';

const { values: flags } = parseArgs({ options: { seconds: { type: 'string', default: '2' }, 'no-introspection': { type: 'boolean' }, only: { type: 'string' }, rounds: { type: 'string' } } });
const seconds = Number(flags.seconds);

class NullConnection implements Connection {
  readonly remoteAddress = '127.0.0.1';
  readonly destroyed = false;
  readonly writesAreCopied = true; // it only counts them
  bytes = 0;
  handlers!: ConnectionHandlers;
  bind(h: ConnectionHandlers): void {
    this.handlers = h;
  }
  write(data: Uint8Array): boolean {
    this.bytes += data.length;
    return true;
  }
  end(): void {}
  destroy(): void {}
  pause(): void {}
  resume(): void {}
}

// A node built but not listening, serving one cache to every connection (--anonymous-cache).
const dataDir = mkdtempSync(join(tmpdir(), 'cachier-session-bench-'));
const catalog = openSqliteCatalog(dataDir);
const { cache } = await catalog.createCache({ memoryBytes: 256 * 1024 * 1024 });
const node = createCacheNode({
  catalog, anonymousCacheId: cache.id, introspection: { enabled: !flags['no-introspection'], memoryBytes: 64 * 1024 * 1024 },
});
await node.sync.syncNow();

/** A connection to the node that swallows its replies. */
function openSession(): NullConnection {
  const conn = new NullConnection();
  node.accept(conn);
  return conn;
}

const conn = openSession();

const KEYS = 10_000;
const key = (i: number) => `key:${String(i).padStart(10, '0')}`;
const value = 'v'.repeat(100);
for (let i = 0; i < KEYS; i++) conn.handlers.data(Buffer.from(`set ${key(i)} 0 0 100 noreply\r\n${value}\r\n`), Date.now());

interface Case { name: string; perKey: number; requests: Buffer[] }
const pick = (n: number) => Array.from({ length: n }, (_, i) => key((i * 7919) % KEYS));
const cases: Case[] = [
  { name: 'ascii get (hit)', perKey: 1, requests: pick(1000).map((k) => Buffer.from(`get ${k}\r\n`)) },
  { name: 'ascii set', perKey: 1, requests: pick(1000).map((k) => Buffer.from(`set ${k} 0 0 100\r\n${value}\r\n`)) },
  { name: 'ascii get 20 keys', perKey: 20, requests: Array.from({ length: 200 }, (_, j) => Buffer.from(`get ${pick(20 + j).slice(j).join(' ')}\r\n`)) },
  { name: 'binary get (hit)', perKey: 1, requests: pick(1000).map((k) => req.get(k)) },
  { name: 'meta mg v f', perKey: 1, requests: pick(1000).map((k) => Buffer.from(`mg ${k} v f\r\n`)) },
];

for (const c of cases.filter((x) => flags.only === undefined || x.name.includes(flags.only))) {
  // A new connection per protocol (the first byte picks it).
  const run = (ms: number, rounds = Infinity) => {
    const x = openSession();
    let n = 0;
    const end = performance.now() + ms;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (let round = 0; round < rounds && (rounds !== Infinity || performance.now() < end); round++) {
      // One clock read per round, as the native loop reads it once per batch.
      const now = Date.now();
      for (let i = 0; i < c.requests.length; i++) x.handlers.data(c.requests[i]!, now);
      n += c.requests.length;
    }
    const cpu = process.cpuUsage(cpu0);
    // CPU time as well as wall time: on a shared machine the wall clock also counts others' turns.
    return { n, ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, bytes: x.bytes };
  };
  const rounds = flags.rounds === undefined ? Infinity : Number(flags.rounds);
  run(300, rounds === Infinity ? Infinity : Math.min(rounds, 100));
  const r = run(seconds * 1000, rounds);
  const ns = (r.cpuMs * 1e6) / r.n;
  console.log(`${c.name.padEnd(20)} ${ns.toFixed(0).padStart(6)} ns/request (cpu; wall ${((r.ms * 1e6) / r.n).toFixed(0)})${c.perKey > 1 ? `  ${(ns / c.perKey).toFixed(0).padStart(5)} ns/key` : ''}  (${r.n} requests, ${(r.bytes / r.n).toFixed(0)} B/reply)`);
}

await node.close();
await catalog.close();
rmSync(dataDir, { recursive: true, force: true });
