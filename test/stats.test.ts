// The 31 per-cache stats, exactly named, moving as memcached's do.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { STAT_NAMES } from '../src/shared/stat-names.ts';
import { req, saslPlain } from '../src/protocol/binary/testing/frames.ts';
import { startTestNode, type TestCache, type TestNode } from './support/test-node.ts';

let t: TestNode;
let cache: TestCache;
before(async () => {
  t = await startTestNode();
  cache = await t.createCache(32 << 20);
});
after(() => t.close());

function parse(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const p = line.split(' ');
    if (p[0] === 'STAT') m.set(p[1]!, p[2]!);
  }
  return m;
}

test('ASCII stats lists all 31 names as integers, and they count traffic', async () => {
  const c = await t.textLogin(cache);
  await c.text('set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nset c 0 0 1\r\n3\r\n', 'STORED\r\nSTORED\r\nSTORED\r\n');
  await c.text('get a b zz\r\n', 'END\r\n');
  await c.text('incr a 1\r\n');
  await c.text('decr nope 1\r\n');
  await c.text('touch b 100\r\n');
  await c.text('delete c\r\n');
  await c.text('cas b 0 0 1 999\r\nx\r\n');
  const s = parse(await c.text('stats\r\n', 'END\r\n'));
  for (const n of STAT_NAMES) assert.match(s.get(n) ?? '', /^\d+$/, `${n} present and integer`);
  const n = (k: string) => Number(s.get(k));
  assert.equal(n('cmd_set'), 4);
  assert.equal(n('cmd_get'), 3);
  assert.equal(n('get_hits'), 2);
  assert.equal(n('get_misses'), 1);
  assert.equal(n('incr_hits'), 1);
  assert.equal(n('decr_misses'), 1);
  assert.equal(n('touch_hits'), 1);
  assert.equal(n('cmd_touch'), 1);
  assert.equal(n('delete_hits'), 1);
  assert.equal(n('cas_badval'), 1);
  assert.equal(n('curr_items'), 2);
  assert.equal(n('total_items'), 3);
  assert.equal(n('limit_maxbytes'), 32 << 20);
  assert.equal(n('curr_connections'), 1);
  assert.ok(n('bytes') > 2);
  assert.ok(n('bytes_read') > 50);
  assert.ok(n('bytes_written') > 20);
  assert.ok(Math.abs(n('time') - Date.now() / 1000) < 5);
});

test('binary STAT returns the same names, ended by an empty key', async () => {
  const c = await t.connect();
  c.send(saslPlain(cache.username, cache.password));
  await c.binary();
  c.send(req.stat(undefined, { opaque: 77 }));
  const rs = await c.binary(STAT_NAMES.length + 1);
  const all = [...rs];
  while (all.at(-1)!.key.length !== 0) all.push(...(await c.binary(1)));
  const names = new Set(all.map((r) => r.key.toString()));
  for (const n of STAT_NAMES) assert.ok(names.has(n), n);
  assert.ok(all.every((r) => r.opaque === 77 && r.status === 0));
});

test('stats settings reports the limits this node enforces', async () => {
  const c = await t.textLogin(cache);
  const s = parse(await c.text('stats settings\r\n', 'END\r\n'));
  assert.equal(s.get('item_size_max'), String(1024 * 1024));
  assert.equal(s.get('maxbytes'), String(32 << 20));
  assert.equal(s.get('pid'), String(process.pid), 'the process serving the node (this one, in-process)');
  assert.equal(await c.text('stats nonsense\r\n'), 'ERROR\r\n');
});
