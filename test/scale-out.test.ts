// Scale-out on PostgreSQL, black-box and multi-process: two control planes
// (`cachier control`) and three cache nodes (`cachier node`) share one catalog in a fresh
// schema; every change must reach every node (the contract: within 1 s; the tests wait up
// to PROMPTLY_MS, so a busy machine is no failure). Skipped when no PostgreSQL
// answers (see src/catalog/testing/postgres-schema.ts). Every child is killed by pid at
// the end, and every wait has a deadline.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPostgresCatalog, type PostgresCatalog } from '../src/catalog/postgres.ts';
import { createTestSchema, postgresSkipReason, type TestSchema } from '../src/catalog/testing/postgres-schema.ts';
import { HOST, runCli, spawnCli, type Proc } from './support/child-process.ts';
import { PROMPTLY_MS, until } from './support/wait.ts';
import { freePorts } from './support/ports.ts';
import { RawClient } from './support/raw-client.ts';

const PLAN = 48 * 2 ** 20; // divisible by 2 and 3

// ------------------------------------------------------------------ memcache

/** A connection logged in with the ASCII set-login, or undefined if the login is refused. */
async function tryLogin(port: number, username: string, password: string): Promise<RawClient | undefined> {
  const c = await RawClient.connect(port, HOST);
  let r: string;
  try {
    r = await c.text(`set ${username} 0 0 ${password.length}\r\n${password}\r\n`);
  } catch (e) {
    if (!c.closed) throw e; // no answer at all is not a refusal
    r = 'closed';
  }
  if (r === 'STORED\r\n') return c;
  c.end();
  return undefined;
}

function loginEverywhere(ports: number[], username: string, password: string, deadline: number): Promise<RawClient[]> {
  return Promise.all(ports.map((p) => until(`login on :${p}`, deadline, () => tryLogin(p, username, password))));
}

async function limitMaxbytes(c: RawClient): Promise<number> {
  const stats = await c.text('stats\r\n', 'END\r\n');
  const m = /STAT limit_maxbytes (\d+)\r\n/.exec(stats);
  assert.ok(m, stats);
  return Number(m[1]);
}

// ------------------------------------------------------------------ HTTP

async function api(port: number, method: string, path: string, auth: { username: string; password: string }, body?: unknown) {
  const res = await fetch(`http://${HOST}:${port}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

// ------------------------------------------------------------------ the cluster

const skip = await postgresSkipReason();

describe('scale-out: two control planes and three nodes on one PostgreSQL catalog', { skip, timeout: 120_000 }, () => {
  let schema: TestSchema;
  let catalog: PostgresCatalog;
  let nodes: { proc: Proc; port: number; address: string }[] = [];
  let controls: { proc: Proc; port: number }[] = [];
  let cache: { id: number; username: string; password: string; servers: string[] };
  const clients: RawClient[] = [];
  const ports = () => nodes.map((n) => n.port);
  const track = (cs: RawClient[]) => (clients.push(...cs), cs);

  before(async () => {
    schema = await createTestSchema();
    catalog = await openPostgresCatalog(schema.url);
    const nodePorts = await freePorts(3);
    const httpPorts = await freePorts(2);
    const [n, c] = await Promise.all([
      Promise.all(nodePorts.map((port) =>
        spawnCli(['node', '--database-url', schema.url, '--host', HOST, '--port', String(port)], 'cachier node ready:'))),
      Promise.all(httpPorts.map((port) =>
        spawnCli(['control', '--database-url', schema.url, '--host', HOST, '--http-port', String(port)], 'cachier control ready:'))),
    ]);
    nodes = n.map((proc, i) => ({ proc, port: nodePorts[i]!, address: `${HOST}:${nodePorts[i]}` }));
    controls = c.map((proc, i) => ({ proc, port: httpPorts[i]! }));
    for (const node of nodes) assert.equal(node.proc.readyLine, `cachier node ready: ${node.address}`);
  });

  after(async () => {
    for (const c of clients) c.end();
    await Promise.all([...nodes, ...controls].map((p) => p.proc.stop()));
    await catalog?.close();
    await schema?.drop();
  });

  test('cache create --database-url lists every node; each holds plan / 3 of it', async () => {
    const out = JSON.parse((await runCli(['cache', 'create', '--database-url', schema.url, '--memory', '48mb', '--json'])).stdout);
    cache = { id: out.id, username: out.username, password: out.password, servers: out.servers };
    assert.deepEqual([...cache.servers].sort(), nodes.map((n) => n.address).sort());
    assert.equal(out.memory_bytes, PLAN);
    const conns = track(await loginEverywhere(ports(), cache.username, cache.password, Date.now() + PROMPTLY_MS));
    const limits = await Promise.all(conns.map(limitMaxbytes));
    assert.deepEqual(limits, [PLAN / 3, PLAN / 3, PLAN / 3]);
  });

  test('both control planes read the cache\'s stats from all three nodes', async () => {
    for (const control of controls) {
      const res = await api(control.port, 'GET', `/api/v1/${cache.id}/stats`, cache);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(Object.keys(res.body).sort(), nodes.map((n) => n.address).sort());
      for (const stats of Object.values(res.body) as { limit_maxbytes: number }[]) assert.equal(stats.limit_maxbytes, PLAN / 3);
    }
  });

  test('a credential created through the catalog logs in on all three nodes', async () => {
    const { credential, password } = await catalog.createCredential(cache.id, { flush: false });
    const deadline = Date.now() + PROMPTLY_MS;
    const conns = track(await loginEverywhere(ports(), credential.username, password, deadline));
    for (const c of conns) assert.equal(await c.text('set k 0 0 2\r\nhi\r\n'), 'STORED\r\n');
    for (const c of conns) assert.match(await c.text('flush_all\r\n'), /^CLIENT_ERROR permission denied/);
  });

  test('a capability change applies on open connections of all three nodes', async () => {
    const { credential, password } = await catalog.createCredential(cache.id);
    const conns = track(await loginEverywhere(ports(), credential.username, password, Date.now() + PROMPTLY_MS));
    for (const c of conns) assert.equal(await c.text('set w 0 0 1\r\nx\r\n'), 'STORED\r\n');

    await catalog.updateCredential(credential.id, { write: false });
    let deadline = Date.now() + PROMPTLY_MS;
    await Promise.all(conns.map((c) => until('write refused', deadline, async () => {
      const r = await c.text('set w 0 0 1\r\nx\r\n');
      return r.startsWith('CLIENT_ERROR permission denied') ? r : undefined;
    })));

    await catalog.updateCredential(credential.id, { write: true });
    deadline = Date.now() + PROMPTLY_MS;
    await Promise.all(conns.map((c) => until('write allowed again', deadline, async () =>
      ((await c.text('set w 0 0 1\r\ny\r\n')) === 'STORED\r\n' ? true : undefined))));
  });

  test('deleting a credential closes its connections on all three nodes', async () => {
    const { credential, password } = await catalog.createCredential(cache.id);
    const conns = track(await loginEverywhere(ports(), credential.username, password, Date.now() + PROMPTLY_MS));
    assert.equal(await catalog.deleteCredential(credential.id), 'deleted');
    const closed = await Promise.all(conns.map((c) => c.waitClosed(PROMPTLY_MS)));
    assert.deepEqual(closed, [true, true, true]);
    for (const p of ports()) assert.equal(await tryLogin(p, credential.username, password), undefined);
  });

  test('a credential created through one control plane is listed by the other and logs in everywhere', async () => {
    const [a, b] = controls;
    const primary = { username: cache.username, password: cache.password };
    const made = await api(a!.port, 'POST', `/api/v1/${cache.id}/credentials`, primary, { flush_capability: false });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const username: string = made.body.sasl_username;
    const password: string = made.body.sasl_password;
    const deadline = Date.now() + PROMPTLY_MS;

    const listed = await api(b!.port, 'GET', `/api/v1/${cache.id}/credentials`, primary);
    assert.equal(listed.status, 200);
    const mine = (listed.body as { sasl_username: string; flush_capability: boolean }[]).find((x) => x.sasl_username === username);
    assert.ok(mine, `control plane B lists ${username}: ${JSON.stringify(listed.body)}`);
    assert.equal(mine.flush_capability, false);
    track(await loginEverywhere(ports(), username, password, deadline));

    // And back: a change through B shows through A.
    const changed = await api(b!.port, 'POST', `/api/v1/${cache.id}/credentials/${username}`, primary, { write_capability: false });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    const seen = await api(a!.port, 'GET', `/api/v1/${cache.id}/credentials`, primary);
    const again = (seen.body as { sasl_username: string; write_capability: boolean }[]).find((x) => x.sasl_username === username);
    assert.equal(again?.write_capability, false);
  });

  test('nodes keep serving while their catalog connections drop, then catch up', async () => {
    const conns = track(await loginEverywhere(ports(), cache.username, cache.password, Date.now() + PROMPTLY_MS));
    // What a PostgreSQL restart does to clients: every connection of this catalog is cut.
    const cut = await schema.sql<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name IN ($1, $2)`,
      [`cachier ${schema.schema}`, `cachier-listen ${schema.schema}`],
    );
    assert.ok(cut.length >= 3, `cut ${cut.length} connections`);
    for (const c of conns) {
      assert.equal(await c.text('set during 0 0 2\r\nok\r\n'), 'STORED\r\n');
      assert.equal(await c.text('get during\r\n', 'END\r\n'), 'VALUE during 0 2\r\nok\r\nEND\r\n');
    }
    // The LISTEN connections come back on their own...
    await until('every node LISTENs again', Date.now() + PROMPTLY_MS, async () => {
      const rows = await schema.sql('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [`cachier-listen ${schema.schema}`]);
      return rows.length >= nodes.length ? true : undefined;
    });
    // ...and a change still reaches every node in time.
    const { credential, password } = await catalog.createCredential(cache.id);
    track(await loginEverywhere(ports(), credential.username, password, Date.now() + PROMPTLY_MS));
  });

  test('a stopped node stays registered; node --deregister hands its share to the others', async () => {
    const conns = track(await loginEverywhere(ports().slice(0, 2), cache.username, cache.password, Date.now() + PROMPTLY_MS));
    const gone = nodes[2]!;
    await gone.proc.stop();
    assert.ok((await catalog.listNodes()).some((n) => n.address === gone.address), 'still registered after a clean stop');
    for (const c of conns) assert.equal(await limitMaxbytes(c), PLAN / 3);
    const failed = await api(controls[0]!.port, 'GET', `/api/v1/${cache.id}/stats`, cache);
    assert.equal(failed.status, 500, 'the API reports the stopped node');
    assert.ok(JSON.stringify(failed.body).includes(gone.address), JSON.stringify(failed.body));

    const out = (await runCli(['node', '--deregister', '--database-url', schema.url, '--host', HOST, '--port', String(gone.port)])).stdout;
    assert.equal(out.trim(), `cachier node deregistered: ${gone.address}`);
    const deadline = Date.now() + PROMPTLY_MS;
    assert.deepEqual((await catalog.listNodes()).map((n) => n.address).sort(), [nodes[0]!.address, nodes[1]!.address].sort());
    await Promise.all(conns.map((c) => until('plan / 2', deadline, async () => ((await limitMaxbytes(c)) === PLAN / 2 ? true : undefined))));
    const healthy = await api(controls[1]!.port, 'GET', `/api/v1/${cache.id}/stats`, cache);
    assert.equal(healthy.status, 200, JSON.stringify(healthy.body));
    assert.deepEqual(Object.keys(healthy.body).sort(), [nodes[0]!.address, nodes[1]!.address].sort());
  });
});

describe('cachier start --database-url', { skip, timeout: 60_000 }, () => {
  test('uses the shared catalog and leaves other machines\' nodes registered', async () => {
    const schema = await createTestSchema();
    const catalog = await openPostgresCatalog(schema.url);
    let proc: Proc | undefined;
    try {
      await catalog.registerNode('10.9.9.9:11211', '10.9.9.9:9000'); // a node of another machine
      const [port, httpPort] = await freePorts(2);
      proc = await spawnCli(['start', '--database-url', schema.url, '--host', HOST, '--port', String(port),
        '--http-port', String(httpPort), '--nodes', '1', '--memory', '32mb'], 'cachier ready');
      const addresses = (await catalog.listNodes()).map((n) => n.address);
      assert.deepEqual(addresses, ['10.9.9.9:11211', `${HOST}:${port}`]);
      const [first] = await catalog.listCaches();
      assert.equal(first?.memoryBytes, 32 * 2 ** 20, 'the first cache went into PostgreSQL');
      const servers = /MEMCACHIER_SERVERS=(.*)/.exec(proc.output())?.[1];
      assert.equal(servers, `10.9.9.9:11211,${HOST}:${port}`);
      const username = /MEMCACHIER_USERNAME=(.*)/.exec(proc.output())![1]!;
      const password = /MEMCACHIER_PASSWORD=(.*)/.exec(proc.output())![1]!;
      const c = await until('login', Date.now() + PROMPTLY_MS, () => tryLogin(port!, username, password));
      assert.equal(await limitMaxbytes(c), 16 * 2 ** 20, 'the plan is split over both registered nodes');
      c.end();
    } finally {
      if (proc) await proc.stop();
      await catalog.close();
      await schema.drop();
    }
  });
});
