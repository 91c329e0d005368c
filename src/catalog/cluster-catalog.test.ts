/**
 * Clusters in the catalog (clusters.ts), run against both catalogs as the Catalog contract
 * is: `default` from the start, nodes joining clusters (and making them), placement of new
 * caches by unallocated memory, moving a cache (another connection sees it in changesSince),
 * and each catalog's migration from the version before (SQLite user_version 7, PostgreSQL
 * schema 10) keeping its caches and nodes on `default`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Catalog } from './catalog.ts';
import { DEFAULT_CLUSTER, DEFAULT_NODE_CAPACITY, NODE_STALE_MS, placeCache, UnknownClusterError, type ClusterRecord } from './clusters.ts';
import { MIGRATIONS as POSTGRES_MIGRATIONS, openPostgresCatalog } from './postgres.ts';
import { BASE_SCHEMA as SQLITE_BASE_SCHEMA, MIGRATIONS as SQLITE_MIGRATIONS, openSqliteCatalog } from './sqlite.ts';
import { createTestSchema, postgresSkipReason } from './testing/postgres-schema.ts';
import { forEachCatalog } from './testing/catalog-harness.ts';

const pgSkip = await postgresSkipReason();
const MB = 1024 * 1024;
const GB = 1024 * MB;

const byName = (list: readonly ClusterRecord[]) => Object.fromEntries(list.map((c) => [c.name, c]));

test('placeCache: nodes first, then most unallocated, then default, then name; except skips one', () => {
  const c = (name: string, nodes: number, capacityBytes: number, allocatedBytes: number): ClusterRecord =>
    ({ name, createdAt: 0, nodes, capacityBytes, allocatedBytes });
  assert.equal(placeCache([c('default', 0, 0, 0)]), 'default');
  assert.equal(placeCache([c('a', 1, GB, 0), c('default', 1, 2 * GB, 0)]), 'default');
  assert.equal(placeCache([c('a', 1, 2 * GB, 0), c('default', 1, 2 * GB, GB)]), 'a');
  assert.equal(placeCache([c('b', 1, GB, 0), c('a', 1, GB, 0), c('default', 1, GB, 0)]), 'default', 'a tie goes to default');
  assert.equal(placeCache([c('b', 1, GB, 0), c('a', 1, GB, 0)]), 'a', 'then to the first name');
  assert.equal(placeCache([c('empty', 0, 0, 0), c('default', 1, GB, 2 * GB)]), 'default', 'a cluster without nodes serves nobody');
  assert.equal(placeCache([c('a', 1, GB, 0), c('default', 1, 2 * GB, 0)], 'default'), 'a');
  assert.equal(placeCache([c('default', 1, GB, 0)], 'default'), undefined);
  assert.equal(placeCache([c('empty', 0, 0, 0), c('default', 1, GB, 0)], 'default'), undefined, 'a switch never goes where no node is live');
});

forEachCatalog('clusters', (withCatalog) => {
  test('a fresh catalog has default; caches and nodes go there unless told otherwise', withCatalog(async (c) => {
    assert.deepEqual((await c.listClusters()).map((x) => [x.name, x.nodes, x.capacityBytes, x.allocatedBytes]), [[DEFAULT_CLUSTER, 0, 0, 0]]);
    const { cache } = await c.createCache({ memoryBytes: 64 * MB });
    assert.equal(cache.cluster, DEFAULT_CLUSTER);
    const node = await c.registerNode('10.0.0.1:11211', '10.0.0.1:9000');
    assert.deepEqual([node.cluster, node.pid, node.capacityBytes], [DEFAULT_CLUSTER, null, DEFAULT_NODE_CAPACITY]);
    const d = byName(await c.listClusters())[DEFAULT_CLUSTER]!;
    assert.deepEqual([d.nodes, d.capacityBytes, d.allocatedBytes], [1, DEFAULT_NODE_CAPACITY, 64 * MB]);
  }));

  test('registerNode: a new cluster is made; pid and capacity kept; a heartbeat changes nothing; a move is a change', withCatalog(async (c, h) => {
    const other = await h.another();
    const n = await c.registerNode('10.0.0.2:11211', '10.0.0.2:9000', { cluster: 'eu', pid: 4242, capacityBytes: 2 * GB });
    assert.deepEqual([n.cluster, n.pid, n.capacityBytes], ['eu', 4242, 2 * GB]);
    const eu = byName(await other.listClusters()).eu!;
    assert.deepEqual([eu.nodes, eu.capacityBytes, eu.allocatedBytes], [1, 2 * GB, 0]);

    const r0 = await other.revision();
    const beat = await c.registerNode('10.0.0.2:11211', '10.0.0.2:9000'); // the 2-argument heartbeat
    assert.deepEqual([beat.cluster, beat.pid, beat.capacityBytes], ['eu', 4242, 2 * GB]);
    assert.equal(await other.revision(), r0, 'a heartbeat is no change');

    await c.registerNode('10.0.0.2:11211', '10.0.0.2:9000', { pid: 4343 }); // a restarted process
    assert.equal((await other.listNodes())[0]!.pid, 4343);

    await c.registerNode('10.0.0.2:11211', '10.0.0.2:9000', { cluster: DEFAULT_CLUSTER });
    const d = (await other.changesSince(r0))!;
    assert.deepEqual(d.nodes?.map((x) => [x.address, x.cluster]), [['10.0.0.2:11211', DEFAULT_CLUSTER]], 'a node that changes cluster is a node change');
    assert.deepEqual((await other.listNodes('eu')).map((x) => x.address), []);
    assert.deepEqual((await other.listNodes(DEFAULT_CLUSTER)).map((x) => x.address), ['10.0.0.2:11211']);
    await assert.rejects(c.registerNode('10.0.0.3:1', '10.0.0.3:2', { cluster: 'no spaces' }), RangeError);
  }));

  test('a node not seen within NODE_STALE_MS counts for nothing: no node, no capacity, not placed on', withCatalog(async (c, h) => {
    const other = await h.another();
    // Registered (its last heartbeat) just over the staleness window ago.
    const realNow = Date.now;
    const then = realNow() - NODE_STALE_MS - 1000;
    Date.now = () => then;
    try {
      await c.registerNode('10.0.0.5:11211', '10.0.0.5:9000', { cluster: 'eu', capacityBytes: 8 * GB });
    } finally {
      Date.now = realNow;
    }
    await c.registerNode('10.0.0.6:11211', '10.0.0.6:9000', { capacityBytes: GB });
    let eu = byName(await other.listClusters()).eu!;
    assert.deepEqual([eu.nodes, eu.capacityBytes], [0, 0], 'all its nodes stale: no capacity');
    const again = await c.createCluster('eu');
    assert.deepEqual([again.nodes, again.capacityBytes], [0, 0], 'createCluster\'s record as well');
    const { cache } = await c.createCache({ memoryBytes: 64 * MB });
    assert.equal(cache.cluster, DEFAULT_CLUSTER, 'placed where a node is live, not on the dead 8 GiB');
    assert.equal(placeCache(await other.listClusters(), DEFAULT_CLUSTER), undefined, 'nowhere to switch to');
    await c.registerNode('10.0.0.5:11211', '10.0.0.5:9000'); // its heartbeat again: live
    eu = byName(await other.listClusters()).eu!;
    assert.deepEqual([eu.nodes, eu.capacityBytes], [1, 8 * GB]);
    assert.equal(placeCache(await other.listClusters(), DEFAULT_CLUSTER), 'eu');
  }));

  test('createCluster: idempotent, names checked, moves the revision', withCatalog(async (c, h) => {
    const other = await h.another();
    const r0 = await other.revision();
    const made = await c.createCluster('us-east.2');
    assert.deepEqual([made.name, made.nodes, made.capacityBytes, made.allocatedBytes], ['us-east.2', 0, 0, 0]);
    assert.ok(await other.revision() > r0);
    assert.ok((await other.changesSince(r0)) !== undefined);
    assert.equal((await c.createCluster('us-east.2')).createdAt, made.createdAt);
    for (const bad of ['', '-x', 'a b', 'x'.repeat(101), 'é']) await assert.rejects(c.createCluster(bad), RangeError, bad);
    assert.deepEqual((await other.listClusters()).map((x) => x.name), [DEFAULT_CLUSTER, 'us-east.2']);
  }));

  test('createCache places by unallocated memory, ties to default; an explicit or unknown cluster', withCatalog(async (c) => {
    await c.registerNode('10.0.0.1:11211', '10.0.0.1:9000', { capacityBytes: GB });
    await c.registerNode('10.0.1.1:11211', '10.0.1.1:9000', { cluster: 'big', capacityBytes: GB });
    await c.registerNode('10.0.1.2:11211', '10.0.1.2:9000', { cluster: 'big', capacityBytes: GB });
    await c.createCluster('empty');
    const place = async (mb: number) => (await c.createCache({ memoryBytes: mb * MB })).cache.cluster;
    assert.equal(await place(512), 'big'); // big 2048 free, default 1024
    assert.equal(await place(512), 'big'); // 1536 vs 1024
    assert.equal(await place(512), 'default'); // 1024 vs 1024: default
    assert.equal(await place(256), 'big'); // 1024 vs 512
    const listed = byName(await c.listClusters());
    assert.deepEqual([listed.big!.allocatedBytes, listed.default!.allocatedBytes, listed.empty!.allocatedBytes], [1280 * MB, 512 * MB, 0]);
    assert.equal((await c.createCache({ memoryBytes: MB, cluster: 'empty' })).cache.cluster, 'empty');
    await assert.rejects(c.createCache({ memoryBytes: MB, cluster: 'nowhere' }), UnknownClusterError);
    assert.equal((await c.listCaches()).length, 5, 'nothing made for an unknown cluster');
    // A deleted cache frees its plan.
    const { cache } = await c.createCache({ memoryBytes: 900 * MB, cluster: 'big' });
    assert.equal(byName(await c.listClusters()).big!.allocatedBytes, 2180 * MB);
    await c.deleteCache(cache.id);
    assert.equal(byName(await c.listClusters()).big!.allocatedBytes, 1280 * MB);
  }));

  test('moveCache: another connection sees the cache in its new cluster through changesSince; unknowns refused', withCatalog(async (c, h) => {
    const other = await h.another();
    await c.createCluster('eu');
    const { cache } = await c.createCache({ memoryBytes: 64 * MB, name: 'mover' });
    const r0 = await other.revision();
    const moved = await c.moveCache(cache.id, 'eu');
    assert.deepEqual([moved?.id, moved?.cluster, moved?.name], [cache.id, 'eu', 'mover']);
    const d = (await other.changesSince(r0))!;
    assert.deepEqual(d.caches.map((x) => [x.id, x.cluster]), [[cache.id, 'eu']]);
    assert.equal((await other.getCache(cache.id))!.cluster, 'eu');
    assert.equal((await other.snapshot()).caches[0]!.cluster, 'eu');

    const r1 = await other.revision();
    assert.equal((await c.moveCache(cache.id, 'eu'))!.cluster, 'eu');
    assert.equal(await other.revision(), r1, 'moving to where it is changes nothing');
    await assert.rejects(c.moveCache(cache.id, 'nowhere'), UnknownClusterError);
    assert.equal(await c.moveCache(999_999, 'eu'), undefined);
    await c.deleteCache(cache.id);
    assert.equal(await c.moveCache(cache.id, DEFAULT_CLUSTER), undefined, 'a deleted cache stays deleted');
  }));
});

async function assertUpgraded(c: Catalog, cacheName: string, nodeAddress: string): Promise<void> {
  const clusters = await c.listClusters();
  assert.deepEqual(clusters.map((x) => [x.name, x.nodes, x.capacityBytes, x.allocatedBytes]), [[DEFAULT_CLUSTER, 1, DEFAULT_NODE_CAPACITY, MB]]);
  const cache = (await c.listCaches()).find((x) => x.name === cacheName)!;
  assert.equal(cache.cluster, DEFAULT_CLUSTER);
  const node = (await c.listNodes())[0]!;
  assert.deepEqual([node.address, node.cluster, node.pid, node.capacityBytes], [nodeAddress, DEFAULT_CLUSTER, null, DEFAULT_NODE_CAPACITY]);
  await c.createCluster('eu');
  const r0 = await c.revision();
  assert.equal((await c.moveCache(cache.id, 'eu'))!.cluster, 'eu');
  assert.deepEqual((await c.changesSince(r0))!.caches.map((x) => x.cluster), ['eu']);
}

describe('clusters migration: SQLite user_version 7 → 8', () => {
  test('an existing file upgrades in place: its caches and nodes are on default', async () => {
    assert.ok(SQLITE_MIGRATIONS.length >= 8);
    const dir = mkdtempSync(join(tmpdir(), 'cachier-clusters-'));
    try {
      const db = new Database(join(dir, 'catalog.sqlite'));
      db.exec(SQLITE_BASE_SCHEMA);
      for (const step of SQLITE_MIGRATIONS.slice(0, 7)) db.exec(step);
      db.pragma('user_version = 7');
      db.exec(`INSERT INTO caches (name, memory_bytes, created_at) VALUES ('old', 1048576, 1);
               INSERT INTO nodes (address, admin_address, last_seen) VALUES ('10.0.0.9:11211', '10.0.0.9:9000', ${Date.now()});`);
      db.close();
      const c = openSqliteCatalog(dir, () => {});
      try {
        const check = new Database(join(dir, 'catalog.sqlite'), { readonly: true });
        assert.equal(check.pragma('user_version', { simple: true }), SQLITE_MIGRATIONS.length);
        check.close();
        await assertUpgraded(c, 'old', '10.0.0.9:11211');
      } finally {
        await c.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('clusters migration: PostgreSQL schema 10 → 11', { skip: pgSkip }, () => {
  test('an existing schema upgrades in place: its caches and nodes are on default', async () => {
    assert.ok(POSTGRES_MIGRATIONS.length >= 11);
    const s = await createTestSchema();
    try {
      await s.sql(`CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
        ${POSTGRES_MIGRATIONS.slice(0, 10).join(';\n')};
        INSERT INTO meta (key, value) VALUES ('schema_version', '10');
        INSERT INTO caches (name, memory_bytes, created_at) VALUES ('old', 1048576, 1);
        INSERT INTO nodes (address, admin_address, last_seen) VALUES ('10.0.0.9:11211', '10.0.0.9:9000', ${Date.now()});`);
      const c = await openPostgresCatalog(s.url);
      try {
        assert.equal((await s.sql<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'"))[0]!.value, String(POSTGRES_MIGRATIONS.length));
        await assertUpgraded(c, 'old', '10.0.0.9:11211');
      } finally {
        await c.close();
      }
    } finally {
      await s.drop();
    }
  });
});
