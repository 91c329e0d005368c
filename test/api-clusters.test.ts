// Clusters over real sockets and HTTP, on either catalog (CACHIER_TEST_CATALOG=postgres):
// one node in `default` (1 GiB, the default capacity) and two in `eu` (2 GiB each), all
// in-process, with a control plane. The operator API lists and creates clusters and places
// new caches by unallocated memory; each node serves only its cluster's caches, with the
// plan split over that cluster; moving a cache (operator PATCH, `cachier cache move`, v2
// switch_cluster) closes its connections on the old nodes, refuses its logins there, lets
// its credentials in on the new ones, and changes the servers every API returns.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCacheNode, type ListeningCacheNode } from '../src/node/cache-node.ts';
import { runCli } from './support/child-process.ts';
import { parseTextStats, startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';
import { RawClient } from './support/raw-client.ts';
import { PROMPTLY_MS, until } from './support/wait.ts';

const MB = 2 ** 20;
const GB = 2 ** 30;

let t: TestCluster;
let eu: ListeningCacheNode[];
let op: Record<string, string>;
const addresses = () => ({ default: [t.addresses[0]!], eu: eu.map((n) => n.address) });
const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

before(async () => {
  t = await startTestCluster({ nodes: 1 });
  eu = [];
  for (let i = 0; i < 2; i++) {
    eu.push(await createCacheNode({ catalog: t.catalog, cluster: 'eu', capacityBytes: 2 * GB }).listen({ host: '127.0.0.1', port: 0 }));
  }
  await Promise.all([t.syncNodes(), ...eu.map((n) => n.sync.syncNow())]);
  op = { authorization: `Bearer ${t.control.operatorToken!}` };
});
after(async () => {
  await Promise.all(eu.map((n) => n.close()));
  await t.close();
});

/** A connection logged in to `cache` on the node at `address`, or undefined when the login is refused. */
async function tryLogin(address: string, cache: { username: string; password: string }): Promise<RawClient | undefined> {
  const c = await RawClient.connect(portOf(address));
  const r = await c.textOrClosed(`set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\n`);
  if (r === 'STORED\r\n') return c;
  c.end();
  return undefined;
}

async function operatorCache(memory: string, cluster?: string): Promise<ClusterCache & { cluster: string; servers: string[] }> {
  const r = await t.api('/api/operator/caches', { method: 'POST', headers: op, json: { memory, ...(cluster ? { cluster } : {}) } });
  assert.equal(r.status, 200, r.text);
  const body = r.json();
  return { id: body.id, username: body.username, password: body.password, credentialId: 0, cluster: body.cluster, servers: body.servers };
}

async function serversOfApis(cache: ClusterCache): Promise<{ v1: string[]; v2: string[]; operator: string[]; cluster: string }> {
  const [v1, v2, operator] = await Promise.all([
    t.api(`/api/v1/${cache.id}/stats`, { auth: cache }),
    t.api(`/api/v2/caches/${cache.id}/info`, { auth: cache }),
    t.api(`/api/operator/caches/${cache.id}`, { headers: op }),
  ]);
  assert.equal(v1.status, 200, v1.text);
  return {
    v1: Object.keys(v1.json()).sort(), v2: [...v2.json().servers].sort(), operator: [...operator.json().servers].sort(),
    cluster: v2.json().cluster_name,
  };
}

test('clusters: listed with nodes, capacity and allocation; created once (idempotent); a bad name is a 400', async () => {
  const list = await t.api('/api/operator/clusters', { headers: op });
  assert.equal(list.status, 200, list.text);
  const byName = Object.fromEntries(list.json().map((c: { name: string }) => [c.name, c]));
  assert.deepEqual(
    [byName.default.nodes, byName.default.capacity_bytes, byName.eu.nodes, byName.eu.capacity_bytes],
    [1, GB, 2, 4 * GB],
  );
  assert.equal(byName.eu.unallocated_bytes, byName.eu.capacity_bytes - byName.eu.allocated_bytes);
  const made = await t.api('/api/operator/clusters', { method: 'POST', headers: op, json: { name: 'spare' } });
  assert.equal(made.status, 200, made.text);
  assert.deepEqual([made.json().name, made.json().nodes, made.json().capacity_bytes], ['spare', 0, 0]);
  const again = await t.api('/api/operator/clusters', { method: 'POST', headers: op, json: { name: 'spare' } });
  assert.equal(again.json().created_at, made.json().created_at);
  assert.equal((await t.api('/api/operator/clusters', { method: 'POST', headers: op, json: { name: 'no spaces' } })).status, 400);
  assert.equal((await t.api('/api/operator/clusters', { headers: {} })).status, 401);
  const nodes = (await t.api('/api/operator/nodes', { headers: op })).json();
  assert.deepEqual(
    nodes.map((n: { address: string; cluster: string; capacity_bytes: number }) => [n.address, n.cluster, n.capacity_bytes]),
    [[t.addresses[0], 'default', GB], ...eu.map((n) => [n.address, 'eu', 2 * GB])],
  );
});

describe('placement and serving', () => {
  let big: Awaited<ReturnType<typeof operatorCache>>;
  let small: Awaited<ReturnType<typeof operatorCache>>;

  test('a new cache goes to the cluster with the most unallocated memory; its servers are that cluster', async () => {
    const clusters = (await t.api('/api/operator/clusters', { headers: op })).json() as { name: string; unallocated_bytes: number }[];
    const freeEu = clusters.find((c) => c.name === 'eu')!.unallocated_bytes;
    const freeDefault = clusters.find((c) => c.name === 'default')!.unallocated_bytes;
    assert.ok(freeEu > freeDefault);
    // Takes eu below default's free memory, so the next one goes to default.
    big = await operatorCache(String(freeEu - freeDefault + 64 * MB));
    assert.equal(big.cluster, 'eu');
    assert.deepEqual(big.servers.sort(), addresses().eu.sort());
    small = await operatorCache('64mb');
    assert.equal(small.cluster, 'default');
    assert.deepEqual(small.servers, addresses().default);
    const listed = (await t.api('/api/operator/caches', { headers: op })).json() as { id: number; cluster: string; servers: string[] }[];
    assert.deepEqual(listed.find((c) => c.id === big.id)!.servers.sort(), addresses().eu.sort());
    assert.equal(listed.find((c) => c.id === small.id)!.cluster, 'default');
    // Named (a cluster without nodes: no servers yet), and unknown.
    const spare = await operatorCache('8mb', 'spare');
    assert.deepEqual([spare.cluster, spare.servers], ['spare', []]);
    const bad = await t.api('/api/operator/caches', { method: 'POST', headers: op, json: { memory: '8mb', cluster: 'nowhere' } });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json(), /no cluster named "nowhere"/);
  });

  test('each node serves only its cluster\'s caches, the plan split over that cluster\'s nodes', async () => {
    await Promise.all([t.syncNodes(), ...eu.map((n) => n.sync.syncNow())]);
    const plan = (await t.catalog.getCache(big.id))!.memoryBytes;
    for (const address of addresses().eu) {
      const c = (await tryLogin(address, big))!;
      assert.ok(c, `eu node ${address} serves the eu cache`);
      assert.equal(parseTextStats(await c.text('stats\r\n', 'END\r\n')).limit_maxbytes, Math.floor(plan / 2), 'eu has two nodes: half each');
      c.end();
      assert.equal(await tryLogin(address, small), undefined, 'an eu node refuses a default cache');
    }
    const d = (await tryLogin(addresses().default[0]!, small))!;
    assert.ok(d);
    assert.equal(parseTextStats(await d.text('stats\r\n', 'END\r\n')).limit_maxbytes, 64 * MB, 'default has one node: the whole plan');
    d.end();
    assert.equal(await tryLogin(addresses().default[0]!, big), undefined, 'the default node refuses an eu cache');
  });

  test('a node joining (or leaving) one cluster changes the shares of that cluster\'s caches only', async () => {
    const plan = (await t.catalog.getCache(big.id))!.memoryBytes;
    const onEu = (await tryLogin(addresses().eu[0]!, big))!;
    const onDefault = (await tryLogin(addresses().default[0]!, small))!;
    const limit = async (c: RawClient) => parseTextStats(await c.text('stats\r\n', 'END\r\n')).limit_maxbytes;
    await t.catalog.registerNode('127.0.0.9:11211', '127.0.0.9:9', { cluster: 'eu' }); // another machine's node
    try {
      await until('eu shares of three', Date.now() + PROMPTLY_MS, async () => (await limit(onEu)) === Math.floor(plan / 3));
      assert.equal(await limit(onDefault), 64 * MB, 'the default cache keeps its share');
    } finally {
      await t.catalog.removeNode('127.0.0.9:11211');
    }
    await until('eu shares of two again', Date.now() + PROMPTLY_MS, async () => (await limit(onEu)) === Math.floor(plan / 2));
    onEu.end();
    onDefault.end();
  });
});

describe('moving a cache', () => {
  let cache: Awaited<ReturnType<typeof operatorCache>>;

  before(async () => {
    cache = await operatorCache('32mb', 'default');
  });

  test('operator PATCH while a client is connected: the old node closes it and refuses the login, the new ones accept it; every API lists the new servers', async () => {
    const old = (await until('login on default', Date.now() + PROMPTLY_MS, () => tryLogin(addresses().default[0]!, cache)));
    assert.equal(await old.text('set k 0 0 5\r\nhello\r\n'), 'STORED\r\n');
    assert.deepEqual(await serversOfApis(cache), { v1: addresses().default, v2: addresses().default, operator: addresses().default, cluster: 'default' });

    const started = Date.now();
    const moved = await t.api(`/api/operator/caches/${cache.id}`, { method: 'PATCH', headers: op, json: { cluster: 'eu' } });
    assert.equal(moved.status, 200, moved.text);
    assert.deepEqual([moved.json().cluster, moved.json().servers.sort()], ['eu', addresses().eu.sort()]);
    const deadline = started + PROMPTLY_MS;
    assert.ok(await old.waitClosed(PROMPTLY_MS), 'the old node closed the connection');
    const fresh = await Promise.all(addresses().eu.map((a) => until(`login on ${a}`, deadline, () => tryLogin(a, cache))));
    assert.equal(await tryLogin(addresses().default[0]!, cache), undefined, 'the old node refuses its login');
    const took = Date.now() - started;
    assert.equal(await fresh[0]!.text('get k\r\n', 'END\r\n'), 'END\r\n', 'data is not moved: it is a cache');
    for (const c of fresh) c.end();
    assert.deepEqual(await serversOfApis(cache), { v1: addresses().eu.sort(), v2: addresses().eu.sort(), operator: addresses().eu.sort(), cluster: 'eu' });
    assert.ok(took < PROMPTLY_MS, `moved in ${took} ms`);
  });

  test('an unknown cluster is a 400 and changes nothing (nor the rest of the patch)', async () => {
    const r = await t.api(`/api/operator/caches/${cache.id}`, { method: 'PATCH', headers: op, json: { cluster: 'nowhere', name: 'renamed-by-bad-patch' } });
    assert.equal(r.status, 400, r.text);
    const now = (await t.api(`/api/operator/caches/${cache.id}`, { headers: op })).json();
    assert.deepEqual([now.cluster, now.name === 'renamed-by-bad-patch'], ['eu', false]);
    assert.equal((await t.api('/api/operator/caches/99999', { method: 'PATCH', headers: op, json: { cluster: 'eu' } })).status, 404);
  });

  test('cachier cache move ID --cluster NAME --json, with the catalog only: running nodes follow', async () => {
    const { stdout } = await runCli(['cache', 'move', String(cache.id), '--cluster', 'default', ...t.cliArgs, '--json']);
    const view = JSON.parse(stdout);
    assert.deepEqual([view.id, view.cluster, view.servers], [cache.id, 'default', addresses().default]);
    // No sync asked: the nodes' own polling brings it.
    const back = await until('login on default', Date.now() + PROMPTLY_MS, () => tryLogin(addresses().default[0]!, cache));
    back.end();
    await until('eu refuses', Date.now() + PROMPTLY_MS, async () => (await tryLogin(addresses().eu[0]!, cache)) === undefined);
    const bad = await runCli(['cache', 'move', String(cache.id), '--cluster', 'nowhere', ...t.cliArgs]).then(() => undefined, (e: Error) => e);
    assert.match(String(bad?.message), /no cluster named "nowhere"/);
  });

  test('cachier cluster list|create --json and cache create --cluster', async () => {
    const made = JSON.parse((await runCli(['cluster', 'create', 'cli-made', ...t.cliArgs, '--json'])).stdout);
    assert.deepEqual([made.name, made.nodes], ['cli-made', 0]);
    const list = JSON.parse((await runCli(['cluster', 'list', ...t.cliArgs, '--json'])).stdout) as { name: string; nodes: number }[];
    assert.deepEqual(list.map((c) => c.name), ['cli-made', 'default', 'eu', 'spare']);
    const created = JSON.parse((await runCli(['cache', 'create', ...t.cliArgs, '--memory', '8mb', '--cluster', 'eu', '--json'])).stdout);
    assert.deepEqual([created.cluster, created.servers.sort()], ['eu', addresses().eu.sort()]);
  });
});

describe('v2 info and switch_cluster', () => {
  let cache: Awaited<ReturnType<typeof operatorCache>>;

  before(async () => {
    cache = await operatorCache('16mb', 'default');
  });

  test('info names the cluster, can_switch while another exists; switch_cluster moves it to the placement\'s choice among the others', async () => {
    const info = (await t.api(`/api/v2/caches/${cache.id}/info`, { auth: cache })).json();
    assert.deepEqual([info.cluster_name, info.can_switch, info.servers], ['default', true, addresses().default]);
    // The other clusters but eu have no nodes, and one with nodes comes first, however full.
    const expected = 'eu';

    const conn = (await until('login', Date.now() + PROMPTLY_MS, () => tryLogin(addresses().default[0]!, cache)));
    const r = await t.api(`/api/v2/caches/${cache.id}/switch_cluster`, { auth: cache, method: 'POST' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(r.json(), expected);
    assert.ok(await conn.waitClosed(PROMPTLY_MS), 'its connection on the old cluster closed');
    const after = (await t.api(`/api/v2/caches/${cache.id}/info`, { auth: cache })).json();
    assert.equal(after.cluster_name, expected);
    const servers = addresses().eu;
    assert.deepEqual([...after.servers].sort(), servers.sort());
    const logged = await until('login on the new cluster', Date.now() + PROMPTLY_MS, () => tryLogin(servers[0]!, cache));
    logged.end();
  });

  test('switch_cluster empties the cache: a credential without every capability is refused', async () => {
    const reader = await t.addCredential(cache.id, { write: false });
    const r = await t.api(`/api/v2/caches/${cache.id}/switch_cluster`, { auth: reader, method: 'POST' });
    assert.equal(r.status, 403, r.text);
  });
});
