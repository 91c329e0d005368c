// Readiness over real HTTP: /readyz is 200 only while the catalog answers and every cache
// node this process runs is listening, else 503 with a JSON reason; the operator API's
// GET /api/operator/nodes carries each node's state. Also against a real `cachier start`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Catalog } from '../src/catalog/catalog.ts';
import { buildApp } from '../src/control/app.ts';
import type { LocalNode } from '../src/control/readiness.ts';
import { startTestCluster, type TestCluster } from './support/control.ts';
import { freePort, freePorts } from './support/ports.ts';
import { until } from './support/wait.ts';

let t: TestCluster;
let locals: LocalNode[] = [];
before(async () => {
  t = await startTestCluster({ nodes: 2, control: { localNodes: () => locals } });
  locals = t.nodes.map((n) => n!);
});
after(() => t.close());

test('/readyz: 200 while the catalog answers and every local node listens; 503 naming a stopped node', async () => {
  const ready = await t.api('/readyz');
  assert.equal(ready.status, 200, ready.text);
  assert.equal(ready.headers.get('cache-control'), 'no-store');
  assert.deepEqual(ready.json(), { ready: true, catalog: 'ok', nodes: t.addresses.map((address) => ({ address, state: 'listening' })) });

  const headers = { authorization: `Bearer ${t.control.operatorToken}` };
  const listed = (await t.api('/api/operator/nodes', { headers })).json();
  assert.deepEqual(listed.map((n: any) => [n.address, n.local, n.state]), t.addresses.map((a) => [a, true, 'listening']));

  await t.stopNode(1);
  const down = await t.api('/readyz');
  assert.equal(down.status, 503, down.text);
  assert.match(down.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(down.json(), {
    ready: false, reason: `not listening: ${t.addresses[1]}`, catalog: 'ok',
    nodes: [{ address: t.addresses[0], state: 'listening' }, { address: t.addresses[1], state: 'stopped' }],
  });
  const states = (await t.api('/api/operator/nodes', { headers })).json().map((n: any) => n.state);
  assert.deepEqual(states, ['listening', 'stopped']);
  assert.equal((await t.api('/healthz')).status, 200, 'alive, though not ready');

  await t.restartNode(1);
  locals[1] = t.nodes[1]!;
  assert.equal((await t.api('/readyz')).status, 200);
});

test('nodes of other processes are listed as unknown and do not make this one unready', async () => {
  await t.catalog.registerNode('10.9.9.9:11211', '10.9.9.9:12000');
  try {
    const headers = { authorization: `Bearer ${t.control.operatorToken}` };
    const remote = (await t.api('/api/operator/nodes', { headers })).json().find((n: any) => n.address === '10.9.9.9:11211');
    assert.deepEqual([remote.local, remote.state], [false, 'unknown']);
    assert.equal((await t.api('/readyz')).status, 200);
  } finally {
    await t.catalog.removeNode('10.9.9.9:11211');
  }
});

/** A control plane on a real port over a catalog whose reads fail or hang. */
async function readyzWith(revision: () => Promise<number>): Promise<{ status: number; body: any; ms: number }> {
  const catalog = new Proxy(t.catalog, {
    get: (target, key) => (key === 'revision' ? revision : Reflect.get(target, key)),
  }) as Catalog;
  const app = buildApp({ catalog });
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const { port } = app.server.address() as { port: number };
    const started = Date.now();
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.json(), ms: Date.now() - started };
  } finally {
    await app.close();
  }
}

test('/readyz: 503 when the catalog fails, or does not answer within 2 s', async () => {
  const failed = await readyzWith(async () => {
    throw new Error('connection refused');
  });
  assert.equal(failed.status, 503);
  assert.deepEqual(failed.body, { ready: false, reason: "catalog: failed (its error is in the control plane's log)", catalog: 'failed', nodes: [] });
  const hung = await readyzWith(() => new Promise<number>(() => {}));
  assert.equal(hung.status, 503);
  assert.equal(hung.body.reason, 'catalog: no answer within 2000 ms');
  assert.ok(hung.ms >= 1900 && hung.ms < 5000, `${hung.ms} ms`);
  const fine = await readyzWith(() => t.catalog.revision());
  assert.deepEqual([fine.status, fine.body], [200, { ready: true, catalog: 'ok', nodes: [] }], 'cachier control runs no node');
});

test('a real cachier start: /readyz 200 with its nodes, and their states in the operator API', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cachier-ready-'));
  const ports = await freePorts(2, { consecutive: true });
  const httpPort = await freePort();
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const cli = fileURLToPath(new URL('../bin/cachier.js', import.meta.url));
  const child = spawn(process.execPath, [cli, 'start', '--data', dir, '--host', '127.0.0.1', '--port', String(ports[0]), '--nodes', '2',
    '--http-port', String(httpPort)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  try {
    await until(() => `cachier ready: ${out}`, Date.now() + 30_000, () => out.includes('cachier ready'));
    const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
    assert.equal(res.status, 200);
    const addresses = ports.map((p) => `127.0.0.1:${p}`);
    assert.deepEqual(await res.json(), { ready: true, catalog: 'ok', nodes: addresses.map((address) => ({ address, state: 'listening' })) });
    const token = /^Operator API token[^:]*: (\S+)$/m.exec(out)?.[1];
    assert.ok(token, out);
    const nodes = await (await fetch(`http://127.0.0.1:${httpPort}/api/operator/nodes`, { headers: { authorization: `Bearer ${token}` } })).json();
    assert.deepEqual(nodes.map((n: any) => [n.address, n.local, n.state]), addresses.map((a) => [a, true, 'listening']));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
