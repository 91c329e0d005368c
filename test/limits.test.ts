// Connection limits of a cache node: per node, per cache, idle timeout, request size, and
// clients that never read their replies (memory stays bounded, others are still served).
// npm test runs this file alone: floods of unread replies and idle timeouts with deadlines.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteCatalog, type SqliteCatalog } from '../src/catalog/sqlite.ts';
import { createCacheNode, type ListeningCacheNode } from '../src/node/cache-node.ts';
import type { NodeLimits } from '../src/node/limits.ts';
import { req, saslPlain } from '../src/protocol/binary/testing/frames.ts';
import { nonReadingSocket, writeAll } from './support/node-process.ts';
import { RawClient } from './support/raw-client.ts';
import { PROMPTLY_MS, sleep, until } from './support/wait.ts';

interface Cache {
  id: number;
  username: string;
  password: string;
}

interface Harness {
  node: ListeningCacheNode;
  catalog: SqliteCatalog;
  createCache(): Promise<Cache>;
  connect(): Promise<RawClient>;
  login(cache: Cache): Promise<RawClient>;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const f of cleanups) await f();
});

async function startNode(limits: Partial<NodeLimits> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'cachier-limits-'));
  const catalog = openSqliteCatalog(dir);
  const node = await createCacheNode({ catalog, limits }).listen({ host: '127.0.0.1', port: 0 });
  const clients: RawClient[] = [];
  let closed = false;
  const h: Harness = {
    node, catalog,
    async createCache() {
      const { cache, credential, password } = await catalog.createCache({ memoryBytes: 256 << 20 });
      await node.sync.syncNow();
      return { id: cache.id, username: credential.username, password };
    },
    async connect() {
      const c = await RawClient.connect(node.port);
      clients.push(c);
      return c;
    },
    async login(cache) {
      const c = await h.connect();
      const r = await c.text(`set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\n`);
      if (r !== 'STORED\r\n') throw new Error(`login failed: ${r}`);
      return c;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const c of clients) c.end();
      await node.close();
      await catalog.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  cleanups.push(() => h.close());
  return h;
}

test('past --max-connections a login gets SERVER_ERROR too many connections and is closed; waiting connections hold no such slot', async () => {
  const h = await startNode({ maxConnections: 3 });
  const cache = await h.createCache();
  const held = [await h.login(cache), await h.login(cache), await h.login(cache)];
  // Connections that have not logged in wait in their own pool: they still connect.
  const waiting = [await h.connect(), await h.connect()];
  await until('5 connections, 2 waiting', Date.now() + 3000, () => h.node.connectionCount === 5 && h.node.waitingCount === 2);
  const extra = waiting[0]!;
  assert.equal(await extra.text(`set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\n`), 'SERVER_ERROR too many connections\r\n');
  assert.equal(await extra.waitClosed(3000), true);
  // The connections already logged in are unaffected.
  assert.equal(await held[0]!.text('set a 0 0 1\r\nx\r\n'), 'STORED\r\n');
  // A binary login past the limit: status 0x82 (out of memory, memcached's word for it), then closed.
  const bin = waiting[1]!;
  bin.send(saslPlain(cache.username, cache.password, { opaque: 9 }));
  const [res] = await bin.binary();
  assert.equal(res!.status, 0x82);
  assert.equal(await bin.waitClosed(3000), true);
  // Room again once one leaves.
  held[2]!.end();
  await until('2 connections', Date.now() + 3000, () => h.node.connectionCount === 2);
  const again = await h.login(cache);
  assert.equal(await again.text('get a\r\n', 'END\r\n'), 'VALUE a 0 1\r\nx\r\nEND\r\n');
  await h.close();
});

test('in anonymous mode, past --max-connections a new connection gets SERVER_ERROR too many connections and is closed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cachier-limits-'));
  const catalog = openSqliteCatalog(dir);
  const anon = (await catalog.createCache({ memoryBytes: 64 << 20 })).cache.id;
  const node = await createCacheNode({ catalog, anonymousCacheId: anon, limits: { maxConnections: 2 } }).listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(async () => {
    await node.close();
    await catalog.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const held = [await RawClient.connect(node.port), await RawClient.connect(node.port)];
  assert.equal(await held[0]!.text('set k 0 0 1\r\nv\r\n'), 'STORED\r\n');
  await until('2 connections', Date.now() + 3000, () => node.connectionCount === 2);
  const extra = await RawClient.connect(node.port);
  assert.equal(String(await extra.readUntil((b) => b.includes('\r\n'))), 'SERVER_ERROR too many connections\r\n');
  assert.equal(await extra.waitClosed(3000), true);
  assert.equal(await held[1]!.text('get k\r\n', 'END\r\n'), 'VALUE k 0 1\r\nv\r\nEND\r\n');
  for (const c of held) c.end();
});

test('past --max-cache-connections a login to that cache is refused and closed; other caches still log in', async () => {
  const h = await startNode({ maxCacheConnections: 2 });
  const full = await h.createCache();
  const other = await h.createCache();
  const a = await h.login(full);
  await h.login(full);
  const third = await h.connect();
  const r = await third.text(`set ${full.username} 0 0 ${full.password.length}\r\n${full.password}\r\n`);
  assert.equal(r, 'SERVER_ERROR too many connections for this cache\r\n');
  assert.equal(await third.waitClosed(2000), true);

  // Binary SASL: status 0x86 (temporary failure), then closed.
  const bin = await h.connect();
  bin.send(saslPlain(full.username, full.password, { opaque: 7 }));
  const [res] = await bin.binary();
  assert.equal(res!.status, 0x86);
  assert.equal(res!.opaque, 7);
  assert.equal(await bin.waitClosed(2000), true);

  // Another cache on the node is not affected, and the full one's stats say 2.
  const o = await h.login(other);
  assert.equal(await o.text('set k 0 0 1\r\nv\r\n'), 'STORED\r\n');
  assert.match(await a.text('stats\r\n', 'END\r\n'), /STAT curr_connections 2\r\n/);
  await h.close();
});

test('an anonymous-cache node applies the per-cache limit to unauthenticated connections', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cachier-limits-'));
  const catalog = openSqliteCatalog(dir);
  const anon = (await catalog.createCache({ memoryBytes: 64 << 20 })).cache.id;
  const node = await createCacheNode({ catalog, anonymousCacheId: anon, limits: { maxCacheConnections: 1 } }).listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(async () => {
    await node.close();
    await catalog.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const first = await RawClient.connect(node.port);
  assert.equal(await first.text('set k 0 0 1\r\nv\r\n'), 'STORED\r\n');
  const second = await RawClient.connect(node.port);
  assert.equal(String(await second.readUntil((b) => b.includes('\r\n'))), 'SERVER_ERROR too many connections for this cache\r\n');
  assert.equal(await second.waitClosed(2000), true);
  first.end();
});

test('--idle-timeout closes connections with no traffic; active ones stay open', async () => {
  const h = await startNode({ idleTimeoutMs: 1000 });
  const cache = await h.createCache();
  const idle = await h.login(cache);
  const busy = await h.login(cache);
  const started = Date.now();
  const keepBusy = (async () => {
    while (Date.now() - started < 2600) {
      assert.equal(await busy.text('version\r\n'), `VERSION ${'1.6.21-cachier'}\r\n`);
      await sleep(250);
    }
  })();
  assert.equal(await idle.waitClosed(10_000), true);
  const idleFor = Date.now() - started;
  // A lower bound only: a slow machine can only close it later.
  assert.ok(idleFor >= 900, `closed after ${idleFor} ms`);
  await keepBusy;
  assert.equal(busy.closed, false, 'a connection sending requests is not idle');
  await h.close();
});

test('the idle timeout is off by default', async () => {
  const h = await startNode();
  assert.equal(h.node.limits.idleTimeoutMs, 0);
  assert.equal(h.node.limits.maxConnections, 4096);
  assert.equal(h.node.limits.maxCacheConnections, 1024);
  const cache = await h.createCache();
  const c = await h.login(cache);
  await sleep(1500);
  // Still served after more than one sweep of the node's idle check.
  assert.equal(await c.text('version\r\n'), 'VERSION 1.6.21-cachier\r\n');
  await h.close();
});

test('--max-item-size applies to ASCII, meta and binary sets, and the connection stays usable', async () => {
  const h = await startNode({ maxItemSize: 4096 });
  const cache = await h.createCache();
  const c = await h.login(cache);
  const big = 'x'.repeat(4300);
  assert.equal(await c.text(`set big 0 0 4300\r\n${big}\r\n`), 'SERVER_ERROR object too large for cache\r\n');
  assert.equal(await c.text(`ms big 4300 T0\r\n${big}\r\n`), 'SERVER_ERROR object too large for cache\r\n');
  assert.equal(await c.text('set ok 0 0 4000\r\n' + 'y'.repeat(4000) + '\r\n'), 'STORED\r\n');
  assert.equal(await c.text('get big\r\n', 'END\r\n'), 'END\r\n');

  const b = await h.connect();
  b.send(saslPlain(cache.username, cache.password));
  assert.equal((await b.binary())[0]!.status, 0);
  b.send(req.set('bbig', big, { opaque: 3 }));
  b.send(req.noop({ opaque: 4 }));
  const [set, noop] = await b.binary(2);
  assert.equal(set!.status, 0x03);
  assert.equal(set!.opaque, 3);
  assert.equal(noop!.opaque, 4);
  await h.close();
});

test('a binary request whose body exceeds the item size is refused before its body arrives', async () => {
  const h = await startNode();
  const c = await h.connect();
  const header = req.set('k', '', { opaque: 5 });
  header.writeUInt32BE(512 * 2 ** 20, 8); // claims a 512 MiB body
  c.send(header);
  const [r] = await c.binary();
  assert.equal(r!.status, 0x03);
  assert.equal(await c.waitClosed(2000), true);
  await h.close();
});

test('one get naming a 1 MiB item 200 times is streamed whole and in order, then the next request is answered', async () => {
  const h = await startNode();
  const cache = await h.createCache();
  const c = await h.login(cache);
  const value = 'z'.repeat(2 ** 20 - 16);
  assert.equal(await c.text(`set z 0 0 ${value.length}\r\n${value}\r\n`), 'STORED\r\n');
  assert.equal(await c.text('set small 0 0 2\r\nok\r\n'), 'STORED\r\n');
  // ~200 MiB of reply from one request (with a miss and a small hit among the big ones),
  // pipelined with a version request that must come after the get's END.
  const keys = [...Array(100).fill('z'), 'missing', 'small', ...Array(100).fill('z')];
  const s = await nonReadingSocket(h.node.port);
  await writeAll(s, `set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\nget ${keys.join(' ')}\r\nversion\r\n`);
  const big = `VALUE z 0 ${value.length}\r\n${value}\r\n`;
  const expected = ['STORED\r\n', big.repeat(100), 'VALUE small 0 2\r\nok\r\n', big.repeat(100), 'END\r\n', 'VERSION 1.6.21-cachier\r\n'];
  const total = expected.reduce((n, part) => n + part.length, 0);
  const got = await readBytes(s, total);
  assert.equal(got.length, total);
  let at = 0;
  for (const part of expected) {
    assert.equal(got.toString('latin1', at, at + part.length), part, `at byte ${at}`);
    at += part.length;
  }
  // get_hits counts every key, as for an unstreamed get.
  assert.match(await c.text('stats\r\n', 'END\r\n'), /STAT get_hits 201\r\nSTAT get_misses 1\r\n/);
  s.destroy();
  await h.close();
});

test('a streamed multi-get goes on with its own keys after other connections reused the read buffers', async () => {
  const h = await startNode();
  const cache = await h.createCache();
  const c = await h.login(cache);
  const keys = Array.from({ length: 12 }, (_, i) => `key-${String(i).padStart(2, '0')}`);
  for (const k of keys) {
    const v = k.repeat(65536);
    assert.equal(await c.text(`set ${k} 0 0 ${v.length}\r\n${v}\r\n`), 'STORED\r\n');
  }
  const s = await nonReadingSocket(h.node.port);
  await writeAll(s, `set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\nget ${keys.join(' ')}\r\n`);
  // While it waits on the reader, other traffic lands where its request was read.
  const other = await h.login(cache);
  for (let i = 0; i < 20; i++) assert.equal(await other.text(`get ${'x'.repeat(200)} ${'y'.repeat(200)}\r\n`), 'END\r\n');
  const expected = 'STORED\r\n' + keys.map((k) => `VALUE ${k} 0 ${k.length * 65536}\r\n${k.repeat(65536)}\r\n`).join('') + 'END\r\n';
  const got = await readBytes(s, expected.length);
  assert.equal(got.length, expected.length);
  assert.ok(got.toString('latin1') === expected, 'the streamed reply is not the one asked for');
  s.destroy();
  await h.close();
});

test('a connection that was told to close but never reads is dropped after the grace period', async () => {
  // `quit` after replies the client never reads: the node ends its side, and the socket is
  // destroyed after closingGraceMs rather than kept forever.
  const h = await startNode({ closingGraceMs: 1000 });
  const cache = await h.createCache();
  const c = await h.login(cache);
  const value = 'q'.repeat(2 ** 20 - 16);
  assert.equal(await c.text(`set q 0 0 ${value.length}\r\n${value}\r\n`), 'STORED\r\n');
  const slow = await nonReadingSocket(h.node.port);
  await writeAll(slow, `set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\n` + 'get q\r\n'.repeat(3) + 'quit\r\n');
  // The node ran the three gets, and the quit with them (one batch, under the reply cap):
  // the connection is closing now, but not yet dropped.
  await until('3 gets counted', Date.now() + PROMPTLY_MS, async () => statOf(await c.text('stats\r\n', 'END\r\n'), 'cmd_get') >= 3);
  assert.equal(h.node.connectionCount, 2);
  await until('1 connection', Date.now() + 10_000, () => h.node.connectionCount === 1);
  slow.destroy();
  await h.close();
});

function statOf(stats: string, name: string): number {
  return Number(new RegExp(`STAT ${name} (\\d+)\r\n`).exec(stats)![1]);
}

/** Reads from a paused socket until `expected` bytes came (or 30 s); returns what came. */
function readBytes(s: Socket, expected: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  return new Promise<Buffer>((resolve) => {
    const done = () => resolve(Buffer.concat(chunks));
    const timer = setTimeout(done, 30_000);
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      if (received >= expected) {
        clearTimeout(timer);
        done();
      }
    });
    s.resume();
  });
}
