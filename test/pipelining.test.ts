// Many requests in one packet, one request over many packets: replies keep request order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { req, saslPlain } from '../src/protocol/binary/testing/frames.ts';
import { startTestNode, type TestCache, type TestNode } from './support/test-node.ts';

let t: TestNode;
let cache: TestCache;
before(async () => {
  t = await startTestNode();
  cache = await t.createCache();
});
after(() => t.close());

test('a pipelined ASCII batch is answered in order', async () => {
  const c = await t.textLogin(cache);
  const req = 'set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nget a b\r\nincr a 5\r\ndelete b\r\nget b\r\nmn\r\n';
  assert.equal(await c.text(req, 'MN\r\n'), 'STORED\r\nSTORED\r\nVALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nEND\r\n6\r\nDELETED\r\nEND\r\nMN\r\n');
});

test('a request split into one-byte packets works', async () => {
  const c = await t.textLogin(cache);
  const req = 'set split 7 0 11\r\nhello world\r\nget split\r\n';
  for (const ch of req) {
    c.send(ch);
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(await c.text('', 'END\r\n'), 'STORED\r\nVALUE split 7 11\r\nhello world\r\nEND\r\n');
});

test('binary quiet gets in a batch answer only hits, then the NOOP', async () => {
  const c = await t.connect();
  c.send(saslPlain(cache.username, cache.password));
  await c.binary();
  c.send(Buffer.concat([
    req.setq('q1', 'one'), // silent on success
    req.getkq('q1', { opaque: 1 }), // hit
    req.getkq('missing', { opaque: 2 }), // miss: silent
    req.noop({ opaque: 3 }),
  ]));
  const rs = await c.binary(2);
  assert.equal(rs.length, 2);
  assert.equal(rs[0]!.opaque, 1);
  assert.equal(rs[0]!.key.toString(), 'q1');
  assert.equal(rs[0]!.value.toString(), 'one');
  assert.equal(rs[1]!.opcode, 0x0a);
  assert.equal(rs[1]!.opaque, 3);
});
