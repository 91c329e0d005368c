/**
 * The AlertCatalog contract (alerts.ts), run against both catalogs as the Catalog contract
 * is (catalog-contract.test.ts): SQLite in a temp dir, PostgreSQL in a fresh schema
 * (skipped when no server answers). Plus each catalog's migration from the version before.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewDeliveryConfig } from './alerts.ts';
import { MIGRATIONS as POSTGRES_MIGRATIONS, openPostgresCatalog } from './postgres.ts';
import { POSTGRES_ALERTS_MIGRATION } from './postgres-alerts.ts';
import { BASE_SCHEMA as SQLITE_BASE_SCHEMA, MIGRATIONS as SQLITE_MIGRATIONS, openSqliteCatalog } from './sqlite.ts';
import { SQLITE_ALERTS_MIGRATION } from './sqlite-alerts.ts';
import { createTestSchema, postgresSkipReason } from './testing/postgres-schema.ts';
import { forEachCatalog } from './testing/catalog-harness.ts';

const pgSkip = await postgresSkipReason();

const EMAIL: NewDeliveryConfig = { type: 'email', email: 'ops@example.com', slackUrl: '', slackChannel: '', url: '', secret: '' };
const HOOK: NewDeliveryConfig = { type: 'webhook', email: '', slackUrl: '', slackChannel: '', url: 'http://127.0.0.1:1/h', secret: 's3cret' };

forEachCatalog('alert catalog contract', (withCatalog) => {
  test('configs and alerts per cache: create, list, update (partial), delete; a config of another cache is refused', withCatalog(async (c) => {
    const { cache: a } = await c.createCache({ memoryBytes: 1 << 20 });
    const { cache: b } = await c.createCache({ memoryBytes: 1 << 20 });
    const email = await c.createDeliveryConfig(a.id, EMAIL);
    const hook = await c.createDeliveryConfig(a.id, HOOK);
    const other = await c.createDeliveryConfig(b.id, EMAIL);
    assert.deepEqual(email, { id: email.id, cacheId: a.id, ...EMAIL });
    assert.equal(hook.secret, 's3cret');
    assert.deepEqual((await c.listDeliveryConfigs(a.id)).map((x) => x.id), [email.id, hook.id]);
    assert.deepEqual((await c.deliveryConfig(other.id))?.cacheId, b.id);

    const input = { triggerType: 'memory_usage' as const, threshold: 80, deliveryConfigId: email.id, description: 'full', enabled: true };
    assert.equal(await c.createAlert(a.id, { ...input, deliveryConfigId: other.id }), 'no_config');
    assert.equal(await c.createAlert(a.id, { ...input, deliveryConfigId: 999_999 }), 'no_config');
    assert.deepEqual(await c.listAlerts(a.id), [], 'nothing created');
    const alert = await c.createAlert(a.id, input);
    assert.ok(typeof alert === 'object');
    assert.deepEqual(alert, { id: alert.id, cacheId: a.id, ...input });
    assert.deepEqual(await c.getAlert(a.id, alert.id), alert);
    assert.equal(await c.getAlert(b.id, alert.id), undefined, 'another cache does not see it');
    assert.deepEqual(await c.listAlerts(b.id), []);

    const updated = await c.updateAlert(a.id, alert.id, { enabled: false });
    assert.deepEqual(updated, { ...alert, enabled: false }, 'fields left out are kept');
    assert.equal(await c.updateAlert(a.id, alert.id, { deliveryConfigId: other.id }), 'no_config');
    assert.equal(await c.updateAlert(b.id, alert.id, { enabled: true }), 'not_found');
    assert.deepEqual(await c.updateAlert(a.id, alert.id, { deliveryConfigId: hook.id, threshold: 0, description: '' }),
      { ...alert, enabled: false, deliveryConfigId: hook.id, threshold: 0, description: '' });

    assert.deepEqual(await c.deleteDeliveryConfig(a.id, hook.id), { result: 'in_use', alertIds: [alert.id] });
    assert.deepEqual(await c.deleteDeliveryConfig(b.id, hook.id), { result: 'not_found' });
    assert.deepEqual(await c.deleteDeliveryConfig(a.id, email.id), { result: 'deleted' });
    assert.equal(await c.deleteAlert(b.id, alert.id), false);
    assert.equal(await c.deleteAlert(a.id, alert.id), true);
    assert.equal(await c.deleteAlert(a.id, alert.id), false);
    assert.deepEqual(await c.deleteDeliveryConfig(a.id, hook.id), { result: 'deleted' });
    assert.deepEqual(await c.listDeliveryConfigs(a.id), []);
  }));

  test('liveAlerts: enabled alerts of enabled live caches, with their state', withCatalog(async (c) => {
    const { cache: a } = await c.createCache({ memoryBytes: 1 << 20 });
    const { cache: off } = await c.createCache({ memoryBytes: 1 << 20 });
    const cfgA = await c.createDeliveryConfig(a.id, EMAIL);
    const cfgOff = await c.createDeliveryConfig(off.id, EMAIL);
    const base = { triggerType: 'hit_rate' as const, threshold: 50, description: '', enabled: true };
    const on = await c.createAlert(a.id, { ...base, deliveryConfigId: cfgA.id });
    await c.createAlert(a.id, { ...base, deliveryConfigId: cfgA.id, enabled: false });
    await c.createAlert(off.id, { ...base, deliveryConfigId: cfgOff.id });
    await c.updateCache(off.id, { enabled: false });
    const live = await c.liveAlerts();
    assert.equal(live.length, 1);
    assert.equal(live[0]!.id, (on as { id: number }).id);
    assert.deepEqual(live[0]!.alertState, { state: 'ok', since: null, lastNotifiedAt: null, seq: 0 });
  }));

  test('a transition is claimed once (also by two catalogs at once); state, events and deliveries follow', withCatalog(async (c, h) => {
    const { cache } = await c.createCache({ memoryBytes: 1 << 20 });
    const cfg = await c.createDeliveryConfig(cache.id, HOOK);
    const alert = await c.createAlert(cache.id, { triggerType: 'memory_usage', threshold: 50, deliveryConfigId: cfg.id, description: 'd', enabled: true });
    assert.ok(typeof alert === 'object');
    const other = await h.another();
    const t = { alert, fromSeq: 0, kind: 'firing' as const, value: 72.5, at: 1_000 };
    const results = await Promise.all([c.recordTransition(t), other.recordTransition(t), c.recordTransition(t), other.recordTransition(t)]);
    const won = results.filter((r) => r !== undefined);
    assert.equal(won.length, 1, 'exactly one claim');
    const d = won[0]!;
    assert.deepEqual({ ...d, id: 0 }, {
      id: 0, alertId: alert.id, seq: 1, cacheId: cache.id, kind: 'firing', configId: cfg.id, triggerType: 'memory_usage',
      threshold: 50, description: 'd', value: 72.5, at: 1_000, status: 'pending', attempts: 0,
    });
    assert.deepEqual(await c.alertState(alert.id), { state: 'firing', since: 1_000, lastNotifiedAt: 1_000, seq: 1 });
    // A reminder keeps `since`; a resolution moves it.
    assert.ok(await c.recordTransition({ ...t, fromSeq: 1, kind: 'reminder', at: 2_000 }));
    assert.equal(await c.recordTransition({ ...t, fromSeq: 1, kind: 'resolved', at: 2_500 }), undefined, 'seq 2 is taken');
    assert.deepEqual(await c.alertState(alert.id), { state: 'firing', since: 1_000, lastNotifiedAt: 2_000, seq: 2 });
    assert.ok(await c.recordTransition({ ...t, fromSeq: 2, kind: 'resolved', value: 10, at: 3_000 }));
    assert.deepEqual(await c.alertState(alert.id), { state: 'ok', since: 3_000, lastNotifiedAt: 3_000, seq: 3 });
    const events = await c.alertEvents(cache.id, 100);
    assert.deepEqual(events.map((e) => e.kind), ['resolved', 'reminder', 'firing'], 'newest first');
    assert.deepEqual([events[2]!.value, events[2]!.threshold, events[2]!.triggerType, events[2]!.at], [72.5, 50, 'memory_usage', 1_000]);
    assert.deepEqual((await c.alertEvents(undefined, 2)).map((e) => e.kind), ['resolved', 'reminder']);

    // Changing the threshold puts a firing alert back to ok, seq kept.
    assert.ok(await c.recordTransition({ ...t, fromSeq: 3, at: 4_000 }));
    await c.updateAlert(cache.id, alert.id, { threshold: 60 });
    assert.deepEqual(await c.alertState(alert.id), { state: 'ok', since: null, lastNotifiedAt: 4_000, seq: 4 });
  }));

  test('deliveries are leased once, retried when asked, recorded per attempt; a stale finisher is ignored', withCatalog(async (c, h) => {
    const { cache } = await c.createCache({ memoryBytes: 1 << 20 });
    const cfg = await c.createDeliveryConfig(cache.id, HOOK);
    const alert = await c.createAlert(cache.id, { triggerType: 'hit_rate', threshold: 50, deliveryConfigId: cfg.id, description: '', enabled: true });
    assert.ok(typeof alert === 'object');
    const d = (await c.recordTransition({ alert, fromSeq: 0, kind: 'firing', value: 12, at: 1_000 }))!;
    const other = await h.another();
    assert.deepEqual(await c.claimDeliveries(999, 5_000, 10), [], 'not due yet');
    const [x, y] = await Promise.all([c.claimDeliveries(1_000, 5_000, 10), other.claimDeliveries(1_000, 5_000, 10)]);
    assert.equal(x.length + y.length, 1, 'leased by one');
    const leased = [...x, ...y][0]!;
    assert.equal(leased.id, d.id);
    assert.equal(leased.attempts, 1);
    assert.deepEqual(await c.claimDeliveries(4_999, 9_000, 10), [], 'leased');
    assert.equal(await c.finishDelivery(d.id, 1, { ok: false, detail: 'HTTP 500', retryAt: 6_000 }, 1_100), true);
    assert.deepEqual(await c.claimDeliveries(5_999, 9_000, 10), [], 'waiting for the retry');
    const [again] = await c.claimDeliveries(6_000, 9_000, 10);
    assert.equal(again!.attempts, 2);
    // The lease runs out; another plane takes attempt 3; attempt 2's late answer is ignored.
    const [third] = await other.claimDeliveries(9_000, 12_000, 10);
    assert.equal(third!.attempts, 3);
    assert.equal(await c.finishDelivery(d.id, 2, { ok: true, detail: 'HTTP 200' }, 9_100), false);
    assert.equal(await other.finishDelivery(d.id, 3, { ok: true, detail: 'HTTP 204' }, 9_200), true);
    assert.equal((await c.delivery(d.id))!.status, 'delivered');
    assert.deepEqual(await c.claimDeliveries(99_000, 100_000, 10), []);
    const events = await c.alertEvents(cache.id, 100);
    assert.deepEqual(events.map((e) => [e.kind, e.attempt, e.deliveryType, e.detail]), [
      ['delivered', 3, 'webhook', 'HTTP 204'], ['delivery_failed', 1, 'webhook', 'HTTP 500'], ['firing', null, null, ''],
    ]);
    // Giving up.
    const d2 = (await c.recordTransition({ alert, fromSeq: 1, kind: 'resolved', value: 90, at: 20_000 }))!;
    await c.claimDeliveries(20_000, 21_000, 10);
    assert.equal(await c.finishDelivery(d2.id, 1, { ok: false, detail: 'timed out' }, 20_500), true);
    assert.equal((await c.delivery(d2.id))!.status, 'failed');
    assert.equal((await c.alertEvents(cache.id, 1))[0]!.kind, 'delivery_abandoned');
    await c.pruneAlertEvents(10_000);
    assert.deepEqual((await c.alertEvents(cache.id, 100)).map((e) => e.kind), ['delivery_abandoned', 'resolved']);
  }));

  test('perCache: no more of one cache\'s deliveries leased at once (by any plane) than its share; other caches\' still go', withCatalog(async (c, h) => {
    const noisy = (await c.createCache({ memoryBytes: 1 << 20 })).cache;
    const quiet = (await c.createCache({ memoryBytes: 1 << 20 })).cache;
    const alertsOf = async (cacheId: number, n: number) => {
      const cfg = await c.createDeliveryConfig(cacheId, HOOK);
      const made = [];
      for (let i = 0; i < n; i++) {
        const a = await c.createAlert(cacheId, { triggerType: 'memory_usage', threshold: 50, deliveryConfigId: cfg.id, description: '', enabled: true });
        assert.ok(typeof a === 'object');
        made.push(a);
      }
      return made;
    };
    // The noisy cache's six are due first, the quiet cache's one after them.
    for (const a of await alertsOf(noisy.id, 6)) await c.recordTransition({ alert: a, fromSeq: 0, kind: 'firing', value: 90, at: 1_000 });
    const [q] = await alertsOf(quiet.id, 1);
    const qd = (await c.recordTransition({ alert: q!, fromSeq: 0, kind: 'firing', value: 90, at: 1_001 }))!;
    const first = await c.claimDeliveries(2_000, 60_000, 3, 2);
    assert.deepEqual(first.map((d) => d.cacheId), [noisy.id, noisy.id, quiet.id], 'two of the noisy cache, then the quiet one');
    assert.ok(first.some((d) => d.id === qd.id));
    const other = await h.another();
    assert.deepEqual(await other.claimDeliveries(2_000, 60_000, 10, 2), [], 'the noisy cache has its share leased, on any plane');
    assert.equal(await c.finishDelivery(first[0]!.id, 1, { ok: true, detail: 'HTTP 200' }, 2_100), true);
    assert.deepEqual((await other.claimDeliveries(2_200, 60_000, 10, 2)).map((d) => d.cacheId), [noisy.id], 'one slot freed, one more');
    // Without perCache, as before: every due one.
    assert.equal((await c.claimDeliveries(2_300, 60_000, 10)).length, 3);
  }));
});

describe('alert catalog migrations', () => {
  test('SQLite: a file of the version before alerts migrates and keeps its caches', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cachier-alerts-'));
    try {
      const before = SQLITE_MIGRATIONS.indexOf(SQLITE_ALERTS_MIGRATION);
      assert.ok(before > 0);
      const db = new Database(join(dir, 'catalog.sqlite'));
      db.exec(SQLITE_BASE_SCHEMA);
      for (const m of SQLITE_MIGRATIONS.slice(0, before)) db.exec(m);
      db.pragma(`user_version = ${before}`);
      db.exec("INSERT INTO caches (name, memory_bytes, created_at) VALUES ('old', 1048576, 1)");
      db.close();
      const c = openSqliteCatalog(dir, () => {});
      try {
        const [cache] = await c.listCaches();
        const cfg = await c.createDeliveryConfig(cache!.id, EMAIL);
        assert.ok(typeof (await c.createAlert(cache!.id, { triggerType: 'hit_rate', threshold: 1, deliveryConfigId: cfg.id, description: '', enabled: true })) === 'object');
      } finally {
        await c.close();
      }
      const check = new Database(join(dir, 'catalog.sqlite'));
      assert.equal(check.pragma('user_version', { simple: true }), SQLITE_MIGRATIONS.length);
      check.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('PostgreSQL: a catalog of the schema version before alerts migrates and keeps its caches', { skip: pgSkip }, async () => {
    const s = await createTestSchema();
    try {
      const before = POSTGRES_MIGRATIONS.indexOf(POSTGRES_ALERTS_MIGRATION);
      assert.ok(before > 0);
      await s.sql(`CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
        ${POSTGRES_MIGRATIONS.slice(0, before).join(';\n')};
        INSERT INTO meta (key, value) VALUES ('schema_version', '${before}');
        INSERT INTO caches (name, memory_bytes, created_at) VALUES ('old', 1048576, 1);`);
      const c = await openPostgresCatalog(s.url);
      try {
        const [version] = await s.sql<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'");
        assert.equal(version!.value, String(POSTGRES_MIGRATIONS.length));
        const [cache] = await c.listCaches();
        const cfg = await c.createDeliveryConfig(cache!.id, EMAIL);
        assert.ok(typeof (await c.createAlert(cache!.id, { triggerType: 'hit_rate', threshold: 1, deliveryConfigId: cfg.id, description: '', enabled: true })) === 'object');
      } finally {
        await c.close();
      }
    } finally {
      await s.drop();
    }
  });
});
