// Two caches on one node share nothing: keys, values, stats, flushes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, type TestCache, type TestNode } from './support/test-node.ts';

let t: TestNode;
let a: TestCache;
let b: TestCache;
before(async () => {
  t = await startTestNode();
  a = await t.createCache();
  b = await t.createCache();
});
after(() => t.close());

test('the same key in two caches holds two values', async () => {
  const ca = await t.textLogin(a);
  const cb = await t.textLogin(b);
  await ca.text('set shared 0 0 5\r\nalpha\r\n');
  assert.equal(await cb.text('get shared\r\n', 'END\r\n'), 'END\r\n');
  await cb.text('set shared 0 0 4\r\nbeta\r\n');
  assert.equal(await ca.text('get shared\r\n', 'END\r\n'), 'VALUE shared 0 5\r\nalpha\r\nEND\r\n');
  assert.equal(await cb.text('get shared\r\n', 'END\r\n'), 'VALUE shared 0 4\r\nbeta\r\nEND\r\n');
});

test('stats count only the connection\'s own cache', async () => {
  const ca = await t.textLogin(a);
  const cb = await t.textLogin(b);
  await ca.text('stats reset\r\n');
  await cb.text('stats reset\r\n');
  const before = await cb.text('stats\r\n', 'END\r\n');
  for (let i = 0; i < 5; i++) await ca.text(`set a${i} 0 0 1\r\nx\r\n`);
  await ca.text('get a1 a2 nope\r\n', 'END\r\n');
  const after = await cb.text('stats\r\n', 'END\r\n');
  const num = (s: string, n: string) => Number(new RegExp(`STAT ${n} (\\d+)`).exec(s)![1]);
  for (const n of ['cmd_set', 'cmd_get', 'get_hits', 'get_misses', 'total_items']) assert.equal(num(after, n), num(before, n), n);
  assert.equal(num(after, 'curr_items'), 1);
  const sa = await ca.text('stats\r\n', 'END\r\n');
  assert.equal(num(sa, 'curr_items'), 6);
  assert.equal(num(sa, 'get_hits'), 2);
  assert.equal(num(sa, 'get_misses'), 1);
});

test('flushing one cache leaves the other intact', async () => {
  const ca = await t.textLogin(a);
  const cb = await t.textLogin(b);
  await ca.text('set keep 0 0 1\r\n1\r\n');
  await cb.text('set gone 0 0 1\r\n2\r\n');
  assert.equal(await cb.text('flush_all\r\n'), 'OK\r\n');
  assert.equal(await cb.text('get gone\r\n', 'END\r\n'), 'END\r\n');
  assert.equal(await ca.text('get keep\r\n', 'END\r\n'), 'VALUE keep 0 1\r\n1\r\nEND\r\n');
});
