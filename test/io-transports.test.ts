/**
 * The memcache port's two socket I/O paths, native socket loop and Node sockets, held to
 * the same behaviour over real TCP: requests split across reads and many in one read,
 * values larger than one read, half-close, resets, backpressure, the connection limit
 * and node shutdown. The rest of the suite runs on the default (native where built; CI
 * insists with CACHIER_IO=native).
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { socketLoopAddon, type IoMode } from '../src/node/io/native-addon.ts';
import { RawClient } from './support/raw-client.ts';
import { startTestNode } from './support/test-node.ts';
import { runCli } from './support/child-process.ts';
import { makeDataDir } from './support/cluster.ts';
import { freePort } from './support/ports.ts';
import { PROMPTLY_MS, until } from './support/wait.ts';

const MODES: IoMode[] = socketLoopAddon('auto') ? ['native', 'stream'] : ['stream'];

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Everything the server sends until it closes the connection. */
function readToClose(s: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => s.end());
    s.on('close', () => resolve(Buffer.concat(parts)));
    s.on('error', () => {});
  });
}

for (const io of MODES) {
  test(`[${io}] stats settings names the I/O path in use`, async (t) => {
    const h = await startTestNode({ anonymous: true, io });
    t.after(() => h.close());
    const c = await h.connect();
    const settings = await c.text('stats settings\r\n', 'END\r\n');
    assert.match(settings, new RegExp(`STAT io ${io}\r\n`));
  });

  test(`[${io}] a request split into single bytes, and 2,000 requests in one write, are answered in order`, async (t) => {
    const h = await startTestNode({ anonymous: true, io });
    t.after(() => h.close());
    const c = await h.connect();
    const req = 'set split 5 0 10\r\n0123456789\r\nget split\r\n';
    for (const ch of req) {
      c.send(ch);
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(
      (await c.readUntil((b) => b.toString('latin1').endsWith('END\r\n'))).toString('latin1'),
      'STORED\r\nVALUE split 5 10\r\n0123456789\r\nEND\r\n',
    );
    const batch = Array.from({ length: 2000 }, (_, i) => (i % 2 ? `get split\r\n` : `set k${i} 0 0 ${String(i).length}\r\n${i}\r\n`)).join('');
    c.send(batch);
    const expected = Array.from({ length: 2000 }, (_, i) => (i % 2 ? 'VALUE split 5 10\r\n0123456789\r\nEND\r\n' : 'STORED\r\n')).join('');
    const got = await c.readUntil((b) => b.length >= expected.length);
    assert.equal(got.toString('latin1'), expected);
  });

  test(`[${io}] a value bigger than one read is stored and read back byte for byte`, async (t) => {
    const h = await startTestNode({ anonymous: true, io });
    t.after(() => h.close());
    const c = await h.connect();
    const value = Buffer.alloc(900 * 1024);
    for (let i = 0; i < value.length; i++) value[i] = (i * 31 + 7) & 0xff;
    assert.equal(await c.text(Buffer.concat([Buffer.from(`set big 0 0 ${value.length}\r\n`), value, Buffer.from('\r\n')])), 'STORED\r\n');
    c.send('get big\r\n');
    const header = `VALUE big 0 ${value.length}\r\n`;
    const reply = await c.readUntil((b) => b.length >= header.length + value.length + 7);
    assert.equal(reply.length, header.length + value.length + 7);
    assert.equal(reply.toString('latin1', reply.length - 7), '\r\nEND\r\n');
    assert.equal(reply.toString('latin1', 0, header.length), header);
    assert.ok(reply.subarray(header.length, header.length + value.length).equals(value));
  });

  test(`[${io}] a client that half-closes after its requests still gets every reply, then the node closes`, async (t) => {
    const h = await startTestNode({ anonymous: true, io });
    t.after(() => h.close());
    const s = await openSocket(h.port);
    const all = readToClose(s);
    s.end('set hc 0 0 2\r\nhi\r\n' + 'get hc\r\n'.repeat(500));
    const got = (await all).toString('latin1');
    assert.equal(got, 'STORED\r\n' + 'VALUE hc 0 2\r\nhi\r\nEND\r\n'.repeat(500));
  });

  // memcached answers every request it has read before it closes on EOF. Here the node
  // cannot answer them in one go: replies far past its reply queue (stalls at the cap),
  // a reader that takes nothing at first (writes block), then the FIN.
  test(`[${io}] a client that half-closes with megabytes of replies to come gets them all in order, then the node closes`, async (t) => {
    const h = await startTestNode({ anonymous: true, io, limits: { replyQueueBytes: 256 * 1024 } });
    t.after(() => h.close());
    const c = await h.connect();
    const value = 'v'.repeat(60 * 1024);
    assert.equal(await c.text(`set hv 0 0 ${value.length}\r\n${value}\r\nset hs 0 0 1\r\ns\r\n`), 'STORED\r\nSTORED\r\n');
    const s = await openSocket(h.port);
    s.pause();
    const gets = 300; // 18 MiB of replies
    const order = Array.from({ length: gets }, (_, i) => (i % 3 === 2 ? 'hs' : 'hv'));
    s.end(order.map((k, i) => (i % 50 === 0 ? `get ${k} hs\r\n` : `get ${k}\r\n`)).join('') + 'version\r\nget hs');
    await until('the paused reader to back up', Date.now() + PROMPTLY_MS, async () => s.readableLength >= s.readableHighWaterMark || undefined);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.node.connectionCount, 2, 'the half-closed connection is still open, its replies waiting');
    const all = readToClose(s);
    s.resume();
    const reply = (k: string) => (k === 'hv' ? `VALUE hv 0 ${value.length}\r\n${value}\r\n` : 'VALUE hs 0 1\r\ns\r\n');
    const expected = order.map((k, i) => reply(k) + (i % 50 === 0 ? reply('hs') : '') + 'END\r\n').join('') + 'VERSION 1.6.21-cachier\r\n';
    const got = (await all).toString('latin1');
    assert.equal(got.length, expected.length);
    assert.ok(got === expected, 'every reply, in order');
    await until('only the other connection left', Date.now() + PROMPTLY_MS, async () => h.node.connectionCount === 1 || undefined);
  });

  test(`[${io}] a client that half-closes with nothing to answer (or half a request) is closed at once`, async (t) => {
    const h = await startTestNode({ anonymous: true, io });
    t.after(() => h.close());
    for (const last of ['', 'get unfinish', 'set k 0 0 10\r\n01234']) {
      const s = await openSocket(h.port);
      const all = readToClose(s);
      s.end('version\r\n' + last);
      assert.equal((await all).toString('latin1'), 'VERSION 1.6.21-cachier\r\n');
    }
    await until('no connection left', Date.now() + PROMPTLY_MS, async () => h.node.connectionCount === 0 || undefined);
  });

  // Half-closing gives a client no way to hold its connection past the limits on one that
  // never reads: the idle timeout while its requests wait, the closing grace once ended.
  test(`[${io}] a client that half-closes and never reads its replies is still dropped by the idle timeout`, async (t) => {
    const h = await startTestNode({ anonymous: true, io, limits: { idleTimeoutMs: 300, closingGraceMs: 300, replyQueueBytes: 64 * 1024 } });
    t.after(() => h.close());
    const value = 'w'.repeat(64 * 1024);
    const c = await h.connect();
    assert.equal(await c.text(`set w 0 0 ${value.length}\r\n${value}\r\n`), 'STORED\r\n');
    c.end();
    for (const gets of [2000, 3]) {
      // 2,000: requests wait behind the reply cap; 3: all answered, ending, replies unread.
      await until('no connection left', Date.now() + PROMPTLY_MS, async () => h.node.connectionCount === 0 || undefined);
      const s = await openSocket(h.port);
      s.on('error', () => {});
      s.pause();
      const closed = new Promise((r) => s.once('close', r));
      s.end('get w\r\n'.repeat(gets));
      await until('the half-closed reader dropped', Date.now() + 5000, async () => h.node.connectionCount === 0 || undefined);
      s.destroy();
      await closed;
    }
    const d = await h.connect();
    assert.equal(await d.text('get w\r\n', 'END\r\n'), `VALUE w 0 ${value.length}\r\n${value}\r\nEND\r\n`);
  });

  test(`[${io}] a client reset in the middle of large replies costs only that connection`, async (t) => {
    const h = await startTestNode({ anonymous: true, io });
    t.after(() => h.close());
    const c = await h.connect();
    assert.equal(await c.text(`set v 0 0 100000\r\n${'x'.repeat(100000)}\r\n`), 'STORED\r\n');
    for (let round = 0; round < 20; round++) {
      const s = await openSocket(h.port);
      s.on('error', () => {});
      s.write('get v\r\n'.repeat(200));
      await new Promise((r) => setTimeout(r, 2));
      s.resetAndDestroy();
    }
    assert.equal(await c.text('get v\r\n', 'END\r\n'), `VALUE v 0 100000\r\n${'x'.repeat(100000)}\r\nEND\r\n`);
    await until('only the healthy connection left', Date.now() + PROMPTLY_MS, async () => h.node.connectionCount === 1 || undefined);
  });

  test(`[${io}] a reader that pauses gets all replies in order once it reads again`, async (t) => {
    const h = await startTestNode({ anonymous: true, io });
    t.after(() => h.close());
    const c = await h.connect();
    const value = 'y'.repeat(64 * 1024);
    assert.equal(await c.text(`set p 0 0 ${value.length}\r\n${value}\r\n`), 'STORED\r\n');
    const s = await openSocket(h.port);
    s.pause();
    const gets = 200; // 12.8 MiB of replies: far beyond the socket buffers
    const requests = Array.from({ length: gets }, (_, i) => `get p\r\nmn\r\n`).join('') + 'quit\r\n';
    s.write(requests);
    // Replies back up in the paused reader (its buffer full, then the kernel's)...
    await until('the paused reader to back up', Date.now() + PROMPTLY_MS, async () => s.readableLength >= s.readableHighWaterMark || undefined);
    // ...and others are served while it is stuck.
    assert.equal(await c.text('get p\r\n', 'END\r\n'), `VALUE p 0 ${value.length}\r\n${value}\r\nEND\r\n`);
    const all = readToClose(s);
    s.resume();
    const got = (await all).toString('latin1');
    assert.equal(got, `VALUE p 0 ${value.length}\r\n${value}\r\nEND\r\nMN\r\n`.repeat(gets));
  });

  // The native loop sends small replies after the batch that made them; these hold it to
  // the order and completeness a client sees when each reply goes out at once.
  test(`[${io}] 64 connections sending at once each get exactly their own replies`, async (t) => {
    const h = await startTestNode({ anonymous: true, io });
    t.after(() => h.close());
    const clients = await Promise.all(Array.from({ length: 64 }, () => h.connect()));
    for (let round = 0; round < 20; round++) {
      for (const [i, c] of clients.entries()) c.send(`set c${i} 0 0 ${String(round).length}\r\n${round}\r\nget c${i}\r\n`);
      const got = await Promise.all(clients.map((c) => c.readUntil((b) => b.toString('latin1').endsWith('END\r\n'))));
      for (const [i, g] of got.entries()) {
        assert.equal(g.toString('latin1'), `STORED\r\nVALUE c${i} 0 ${String(round).length}\r\n${round}\r\nEND\r\n`);
      }
    }
  });

  test(`[${io}] replies then quit in one read: every reply arrives before the close`, async (t) => {
    const h = await startTestNode({ anonymous: true, io });
    t.after(() => h.close());
    const s = await openSocket(h.port);
    const all = readToClose(s);
    s.write('set q 0 0 3\r\nabc\r\nget q\r\nversion\r\nquit\r\nget q\r\n');
    assert.equal((await all).toString('latin1'), 'STORED\r\nVALUE q 0 3\r\nabc\r\nEND\r\nVERSION 1.6.21-cachier\r\n');
  });

  test(`[${io}] small and large replies interleaved keep their order`, async (t) => {
    const h = await startTestNode({ anonymous: true, io });
    t.after(() => h.close());
    const c = await h.connect();
    const big = 'B'.repeat(40 * 1024);
    assert.equal(await c.text(`set big 0 0 ${big.length}\r\n${big}\r\nset small 0 0 1\r\ns\r\n`), 'STORED\r\nSTORED\r\n');
    // One request per write, so each reply is its own write inside the node's batches.
    const order = ['small', 'big', 'small', 'small', 'big', 'big', 'small'];
    for (const k of order) c.send(`get ${k}\r\n`);
    const expected = order.map((k) => (k === 'big' ? `VALUE big 0 ${big.length}\r\n${big}\r\nEND\r\n` : 'VALUE small 0 1\r\ns\r\nEND\r\n')).join('');
    const got = await c.readUntil((b) => b.length >= expected.length);
    assert.equal(got.toString('latin1'), expected);
  });

  test(`[${io}] past the connection limit a client is told so and closed; the others go on`, async (t) => {
    const h = await startTestNode({ anonymous: true, io, maxConnections: 2 });
    t.after(() => h.close());
    const a = await h.connect();
    const b = await h.connect();
    assert.equal(await a.text('version\r\n'), 'VERSION 1.6.21-cachier\r\n');
    const s = await openSocket(h.port);
    const refused = (await readToClose(s)).toString('latin1');
    assert.equal(refused, 'SERVER_ERROR too many connections\r\n');
    assert.equal(await b.text('version\r\n'), 'VERSION 1.6.21-cachier\r\n');
  });

  test(`[${io}] closing the node closes its client connections`, async () => {
    const h = await startTestNode({ anonymous: true, io });
    const c = await RawClient.connect(h.port);
    assert.equal(await c.text('version\r\n'), 'VERSION 1.6.21-cachier\r\n');
    await h.close();
    assert.equal(await c.waitClosed(PROMPTLY_MS), true);
    await assert.rejects(RawClient.connect(h.port));
  });
}

test('--io and CACHIER_IO refuse an unknown mode with a clear error', async () => {
  const dataDir = makeDataDir();
  const port = String(await freePort());
  const bad = await runCli(['node', '--data', dataDir, '--host', '127.0.0.1', '--port', port, '--io', 'fast'])
    .then(() => assert.fail('started'), (e: { code: number; stderr: string }) => e);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--io must be one of auto, native, stream/);
    const badEnv = await runCli(['node', '--data', dataDir, '--host', '127.0.0.1', '--port', port], { env: { CACHIER_IO: 'fast' } })
    .then(() => assert.fail('started'), (e: { code: number; stderr: string }) => e);
  assert.match(badEnv.stderr, /CACHIER_IO must be one of auto, native, stream, not "fast"/);
});
