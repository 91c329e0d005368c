// API v2 commands over real HTTP on a two-node cluster: POST flush (204), POST reset_stats
// (204: counters zeroed on every server, gauges kept), GET stats (one flat object summed
// over the servers, time the newest); a server that does not answer → 500 naming it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { COUNTER_NAMES, GAUGE_NAMES, STAT_NAMES } from '../src/shared/stat-names.ts';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';
import { PROMPTLY_MS } from './support/wait.ts';
import type { RawClient } from './support/raw-client.ts';

let t: TestCluster;
let cache: ClusterCache;
let clients: RawClient[];
before(async () => {
  t = await startTestCluster({ nodes: 2 });
  cache = await t.createCache();
  clients = [await t.textLogin(cache, 0), await t.textLogin(cache, 1)];
});
after(() => t.close());

const v2 = (action: string) => `/api/v2/caches/${cache.id}/${action}`;

async function perServer(): Promise<Record<string, Record<string, number>>> {
  const r = await t.api(`/api/v1/${cache.id}/stats`, { auth: cache });
  assert.equal(r.status, 200, r.text);
  return r.json();
}

async function traffic(): Promise<void> {
  for (const [i, c] of clients.entries()) {
    assert.equal(await c.text(`set k${i} 0 0 5\r\nhello\r\n`), 'STORED\r\n');
    assert.match(await c.text(`get k${i} nokey\r\n`, 'END\r\n'), /^VALUE/);
    assert.equal(await c.text(`incr nokey 1\r\n`), 'NOT_FOUND\r\n');
  }
}

test('stats: one flat object of the 31 stats, each summed over both servers, time the newest', async () => {
  await traffic();
  const before = await perServer();
  const r = await t.api(v2('stats'), { auth: cache });
  assert.equal(r.status, 200, r.text);
  const after = await perServer();
  const flat = r.json();
  assert.deepEqual(Object.keys(flat).sort(), [...STAT_NAMES].sort());
  for (const name of STAT_NAMES) assert.equal(typeof flat[name], 'number', name);
  const servers = Object.keys(before);
  assert.equal(servers.length, 2);
  const sum = (s: Record<string, Record<string, number>>, n: string) => servers.reduce((a, k) => a + s[k]![n]!, 0);
  // Counters our reads do not move (the API does not count as memcache traffic).
  for (const name of ['cmd_get', 'cmd_set', 'get_hits', 'get_misses', 'incr_misses', 'curr_items', 'limit_maxbytes', 'bytes']) {
    assert.equal(flat[name], sum(before, name), name);
    assert.equal(flat[name], sum(after, name), name);
  }
  assert.equal(flat.limit_maxbytes, 64 << 20, 'the plan, summed over the servers');
  assert.ok(flat.cmd_get >= 4 && flat.get_hits >= 2 && flat.cmd_set >= 2);
  const times = servers.map((k) => before[k]!.time!);
  assert.ok(flat.time >= Math.max(...times) && flat.time <= Math.max(...servers.map((k) => after[k]!.time!)));
});

test('reset_stats: 204, every counter zero on every server, gauges kept', async () => {
  await traffic();
  const before = await perServer();
  const r = await t.api(v2('reset_stats'), { auth: cache, method: 'POST' });
  assert.equal(r.status, 204, r.text);
  assert.equal(r.text, '');
  const after = await perServer();
  for (const [server, stats] of Object.entries(after)) {
    for (const name of COUNTER_NAMES) assert.equal(stats[name], 0, `${server} ${name}`);
    for (const name of GAUGE_NAMES.filter((n) => n !== 'time')) assert.equal(stats[name], before[server]![name], `${server} ${name}`);
    assert.ok(stats.curr_items! >= 1, 'data kept');
  }
  // Counting starts again from zero.
  assert.match(await clients[0]!.text('get k0\r\n', 'END\r\n'), /^VALUE/);
  const flat = (await t.api(v2('stats'), { auth: cache })).json();
  assert.equal(flat.cmd_get, 1);
  assert.equal(flat.get_hits, 1);
});

test('flush: 204 with no body, every server emptied; without flush_capability 403 and nothing flushed', async () => {
  await traffic();
  const readOnly = await t.addCredential(cache.id, { write: false, flush: false, api: true });
  for (const action of ['flush', 'reset_stats']) {
    const r = await t.api(v2(action), { auth: readOnly, method: 'POST' });
    assert.equal(r.status, 403, `${action}: ${r.text}`);
    assert.deepEqual(r.json(), { message: 'You are not authorized to perform this action.' });
  }
  assert.match(await clients[0]!.text('get k0\r\n', 'END\r\n'), /^VALUE/, 'not flushed');
  assert.ok((await t.api(v2('stats'), { auth: cache })).json().cmd_get > 0, 'not reset');

  const r = await t.api(v2('flush'), { auth: cache, method: 'POST' });
  assert.equal(r.status, 204, r.text);
  assert.equal(r.text, '');
  for (const [i, c] of clients.entries()) assert.equal(await c.text(`get k${i}\r\n`, 'END\r\n'), 'END\r\n');
  assert.equal((await t.api(v2('stats'), { auth: cache })).json().curr_items, 0);
});

test('flush and reset_stats take no body: a body is a 400 and nothing happens', async () => {
  await traffic();
  for (const action of ['flush', 'reset_stats']) {
    for (const json of [{ now: true }, [1], 'x', 5]) {
      const r = await t.api(v2(action), { auth: cache, method: 'POST', json });
      assert.equal(r.status, 400, `${action} ${JSON.stringify(json)}: ${r.text}`);
      assert.match(r.json().message, /^Bad request/);
    }
  }
  assert.match(await clients[0]!.text('get k0\r\n', 'END\r\n'), /^VALUE/, 'not flushed');
  assert.ok((await t.api(v2('stats'), { auth: cache })).json().cmd_get > 0, 'not reset');
  // GET flush is no route.
  assert.equal((await t.api(v2('flush'), { auth: cache })).status, 404);
});

test('a server that hangs or is gone: stats, flush and reset_stats answer 500 naming them, within the deadline', async () => {
  const hung: Server = createServer(() => {});
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  await t.catalog.registerNode('127.0.0.1:1', `127.0.0.1:${(hung.address() as AddressInfo).port}`);
  await t.catalog.registerNode('127.0.0.1:2', '127.0.0.1:9');
  await t.syncNodes();
  try {
    for (const [method, action] of [['GET', 'stats'], ['POST', 'flush'], ['POST', 'reset_stats']] as const) {
      const started = Date.now();
      const r = await t.api(v2(action), { auth: cache, method });
      const took = Date.now() - started;
      assert.equal(r.status, 500, `${action}: ${r.text}`);
      assert.deepEqual(r.json(), { message: 'Server error: 127.0.0.1:1,127.0.0.1:2' });
      assert.ok(took >= 1000 && took < PROMPTLY_MS, `${action} took ${took} ms`);
    }
  } finally {
    await t.catalog.removeNode('127.0.0.1:1');
    await t.catalog.removeNode('127.0.0.1:2');
    await t.syncNodes();
    hung.closeAllConnections();
    hung.close();
  }
  assert.equal((await t.api(v2('stats'), { auth: cache })).status, 200);
});
