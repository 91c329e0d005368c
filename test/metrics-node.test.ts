/**
 * A node's /metrics on its admin port: figures read from what the node counts (commands,
 * bytes, connections, refusals at --max-connections, failed logins), and who may read it
 * (loopback without a token; a token when set; the cluster secret; 404 elsewhere).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminEndpoint } from '../src/node/admin-endpoint.ts';
import { startTestNode, type TestCache, type TestNode } from './support/test-node.ts';

let t: TestNode;
let cache: TestCache;

before(async () => {
  t = await startTestNode({ maxConnections: 2 });
  cache = await t.createCache();
});
after(() => t.close());

async function metrics(base: string, authorization?: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${base}/metrics`, { headers: authorization ? { authorization } : {} });
  return { status: r.status, text: await r.text() };
}

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `${series} in\n${text}`);
  return Number(line.slice(series.length + 1));
}

test('commands, bytes, connections and refusals, read from the node\'s own counters', async () => {
  const base = `http://${t.node.adminAddress}`;
  const before = await metrics(base);
  assert.equal(before.status, 200, 'open without a token on a loopback host');
  const c = await t.textLogin(cache);
  await c.text('set k 0 0 1\r\nv\r\n');
  for (let i = 0; i < 3; i++) await c.text('get k\r\n', 'END\r\n');
  await c.text('get missing\r\n', 'END\r\n');
  await c.text('incr n 1\r\n');
  await t.textLogin(cache);
  // A third login is past --max-connections 2.
  const third = await t.connect();
  const r = await third.textOrClosed(`set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\n`);
  assert.match(r, /too many connections|closed/);
  // A wrong password is a failed login the throttle delays.
  const wrong = await t.connect();
  await wrong.textOrClosed(`set ${cache.username} 0 0 5\r\nwrong\r\n`);

  const { text } = await metrics(base);
  assert.equal(value(text, 'cachier_node_commands_total{command="get"}'), 4);
  assert.equal(value(text, 'cachier_node_commands_total{command="set"}'), 1);
  assert.equal(value(text, 'cachier_node_commands_total{command="incr"}'), 1);
  assert.equal(value(text, 'cachier_node_connections{state="logged_in"}'), 2);
  assert.equal(value(text, 'cachier_node_connections_refused_total{reason="node_limit"}'), 1);
  assert.ok(value(text, 'cachier_node_login_failures_total{outcome="delayed"}') >= 1);
  assert.ok(value(text, 'cachier_node_read_bytes_total') > value(before.text, 'cachier_node_read_bytes_total'));
  assert.ok(value(text, 'cachier_node_written_bytes_total') > 0);
  assert.equal(value(text, 'cachier_node_caches'), 1);
  assert.equal(value(text, 'cachier_node_items'), 1);
  assert.ok(value(text, 'cachier_node_resident_memory_bytes') > 1e6);
  const io = /^cachier_node_info\{io="(native|stream)"\} 1$/m.exec(text)?.[1];
  assert.ok(io);
  if (io === 'native') assert.ok(value(text, 'cachier_node_native_batches_total') > 0);
});

async function endpoint(access: { token: string | undefined; host: string }, secret: string): Promise<{ base: string; server: Server }> {
  const server = createAdminEndpoint({ tenants: t.node.tenants, secret, sync: async () => {}, metrics: { registry: { contentType: 'text/plain; version=0.0.4', text: async () => '' }, access } });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test('who may read it: the metrics token or the cluster secret; without a token, 404 on a non-loopback host', async () => {
  const secret = 'cluster-secret-0123456789';
  const token = 'metrics-token-0123456789abcdef';
  const withToken = await endpoint({ token, host: '0.0.0.0' }, secret);
  const off = await endpoint({ token: undefined, host: '0.0.0.0' }, secret);
  try {
    assert.equal((await metrics(withToken.base)).status, 401);
    assert.equal((await metrics(withToken.base, `Bearer ${token}x`)).status, 401);
    assert.equal((await metrics(withToken.base, `Bearer ${token}`)).status, 200);
    assert.equal((await metrics(withToken.base, `Bearer ${secret}`)).status, 200);
    // The metrics token opens /metrics only.
    assert.equal((await fetch(`${withToken.base}/caches/${cache.id}/stats`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
    assert.equal((await metrics(off.base)).status, 404);
    assert.equal((await metrics(off.base, `Bearer ${token}`)).status, 404);
    assert.equal((await metrics(off.base, `Bearer ${secret}`)).status, 200);
  } finally {
    for (const s of [withToken.server, off.server]) await new Promise((r) => s.close(r));
  }
});
