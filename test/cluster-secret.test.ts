// `cachier cluster-secret rotate`: against a running `cachier start`, the
// old secret is refused by every node's admin endpoint and the new one accepted, without
// a restart; the control plane's stats and flush keep working, even for calls in flight
// while the secret changes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Catalog } from '../src/catalog/catalog.ts';
import { openPostgresCatalog } from '../src/catalog/postgres.ts';
import { openSqliteCatalog } from '../src/catalog/sqlite.ts';
import { createTestSchema, postgresSkipReason } from '../src/catalog/testing/postgres-schema.ts';
import { runCli } from './support/child-process.ts';
import { makeDataDir, PROPAGATION_MS, startCluster } from './support/cluster.ts';
import { sleep } from './support/wait.ts';


interface Setup {
  /** `--data DIR` or `--database-url URL`, for both `start` and the rotation. */
  readonly where: string[];
  readonly catalog: Catalog;
  cleanup(): Promise<void>;
}

async function sqliteSetup(): Promise<Setup> {
  const dir = makeDataDir();
  const catalog = openSqliteCatalog(dir);
  return { where: ['--data', dir], catalog, cleanup: () => catalog.close() };
}

async function postgresSetup(): Promise<Setup> {
  const schema = await createTestSchema();
  const catalog = await openPostgresCatalog(schema.url);
  return {
    where: ['--database-url', schema.url],
    catalog,
    async cleanup() {
      await catalog.close();
      await schema.drop();
    },
  };
}

const pgSkip = await postgresSkipReason();

for (const [name, setup, skip] of [['sqlite', sqliteSetup, undefined], ['postgres', postgresSetup, pgSkip]] as const) {
  describe(`cluster secret rotation: ${name}`, { skip }, () => {
    test('old secret refused and new accepted on every node at once; API stats and flush never fail', async () => {
      const s = await setup();
      const { cache, credential, password } = await s.catalog.createCache({ memoryBytes: 8 << 20 });
      const cluster = await startCluster({
        nodes: 2,
        extraArgs: s.where[0] === '--database-url' ? s.where : [],
        ...(s.where[0] === '--data' ? { dataDir: s.where[1] } : {}),
      });
      let rotating = true;
      let load: Promise<void> | undefined;
      try {
        const nodes = await s.catalog.listNodes();
        assert.equal(nodes.length, 2);
        const old = await s.catalog.clusterSecret();
        const health = async (adminAddress: string, secret: string) =>
          (await fetch(`http://${adminAddress}/health`, { headers: { authorization: `Bearer ${secret}` } })).status;
        const basic = { authorization: `Basic ${Buffer.from(`${credential.username}:${password}`).toString('base64')}` };
        const api = `http://127.0.0.1:${cluster.httpPort}/api/v1/${cache.id}`;
        const stats = async () => {
          const r = await fetch(`${api}/stats`, { headers: basic });
          const body = await r.text();
          return r.status === 200 && Object.keys(JSON.parse(body)).length === 2 ? 'ok' : `${r.status} ${body}`;
        };
        const flush = async () => (await fetch(`${api}/flush`, { method: 'POST', headers: basic })).status;

        for (const n of nodes) assert.equal(await health(n.adminAddress, old), 200);
        assert.equal(await stats(), 'ok', 'the control plane holds the old secret now');

        // API calls all through the rotation, one after another.
        const failures: string[] = [];
        let calls = 0;
        load = (async () => {
          while (rotating) {
            const r = await stats().catch((e: Error) => `${e.message} ${(e.cause as Error | undefined)?.message ?? ''}`);
            calls++;
            if (r !== 'ok') failures.push(r);
          }
        })();
        await sleep(200);
        const rotated = await runCli(['cluster-secret', 'rotate', ...s.where]);
        assert.match(rotated.stdout, /^Rotated the cluster secret/);
        const fresh = await s.catalog.clusterSecret();
        assert.notEqual(fresh, old);

        // At once, with no wait: a node that has not polled yet catches up on the unknown secret.
        for (const n of nodes) {
          assert.equal(await health(n.adminAddress, fresh), 200, `${n.address} takes the new secret`);
          assert.equal(await health(n.adminAddress, old), 401, `${n.address} refuses the old secret`);
        }
        assert.equal(await flush(), 200);
        assert.equal(await stats(), 'ok');

        await sleep(PROPAGATION_MS);
        rotating = false;
        await load;
        assert.deepEqual(failures, [], `${failures.length} of ${calls} API calls failed during the rotation; stderr: ${cluster.stderr()}`);
        assert.ok(calls > 3);
        for (const n of nodes) {
          assert.equal(await health(n.adminAddress, old), 401);
          assert.equal(await health(n.adminAddress, fresh), 200);
        }
        assert.equal(await flush(), 200);
      } finally {
        rotating = false;
        await load;
        await cluster.stop();
        await s.cleanup();
      }
    });
  });
}

test('cluster-secret without rotate is a usage error', async () => {
  await assert.rejects(runCli(['cluster-secret', '--data', makeDataDir()]), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /cluster-secret rotate/);
    return true;
  });
});
