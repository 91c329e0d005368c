// Memory one client can take from a node, seen as the node process's RSS growth (its own
// process, native socket loop included): replies it never reads (many gets, binary
// pipelines, multi-gets of big values on many connections), and what it may send before
// logging in. Every bound is stated next to its test; others must still be served.
// npm test runs this file alone: it judges the node's RSS growth under floods of unread replies.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { mib, MiB } from './support/child-process.ts';
import { until } from './support/wait.ts';
import { asciiLogin, nonReadingSocket, startNodeProcess, writeAll, type NodeProcess } from './support/node-process.ts';
import { Opcode } from '../src/protocol/binary/opcodes.ts';
import { rawRequest, req, saslPlain } from '../src/protocol/binary/testing/frames.ts';
import { RawClient } from './support/raw-client.ts';

const nodes: NodeProcess[] = [];
after(async () => {
  for (const n of nodes) await n.stop();
});

async function start(args: string[] = []): Promise<NodeProcess> {
  const n = await startNodeProcess({ memory: '512mb', args });
  nodes.push(n);
  return n;
}

async function login(n: NodeProcess): Promise<RawClient> {
  const c = await RawClient.connect(n.port);
  assert.equal(await c.text(asciiLogin(n.caches[0]!)), 'STORED\r\n');
  return c;
}

async function stat(c: RawClient, name: string): Promise<number> {
  const m = new RegExp(`STAT ${name} (\\d+)\r\n`).exec(await c.text('stats\r\n', 'END\r\n'));
  return Number(m![1]);
}

/** RSS growth over `base`, the peak of samples taken every 50 ms for `ms`. */
async function peakGrowth(n: NodeProcess, base: number, ms = 1000): Promise<number> {
  let peak = 0;
  for (const end = Date.now() + ms; Date.now() < end;) {
    peak = Math.max(peak, n.rss() - base);
    await new Promise((r) => setTimeout(r, 50));
  }
  return peak;
}

/** Reads `expected` bytes from a paused socket (30 s at most). */
function readBytes(s: Socket, expected: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  return new Promise((resolve) => {
    const done = () => resolve(Buffer.concat(chunks));
    const timer = setTimeout(done, 30_000);
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      if ((received += d.length) >= expected) {
        clearTimeout(timer);
        done();
      }
    });
    s.resume();
  });
}

/** The reply cap (--max-reply-queue, 4 MiB) plus one item: what a non-reading connection may hold. */
const PER_READER = 4 * MiB + 1 * MiB;

test('25 connections each asking one get of 63 × 1 MiB values, never reading: the node grows by their reply caps, not 1.6 GiB', { timeout: 120_000 }, async (t) => {
  const n = await start();
  const c = await login(n);
  const value = 'v'.repeat(MiB - 64);
  const keys = Array.from({ length: 63 }, (_, i) => `big${i}`);
  for (const k of keys) assert.equal(await c.text(`set ${k} 0 0 ${value.length}\r\n${value}\r\n`), 'STORED\r\n');
  // Warm the reply path once, so the baseline holds what any reader costs.
  const warm = await nonReadingSocket(n.port);
  const one = `VALUE big0 0 ${value.length}\r\n${value}\r\nEND\r\n`;
  await writeAll(warm, `${asciiLogin(n.caches[0]!)}get big0\r\n`);
  assert.equal((await readBytes(warm, 8 + one.length)).length, 8 + one.length);
  warm.destroy();

  const written0 = await stat(c, 'bytes_written');
  const base = n.rss();
  const readers = await Promise.all(Array.from({ length: 25 }, () => nonReadingSocket(n.port)));
  for (const s of readers) await writeAll(s, `${asciiLogin(n.caches[0]!)}get ${keys.join(' ')}\r\n`);
  // Each reader is served up to its cap (the node wrote that much towards it), then paused.
  await until('every reader served up to its cap', Date.now() + 20_000, async () =>
    ((await stat(c, 'bytes_written')) - written0 >= 25 * 4 * MiB ? true : undefined));
  const growth = await peakGrowth(n, base);
  const bound = 25 * PER_READER * 1.5 + 32 * MiB;
  t.diagnostic(`25 readers asked for ${mib(25 * 63 * MiB)}; node RSS grew ${mib(growth)} (bound ${mib(bound)})`);
  assert.ok(growth < bound, `node RSS grew ${mib(growth)} for 25 readers that read nothing`);

  // Meanwhile other clients are served.
  const other = await login(n);
  assert.equal(await other.text('set small 0 0 2\r\nok\r\n'), 'STORED\r\n');
  assert.equal(await other.text('get small\r\n', 'END\r\n'), 'VALUE small 0 2\r\nok\r\nEND\r\n');

  // A reader that finally reads gets the whole reply, in order.
  const expected = Buffer.from(`STORED\r\n${keys.map((k) => `VALUE ${k} 0 ${value.length}\r\n${value}\r\n`).join('')}END\r\n`, 'latin1');
  const got = await readBytes(readers[0]!, expected.length);
  assert.equal(got.length, expected.length);
  assert.ok(got.equals(expected), 'reply differs');
  for (const s of readers) s.destroy();
});

test('pipelined gets of a 1 MiB value, text and binary, never read: bounded the same way', { timeout: 60_000 }, async (t) => {
  const n = await start();
  const c = await login(n);
  const value = 'b'.repeat(MiB - 64);
  assert.equal(await c.text(`set big 0 0 ${value.length}\r\n${value}\r\n`), 'STORED\r\n');
  const base = n.rss();
  const written0 = await stat(c, 'bytes_written');
  const text = await nonReadingSocket(n.port);
  await writeAll(text, asciiLogin(n.caches[0]!) + 'get big\r\n'.repeat(300));
  const bin = await nonReadingSocket(n.port);
  await writeAll(bin, Buffer.concat([saslPlain(n.caches[0]!.username, n.caches[0]!.password), ...Array.from({ length: 300 }, () => req.get('big'))]));
  await until('both readers served up to their cap', Date.now() + 20_000, async () =>
    ((await stat(c, 'bytes_written')) - written0 >= 2 * 4 * MiB ? true : undefined));
  const growth = await peakGrowth(n, base);
  const bound = 2 * PER_READER * 1.5 + 32 * MiB;
  t.diagnostic(`2 readers asked for 600 MiB; node RSS grew ${mib(growth)} (bound ${mib(bound)})`);
  assert.ok(growth < bound, `node RSS grew ${mib(growth)}`);
  assert.equal(await c.text('version\r\n'), 'VERSION 1.6.21-cachier\r\n');
  text.destroy();
  bin.destroy();
});

test('an oversized ASCII value is dropped as it streams in, never buffered', { timeout: 60_000 }, async (t) => {
  const n = await start();
  const c = await login(n);
  const s = await nonReadingSocket(n.port);
  let got = '';
  s.setEncoding('latin1');
  s.on('data', (d: string) => (got += d));
  s.resume();
  await writeAll(s, asciiLogin(n.caches[0]!));
  const base = n.rss();
  const declared = 64 * MiB;
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  await writeAll(s, `set huge 0 0 ${declared}\r\n`);
  let peak = 0;
  for (let sent = 0; sent < declared; sent += chunk.length) {
    await writeAll(s, chunk);
    if (sent % (4 * MiB) === 0) peak = Math.max(peak, n.rss() - base);
  }
  await writeAll(s, '\r\nget huge\r\n');
  await until('the get after it answered', Date.now() + 20_000, async () => (got.endsWith('END\r\n') ? true : undefined));
  assert.equal(got, 'STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\n');
  t.diagnostic(`a refused 64 MiB value streamed in: node RSS grew at most ${mib(peak)}`);
  // Half the value: buffering it would show; the JS heap's own garbage from 256 reads may not.
  assert.ok(peak < 32 * MiB, `node RSS grew ${mib(peak)} for a refused 64 MiB value`);
  assert.equal(await c.text('version\r\n'), 'VERSION 1.6.21-cachier\r\n');
  s.destroy();
});

test('before login only a login-sized frame is read: bigger ones close the connection at once', { timeout: 60_000 }, async () => {
  const n = await start();
  const { username } = n.caches[0]!;
  // A password of a megabyte, a 2 KiB line, a SASL frame of a megabyte: each closes.
  const big = await RawClient.connect(n.port);
  big.send(`set ${username} 0 0 1000000\r\n`);
  assert.equal(await big.waitClosed(3000), true);
  const line = await RawClient.connect(n.port);
  line.send(`get ${'k'.repeat(2048)}`);
  assert.equal(await line.waitClosed(3000), true);
  const sasl = await RawClient.connect(n.port);
  sasl.send(rawRequest({ opcode: Opcode.SaslAuth, key: 'PLAIN', bodylen: 1_000_000 }));
  assert.equal(await sasl.waitClosed(3000), true);
  // A real login with a 250-byte-long wrong username is still answered (not closed).
  const ok = await RawClient.connect(n.port);
  assert.equal(await ok.text(asciiLogin({ username: 'u'.repeat(250), password: 'p'.repeat(1000) })), 'CLIENT_ERROR authentication failed\r\n');
  assert.equal(await ok.text(asciiLogin(n.caches[0]!)), 'STORED\r\n');
});

test('1,500 connections each sending a megabyte "password" before login: RSS stays flat', { timeout: 120_000 }, async (t) => {
  // Pools raised so the frame limit alone is what is tested (the pools are tested in connection-slots).
  const n = await start(['--max-pending-connections', '4000', '--max-pending-per-source', '4000', '--auth-timeout', '60']);
  const { username } = n.caches[0]!;
  const base = n.rss();
  const chunk = Buffer.alloc(256 * 1024, 0x70);
  const socks: Socket[] = [];
  let closed = 0;
  for (let i = 0; i < 1500; i += 100) {
    const batch = await Promise.all(Array.from({ length: 100 }, () => nonReadingSocket(n.port)));
    for (const s of batch) {
      s.on('close', () => closed++);
      s.resume(); // reads (and drops) the error line, so the node's FIN is seen
      s.write(`set ${username} 0 0 1000000\r\n`);
      s.write(chunk);
      socks.push(s);
    }
  }
  await until('the node closed all 1,500', Date.now() + 30_000, async () => (closed === 1500 ? true : undefined));
  const growth = await peakGrowth(n, base, 500);
  t.diagnostic(`1,500 × 1 MB pre-login sets: node RSS grew ${mib(growth)}`);
  assert.ok(growth < 48 * MiB, `node RSS grew ${mib(growth)}`);

  // Login-sized frames that never finish are held, and cost little each.
  const base2 = n.rss();
  const held = await Promise.all(Array.from({ length: 1500 }, () => nonReadingSocket(n.port)));
  let heldClosed = 0;
  for (const s of held) {
    s.on('close', () => heldClosed++);
    await writeAll(s, `set ${username} 0 0 1200\r\n${'p'.repeat(1100)}`);
  }
  const growth2 = await peakGrowth(n, base2, 1000);
  t.diagnostic(`1,500 unfinished 1.2 KB logins held: node RSS grew ${mib(growth2)}`);
  assert.equal(heldClosed, 0);
  assert.ok(growth2 < 1500 * 32 * 1024, `node RSS grew ${mib(growth2)}`);
  const c = await login(n);
  assert.equal(await c.text('version\r\n'), 'VERSION 1.6.21-cachier\r\n');
  for (const s of [...socks, ...held]) s.destroy();
});

test('300 connections of one cache each holding an unfinished 1 MB value: the cache holds its receive budget, not 300 MB', { timeout: 120_000 }, async (t) => {
  const n = await startNodeProcess({ caches: 2, memory: '64mb' });
  nodes.push(n);
  const [greedy, other] = n.caches as [typeof n.caches[0], typeof n.caches[0]];
  const base = n.rss();
  const part = Buffer.alloc(900_000, 0x61);
  const socks: Socket[] = [];
  for (let i = 0; i < 300; i += 50) {
    const batch = await Promise.all(Array.from({ length: 50 }, () => nonReadingSocket(n.port)));
    for (const s of batch) {
      s.write(`${asciiLogin(greedy)}set k${socks.length} 0 0 1000000\r\n`);
      s.write(part); // 100 KB short of the value: the node holds what it read, waiting for the rest
      socks.push(s);
    }
  }
  // Everything the node will take is in once the writes stop moving: sample for a while.
  const growth = await peakGrowth(n, base, 3000);
  const bound = 64 * MiB + 300 * (64 * 1024 + 32 * 1024) + 48 * MiB;
  t.diagnostic(`300 unfinished 1 MB values in one cache: node RSS grew ${mib(growth)} (bound ${mib(bound)}; 270 MB sent)`);
  assert.ok(growth < bound, `node RSS grew ${mib(growth)}`);
  // Another cache stores a big value meanwhile.
  const c = await RawClient.connect(n.port);
  assert.equal(await c.text(asciiLogin(other)), 'STORED\r\n');
  const value = 'w'.repeat(1_000_000);
  assert.equal(await c.text(`set big 0 0 ${value.length}\r\n${value}\r\n`), 'STORED\r\n');
  // The greedy cache's own writers finish once the others are gone.
  for (const s of socks.slice(1)) s.destroy();
  const last = socks[0]!;
  let got = '';
  last.setEncoding('latin1');
  last.on('data', (d: string) => (got += d));
  last.resume();
  last.write(`${Buffer.alloc(100_000, 0x61).toString('latin1')}\r\n`);
  await until('the last writer stored its value', Date.now() + 20_000, async () => (got.endsWith('STORED\r\nSTORED\r\n') ? true : undefined));
  last.destroy();
});
