// Clusters on PostgreSQL, black-box and multi-process: four `cachier node` processes in two
// clusters (`small`: two nodes of 1 GiB, `big`: two of 2 GiB) and two `cachier control`
// processes share one catalog in a fresh schema. New caches go where most memory is
// unallocated, each is served by its cluster only with the plan split over it, both
// control planes list its cluster's servers, and moving it (v2 switch_cluster on one
// plane, `cachier cache move` from the CLI) reaches every node while clients are
// connected. (CLI cluster list/create: test/api-clusters.test.ts.) Skipped when no PostgreSQL answers (src/catalog/testing/postgres-schema.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPostgresCatalog, type PostgresCatalog } from '../src/catalog/postgres.ts';
import { createTestSchema, postgresSkipReason, type TestSchema } from '../src/catalog/testing/postgres-schema.ts';
import { HOST, runCli, spawnCli, type Proc } from './support/child-process.ts';
import { freePorts } from './support/ports.ts';
import { RawClient } from './support/raw-client.ts';
import { PROMPTLY_MS, until } from './support/wait.ts';

const MB = 2 ** 20;
/** Six processes start at once: on a busy two-core machine loading them alone takes a while. */
const SLOW_START = { timeoutMs: 60_000 };
const GB = 2 ** 30;

interface Cache { id: number; username: string; password: string; cluster: string; servers: string[] }

async function tryLogin(address: string, cache: Cache): Promise<RawClient | undefined> {
  const c = await RawClient.connect(Number(address.split(':')[1]), HOST);
  const r = await c.textOrClosed(`set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\n`);
  if (r === 'STORED\r\n') return c;
  c.end();
  return undefined;
}

async function limitMaxbytes(c: RawClient): Promise<number> {
  const m = /STAT limit_maxbytes (\d+)\r\n/.exec(await c.text('stats\r\n', 'END\r\n'));
  assert.ok(m);
  return Number(m[1]);
}

async function v2(port: number, method: string, cache: Cache, action: string) {
  const res = await fetch(`http://${HOST}:${port}/api/v2/caches/${cache.id}/${action}`, {
    method, headers: { authorization: `Basic ${Buffer.from(`${cache.username}:${cache.password}`).toString('base64')}` },
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, body: await res.json() };
}

const skip = await postgresSkipReason();

describe('clusters on one PostgreSQL catalog: two clusters of two node processes, two control planes', { skip, timeout: 120_000 }, () => {
  let schema: TestSchema;
  let catalog: PostgresCatalog;
  const nodes: { proc: Proc; address: string; cluster: string }[] = [];
  const controls: { proc: Proc; port: number }[] = [];
  const clients: RawClient[] = [];
  const db = () => ['--database-url', schema.url];
  const of = (cluster: string) => nodes.filter((n) => n.cluster === cluster).map((n) => n.address).sort();
  const create = async (memory: string): Promise<Cache> =>
    JSON.parse((await runCli(['cache', 'create', ...db(), '--memory', memory, '--json'])).stdout);

  before(async () => {
    schema = await createTestSchema();
    catalog = await openPostgresCatalog(schema.url);
    const ports = await freePorts(6);
    const layout = [['small', '1gb'], ['small', '1gb'], ['big', '2gb'], ['big', '2gb']] as const;
    const [n, c] = await Promise.all([
      Promise.all(layout.map(([cluster, memory], i) => spawnCli(['node', ...db(), '--host', HOST, '--port', String(ports[i]),
        '--cluster', cluster, '--node-memory', memory], 'cachier node ready:', SLOW_START))),
      Promise.all(ports.slice(4).map((port) =>
        spawnCli(['control', ...db(), '--host', HOST, '--http-port', String(port)], 'cachier control ready:', SLOW_START))),
    ]);
    n.forEach((proc, i) => nodes.push({ proc, address: `${HOST}:${ports[i]}`, cluster: layout[i]![0] }));
    c.forEach((proc, i) => controls.push({ proc, port: ports[4 + i]! }));
  });

  after(async () => {
    for (const c of clients) c.end();
    await Promise.all([...nodes, ...controls].map((p) => p.proc.stop()));
    await catalog?.close();
    await schema?.drop();
  });

  let large: Cache;
  let small: Cache;

  test('the nodes made their clusters, with their nodes\' capacity', async () => {
    const list = await catalog.listClusters();
    assert.deepEqual(list.map((c) => [c.name, c.nodes, c.capacityBytes, c.allocatedBytes]), [
      ['big', 2, 4 * GB, 0], ['default', 0, 0, 0], ['small', 2, 2 * GB, 0],
    ]);
  });

  test('placement by unallocated memory; each cache served by its cluster only, its plan split over that cluster', async () => {
    large = await create('3gb');
    assert.deepEqual([large.cluster, [...large.servers].sort()], ['big', of('big')]);
    small = await create('64mb'); // big has 1 GiB left, small 2 GiB
    assert.deepEqual([small.cluster, [...small.servers].sort()], ['small', of('small')]);
    const deadline = Date.now() + PROMPTLY_MS;
    for (const [cache, cluster, other] of [[large, 'big', 'small'], [small, 'small', 'big']] as const) {
      const conns = await Promise.all(of(cluster).map((a) => until(`login on ${a}`, deadline, () => tryLogin(a, cache))));
      clients.push(...conns);
      for (const c of conns) assert.equal(await limitMaxbytes(c), cache.id === large.id ? 1.5 * GB : 32 * MB);
      for (const a of of(other)) assert.equal(await tryLogin(a, cache), undefined, `${a} (${other}) refuses a cache of ${cluster}`);
    }
    for (const control of controls) {
      const info = await v2(control.port, 'GET', small, 'info');
      assert.deepEqual([info.body.cluster_name, [...info.body.servers].sort(), info.body.can_switch], ['small', of('small'), true]);
      const stats = await v2(control.port, 'GET', small, 'stats');
      assert.equal(stats.status, 200, JSON.stringify(stats.body));
    }
  });

  test('switch_cluster on one control plane with clients connected: old nodes close them, new nodes accept, the other plane lists the new servers', async () => {
    const old = await Promise.all(of('small').map((a) => until(`login on ${a}`, Date.now() + PROMPTLY_MS, () => tryLogin(a, small))));
    const started = Date.now();
    const moved = await v2(controls[0]!.port, 'POST', small, 'switch_cluster');
    assert.deepEqual([moved.status, moved.body], [200, 'big']);
    const deadline = started + PROMPTLY_MS;
    assert.deepEqual(await Promise.all(old.map((c) => c.waitClosed(PROMPTLY_MS))), [true, true]);
    const fresh = await Promise.all(of('big').map((a) => until(`login on ${a}`, deadline, () => tryLogin(a, small))));
    clients.push(...fresh);
    for (const c of fresh) assert.equal(await limitMaxbytes(c), 32 * MB);
    for (const a of of('small')) assert.equal(await tryLogin(a, small), undefined, `${a} refuses it now`);
    const info = await v2(controls[1]!.port, 'GET', small, 'info');
    assert.deepEqual([info.body.cluster_name, [...info.body.servers].sort()], ['big', of('big')]);
  });

  test('cachier cache move from the CLI: the nodes follow through LISTEN/NOTIFY, no control plane involved', async () => {
    const conns = await Promise.all(of('big').map((a) => until(`login on ${a}`, Date.now() + PROMPTLY_MS, () => tryLogin(a, small))));
    const view = JSON.parse((await runCli(['cache', 'move', String(small.id), '--cluster', 'small', ...db(), '--json'])).stdout);
    assert.deepEqual([view.cluster, [...view.servers].sort()], ['small', of('small')]);
    assert.deepEqual(await Promise.all(conns.map((c) => c.waitClosed(PROMPTLY_MS))), [true, true]);
    const back = await Promise.all(of('small').map((a) => until(`login on ${a}`, Date.now() + PROMPTLY_MS, () => tryLogin(a, small))));
    clients.push(...back);
    // The big cache never moved: its connections on big are still open and serving.
    const bigConn = await tryLogin(of('big')[0]!, large);
    assert.ok(bigConn);
    clients.push(bigConn);
    assert.equal(await bigConn.text('set k 0 0 1\r\nx\r\n'), 'STORED\r\n');
  });
});
