/**
 * `node --import tsx bench/session/session.bench.ts [--seconds S] [--profile]`
 *
 * The CPU cost of our own request path, without sockets: a real Session over a
 * Connection that swallows writes, fed whole requests as a socket would. Prints ns per
 * request (and per key for multi-gets) for the memcaslap-like requests. Use it to see
 * what a change to parse → execute → encode costs; the end-to-end numbers come from
 * `npm run bench`.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_LIMITS } from '../../src/protocol/command.ts';
import { LoginThrottle } from '../../src/shared/login-throttle.ts';
import { ArenaTenantStore } from '../../src/store/arena/arena-store.ts';
import type { Connection, ConnectionHandlers } from '../../src/node/io/connection.ts';
import { nodeLimits } from '../../src/node/limits.ts';
import { ConnectionSlots } from '../../src/node/connection-slots.ts';
import { Session } from '../../src/node/session.ts';
import { Tenants } from '../../src/node/tenants.ts';

const { values: flags } = parseArgs({ options: { seconds: { type: 'string', default: '2' } } });
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

let cas = 0;
const tenants = new Tenants((limit) => new ArenaTenantStore({ limit, maxItemSize: DEFAULT_LIMITS.maxItemSize, nextCas: () => ++cas }));
tenants.apply({ caches: [{ id: 1, name: 'bench', memoryBytes: 256 * 1024 * 1024, enabled: true }], credentials: [], nodes: [] } as never);
/** A Session in --anonymous-cache mode over a connection that swallows writes. */
function openSession(): NullConnection {
  const conn = new NullConnection();
  new Session(conn, {
    tenants, node: { version: 'bench', startedAt: 0, limits: DEFAULT_LIMITS, io: 'stream' },
    limits: DEFAULT_LIMITS, nodeLimits: nodeLimits({}), throttle: new LoginThrottle(), slots: new ConnectionSlots(nodeLimits({})),
    anonymousCacheId: 1, onClose() {},
  });
  return conn;
}

const conn = openSession();

const KEYS = 10_000;
const key = (i: number) => `key:${String(i).padStart(10, '0')}`;
const value = 'v'.repeat(100);
for (let i = 0; i < KEYS; i++) conn.handlers.data(Buffer.from(`set ${key(i)} 0 0 100 noreply\r\n${value}\r\n`), Date.now());

function binaryGet(k: string): Buffer {
  const kb = Buffer.from(k);
  const h = Buffer.alloc(24);
  h[0] = 0x80; h[1] = 0x00; h.writeUInt16BE(kb.length, 2); h.writeUInt32BE(kb.length, 8);
  return Buffer.concat([h, kb]);
}

interface Case { name: string; perKey: number; requests: Buffer[] }
const pick = (n: number) => Array.from({ length: n }, (_, i) => key((i * 7919) % KEYS));
const cases: Case[] = [
  { name: 'ascii get (hit)', perKey: 1, requests: pick(1000).map((k) => Buffer.from(`get ${k}\r\n`)) },
  { name: 'ascii set', perKey: 1, requests: pick(1000).map((k) => Buffer.from(`set ${k} 0 0 100\r\n${value}\r\n`)) },
  { name: 'ascii get 20 keys', perKey: 20, requests: Array.from({ length: 200 }, (_, j) => Buffer.from(`get ${pick(20 + j).slice(j).join(' ')}\r\n`)) },
  { name: 'binary get (hit)', perKey: 1, requests: pick(1000).map(binaryGet) },
  { name: 'meta mg v f', perKey: 1, requests: pick(1000).map((k) => Buffer.from(`mg ${k} v f\r\n`)) },
];

for (const c of cases) {
  // A new connection per protocol (the first byte picks it).
  const run = (ms: number) => {
    const x = openSession();
    let n = 0;
    const end = performance.now() + ms;
    const t0 = performance.now();
    while (performance.now() < end) {
      // One clock read per round, as the native loop reads it once per batch.
      const now = Date.now();
      for (let i = 0; i < c.requests.length; i++) x.handlers.data(c.requests[i]!, now);
      n += c.requests.length;
    }
    return { n, ms: performance.now() - t0, bytes: x.bytes };
  };
  run(300);
  const r = run(seconds * 1000);
  const ns = (r.ms * 1e6) / r.n;
  console.log(`${c.name.padEnd(20)} ${ns.toFixed(0).padStart(6)} ns/request${c.perKey > 1 ? `  ${(ns / c.perKey).toFixed(0).padStart(5)} ns/key` : ''}  (${r.n} requests, ${(r.bytes / r.n).toFixed(0)} B/reply)`);
}
