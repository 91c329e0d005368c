// Stats and flush across servers: one entry per node keyed host:port with the 31 stats,
// values that move with real client traffic, the plan split over the nodes, and the
// document's 500 naming exactly the servers that did not answer.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { STAT_NAMES } from '../src/shared/stat-names.ts';
import { ITEM_OVERHEAD } from '../src/store/item-cost.ts';
import { NOT_AUTHORIZED, parseTextStats, startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';
import { PROMPTLY_MS } from './support/wait.ts';

const PLAN = 64 << 20;
let t: TestCluster;
let cache: ClusterCache;
before(async () => {
  t = await startTestCluster({ nodes: 2 });
  cache = await t.createCache(PLAN);
});
after(() => t.close());

type Stats = Record<string, Record<string, number>>;
const stats = async (c = cache): Promise<Stats> => {
  const r = await t.api(`/api/v1/${c.id}/stats`, { auth: c });
  assert.equal(r.status, 200, r.text);
  return r.json();
};

test('one entry per server, keyed host:port, each with exactly the 31 integer stats', async () => {
  const s = await stats();
  assert.deepEqual(Object.keys(s).sort(), [...t.addresses].sort());
  for (const [server, entry] of Object.entries(s)) {
    assert.deepEqual(Object.keys(entry).sort(), [...STAT_NAMES].sort(), server);
    for (const n of STAT_NAMES) assert.ok(Number.isInteger(entry[n]), `${server} ${n}`);
    assert.ok(Math.abs(entry.time! - Date.now() / 1000) < 5);
  }
});

test('limit_maxbytes summed over the servers equals the plan', async () => {
  const s = await stats();
  const total = Object.values(s).reduce((sum, e) => sum + e.limit_maxbytes!, 0);
  assert.equal(total, PLAN);
  for (const e of Object.values(s)) assert.equal(e.limit_maxbytes, PLAN / 2);
});

test('3 sets, 2 hits and 1 miss move cmd_set, get_hits, get_misses, curr_items and bytes exactly', async () => {
  const c = await t.createCache(PLAN);
  const client = await t.textLogin(c, 1);
  const server = t.addresses[1]!;
  const before = (await stats(c))[server]!;
  await client.text('set k1 0 0 5\r\nhello\r\nset k2 0 0 3\r\nabc\r\nset key3 0 0 10\r\n0123456789\r\n', 'STORED\r\nSTORED\r\nSTORED\r\n');
  await client.text('get k1\r\n', 'END\r\n');
  await client.text('get key3\r\n', 'END\r\n');
  await client.text('get nope\r\n', 'END\r\n');
  const s = await stats(c);
  const now = s[server]!;
  const delta = (n: string) => now[n]! - before[n]!;
  assert.equal(delta('cmd_set'), 3);
  assert.equal(delta('get_hits'), 2);
  assert.equal(delta('get_misses'), 1);
  assert.equal(delta('cmd_get'), 3);
  assert.equal(delta('curr_items'), 3);
  assert.equal(delta('total_items'), 3);
  assert.equal(delta('bytes'), 2 + 5 + 2 + 3 + 4 + 10 + 3 * ITEM_OVERHEAD);
  assert.equal(now.curr_connections, 1);
  assert.ok(delta('bytes_read') > 0 && delta('bytes_written') > 0);
  // The API and the node's own `stats` agree.
  const own = parseTextStats(await client.text('stats\r\n', 'END\r\n'));
  for (const n of ['cmd_set', 'get_hits', 'get_misses', 'curr_items', 'bytes', 'limit_maxbytes']) assert.equal(own[n], now[n], n);
  // The other server saw none of it.
  const idle = s[t.addresses[0]!]!;
  assert.equal(idle.cmd_set, 0);
  assert.equal(idle.curr_items, 0);
});

test('POST flush: 200 with an empty body, and the items are gone on every server', async () => {
  const c = await t.createCache(PLAN);
  for (const i of [0, 1]) {
    const client = await t.textLogin(c, i);
    await client.text(`set a${i} 0 0 1\r\nx\r\n`, 'STORED\r\n');
  }
  const before = await stats(c);
  assert.equal(before[t.addresses[0]!]!.curr_items, 1);
  assert.equal(before[t.addresses[1]!]!.curr_items, 1);
  const r = await t.api(`/api/v1/${c.id}/flush`, { method: 'POST', auth: c });
  assert.equal(r.status, 200);
  assert.equal(r.text, '');
  const after = await stats(c);
  for (const a of t.addresses) assert.equal(after[a]!.curr_items, 0, a);
  const client = await t.textLogin(c, 0);
  assert.equal(await client.text('get a0\r\n', 'END\r\n'), 'END\r\n');
});

test('flush without flush_capability is 403 and flushes nothing', async () => {
  const c = await t.createCache(PLAN);
  const client = await t.textLogin(c, 0);
  await client.text('set keep 0 0 1\r\nx\r\n', 'STORED\r\n');
  const noFlush = await t.addCredential(c.id, { flush: false });
  const r = await t.api(`/api/v1/${c.id}/flush`, { method: 'POST', auth: noFlush });
  assert.equal(r.status, 403);
  assert.equal(r.text, NOT_AUTHORIZED);
  assert.equal(await client.text('get keep\r\n', 'END\r\n'), 'VALUE keep 0 1\r\nx\r\nEND\r\n');
});

test('flush is POST only', async () => {
  const r = await t.api(`/api/v1/${cache.id}/flush`, { auth: cache });
  assert.equal(r.status, 404);
});

test('a stopped node makes stats and flush the 500 naming it; a node on the same address brings them back', async () => {
  const down = t.addresses[1]!;
  await t.stopNode(1);
  try {
    const r = await t.api(`/api/v1/${cache.id}/stats`, { auth: cache });
    assert.equal(r.status, 500);
    assert.equal(r.text, JSON.stringify(`Server error: ${down}`));
    const f = await t.api(`/api/v1/${cache.id}/flush`, { method: 'POST', auth: cache });
    assert.equal(f.status, 500);
    assert.equal(f.text, JSON.stringify(`Server error: ${down}`));
  } finally {
    await t.restartNode(1);
  }
  const s = await stats();
  assert.deepEqual(Object.keys(s).sort(), [...t.addresses].sort());
  assert.equal((await t.api(`/api/v1/${cache.id}/flush`, { method: 'POST', auth: cache })).status, 200);
});

test('two servers down are both named; a server that hangs is given up on within the deadline', async () => {
  // A "node" whose admin port accepts and never answers.
  const hung: Server = createServer(() => {});
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  const hungAdmin = `127.0.0.1:${(hung.address() as AddressInfo).port}`;
  await t.catalog.registerNode('127.0.0.1:1', hungAdmin);
  await t.catalog.registerNode('127.0.0.1:2', '127.0.0.1:9');
  await t.syncNodes();
  try {
    const started = Date.now();
    const r = await t.api(`/api/v1/${cache.id}/stats`, { auth: cache });
    const took = Date.now() - started;
    assert.equal(r.status, 500);
    assert.equal(r.text, JSON.stringify('Server error: 127.0.0.1:1,127.0.0.1:2'));
    // Waited for the hung node (1.5 s deadline), then gave up: well before a client would.
    assert.ok(took >= 1000 && took < PROMPTLY_MS, `took ${took} ms`);
  } finally {
    await t.catalog.removeNode('127.0.0.1:1');
    await t.catalog.removeNode('127.0.0.1:2');
    await t.syncNodes();
    hung.closeAllConnections();
    hung.close();
  }
  assert.equal((await t.api(`/api/v1/${cache.id}/stats`, { auth: cache })).status, 200);
});
