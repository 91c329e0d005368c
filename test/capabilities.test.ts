// Capabilities of the credential in use, and live catalog changes reaching open connections.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { binRequest, saslPlain, setExtras } from './support/raw-client.ts';
import { startTestNode, type TestCache, type TestNode } from './support/test-node.ts';

let t: TestNode;
let cache: TestCache;
before(async () => {
  t = await startTestNode();
  cache = await t.createCache();
  const c = await t.textLogin(cache);
  await c.text('set k 0 0 1\r\n5\r\n');
});
after(() => t.close());

test('a read-only credential can read but every mutation is refused (ASCII)', async () => {
  const ro = await t.addCredential(cache.id, { write: false });
  const c = await t.textLogin(ro);
  assert.equal(await c.text('get k\r\n', 'END\r\n'), 'VALUE k 0 1\r\n5\r\nEND\r\n');
  for (const cmd of [
    'set k 0 0 1\r\n9\r\n', 'add n 0 0 1\r\n9\r\n', 'replace k 0 0 1\r\n9\r\n', 'append k 0 0 1\r\n9\r\n',
    'prepend k 0 0 1\r\n9\r\n', 'cas k 0 0 1 1\r\n9\r\n', 'incr k 1\r\n', 'decr k 1\r\n', 'delete k\r\n',
    'touch k 100\r\n', 'gat 100 k\r\n', 'ms k 1\r\n9\r\n', 'md k\r\n', 'ma k\r\n',
  ]) {
    assert.match(await c.text(cmd), /^CLIENT_ERROR permission denied/, cmd);
  }
  assert.equal(await c.text('get k\r\n', 'END\r\n'), 'VALUE k 0 1\r\n5\r\nEND\r\n');
});

test('a read-only credential is refused over binary too', async () => {
  const ro = await t.addCredential(cache.id, { write: false });
  const c = await t.connect();
  c.send(saslPlain(ro.username, ro.password));
  assert.equal((await c.binary())[0]!.status, 0);
  const incrExtras = Buffer.alloc(20);
  incrExtras.writeBigUInt64BE(1n, 0);
  c.send(Buffer.concat([
    binRequest(0x01, { key: 'k', value: '9', extras: setExtras() }),
    binRequest(0x04, { key: 'k' }),
    binRequest(0x05, { key: 'k', extras: incrExtras }),
    binRequest(0x00, { key: 'k' }),
  ]));
  const [set, del, incr, get] = await c.binary(4);
  for (const r of [set, del, incr]) assert.notEqual(r!.status, 0);
  assert.equal(get!.value.toString(), '5');
});

test('a credential without flush_capability cannot flush', async () => {
  const nf = await t.addCredential(cache.id, { flush: false });
  const c = await t.textLogin(nf);
  assert.match(await c.text('flush_all\r\n'), /^CLIENT_ERROR permission denied/);
  assert.equal(await c.text('get k\r\n', 'END\r\n'), 'VALUE k 0 1\r\n5\r\nEND\r\n');
  assert.equal(await c.text('set w 0 0 1\r\n1\r\n'), 'STORED\r\n');
});

test('a capability change applies to an open connection within 1 s', async () => {
  const cred = await t.addCredential(cache.id, {});
  const c = await t.textLogin(cred);
  assert.equal(await c.text('set live 0 0 1\r\n1\r\n'), 'STORED\r\n');
  const rec = await t.catalog.findCredential(cred.username);
  await t.catalog.updateCredential(rec!.id, { write: false });
  const deadline = Date.now() + 1000;
  let answer = '';
  while (Date.now() < deadline) {
    answer = await c.text('set live 0 0 1\r\n2\r\n');
    if (answer.startsWith('CLIENT_ERROR')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(answer, /^CLIENT_ERROR permission denied/);
});

test('deleting a credential closes its connections within 1 s', async () => {
  const cred = await t.addCredential(cache.id, {});
  const c = await t.textLogin(cred);
  const rec = await t.catalog.findCredential(cred.username);
  assert.equal(await t.catalog.deleteCredential(rec!.id), 'deleted');
  assert.equal(await c.waitClosed(1200), true);
});
