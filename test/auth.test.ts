// Logging in: MemCachier's ASCII set-login, binary SASL PLAIN, failures, the login timeout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { req, saslPlain } from '../src/protocol/binary/testing/frames.ts';
import { startTestNode, type TestCache, type TestNode } from './support/test-node.ts';
import { PROMPTLY_MS } from './support/wait.ts';

let t: TestNode;
let cache: TestCache;
before(async () => {
  // Long enough for a login's round trips on a loaded machine, short enough to wait for.
  t = await startTestNode({ authTimeoutMs: 2000 });
  cache = await t.createCache();
});
after(() => t.close());

test('ASCII login with set <username> answers STORED and then serves the cache', async () => {
  const c = await t.textLogin(cache);
  assert.equal(await c.text('set k 5 0 2\r\nhi\r\n'), 'STORED\r\n');
  assert.equal(await c.text('get k\r\n', 'END\r\n'), 'VALUE k 5 2\r\nhi\r\nEND\r\n');
});

test('a wrong ASCII password gets an error line and reaches no data', async () => {
  const good = await t.textLogin(cache);
  await good.text('set secret 0 0 3\r\nabc\r\n');
  const c = await t.connect();
  const r = await c.text(`set ${cache.username} 0 0 5\r\nwrong\r\n`);
  assert.match(r, /^CLIENT_ERROR /);
  assert.match(await c.text('get secret\r\n'), /^CLIENT_ERROR authentication required/);
  assert.match(await c.text('delete secret\r\n'), /^CLIENT_ERROR authentication required/);
  assert.equal(await good.text('get secret\r\n', 'END\r\n'), 'VALUE secret 0 3\r\nabc\r\nEND\r\n');
});

test('binary SASL: LIST MECHS says PLAIN, AUTH succeeds, then commands work', async () => {
  const c = await t.connect();
  c.send(req.saslList({ opaque: 1 }));
  const [mechs] = await c.binary();
  assert.equal(mechs!.status, 0);
  assert.equal(mechs!.value.toString(), 'PLAIN');
  c.send(saslPlain(cache.username, cache.password, { opaque: 2 }));
  const [auth] = await c.binary();
  assert.equal(auth!.status, 0);
  assert.equal(auth!.opaque, 2);
  c.send(req.set('bk', 'bv', { flags: 3, opaque: 3 }));
  c.send(req.get('bk', { opaque: 4 }));
  const [set, get] = await c.binary(2);
  assert.equal(set!.status, 0);
  assert.equal(get!.status, 0);
  assert.equal(get!.value.toString(), 'bv');
  assert.equal(get!.extras.readUInt32BE(0), 3);
});

test('binary SASL with a wrong password: status 0x20 and data unreachable', async () => {
  const c = await t.connect();
  c.send(saslPlain(cache.username, 'not-the-password'));
  const [auth] = await c.binary();
  assert.equal(auth!.status, 0x20);
  c.send(req.get('bk', { opaque: 9 }));
  const [get] = await c.binary();
  assert.equal(get!.status, 0x20);
  assert.equal(get!.opaque, 9);
  assert.equal(get!.value.toString().includes('bv'), false);
});

test('binary commands before SASL are refused with 0x20', async () => {
  const c = await t.connect();
  c.send(req.set('x', 'y'));
  const [r] = await c.binary();
  assert.equal(r!.status, 0x20);
});

test('auth_cmds and auth_errors count logins naming this cache', async () => {
  const other = await t.createCache();
  const c = await t.connect();
  await c.text(`set ${other.username} 0 0 3\r\nbad\r\n`);
  await c.text(`set ${other.username} 0 0 ${other.password.length}\r\n${other.password}\r\n`);
  const stats = await c.text('stats\r\n', 'END\r\n');
  assert.match(stats, /STAT auth_cmds 2\r\n/);
  assert.match(stats, /STAT auth_errors 1\r\n/);
});

test('a connection that never logs in is closed after the timeout', async () => {
  const c = await t.connect();
  assert.equal(await c.waitClosed(PROMPTLY_MS), true);
});

test('a disabled cache cannot log in, and its open connections are closed', async () => {
  const victim = await t.createCache();
  const open = await t.textLogin(victim);
  await t.catalog.updateCache(victim.id, { enabled: false });
  assert.equal(await open.waitClosed(PROMPTLY_MS), true, 'open connection closed');
  const c = await t.connect();
  assert.match(await c.text(`set ${victim.username} 0 0 ${victim.password.length}\r\n${victim.password}\r\n`), /^CLIENT_ERROR/);
});
