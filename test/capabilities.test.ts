// Capabilities of the credential in use, and live catalog changes reaching open connections.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { req, saslPlain } from '../src/protocol/binary/testing/frames.ts';
import { startTestNode, type TestCache, type TestNode } from './support/test-node.ts';
import { PROMPTLY_MS, until } from './support/wait.ts';

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
  c.send(Buffer.concat([
    req.set('k', '9'),
    req.delete('k'),
    req.incr('k', { delta: 1, initial: 0, exptime: 0 }),
    req.get('k'),
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

test('a capability change applies to an open connection', async () => {
  const cred = await t.addCredential(cache.id, {});
  const c = await t.textLogin(cred);
  assert.equal(await c.text('set live 0 0 1\r\n1\r\n'), 'STORED\r\n');
  const rec = await t.catalog.findCredential(cred.username);
  await t.catalog.updateCredential(rec!.id, { write: false });
  const answer = await until('the write refused', Date.now() + PROMPTLY_MS, async () => {
    const a = await c.text('set live 0 0 1\r\n2\r\n');
    return a === 'STORED\r\n' ? undefined : a;
  }, 50);
  assert.match(answer, /^CLIENT_ERROR permission denied/);
});

test('deleting a credential closes its connections', async () => {
  const cred = await t.addCredential(cache.id, {});
  const c = await t.textLogin(cred);
  const rec = await t.catalog.findCredential(cred.username);
  assert.equal(await t.catalog.deleteCredential(rec!.id), 'deleted');
  assert.equal(await c.waitClosed(PROMPTLY_MS), true);
});

// `stats reset` destroys the cache's counters as flush_all destroys its data: it needs
// flush_capability, refused in flush_all's words.
test('stats reset needs flush_capability, over ASCII and binary; refused, the counters stay', async () => {
  const statsOf = async (c: Awaited<ReturnType<TestNode['textLogin']>>) => {
    const out: Record<string, number> = {};
    for (const line of (await c.text('stats\r\n', 'END\r\n')).split('\r\n')) {
      const p = line.split(' ');
      if (p[0] === 'STAT') out[p[1]!] = Number(p[2]);
    }
    return out;
  };
  const admin = await t.textLogin(cache);
  await admin.text('get k\r\n', 'END\r\n');
  const before = await statsOf(admin);
  assert.ok(before.get_hits! > 0 && before.cmd_get! > 0);

  for (const caps of [{ write: false, flush: false }, { flush: false }]) {
    const ro = await t.addCredential(cache.id, caps);
    const c = await t.textLogin(ro);
    assert.equal(await c.text('stats reset\r\n'), 'CLIENT_ERROR permission denied: credential lacks flush capability\r\n');
    const flushRefusal = await c.text('flush_all\r\n');
    assert.equal(await c.text('stats reset\r\n'), flushRefusal, 'the same words as flush_all');

    const b = await t.connect();
    b.send(saslPlain(ro.username, ro.password));
    assert.equal((await b.binary())[0]!.status, 0);
    b.send(req.stat('reset'));
    const [bin] = await b.binary();
    b.send(req.flush());
    const [binFlush] = await b.binary();
    assert.equal(bin!.status, 0x20, 'binary STAT reset: auth error');
    assert.equal(bin!.status, binFlush!.status);
    assert.equal(bin!.value.toString(), binFlush!.value.toString());
  }
  const after = await statsOf(admin);
  assert.ok(after.get_hits! >= before.get_hits!, 'get_hits kept');
  assert.ok(after.cmd_get! >= before.cmd_get!, 'cmd_get kept');
  assert.equal(await admin.text('get k\r\n', 'END\r\n'), 'VALUE k 0 1\r\n5\r\nEND\r\n');

  // Flush capability (even without write) still resets, on both protocols.
  const fl = await t.addCredential(cache.id, { write: false });
  const c = await t.textLogin(fl);
  assert.equal(await c.text('stats reset\r\n'), 'RESET\r\n');
  assert.equal((await statsOf(admin)).get_hits, 0);
  await admin.text('get k\r\n', 'END\r\n');
  const b = await t.connect();
  b.send(saslPlain(fl.username, fl.password));
  assert.equal((await b.binary())[0]!.status, 0);
  b.send(req.stat('reset'));
  const frames = await b.binary();
  assert.equal(frames[0]!.status, 0);
  assert.equal((await statsOf(admin)).get_hits, 0);
});
