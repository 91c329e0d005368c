/**
 * The Catalog contract, run against every implementation: SQLite in a temp dir, and
 * PostgreSQL in a fresh `cachier_test_<random>` schema (testing/catalog-harness.ts; skipped when no server answers;
 * see testing/postgres-schema.ts). A case that holds for one must hold for the other.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifySecret } from '../shared/secrets.ts';
import type { Catalog, HistoryQuery, HistorySample } from './catalog.ts';
import { CredentialLimitError, MAX_CREDENTIALS_PER_CACHE } from './catalog.ts';
import { ApiTokenLimitError, MAX_API_TOKENS_PER_CACHE } from './api-tokens.ts';
import { LATENCY_LEVELS } from './latency.ts';
import { ROLLUP_LEVELS, rollupsOf } from './rollups.ts';
import { histogramCount, histogramQuantile } from '../shared/latency-histogram.ts';
import { MIGRATIONS as POSTGRES_MIGRATIONS, openPostgresCatalog, parseDatabaseUrl } from './postgres.ts';
import { BASE_SCHEMA as SQLITE_BASE_SCHEMA, MIGRATIONS as SQLITE_MIGRATIONS, openSqliteCatalog } from './sqlite.ts';
import type { OpenCatalogOptions } from './open.ts';
import { createTestSchema, postgresSkipReason, type TestSchema } from './testing/postgres-schema.ts';
import { forEachCatalog } from './testing/catalog-harness.ts';
import { PROMPTLY_MS } from '../../test/support/wait.ts';

const pgSkip = await postgresSkipReason();

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const DAY = 86_400_000;

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = PROMPTLY_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Creates a cache through a catalog opened by a separate Node process, as a CLI or another node would. */
function createCacheInAnotherProcess(open: OpenCatalogOptions): Promise<void> {
  const script = `import { openCatalog } from ${JSON.stringify(new URL('./open.ts', import.meta.url).href)};
    const c = await openCatalog(${JSON.stringify(open)});
    await c.createCache({ memoryBytes: 1 << 20 });
    await c.close();`;
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, timeout: 60_000, killSignal: 'SIGKILL' },
      (error, _stdout, stderr) => (error ? reject(new Error(`the other process failed: ${error.message}\n${stderr}`)) : resolve()));
  });
}

forEachCatalog('catalog contract', (withCatalog) => {
  test('createCache makes a primary credential with every capability, password stored only hashed', withCatalog(async (c, h) => {
    const { cache, credential, password } = await c.createCache({ memoryBytes: 64 << 20 });
    assert.equal(cache.memoryBytes, 64 << 20);
    assert.equal(cache.name, `mc-${cache.id}`);
    assert.equal(cache.enabled, true);
    assert.ok(Math.abs(cache.createdAt - Date.now()) < 60_000);
    assert.equal(credential.primary, true);
    assert.equal(credential.cacheId, cache.id);
    assert.deepEqual([credential.write, credential.flush, credential.api], [true, true, true]);
    assert.match(password, /^[0-9a-f]{32}$/);
    assert.match(credential.username, /^[0-9A-F]{8}$/);
    assert.equal(verifySecret(password, credential), true);
    assert.equal(verifySecret(password + 'x', credential), false);
    assert.equal(await h.storedContains(password), false, 'no clear password stored');
    assert.equal(await h.storedContains(credential.hash), true, 'the probe does see stored values');
  }));

  test('caches: names, get, list, partial update, delete; unknown ids', withCatalog(async (c) => {
    const { cache: a } = await c.createCache({ memoryBytes: 1 << 20, name: 'alpha' });
    const { cache: b } = await c.createCache({ memoryBytes: 5 * 2 ** 30 });
    assert.equal(a.name, 'alpha');
    assert.equal(b.name, `mc-${b.id}`);
    assert.ok(b.id > a.id);
    assert.equal(b.memoryBytes, 5 * 2 ** 30, 'plans above 2^31 bytes survive');
    await assert.rejects(c.createCache({ memoryBytes: 1, name: 'alpha' }), 'names are unique');
    const { cache: unnamed } = await c.createCache({ memoryBytes: 1, name: '' });
    assert.equal(unnamed.name, `mc-${unnamed.id}`, 'an empty name is no name');
    await c.deleteCache(unnamed.id);
    assert.deepEqual(await c.getCache(a.id), a);
    assert.deepEqual((await c.listCaches()).map((x) => x.id), [a.id, b.id]);
    const off = await c.updateCache(a.id, { enabled: false });
    assert.deepEqual(off, { ...a, enabled: false });
    const bigger = await c.updateCache(a.id, { memoryBytes: 2 << 20, name: 'beta' });
    assert.deepEqual(bigger, { ...a, enabled: false, memoryBytes: 2 << 20, name: 'beta' });
    assert.equal(await c.updateCache(9999, { enabled: false }), undefined);
    assert.equal(await c.getCache(9999), undefined);
    assert.equal(await c.deleteCache(a.id), true);
    assert.equal(await c.deleteCache(a.id), false);
    assert.deepEqual((await c.listCaches()).map((x) => x.id), [b.id]);
  }));

  test('credentials: create with capabilities, find, list, partial update', withCatalog(async (c) => {
    const { cache, credential: primary } = await c.createCache({ memoryBytes: 1 << 20 });
    await assert.rejects(c.createCredential(9999), /no cache 9999/);
    const { credential, password } = await c.createCredential(cache.id, { write: false, api: false });
    assert.deepEqual([credential.write, credential.flush, credential.api, credential.primary], [false, true, false, false]);
    assert.equal(verifySecret(password, credential), true);
    assert.deepEqual(await c.findCredential(credential.username), credential);
    assert.equal(await c.findCredential('NOSUCHUSER'), undefined);
    assert.deepEqual((await c.listCredentials(cache.id)).map((x) => x.id), [primary.id, credential.id]);
    assert.deepEqual(await c.listCredentials(9999), []);
    const updated = await c.updateCredential(credential.id, { write: true });
    assert.deepEqual(updated, { ...credential, write: true });
    const flushOff = await c.updateCredential(credential.id, { flush: false, api: true });
    assert.deepEqual(flushOff, { ...credential, write: true, flush: false, api: true });
    assert.equal(await c.updateCredential(9999, { write: false }), undefined);
  }));

  test('exactly one primary: promote moves it, deleting the primary is refused', withCatalog(async (c) => {
    const { cache, credential: first } = await c.createCache({ memoryBytes: 1 << 20 });
    const { credential: second } = await c.createCredential(cache.id, { flush: false });
    assert.equal(second.primary, false);
    assert.equal(second.flush, false);
    assert.equal(await c.deleteCredential(first.id), 'primary');
    const promoted = await c.promoteCredential(second.id);
    assert.deepEqual(promoted, { ...second, primary: true });
    const creds = await c.listCredentials(cache.id);
    assert.deepEqual(creds.map((x) => x.primary), [false, true]);
    assert.equal(await c.deleteCredential(first.id), 'deleted');
    assert.equal(await c.deleteCredential(first.id), 'not_found');
    assert.equal(await c.promoteCredential(first.id), undefined);
    assert.deepEqual(await c.promoteCredential(second.id), { ...second, primary: true }, 'promoting the primary is a no-op');
  }));

  test('exactly one primary under concurrent promotes and deletes from two connections', withCatalog(async (c, h) => {
    const other = await h.another();
    const { cache, credential: first } = await c.createCache({ memoryBytes: 1 << 20 });
    const ids = [first.id];
    for (let i = 0; i < 5; i++) ids.push((await c.createCredential(cache.id)).credential.id);
    const { cache: neighbour, credential: theirs } = await c.createCache({ memoryBytes: 1 << 20 });

    for (let round = 0; round < 5; round++) {
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 12; i++) {
        const who = i % 2 ? c : other;
        const id = ids[(i * 7 + round) % ids.length]!;
        ops.push(i % 3 === 2 ? who.deleteCredential(id) : who.promoteCredential(id));
      }
      await Promise.all(ops); // none may fail (a deadlock would surface here)
      const creds = await c.listCredentials(cache.id);
      assert.equal(creds.filter((x) => x.primary).length, 1, `round ${round}: ${JSON.stringify(creds)}`);
      ids.splice(0, ids.length, ...creds.map((x) => x.id));
      while (ids.length < 4) ids.push((await c.createCredential(cache.id)).credential.id);
    }
    // The other cache's primary never moved.
    assert.deepEqual((await c.listCredentials(neighbour.id)).map((x) => [x.id, x.primary]), [[theirs.id, true]]);
  }));

  test('at most MAX_CREDENTIALS_PER_CACHE credentials a cache, also under concurrent creates from two connections', withCatalog(async (c, h) => {
    const other = await h.another();
    const { cache } = await c.createCache({ memoryBytes: 1 << 20 });
    const { cache: neighbour } = await c.createCache({ memoryBytes: 1 << 20 });
    for (let i = 1; i < MAX_CREDENTIALS_PER_CACHE - 5; i++) await c.createCredential(cache.id);
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? c : other).createCredential(cache.id)),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 5);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof CredentialLimitError, String(r.reason));
    assert.equal((await c.listCredentials(cache.id)).length, MAX_CREDENTIALS_PER_CACHE);
    await assert.rejects(c.createCredential(cache.id), CredentialLimitError);
    assert.equal((await c.createCredential(neighbour.id)).credential.cacheId, neighbour.id, 'per cache');
    const last = (await c.listCredentials(cache.id)).at(-1)!;
    assert.equal(await c.deleteCredential(last.id), 'deleted');
    await c.createCredential(cache.id);
    await assert.rejects(other.createCredential(cache.id), CredentialLimitError);
  }));

  test('a deleted cache serves nothing, frees its name, but its credentials still name it', withCatalog(async (c) => {
    const { cache, credential } = await c.createCache({ name: 'gone', memoryBytes: 1 << 20 });
    const { credential: extra } = await c.createCredential(cache.id);
    await c.addHistory([{ cacheId: cache.id, server: 'h:1', timestamp: 1, stats: {} }]);
    assert.equal(await c.deleteCache(cache.id), true);
    assert.equal(await c.deleteCache(cache.id), false, 'already deleted');
    assert.equal(await c.getCache(cache.id), undefined);
    assert.ok(!(await c.listCaches()).some((x) => x.id === cache.id));
    assert.equal((await c.findCredential(credential.username))?.cacheId, cache.id, 'the API can still say "No cache found."');
    assert.deepEqual(await c.listCredentials(cache.id), []);
    assert.deepEqual(await c.history(cache.id), []);
    const snap = await c.snapshot();
    assert.ok(!snap.caches.some((x) => x.id === cache.id));
    assert.ok(!snap.credentials.some((x) => x.username === credential.username || x.username === extra.username));
    await assert.rejects(c.createCredential(cache.id));
    assert.equal(await c.updateCache(cache.id, { enabled: true }), undefined);
    assert.equal((await c.createCache({ name: 'gone', memoryBytes: 1 << 20 })).cache.name, 'gone');
  }));

  test('revision moves on every change seen by another connection, not on heartbeats', withCatalog(async (c, h) => {
    const other = await h.another();
    let last = await other.revision();
    const moved = async (what: string) => {
      const now = await other.revision();
      assert.ok(now > last, `${what} moves the revision (${last} -> ${now})`);
      last = now;
    };
    const { cache } = await c.createCache({ memoryBytes: 1 << 20 });
    await moved('createCache');
    await c.updateCache(cache.id, { enabled: false });
    await moved('updateCache');
    const { credential } = await c.createCredential(cache.id);
    await moved('createCredential');
    await c.updateCredential(credential.id, { write: false });
    await moved('updateCredential');
    await c.promoteCredential(credential.id);
    await moved('promoteCredential');
    const { credential: third } = await c.createCredential(cache.id);
    await moved('createCredential');
    await c.deleteCredential(third.id);
    await moved('deleteCredential');
    await c.registerNode('127.0.0.1:1', '127.0.0.1:2');
    await moved('registerNode');
    await c.registerNode('127.0.0.1:1', '127.0.0.1:2'); // heartbeat: no change
    assert.equal(await other.revision(), last);
    await c.registerNode('127.0.0.1:1', '127.0.0.1:3');
    await moved('a node moving its admin endpoint');
    await c.removeNode('127.0.0.1:1');
    await moved('removeNode');
    await c.addHistory([{ cacheId: cache.id, server: 'h:1', timestamp: 1, stats: { cmd_get: 1 } }]);
    await c.clusterSecret();
    await c.ensureOperatorToken();
    assert.equal(await other.revision(), last, 'history, secrets and tokens are not catalog changes');
    await c.deleteCache(cache.id);
    await moved('deleteCache');
  }));

  test('nodes: register, refresh, list, remove', withCatalog(async (c, h) => {
    const a = await c.registerNode('10.0.0.1:11211', '10.0.0.1:9000');
    assert.equal(a.address, '10.0.0.1:11211');
    assert.equal(a.adminAddress, '10.0.0.1:9000');
    assert.ok(Math.abs(a.lastSeen - Date.now()) < 60_000);
    const b = await c.registerNode('10.0.0.2:11211', '10.0.0.2:9000');
    await waitFor('the clock to move on', () => Date.now() > a.lastSeen);
    const again = await (await h.another()).registerNode('10.0.0.1:11211', '10.0.0.1:9001');
    assert.equal(again.id, a.id);
    assert.equal(again.adminAddress, '10.0.0.1:9001');
    assert.ok(again.lastSeen > a.lastSeen);
    assert.deepEqual((await c.listNodes()).map((n) => n.address), [a.address, b.address]);
    await c.removeNode(a.address);
    await c.removeNode('nowhere:1');
    assert.deepEqual((await c.listNodes()).map((n) => n.address), [b.address]);
  }));

  test('snapshot holds every cache, credential and node', withCatalog(async (c) => {
    const { cache } = await c.createCache({ memoryBytes: 1 << 20 });
    await c.createCredential(cache.id, { flush: false });
    await c.registerNode('h:1', 'h:2');
    const snap = await c.snapshot();
    assert.deepEqual(snap.caches, await c.listCaches());
    assert.deepEqual(snap.credentials, await c.listCredentials(cache.id));
    assert.deepEqual(snap.nodes, await c.listNodes());
    assert.equal(snap.revision, await c.revision());
  }));

  test('changesSince: the rows changed after a revision, deletions and node changes from the log', withCatalog(async (c, h) => {
    const other = await h.another();
    const { cache: kept, credential: keptPrimary } = await c.createCache({ memoryBytes: 1 << 20 });
    const { cache: doomed, credential: doomedPrimary } = await c.createCache({ memoryBytes: 1 << 20 });
    const { credential: changed } = await c.createCredential(kept.id);
    const { credential: removed } = await c.createCredential(kept.id);
    await c.createCredential(doomed.id);
    await c.registerNode('h:1', 'h:2');
    const r0 = await c.revision();

    const none = (await other.changesSince(r0))!;
    assert.deepEqual(none, { revision: r0, caches: [], removedCaches: [], credentials: [], removedCredentials: [] });

    await c.updateCredential(changed.id, { write: false });
    const { credential: added } = await c.createCredential(kept.id, { api: false });
    assert.equal(await c.deleteCredential(removed.id), 'deleted');
    await c.updateCache(kept.id, { memoryBytes: 2 << 20 });
    await c.deleteCache(doomed.id);
    await c.registerNode('h:1', 'h:2'); // heartbeat: not a change
    const d1 = (await other.changesSince(r0))!;
    assert.equal(d1.revision, await c.revision());
    assert.deepEqual(d1.caches, [await c.getCache(kept.id)]);
    assert.deepEqual(d1.removedCaches, [doomed.id]);
    assert.deepEqual(d1.credentials.map((x) => [x.username, x.write, x.api]),
      [[changed.username, false, true], [added.username, true, false]]);
    assert.deepEqual(d1.removedCredentials, [removed.username]);
    assert.equal(d1.nodes, undefined, 'no node changed');
    assert.equal(d1.clusterSecret, undefined);
    assert.ok(!d1.credentials.some((x) => x.username === keptPrimary.username || x.username === doomedPrimary.username));

    const r1 = d1.revision;
    await c.registerNode('h:3', 'h:4');
    const d2 = (await other.changesSince(r1))!;
    assert.deepEqual(d2.nodes?.map((n) => n.address), ['h:1', 'h:3']);
    assert.deepEqual([d2.caches, d2.credentials, d2.removedCaches, d2.removedCredentials], [[], [], [], []]);
    await c.removeNode('h:1');
    assert.deepEqual((await other.changesSince(d2.revision))!.nodes?.map((n) => n.address), ['h:3']);

    assert.equal(await other.changesSince((await c.revision()) + 1), undefined, 'a revision from the future: take a snapshot');
  }));

  test('changesSince with 2,000 credentials over 20 caches: one more change reads one row', withCatalog(async (c) => {
    const caches: number[] = [];
    for (let i = 0; i < 20; i++) caches.push((await c.createCache({ memoryBytes: 1 << 20 })).cache.id);
    // Caches in parallel (one connection each at most), each cache's credentials in order.
    await Promise.all(caches.map(async (id) => {
      for (let i = 1; i < MAX_CREDENTIALS_PER_CACHE; i++) await c.createCredential(id);
    }));
    const snap = await c.snapshot();
    assert.equal(snap.credentials.length, 20 * MAX_CREDENTIALS_PER_CACHE);
    const target = snap.credentials[1234]!;
    await c.updateCredential(target.id, { flush: false });
    const d = (await c.changesSince(snap.revision))!;
    assert.deepEqual(d.credentials.map((x) => [x.id, x.flush]), [[target.id, false]]);
    assert.deepEqual([d.caches, d.removedCaches, d.removedCredentials, d.nodes], [[], [], [], undefined]);
    assert.equal(await c.deleteCredential(target.id), 'deleted');
    const d2 = (await c.changesSince(d.revision))!;
    assert.deepEqual([d2.credentials, d2.removedCredentials], [[], [target.username]]);
  }));

  test('changesSince: a reader the pruned change log no longer reaches is told to take a snapshot', withCatalog(async (c, h) => {
    const { cache } = await c.createCache({ memoryBytes: 1 << 20 });
    const { credential: a } = await c.createCredential(cache.id);
    const { credential: b } = await c.createCredential(cache.id);
    const before = await c.revision();
    await c.deleteCredential(a.id);
    const between = await c.revision();
    assert.deepEqual((await c.changesSince(before))!.removedCredentials, [a.username]);
    // An hour passes: the next logged change prunes the old entries.
    await h.sql('UPDATE catalog_changes SET at = at - 2 * 3600');
    await c.deleteCredential(b.id);
    assert.equal(await c.changesSince(before), undefined, 'the deletion of a is gone from the log');
    assert.deepEqual((await c.changesSince(between))!.removedCredentials, [b.username], 'a reader past the pruned part still gets deltas');
  }));

  test('cluster secret rotation: a new secret for every connection, the revision moves, deltas carry it once', withCatalog(async (c, h) => {
    const other = await h.another();
    const old = await c.clusterSecret();
    const r0 = await other.revision();
    const fresh = await c.rotateClusterSecret();
    assert.notEqual(fresh, old);
    assert.ok(fresh.length >= 32);
    assert.equal(await other.clusterSecret(), fresh);
    assert.equal(await c.clusterSecret(), fresh);
    const d = (await other.changesSince(r0))!;
    assert.ok(d.revision > r0);
    assert.equal(d.clusterSecret, fresh);
    assert.equal((await other.changesSince(d.revision))!.clusterSecret, undefined);
  }));

  test('cluster secret: made once, the same for every connection', withCatalog(async (c, h) => {
    const [s1, s2] = await Promise.all([c.clusterSecret(), (await h.another()).clusterSecret()]);
    assert.ok(s1.length >= 32);
    assert.equal(s1, s2);
    assert.equal(await c.clusterSecret(), s1);
  }));

  test('history: oldest first, since/until/limit, thinning keeps one sample per hour', withCatalog(async (c) => {
    const base = Date.UTC(2026, 0, 1);
    const samples = [];
    for (let i = 0; i < 240; i++) samples.push({ cacheId: 1, server: 'h:1', timestamp: base + i * 60_000, stats: { cmd_get: i } });
    samples.push({ cacheId: 2, server: 'h:1', timestamp: base, stats: { cmd_get: 0 } });
    await c.addHistory(samples.reverse());
    await c.addHistory([]);
    const all = await c.history(1);
    assert.equal(all.length, 240);
    assert.equal(all[0]!.timestamp, base);
    assert.equal(all[239]!.stats.cmd_get, 239);
    assert.deepEqual(all[5], { cacheId: 1, server: 'h:1', timestamp: base + 5 * 60_000, stats: { cmd_get: 5 } });
    assert.equal((await c.history(1, { since: base + 60_000 * 10, until: base + 60_000 * 19 })).length, 10);
    assert.equal((await c.history(1, { limit: 5 })).length, 5);
    // Raw for 1 hour, hourly for a day: the first 3 hours shrink to 3 samples.
    const now = base + 240 * 60_000;
    const removed = await c.thinHistory({ rawMs: 3_600_000, hourlyMs: 86_400_000 }, now);
    assert.equal(removed, 240 - (3 + 60));
    const left = await c.history(1);
    assert.equal(left.length, 3 + 60);
    assert.equal((await c.history(2)).length, 1);
    // Beyond the hourly window everything goes.
    await c.thinHistory({ rawMs: 3_600_000, hourlyMs: 60_000 }, now + 10 * 3_600_000);
    assert.equal((await c.history(1)).length, 0);
  }));

  test('history keeps stat names in the order they were stored, servers ordered within a timestamp', withCatalog(async (c) => {
    const stats = { zeta: 1, alpha: 2, limit_maxbytes: 3, b: 4 };
    await c.addHistory([
      { cacheId: 7, server: 'b:1', timestamp: 10, stats },
      { cacheId: 7, server: 'a:1', timestamp: 10, stats },
      { cacheId: 7, server: 'a:1', timestamp: 5, stats },
    ]);
    const got = await c.history(7);
    assert.deepEqual(got.map((s) => `${s.timestamp} ${s.server}`), ['5 a:1', '10 a:1', '10 b:1']);
    assert.deepEqual(Object.keys(got[0]!.stats), Object.keys(stats));
  }));

  test('history step: the last sample of each bucket per server, exact; limit: the newest, oldest first', withCatalog(async (c) => {
    const at = (server: string, timestamp: number, n: number) => ({ cacheId: 3, server, timestamp, stats: { cmd_get: n } });
    await c.addHistory([
      at('a:1', 1_000, 1), at('a:1', 1_999, 2), at('b:1', 1_500, 10), // bucket 1 (step 1000)
      at('a:1', 2_000, 3), at('b:1', 2_400, 11), at('b:1', 2_999, 12), // bucket 2
      at('b:1', 5_100, 13), // bucket 5; a has none
      { cacheId: 4, server: 'a:1', timestamp: 1_998, stats: { cmd_get: 99 } }, // another cache
    ]);
    const show = (l: readonly HistorySample[]) => l.map((s) => `${s.timestamp} ${s.server} ${s.stats.cmd_get}`);
    assert.deepEqual(show(await c.history(3, { step: 1000 })), ['1500 b:1 10', '1999 a:1 2', '2000 a:1 3', '2999 b:1 12', '5100 b:1 13']);
    assert.deepEqual(show(await c.history(3, { step: 3000 })), ['2000 a:1 3', '2999 b:1 12', '5100 b:1 13']);
    // The range cuts buckets: until=2400 leaves b's bucket 2 ending at 2400.
    assert.deepEqual(show(await c.history(3, { step: 1000, since: 1_600, until: 2_400 })), ['1999 a:1 2', '2000 a:1 3', '2400 b:1 11']);
    assert.deepEqual(show(await c.history(3, { limit: 2 })), ['2999 b:1 12', '5100 b:1 13']);
    assert.deepEqual(show(await c.history(3, { limit: 3, step: 1000 })), ['2000 a:1 3', '2999 b:1 12', '5100 b:1 13']);
    assert.equal((await c.history(3, { limit: 100 })).length, 7);
    assert.deepEqual(await c.history(3, { since: 6_000 }), []);
    assert.deepEqual(await c.history(3, { since: 3_000, until: 2_000 }), []);
  }));

  test('history pages: any page size, step, range and limit give what one read gives', withCatalog(async (c) => {
    // Uneven samples of three servers (one joins late, one leaves early), plus another cache.
    const samples: HistorySample[] = [];
    const rand = seeded(7);
    for (const [server, from, to] of [['a:1', 0, 40_000], ['b:1', 9_000, 40_000], ['c:1', 0, 21_000]] as const) {
      for (let t = from; t < to; t += 100 + Math.floor(rand() * 900)) samples.push({ cacheId: 5, server, timestamp: 1_000_000 + t, stats: { n: t } });
    }
    samples.push({ cacheId: 6, server: 'a:1', timestamp: 1_005_000, stats: { n: -1 } });
    await c.addHistory(samples);
    const mine = samples.filter((s) => s.cacheId === 5);
    for (let i = 0; i < 60; i++) {
      const q = {
        ...(rand() < 0.5 ? { step: [1000, 1500, 4000, 60_000][Math.floor(rand() * 4)]! } : {}),
        ...(rand() < 0.3 ? { since: 1_000_000 + Math.floor(rand() * 30_000) } : {}),
        ...(rand() < 0.3 ? { until: 1_010_000 + Math.floor(rand() * 30_000) } : {}),
        ...(rand() < 0.3 ? { limit: 1 + Math.floor(rand() * 60) } : {}),
      };
      const pageSize = 1 + Math.floor(rand() * 25);
      const paged: HistorySample[] = [];
      for await (const page of c.historyPages(5, q, pageSize)) {
        assert.ok(page.length > 0 && page.length <= pageSize);
        paged.push(...page);
      }
      assert.deepEqual(paged, expectedHistory(mine, q), `${JSON.stringify(q)} pages of ${pageSize}`);
    }
  }));

  test('history pages stop reading when the reader stops', withCatalog(async (c) => {
    await c.addHistory(Array.from({ length: 50 }, (_, i) => ({ cacheId: 8, server: 'a:1', timestamp: i, stats: { n: i } })));
    const pages = c.historyPages(8, {}, 10);
    assert.equal((await pages.next()).value?.length, 10);
    assert.deepEqual(await pages.return(), { done: true, value: undefined });
    assert.equal((await pages.next()).done, true);
  }));

  // Insight rollups (rollups.ts): whatever order and batches samples come in, the rows
  // are what the stored samples say — checked against rollupsOf, the plain computation.
  test('rollups: each level sums non-negative deltas, covered seconds and last gauges of the stored samples, in any order', withCatalog(async (c) => {
    const rand = seeded(13);
    const base = Date.UTC(2026, 5, 1, 23, 30);
    const samples: HistorySample[] = [];
    for (const [cacheId, server] of [[1, 'a:1'], [1, 'b:1'], [2, 'a:1']] as const) {
      let counter = 0;
      for (let i = 0; i < 150; i++) {
        // A reset (reset_stats or a restart) now and then: the counter starts again from a small value.
        counter = rand() < 0.05 ? Math.floor(rand() * 5) : counter + Math.floor(rand() * 40);
        samples.push({
          cacheId, server, timestamp: base + i * 60_000 + Math.floor(rand() * 5_000),
          stats: { cmd_get: counter, get_hits: Math.floor(counter / 2), bytes_written: counter * 3, bytes: 1000 + i, curr_items: i, limit_maxbytes: 1 << 20, time: i },
        });
      }
    }
    // Random batches in random order, each sample offered twice (the second is a slot already taken).
    const offered = [...samples, ...samples].sort(() => rand() - 0.5);
    for (let i = 0, n = 1; i < offered.length; i += n, n = 1 + Math.floor(rand() * 40)) await c.addHistory(offered.slice(i, i + n), 1);
    const key = (r: { cacheId: number; server: string; level: number; bucket: number }) => `${r.cacheId} ${r.server} ${r.level} ${r.bucket}`;
    const want = new Map(rollupsOf(samples).map((r) => [key(r), r]));
    let seen = 0;
    for (const level of ROLLUP_LEVELS) {
      for (const cacheId of [1, 2]) {
        const got = await c.historyRollups(cacheId, level, base - DAY, base + 2 * DAY);
        assert.deepEqual(got.map((r) => `${r.bucket} ${r.server}`), [...got].sort((x, y) => x.bucket - y.bucket || (x.server < y.server ? -1 : 1)).map((r) => `${r.bucket} ${r.server}`));
        for (const r of got) {
          const w = want.get(key(r));
          assert.ok(w, `unexpected row ${key(r)}`);
          assert.equal(r.samples, w.samples, key(r));
          assert.ok(Math.abs(r.seconds - w.seconds) < 1e-6, `${key(r)} seconds ${r.seconds} vs ${w.seconds}`);
          assert.deepEqual(r.counters, w.counters, key(r));
          assert.deepEqual(r.gauges, w.gauges, key(r));
          for (const v of Object.values(r.counters)) assert.ok(v >= 0, 'no negative delta');
          seen++;
        }
      }
    }
    assert.equal(seen, want.size);
    // A range picks the buckets it overlaps.
    const hours = await c.historyRollups(1, 3_600_000, base + 45 * 60_000, base + 90 * 60_000);
    assert.deepEqual([...new Set(hours.map((r) => r.bucket))], [base + 30 * 60_000, base + 90 * 60_000]);
    assert.deepEqual(await c.historyRollups(3, 60_000, base - DAY, base + DAY), []);
  }));

  test('rollups: a known sequence gives known sums; a reset counts from zero; a slot taken adds nothing', withCatalog(async (c) => {
    const t0 = Date.UTC(2026, 0, 1, 10, 0);
    const at = (s: number, cmd_get: number, bytes: number) => ({ cacheId: 4, server: 'n:1', timestamp: t0 + s * 1000, stats: { cmd_get, bytes } });
    await c.addHistory([at(0, 100, 10), at(30, 160, 20)], 15_000);
    await c.addHistory([at(40, 999, 99)], 15_000); // the slot of 30 s (15 s slots): ignored
    await c.addHistory([at(60, 40, 30), at(90, 100, 40)], 15_000); // reset between 30 s and 60 s
    const [m0, m1] = await c.historyRollups(4, 60_000, t0, t0 + 119_999);
    assert.deepEqual([m0!.bucket, m0!.seconds, m0!.samples, m0!.counters.cmd_get, m0!.gauges.bytes, m0!.gaugeTs], [t0, 30, 2, 60, 20, t0 + 30_000]);
    assert.deepEqual([m1!.bucket, m1!.seconds, m1!.samples, m1!.counters.cmd_get, m1!.gauges.bytes, m1!.gaugeTs], [t0 + 60_000, 60, 2, 40 + 60, 40, t0 + 90_000]);
    const [h] = await c.historyRollups(4, 3_600_000, t0, t0);
    assert.deepEqual([h!.seconds, h!.samples, h!.counters.cmd_get, h!.counters.get_hits, h!.gauges.bytes, h!.gauges.curr_items], [90, 4, 160, 0, 40, null]);
  }));

  test('rollups: two connections writing one server at once count every step once', withCatalog(async (c, h) => {
    const other = await h.another();
    const t0 = Date.UTC(2026, 0, 2);
    const samples = Array.from({ length: 120 }, (_, i) => ({ cacheId: 5, server: 's:1', timestamp: t0 + i * 1000, stats: { cmd_get: i * 7 } }));
    // Both offer every sample, each in its own order and batches: one sample per slot, every step once.
    await Promise.all([
      (async () => { for (let i = 0; i < 120; i += 3) await c.addHistory(samples.slice(i, i + 3), 1000); })(),
      (async () => { for (let i = 120; i > 0; i -= 2) await other.addHistory(samples.slice(Math.max(0, i - 2), i), 1000); })(),
    ]);
    const [hour] = await c.historyRollups(5, 3_600_000, t0, t0);
    assert.deepEqual([hour!.samples, hour!.seconds, hour!.counters.cmd_get], [120, 119, 119 * 7]);
  }));

  test('rollups and latency are thinned per level; history thinning is unchanged', withCatalog(async (c) => {
    const now = Date.UTC(2026, 6, 1);
    const samples = [];
    for (let t = now - 40 * DAY; t < now; t += 3_600_000) samples.push({ cacheId: 6, server: 'a:1', timestamp: t, stats: { cmd_get: t / 1000 } });
    await c.addHistory(samples);
    await c.addLatency(samples.map((s) => ({ server: 'a:1', timestamp: s.timestamp, ns: 1000 })));
    const keep = { 60_000: 2 * DAY, 600_000: 5 * DAY, 3_600_000: 10 * DAY, 86_400_000: 30 * DAY } as const;
    await c.thinHistory({ rawMs: 50 * DAY, hourlyMs: 60 * DAY, rollupMs: keep }, now);
    assert.equal((await c.history(6)).length, samples.length);
    for (const level of ROLLUP_LEVELS) {
      const rows = await c.historyRollups(6, level, 0, now);
      assert.ok(rows.length > 0, `level ${level} keeps its recent rows`);
      assert.ok(rows[0]!.bucket > now - keep[level] - level, `level ${level} keeps nothing older than its retention`);
      assert.ok(rows[0]!.bucket <= now - keep[level], `level ${level} keeps everything within its retention`);
    }
    for (const level of LATENCY_LEVELS) {
      const rows = await c.latencyRollups(['a:1'], level, 0, now);
      assert.ok(rows.length > 0 && rows[0]!.bucket > now - keep[level] - level && rows[0]!.bucket <= now - keep[level], `latency ${level}`);
    }
    const probes = await c.latencyProbes(['a:1'], 0, now);
    assert.ok(probes.length > 0 && probes[0]!.timestamp >= now - keep[60_000]);
  }));

  test('latency: one probe per slot, raw probes by range and server, rollups with count, sum, max and a histogram', withCatalog(async (c, h) => {
    const t0 = Date.UTC(2026, 0, 3, 12, 0);
    const other = await h.another();
    const probe = (server: string, s: number, ns: number) => ({ server, timestamp: t0 + s * 1000, ns });
    await Promise.all([
      c.addLatency([probe('a:1', 0, 100_000), probe('b:1', 0, 900_000), probe('a:1', 20, 300_000)], 20_000),
      other.addLatency([probe('a:1', 5, 777_777), probe('a:1', 40, 200_000)], 20_000), // 5 s: a's first slot is taken (by whichever came first)
    ]);
    await c.addLatency([probe('a:1', 660, 5_000_000)], 20_000); // the next 10-minute bucket
    const raw = await c.latencyProbes(['a:1', 'x:1'], t0, t0 + 3_600_000);
    assert.equal(raw.length, 4);
    assert.deepEqual(raw.slice(1).map((p) => [p.timestamp - t0, p.ns]), [[20_000, 300_000], [40_000, 200_000], [660_000, 5_000_000]]);
    const first = raw[0]!;
    assert.ok((first.timestamp === t0 && first.ns === 100_000) || (first.timestamp === t0 + 5000 && first.ns === 777_777));
    assert.deepEqual((await c.latencyProbes(['b:1'], t0, t0)).map((p) => p.ns), [900_000]);
    const tens = await c.latencyRollups(['a:1', 'b:1'], 600_000, t0, t0 + 3_600_000);
    assert.deepEqual(tens.map((r) => [r.bucket - t0, r.server, r.count]), [[0, 'a:1', 3], [0, 'b:1', 1], [600_000, 'a:1', 1]]);
    const a0 = tens[0]!;
    assert.equal(a0.sumNs, first.ns + 500_000);
    assert.equal(a0.maxNs, Math.max(first.ns, 300_000));
    assert.equal(histogramCount(a0.histogram), 3);
    const [day] = await c.latencyRollups(['a:1'], 86_400_000, t0, t0);
    assert.deepEqual([day!.count, day!.maxNs, day!.sumNs], [4, 5_000_000, first.ns + 5_500_000]);
    // The histogram's quantiles are within 1 % of the exact ones, and never above the maximum.
    const p100 = histogramQuantile(day!.histogram, 1, day!.maxNs)!;
    assert.ok(p100 <= 5_000_000 && p100 >= 5_000_000 * 0.99, `p100 ${p100}`);
    const p50 = histogramQuantile(day!.histogram, 0.5, day!.maxNs)!;
    const exact = [first.ns, 300_000, 200_000, 5_000_000].sort((x, y) => x - y)[1]!;
    assert.ok(Math.abs(p50 - exact) <= exact * 0.01, `p50 ${p50} vs ${exact}`);
    // A histogram stored the first way ({"index": count}) is read and merged as well.
    await h.sql(`UPDATE latency_rollups SET hist = '{"600": 2, "700": 1}' WHERE server = 'b:1' AND level = 600000`);
    await c.addLatency([probe('b:1', 100, 900_000)], 20_000);
    const [b0] = await c.latencyRollups(['b:1'], 600_000, t0, t0);
    assert.deepEqual(b0!.histogram, [600, 2, 693, 1, 700, 1]);
    assert.equal(b0!.count, 2);
  }));

  test('operator token: made once, shown once, verified in constant time', withCatalog(async (c, h) => {
    const token = await c.ensureOperatorToken();
    assert.ok(token && token.length >= 32);
    assert.equal(await c.ensureOperatorToken(), undefined);
    const other = await h.another();
    assert.equal(await other.ensureOperatorToken(), undefined);
    assert.equal(await other.verifyOperatorToken(token!), true);
    assert.equal(await c.verifyOperatorToken(token!), true);
    assert.equal(await c.verifyOperatorToken(token! + 'x'), false);
    assert.equal(await h.storedContains(token!), false, 'stored hashed');
  }));

  // Every catalog promises that revision() moves on a change from any connection or
  // process (SQLite: its triggers, read from the shared file); one with a push path
  // (PostgreSQL's onChange) also calls its listeners, and stops once unsubscribed.
  test('a change from another connection or process moves revision(), and onChange reports it where offered', withCatalog(async (c, h) => {
    const other = await h.another();
    let calls = 0;
    let stillSubscribed = 0;
    const off = c.onChange?.(() => calls++);
    c.onChange?.(() => stillSubscribed++);
    // A listener is called once its LISTEN is up: from then on no change is missed.
    if (off) await waitFor('the listeners to be ready', () => calls > 0 && stillSubscribed > 0);
    const changes: [string, () => Promise<unknown>][] = [
      ['another connection', () => other.createCache({ memoryBytes: 1 << 20 })],
      ['another process', () => createCacheInAnotherProcess(h.open)],
    ];
    for (const [who, change] of changes) {
      const [revision, before] = [await c.revision(), calls];
      await change();
      const now = await c.revision();
      assert.ok(now > revision, `a cache created by ${who} moves revision() (${revision} -> ${now})`);
      if (off) await waitFor(`a notification of the change by ${who}`, () => calls > before);
    }
    if (off) {
      off();
      const [after, seen] = [calls, stillSubscribed];
      await other.createCache({ memoryBytes: 1 << 20 });
      // The listener still subscribed hears of this change: by then the other one would have too.
      await waitFor('the change to reach the listener still subscribed', () => stillSubscribed > seen);
      assert.equal(calls, after, 'no calls after unsubscribing');
    }
  }));

  // API v2 management (access.ts): sign-in links, dashboard sessions, disabled reasons, activity.
  test('sign-in link: rotate makes a token (stored hashed) that opens sessions; rotating again ends them and the old link', withCatalog(async (c, h) => {
    const { cache } = await c.createCache({ memoryBytes: 1 << 20 });
    const { cache: other } = await c.createCache({ memoryBytes: 1 << 20 });
    assert.equal((await c.cacheStatus(cache.id))!.hasSsoLink, false);
    assert.equal(await c.openSsoSession(cache.id, 'x'.repeat(43), 60_000), undefined, 'no link yet');
    const token = (await c.rotateSsoToken(cache.id))!;
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await c.cacheStatus(cache.id))!.hasSsoLink, true);
    assert.equal(await h.storedContains(token), false, 'the token is stored only hashed');
    const otherToken = (await c.rotateSsoToken(other.id))!;
    assert.equal(await c.openSsoSession(cache.id, otherToken, 60_000), undefined, "another cache's token");
    assert.equal(await c.openSsoSession(cache.id, `${token.slice(0, -1)}A` === token ? `${token.slice(0, -1)}B` : `${token.slice(0, -1)}A`, 60_000), undefined);
    const s1 = (await c.openSsoSession(cache.id, token, 60_000))!;
    const s2 = (await c.openSsoSession(cache.id, token, 60_000))!;
    const sOther = (await c.openSsoSession(other.id, otherToken, 60_000))!;
    assert.match(s1, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(s1, s2);
    assert.equal(await h.storedContains(s1), false, 'sessions are stored only hashed');
    assert.equal(await c.sessionCache(s1), cache.id);
    assert.equal(await c.sessionCache(sOther), other.id);
    const elsewhere = await h.another();
    assert.equal(await elsewhere.sessionCache(s2), cache.id, 'another connection sees the session');

    const rotated = (await elsewhere.rotateSsoToken(cache.id))!;
    assert.notEqual(rotated, token);
    assert.equal(await c.sessionCache(s1), undefined, 'sessions of the old link end with the rotation');
    assert.equal(await c.sessionCache(s2), undefined);
    assert.equal(await c.openSsoSession(cache.id, token, 60_000), undefined, 'the old link stops at once');
    assert.equal(await c.sessionCache(sOther), other.id, "another cache's sessions are untouched");
    assert.ok(await c.openSsoSession(cache.id, rotated, 60_000));

    await c.endSession(sOther);
    assert.equal(await c.sessionCache(sOther), undefined, 'signed out');
    await c.endSession('no-such-session');
    await c.deleteCache(other.id);
    assert.equal(await c.rotateSsoToken(other.id), undefined, 'a deleted cache has no link');
    assert.equal(await c.openSsoSession(other.id, otherToken, 60_000), undefined);
    assert.equal(await c.rotateSsoToken(999_999), undefined);
    assert.equal(await c.cacheStatus(other.id), undefined);
  }));

  test('dashboard sessions expire; expired ones are removed when another opens', withCatalog(async (c) => {
    const { cache } = await c.createCache({ memoryBytes: 1 << 20 });
    const token = (await c.rotateSsoToken(cache.id))!;
    const t0 = 1_900_000_000_000;
    const s = (await c.openSsoSession(cache.id, token, 1000, t0))!;
    assert.equal(await c.sessionCache(s, t0 + 999), cache.id);
    assert.equal(await c.sessionCache(s, t0 + 1000), undefined);
    assert.ok(await c.openSsoSession(cache.id, token, 1000, t0 + 5000));
    assert.equal(await c.sessionCache(s, t0), undefined, 'pruned');
  }));

  test('disabled reason: whatever disables a cache without a reason is the operator; enabling clears it', withCatalog(async (c) => {
    const { cache } = await c.createCache({ memoryBytes: 1 << 20 });
    assert.deepEqual(await c.cacheStatus(cache.id), { enabled: true, disabledReason: null, disabledAt: null, lastTrafficAt: null, hasSsoLink: false });
    const before = Date.now();
    await c.updateCache(cache.id, { enabled: false });
    const off = (await c.cacheStatus(cache.id))!;
    assert.equal(off.enabled, false);
    assert.equal(off.disabledReason, 'operator');
    assert.ok(off.disabledAt !== null && off.disabledAt >= before - 1000 && off.disabledAt <= Date.now() + 1000, `${off.disabledAt}`);
    await c.updateCache(cache.id, { name: 'renamed' });
    assert.equal((await c.cacheStatus(cache.id))!.disabledReason, 'operator', 'kept across other updates');
    await c.updateCache(cache.id, { enabled: true });
    assert.deepEqual(await c.cacheStatus(cache.id), { enabled: true, disabledReason: null, disabledAt: null, lastTrafficAt: null, hasSsoLink: false });
    assert.equal(await c.enableIdleCache(cache.id), 'enabled', 'already enabled');
    await c.updateCache(cache.id, { enabled: false });
    assert.equal(await c.enableIdleCache(cache.id), 'not_idle', 'an operator disabled it');
    assert.equal((await c.getCache(cache.id))!.enabled, false);
    assert.equal(await c.enableIdleCache(999_999), 'not_found');
  }));

  test('activity: last traffic only moves forward, marks are replaced, and neither moves the revision', withCatalog(async (c) => {
    const { cache } = await c.createCache({ memoryBytes: 1 << 20 });
    const revision = await c.revision();
    await c.recordActivity([{ cacheId: cache.id, marks: { 'a:1': 5 }, trafficAt: 1000 }]);
    assert.deepEqual((await c.cacheActivity()).get(cache.id), { lastTrafficAt: 1000, marks: { 'a:1': 5 } });
    await c.recordActivity([{ cacheId: cache.id, marks: { 'a:1': 5, 'b:2': 7 } }]);
    assert.deepEqual((await c.cacheActivity()).get(cache.id), { lastTrafficAt: 1000, marks: { 'a:1': 5, 'b:2': 7 } });
    await c.recordActivity([{ cacheId: cache.id, marks: { 'a:1': 6 }, trafficAt: 500 }]);
    assert.equal((await c.cacheActivity()).get(cache.id)!.lastTrafficAt, 1000, 'never back');
    await c.recordActivity([{ cacheId: cache.id, marks: { 'a:1': 6 }, trafficAt: 2000 }]);
    assert.equal((await c.cacheActivity()).get(cache.id)!.lastTrafficAt, 2000);
    assert.equal((await c.cacheStatus(cache.id))!.lastTrafficAt, 2000);
    assert.equal(await c.revision(), revision, 'activity is no catalog change: nodes are not woken');
  }));

  test('idle caches: disabled with reason idle (revision moves); enableIdleCache re-enables only those, counting now as traffic', withCatalog(async (c) => {
    const made = [];
    for (let i = 0; i < 4; i++) made.push((await c.createCache({ memoryBytes: 1 << 20 })).cache.id);
    const [idle, busy, unseen, offAlready] = made as [number, number, number, number];
    await c.recordActivity([
      { cacheId: idle, marks: {}, trafficAt: 1000 },
      { cacheId: busy, marks: {}, trafficAt: 5000 },
      { cacheId: offAlready, marks: {}, trafficAt: 1000 },
    ]);
    await c.updateCache(offAlready, { enabled: false });
    const revision = await c.revision();
    assert.deepEqual(await c.disableIdleCaches(2000, 3000), [idle]);
    assert.ok(await c.revision() > revision, 'nodes learn of it as of any disable');
    assert.deepEqual(await c.cacheStatus(idle), { enabled: false, disabledReason: 'idle', disabledAt: 3000, lastTrafficAt: 1000, hasSsoLink: false });
    assert.equal((await c.getCache(idle))!.enabled, false);
    assert.equal((await c.cacheStatus(offAlready))!.disabledReason, 'operator', 'an operator-disabled cache stays so');
    assert.equal((await c.getCache(busy))!.enabled, true);
    assert.equal((await c.getCache(unseen))!.enabled, true, 'never seen by the sampler: never idle');
    assert.deepEqual(await c.disableIdleCaches(2000, 3000), [], 'once');

    assert.equal(await c.enableIdleCache(idle, 9000), 'enabled');
    const back = (await c.cacheStatus(idle))!;
    assert.deepEqual(back, { enabled: true, disabledReason: null, disabledAt: null, lastTrafficAt: 9000, hasSsoLink: false });
    assert.deepEqual(await c.disableIdleCaches(4000, 9500), [], 're-enabling counts as traffic');
    assert.equal(await c.enableIdleCache(offAlready), 'not_idle');
    await c.deleteCache(busy);
    assert.deepEqual(await c.disableIdleCaches(10_000), [idle], 'a deleted cache is never disabled');
    assert.equal(await c.enableIdleCache(busy), 'not_found');
  }));

  test('API tokens: made once (secret stored only as its hash), verified, listed, revoked; not the revision', withCatalog(async (c, h) => {
    const { cache } = await c.createCache({ memoryBytes: 1 << 20 });
    const { cache: other } = await c.createCache({ memoryBytes: 1 << 20 });
    const before = await c.revision();
    const made = (await c.createApiToken(cache.id, { scopes: ['flush', 'stats', 'flush'], description: 'CI deploy' }, 1000))!;
    assert.match(made.token, new RegExp(`^ctk_${made.record.id}_[A-Za-z0-9_-]{43}$`));
    assert.deepEqual(made.record, {
      id: made.record.id, cacheId: cache.id, scopes: ['flush', 'stats'], description: 'CI deploy', createdAt: 1000, expiresAt: null, lastUsedAt: null,
    });
    const secret = made.token.split('_').slice(2).join('_');
    assert.equal(await h.storedContains(secret), false, 'the secret is not stored');
    assert.equal(await c.revision(), before, 'tokens do not move the revision');

    const seen = (await (await h.another()).verifyApiToken(made.token, 5000))!;
    assert.deepEqual({ ...seen, lastUsedAt: null }, made.record);
    assert.equal(seen.lastUsedAt, 5000);
    assert.equal((await c.verifyApiToken(made.token, 20_000))!.lastUsedAt, 5000, 'last use is written at most once a minute');
    assert.equal((await c.verifyApiToken(made.token, 70_000))!.lastUsedAt, 70_000);
    assert.equal((await c.listApiTokens(cache.id))[0]!.lastUsedAt, 70_000);

    // Anything but the exact token verifies as nothing.
    const [, id, rest] = /^ctk_(\d+)_(.*)$/.exec(made.token)!;
    const flipped = rest!.slice(0, -1) + (rest!.endsWith('A') ? 'B' : 'A');
    for (const wrong of [`ctk_${id}_${flipped}`, `ctk_${Number(id) + 1}_${rest}`, rest!, `${made.token}x`, '', `ctk_${id}_`]) {
      assert.equal(await c.verifyApiToken(wrong), undefined, wrong.slice(0, 12));
    }

    assert.deepEqual((await c.listApiTokens(cache.id)).map((t) => t.id), [made.record.id]);
    assert.deepEqual(await c.listApiTokens(other.id), []);
    assert.equal(await c.revokeApiToken(other.id, made.record.id), false, 'another cache cannot revoke it');
    assert.ok(await c.verifyApiToken(made.token));
    assert.equal(await c.revokeApiToken(cache.id, made.record.id), true);
    assert.equal(await c.revokeApiToken(cache.id, made.record.id), false);
    assert.equal(await c.verifyApiToken(made.token), undefined, 'revoked');
    assert.equal(await c.createApiToken(9999, { scopes: ['all'] }), undefined, 'no such cache');
  }));

  test('API tokens: expire, survive credential changes, die with their cache; at most MAX_API_TOKENS_PER_CACHE', withCatalog(async (c, h) => {
    const { cache, credential } = await c.createCache({ memoryBytes: 1 << 20 });
    const now = Date.now();
    const short = (await c.createApiToken(cache.id, { scopes: ['stats'], expiresAt: now + 1000 }, now))!;
    const long = (await c.createApiToken(cache.id, { scopes: ['all'] }, now))!;
    assert.ok(await c.verifyApiToken(short.token, now + 999));
    assert.equal(await c.verifyApiToken(short.token, now + 1000), undefined, 'expired');
    assert.deepEqual((await c.listApiTokens(cache.id, now + 1000)).map((t) => t.id), [long.record.id], 'expired tokens are not listed');

    const { credential: next } = await c.createCredential(cache.id);
    await c.promoteCredential(next.id);
    assert.equal(await c.deleteCredential(credential.id), 'deleted');
    assert.ok(await c.verifyApiToken(long.token), 'a token outlives the credentials');

    // The cap counts live tokens (the expired one is removed on the next create), atomically across connections.
    const another = await h.another();
    const made = await Promise.all(Array.from({ length: MAX_API_TOKENS_PER_CACHE + 5 }, (_, i) =>
      (i % 2 ? c : another).createApiToken(cache.id, { scopes: ['read'] }, now + 2000).then(() => 'made', (e: unknown) => {
        assert.ok(e instanceof ApiTokenLimitError, String(e));
        return 'refused';
      })));
    assert.equal(made.filter((m) => m === 'made').length, MAX_API_TOKENS_PER_CACHE - 1);
    assert.equal((await c.listApiTokens(cache.id, now + 2000)).length, MAX_API_TOKENS_PER_CACHE);

    await c.deleteCache(cache.id);
    assert.equal(await c.verifyApiToken(long.token), undefined, 'a deleted cache\'s tokens verify as nothing');
    assert.deepEqual(await c.listApiTokens(cache.id), []);
  }));
});

describe('PostgresCatalog specifics', { skip: pgSkip }, () => {
  const withSchema = (fn: (s: TestSchema) => Promise<void>) => async () => {
    const s = await createTestSchema();
    try {
      await fn(s);
    } finally {
      await s.drop();
    }
  };
  /** Leaves `s` as a catalog of schema version `version` left it, then runs `rows` (SQL). */
  const atVersion = (s: TestSchema, version: number, rows = '') => s.sql(`CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
    ${POSTGRES_MIGRATIONS.slice(0, version).join(';\n')};
    INSERT INTO meta (key, value) VALUES ('schema_version', '${version}');
    ${rows}`);
  const schemaVersion = async (s: TestSchema) => (await s.sql<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'"))[0]!.value;

  test('the schema query parameter is ours; bad schema names are refused', async () => {
    assert.deepEqual(parseDatabaseUrl('postgres://u@h:5432/db'), { connectionString: 'postgres://u@h:5432/db' });
    const p = parseDatabaseUrl('postgresql://u:p@h/db?schema=abc_1&sslmode=disable');
    assert.equal(p.schema, 'abc_1');
    assert.equal(p.connectionString, 'postgresql://u:p@h/db?sslmode=disable');
    assert.throws(() => parseDatabaseUrl('mysql://h/db'), /postgres/);
    await assert.rejects(openPostgresCatalog('postgres://u@127.0.0.1:1/db?schema=Bad-Name'), /schema "Bad-Name"/);
  });

  test('several processes opening a fresh schema at once do not race', withSchema(async (s) => {
    await s.sql('DROP SCHEMA IF EXISTS ' + s.schema + ' CASCADE');
    const catalogs = await Promise.all(Array.from({ length: 6 }, () => openPostgresCatalog(s.url)));
    try {
      const made = await Promise.all(catalogs.map((c) => c.createCache({ memoryBytes: 1 << 20 })));
      assert.equal(new Set(made.map((m) => m.cache.id)).size, 6);
      assert.equal(await schemaVersion(s), String(POSTGRES_MIGRATIONS.length), 'every migration ran exactly once');
    } finally {
      await Promise.all(catalogs.map((c) => c.close()));
    }
    // Reopening an existing catalog changes nothing.
    const again = await openPostgresCatalog(s.url);
    assert.equal((await again.listCaches()).length, 6);
    await again.close();
  }));

  test('a catalog of schema version 3 (before change logs) migrates on open and keeps its data', withSchema(async (s) => {
    await atVersion(s, 3, `INSERT INTO caches (name, memory_bytes, created_at) VALUES ('old', 1048576, 1);
      INSERT INTO credentials (cache_id, username, salt, hash, is_primary) SELECT id, 'OLDUSER1', 's', 'h', true FROM caches;`);
    const c = await openPostgresCatalog(s.url);
    try {
      assert.equal(await schemaVersion(s), String(POSTGRES_MIGRATIONS.length));
      const snap = await c.snapshot();
      assert.deepEqual(snap.credentials.map((x) => x.username), ['OLDUSER1']);
      const { credential } = await c.createCredential(snap.caches[0]!.id);
      await c.promoteCredential(credential.id);
      assert.equal(await c.deleteCredential((await c.findCredential('OLDUSER1'))!.id), 'deleted');
      const d = (await c.changesSince(snap.revision))!;
      assert.deepEqual(d.credentials.map((x) => x.username), [credential.username]);
      assert.deepEqual(d.removedCredentials, ['OLDUSER1']);
    } finally {
      await c.close();
    }
  }));

  test('a catalog of schema version 4 (before insight) gets rollups of the history it holds on open', withSchema(async (s) => {
    await atVersion(s, 4);
    const samples = recentSamples();
    for (const x of samples) {
      await s.sql('INSERT INTO history (cache_id, server, ts, stats, slot) VALUES ($1, $2, $3, $4, $3)', [x.cacheId, x.server, x.timestamp, JSON.stringify(x.stats)]);
    }
    const c = await openPostgresCatalog(s.url);
    try {
      assert.equal(await schemaVersion(s), String(POSTGRES_MIGRATIONS.length));
      await assertBackfilled(c, samples);
    } finally {
      await c.close();
    }
  }));

  test('a catalog of schema version 4 (before API v2 management) migrates: its disabled caches read as operator-disabled', withSchema(async (s) => {
    await atVersion(s, 4, `INSERT INTO caches (name, memory_bytes, created_at, enabled) VALUES ('on', 1048576, 1, true), ('off', 1048576, 1, false);`);
    const c = await openPostgresCatalog(s.url);
    try {
      const [on, off] = await c.listCaches();
      assert.equal((await c.cacheStatus(on!.id))!.disabledReason, null);
      assert.equal((await c.cacheStatus(off!.id))!.disabledReason, 'operator');
      assert.equal(await c.enableIdleCache(off!.id), 'not_idle');
      assert.ok(await c.rotateSsoToken(on!.id));
    } finally {
      await c.close();
    }
  }));
  test('a catalog of schema version 7 (before API tokens) migrates on open and makes tokens for its caches', withSchema(async (s) => {
    await atVersion(s, 7, `INSERT INTO caches (name, memory_bytes, created_at) VALUES ('old', 1048576, 1);`);
    const c = await openPostgresCatalog(s.url);
    try {
      assert.equal(await schemaVersion(s), String(POSTGRES_MIGRATIONS.length));
      const [old] = await c.listCaches();
      const made = (await c.createApiToken(old!.id, { scopes: ['flush'] }))!;
      assert.equal((await c.verifyApiToken(made.token))!.cacheId, old!.id);
    } finally {
      await c.close();
    }
  }));

  test('the LISTEN connection comes back after the server drops it, and reports the gap', withSchema(async (s) => {
    const c = await openPostgresCatalog(s.url);
    const writer = await openPostgresCatalog(s.url);
    try {
      let calls = 0;
      c.onChange(() => calls++);
      await waitFor('the first LISTEN', () => calls > 0);
      const killed = await s.sql<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1`,
        [`cachier-listen ${s.schema}`],
      );
      assert.equal(killed.length, 1);
      const before = calls;
      await waitFor('the reconnect to report a change', () => calls > before);
      const n = calls;
      await writer.createCache({ memoryBytes: 1 << 20 });
      await waitFor('notifications to flow again', () => calls > n);
    } finally {
      await c.close();
      await writer.close();
    }
  }));

  test('changes in another schema of the same database are not reported', withSchema(async (s) => {
    const neighbour = await createTestSchema();
    const c = await openPostgresCatalog(s.url);
    const n = await openPostgresCatalog(neighbour.url);
    try {
      let calls = 0;
      c.onChange(() => calls++);
      await waitFor('the first LISTEN', () => calls > 0);
      const before = calls;
      await n.createCache({ memoryBytes: 1 << 20 });
      // A change in our own schema, made after the neighbour's, is reported; had the
      // neighbour's been reported too, it would have come first.
      await c.createCache({ memoryBytes: 1 << 20 });
      await waitFor('our own change to be reported', () => calls > before);
      assert.equal(calls, before + 1, 'only our own change was reported');
    } finally {
      await c.close();
      await n.close();
      await neighbour.drop();
    }
  }));
});

/** What a history query must return, computed the plain way: filter, keep the last per (server, bucket), sort, take the newest. */
function expectedHistory(all: readonly HistorySample[], q: HistoryQuery): HistorySample[] {
  let kept = all.filter((s) => s.timestamp >= (q.since ?? 0) && s.timestamp <= (q.until ?? Infinity));
  if (q.step !== undefined) {
    const last = new Map<string, HistorySample>();
    for (const s of kept) {
      const key = `${s.server} ${Math.floor(s.timestamp / q.step)}`;
      if ((last.get(key)?.timestamp ?? -1) < s.timestamp) last.set(key, s);
    }
    kept = [...last.values()];
  }
  kept.sort((x, y) => x.timestamp - y.timestamp || (x.server < y.server ? -1 : x.server > y.server ? 1 : 0));
  return q.limit === undefined ? kept : kept.slice(Math.max(0, kept.length - q.limit));
}

/** Two servers' minute samples of the last 6 hours, with a counter reset, as an older cachier stored them. */
function recentSamples(): HistorySample[] {
  const start = Math.floor(Date.now() / 60_000) * 60_000 - 6 * 3_600_000;
  const out: HistorySample[] = [];
  for (const server of ['a:1', 'b:1']) {
    for (let i = 0; i < 360; i++) {
      const n = i < 200 ? i * 10 : (i - 200) * 3;
      out.push({ cacheId: 1, server, timestamp: start + i * 60_000 + (server === 'b:1' ? 7 : 0),
        stats: { cmd_get: n, get_hits: i, bytes: 2 * i, curr_items: i, time: i, not_a_counter: 5 } });
    }
  }
  return out;
}

/** The catalog's rollups (every level) are what rollupsOf computes from `samples`. */
async function assertBackfilled(c: Catalog, samples: readonly HistorySample[]): Promise<void> {
  const show = (r: { server: string; level: number; bucket: number; seconds: number; samples: number; counters: object; gauges: object }) =>
    JSON.stringify([r.server, r.level, r.bucket, Math.round(r.seconds * 1000), r.samples, r.counters, r.gauges]);
  const want = rollupsOf(samples).map(show).sort();
  const got: string[] = [];
  for (const level of ROLLUP_LEVELS) for (const r of await c.historyRollups(1, level, 0, Date.now() + 1)) got.push(show(r));
  assert.ok(want.length > 360);
  assert.deepEqual(got.sort(), want);
}

/** A small deterministic generator, so a failing case can be replayed. */
function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

/**
 * A catalog file as an older cachier left it: the base schema and the first `version`
 * migration steps, user_version `version`, then `seed`'s rows. `check` gets its directory,
 * removed afterwards.
 */
async function withSqliteFileAt(version: number, seed: (db: Database.Database) => void, check: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cachier-cat-'));
  try {
    const db = new Database(join(dir, 'catalog.sqlite'));
    db.exec(SQLITE_BASE_SCHEMA);
    for (const step of SQLITE_MIGRATIONS.slice(0, version)) db.exec(step);
    db.pragma(`user_version = ${version}`);
    seed(db);
    db.close();
    await check(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('SqliteCatalog specifics', () => {
  test('a file of user_version 1 (before insight) gets rollups of the history it holds on open', async () => {
    const samples = recentSamples();
    await withSqliteFileAt(1, (db) => {
      const insert = db.prepare('INSERT INTO history (cache_id, server, ts, stats, slot) VALUES (?, ?, ?, ?, ?)');
      for (const x of samples) insert.run(x.cacheId, x.server, x.timestamp, JSON.stringify(x.stats), x.timestamp);
    }, async (dir) => {
      const c = openSqliteCatalog(dir, () => {});
      try {
        await assertBackfilled(c, samples);
      } finally {
        await c.close();
      }
    });
  });

  test('a file of user_version 1 (before API v2 management) migrates: its disabled caches read as operator-disabled', async () => {
    await withSqliteFileAt(1, (db) => {
      db.exec(`INSERT INTO caches (name, memory_bytes, created_at, enabled) VALUES ('on', 1048576, 1, 1), ('off', 1048576, 1, 0);`);
    }, async (dir) => {
      const c = openSqliteCatalog(dir);
      try {
        assert.equal((await c.cacheStatus(1))!.disabledReason, null);
        assert.equal((await c.cacheStatus(2))!.disabledReason, 'operator');
        assert.equal(await c.enableIdleCache(2), 'not_idle');
        assert.ok(await c.rotateSsoToken(1));
      } finally {
        await c.close();
      }
    });
  });

  test('a file of user_version 4 (before API tokens) migrates on open and makes tokens for its caches', async () => {
    await withSqliteFileAt(4, (db) => {
      db.exec(`INSERT INTO caches (name, memory_bytes, created_at) VALUES ('old', 1048576, 1);`);
    }, async (dir) => {
      const c = openSqliteCatalog(dir);
      try {
        const made = (await c.createApiToken(1, { scopes: ['flush'] }))!;
        assert.equal((await c.verifyApiToken(made.token))!.cacheId, 1);
        const check = new Database(join(dir, 'catalog.sqlite'), { readonly: true });
        assert.equal(check.pragma('user_version', { simple: true }), SQLITE_MIGRATIONS.length);
        check.close();
      } finally {
        await c.close();
      }
    });
  });

  test('a file from before change logs (user_version 0) migrates on open, once, and keeps its data', async () => {
    await withSqliteFileAt(0, (db) => {
      db.exec(`INSERT INTO caches (name, memory_bytes, created_at) VALUES ('old', 1048576, 1);
               INSERT INTO credentials (cache_id, username, salt, hash, is_primary) VALUES (1, 'OLDUSER1', 's', 'h', 1);
               INSERT INTO credentials (cache_id, username, salt, hash) VALUES (1, 'OLDUSER2', 's', 'h');`);
    }, async (dir) => {
      const [c, again] = [openSqliteCatalog(dir), openSqliteCatalog(dir)];
      try {
        const check = new Database(join(dir, 'catalog.sqlite'), { readonly: true });
        assert.equal(check.pragma('user_version', { simple: true }), SQLITE_MIGRATIONS.length);
        check.close();
        const snap = await c.snapshot();
        assert.deepEqual(snap.credentials.map((x) => x.username), ['OLDUSER1', 'OLDUSER2']);
        const { credential } = await again.createCredential(1, { write: false });
        assert.equal(await again.deleteCredential((await c.findCredential('OLDUSER2'))!.id), 'deleted');
        const d = (await c.changesSince(snap.revision))!;
        assert.deepEqual(d.credentials.map((x) => [x.username, x.write]), [[credential.username, false]]);
        assert.deepEqual(d.removedCredentials, ['OLDUSER2']);
        assert.equal(d.revision, await c.revision());
      } finally {
        await c.close();
        await again.close();
      }
    });
  });
});
