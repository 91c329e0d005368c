// Meta commands end to end on a live node.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, type TestCache, type TestNode } from './support/test-node.ts';

let t: TestNode;
let cache: TestCache;
before(async () => {
  t = await startTestNode();
  cache = await t.createCache();
});
after(() => t.close());

test('ms / mg with value, flags, cas, ttl and opaque', async () => {
  const c = await t.textLogin(cache);
  assert.equal(await c.text('ms mk 5 F42 T100 Oab\r\nhello\r\n'), 'HD Oab\r\n');
  const got = await c.text('mg mk v f t c k Oxy\r\n', 'hello\r\n');
  const m = /^VA 5 f42 t(\d+) c(\d+) kmk Oxy\r\nhello\r\n$/.exec(got);
  assert.ok(m, got);
  assert.ok(Number(m[1]) <= 100 && Number(m[1]) >= 98);
  // Compare-and-swap with the returned cas: a wrong one is EX, the right one HD.
  assert.equal(await c.text(`ms mk 3 C${Number(m[2]) + 1}\r\nbye\r\n`), 'EX\r\n');
  assert.equal(await c.text(`ms mk 3 C${m[2]}\r\nbye\r\n`), 'HD\r\n');
  assert.equal(await c.text('mg missing v\r\n'), 'EN\r\n');
  assert.equal(await c.text('mg missing v q\r\nmn\r\n'), 'MN\r\n');
});

test('ms modes, md and ma', async () => {
  const c = await t.textLogin(cache);
  assert.equal(await c.text('ms cnt 1 ME\r\n5\r\n'), 'HD\r\n');
  assert.equal(await c.text('ms cnt 1 ME\r\n6\r\n'), 'NS\r\n');
  assert.equal(await c.text('ms cnt 1 MA\r\n0\r\n'), 'HD\r\n');
  assert.equal(await c.text('ma cnt v\r\n', '\r\n51\r\n'), 'VA 2\r\n51\r\n');
  assert.equal(await c.text('ma cnt MD D50 v\r\n', '\r\n1\r\n'), 'VA 1\r\n1\r\n');
  assert.equal(await c.text('ma nope\r\n'), 'NF\r\n');
  assert.equal(await c.text('ma auto N0 J10 v\r\n', '\r\n10\r\n'), 'VA 2\r\n10\r\n');
  assert.equal(await c.text('md cnt\r\n'), 'HD\r\n');
  assert.equal(await c.text('md cnt\r\n'), 'NF\r\n');
  // As memcached: q hides HD but not NF on md.
  assert.equal(await c.text('md cnt q\r\nmn\r\n', 'MN\r\n'), 'NF\r\nMN\r\n');
  await c.text('set cnt 0 0 1\r\n1\r\n');
  assert.equal(await c.text('md cnt q\r\nmn\r\n'), 'MN\r\n');
});

test('base64 keys round-trip and address the same item as the raw key', async () => {
  const c = await t.textLogin(cache);
  const b64 = Buffer.from('bkey').toString('base64');
  assert.equal(await c.text(`ms ${b64} 2 b\r\nxy\r\n`), 'HD\r\n');
  assert.equal(await c.text('get bkey\r\n', 'END\r\n'), 'VALUE bkey 0 2\r\nxy\r\nEND\r\n');
  assert.equal(await c.text(`mg ${b64} b k v\r\n`, 'xy\r\n'), `VA 2 k${b64} b\r\nxy\r\n`);
});

test('me shows an item\'s metadata', async () => {
  const c = await t.textLogin(cache);
  await c.text('set dbg 0 0 3\r\nabc\r\n');
  assert.match(await c.text('me dbg\r\n'), /^ME dbg exp=-1 la=\d+ cas=\d+ fetch=no cls=\d+ size=\d+\r\n$/);
  assert.equal(await c.text('me none\r\n'), 'EN\r\n');
});
