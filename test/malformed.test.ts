// Hostile and broken input gets an error or a closed connection, never a crash: the node
// serves a well-formed client right after each case.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzSeed, seededBytes, seededRandom } from '../src/shared/testing/seeded-random.ts';
import { rawRequest, saslPlain } from '../src/protocol/binary/testing/frames.ts';
import { Opcode } from '../src/protocol/binary/opcodes.ts';
import { startTestNode, type TestCache, type TestNode } from './support/test-node.ts';
import { PROMPTLY_MS } from './support/wait.ts';

let t: TestNode;
let cache: TestCache;
before(async () => {
  t = await startTestNode();
  cache = await t.createCache();
});
after(() => t.close());

async function stillServes(): Promise<void> {
  const c = await t.textLogin(cache);
  assert.equal(await c.text('set ok 0 0 2\r\nok\r\n'), 'STORED\r\n');
  assert.equal(await c.text('get ok\r\n', 'END\r\n'), 'VALUE ok 0 2\r\nok\r\nEND\r\n');
  c.end();
}

test('a key over 250 bytes is refused and the connection stays usable', async () => {
  const c = await t.textLogin(cache);
  const long = 'k'.repeat(251);
  assert.match(await c.text(`set ${long} 0 0 1\r\nx\r\n`), /^CLIENT_ERROR/);
  assert.match(await c.text(`get ${long}\r\n`), /^CLIENT_ERROR/);
  assert.equal(await c.text('set k 0 0 1\r\nx\r\n'), 'STORED\r\n');
  await stillServes();
});

test('negative, absurd and non-numeric lengths are refused', async () => {
  const c = await t.textLogin(cache);
  assert.match(await c.text('set k 0 0 -1\r\n'), /^CLIENT_ERROR/);
  assert.match(await c.text('set k 0 0 abc\r\n'), /^CLIENT_ERROR/);
  assert.match(await c.text('set k 0 0 99999999999999999999\r\n'), /^(CLIENT|SERVER)_ERROR/);
  assert.equal(await c.text('set k 0 0 1\r\nx\r\n'), 'STORED\r\n');
  await stillServes();
});

test('a value over 1 MiB is refused and its data swallowed', async () => {
  const c = await t.textLogin(cache);
  const size = 1024 * 1024 + 1;
  const r = await c.text(Buffer.concat([Buffer.from(`set big 0 0 ${size}\r\n`), Buffer.alloc(size, 97), Buffer.from('\r\n')]));
  assert.match(r, /^SERVER_ERROR object too large/);
  assert.equal(await c.text('get big\r\n', 'END\r\n'), 'END\r\n');
  await stillServes();
});

test('append beyond 1 MiB is refused', async () => {
  const c = await t.textLogin(cache);
  const half = 600 * 1024;
  const body = Buffer.alloc(half, 98);
  assert.equal(await c.text(Buffer.concat([Buffer.from(`set grow 0 0 ${half}\r\n`), body, Buffer.from('\r\n')])), 'STORED\r\n');
  assert.match(await c.text(Buffer.concat([Buffer.from(`append grow 0 0 ${half}\r\n`), body, Buffer.from('\r\n')])), /^SERVER_ERROR/);
  const got = await c.text('get grow\r\n', 'END\r\n');
  assert.ok(got.startsWith(`VALUE grow 0 ${half}\r\n`));
});

test('a binary frame whose body length lies gets an error or a close', async () => {
  const c = await t.connect();
  c.send(saslPlain(cache.username, cache.password));
  await c.binary();
  c.send(rawRequest({ opcode: Opcode.Get, key: 'abc', bodylen: 1 })); // body shorter than the key
  const r = await c.binaryOrClosed(1, PROMPTLY_MS);
  if (r !== 'closed') assert.notEqual(r[0]!.status, 0);
  await stillServes();
});

test('a binary frame claiming a 4 GiB body is refused without buffering', async () => {
  const c = await t.connect();
  c.send(rawRequest({ opcode: Opcode.Set, key: 'k', bodylen: 0xffffffff }));
  const r = await c.binaryOrClosed(1, PROMPTLY_MS);
  if (r !== 'closed') assert.notEqual(r[0]!.status, 0);
  assert.equal(await c.waitClosed(PROMPTLY_MS), true);
  await stillServes();
});

test('an unknown binary opcode answers 0x81 with the opaque', async () => {
  const c = await t.connect();
  c.send(saslPlain(cache.username, cache.password));
  await c.binary();
  c.send(rawRequest({ opcode: 0x3f, key: 'x', opaque: 0xdeadbeef }));
  const [r] = await c.binary();
  assert.equal(r!.status, 0x81);
  assert.equal(r!.opaque, 0xdeadbeef);
  await stillServes();
});

test('unknown ASCII commands answer ERROR', async () => {
  const c = await t.textLogin(cache);
  assert.equal(await c.text('bogus command\r\n'), 'ERROR\r\n');
  await stillServes();
});

const seed = fuzzSeed();

test(`random bytes never take the node down (seed ${seed})`, async () => {
  const random = seededRandom(seed);
  const held = [];
  for (let i = 0; i < 30; i++) {
    const c = await t.connect();
    c.send(seededBytes(random, 1 + (i * 97) % 4000));
    c.send(seededBytes(random, 64));
    held.push(c);
  }
  await stillServes();
  for (const c of held) c.end();
});
