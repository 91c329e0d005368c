// The evaluator over a real catalog (SQLite in a temp dir): samples stored as the sampler
// stores them, rounds run at chosen times. Hit rate over the last 10 minutes and memory
// from each server's latest sample; firing, nothing while firing, a 24 h reminder, the
// resolution; two evaluators on one catalog claim each notification once; disabled
// alerts and caches are not evaluated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteCatalog } from '../../catalog/sqlite.ts';
import type { Catalog } from '../../catalog/catalog.ts';
import { AlertEvaluator } from './evaluator.ts';

const MIN = 60_000;
const EMAIL = { type: 'email' as const, email: 'ops@example.com', slackUrl: '', slackChannel: '', url: '', secret: '' };

async function withCatalog(fn: (c: Catalog, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cachier-eval-'));
  const c = openSqliteCatalog(dir);
  try {
    await fn(c, dir);
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One sample a minute on two servers, counters from `base` growing by `hits`/`misses` a minute (each batch goes on from the last). */
async function samples(c: Catalog, cacheId: number, from: number, minutes: number, per: { hits: number; misses: number; bytes: number }, base = { hits: 0, misses: 0 }) {
  for (let i = 0; i <= minutes; i++) {
    const ts = from + i * MIN;
    await c.addHistory(['a:1', 'b:1'].map((server) => ({
      cacheId, server, timestamp: ts,
      stats: { get_hits: base.hits + i * per.hits, get_misses: base.misses + i * per.misses, cmd_get: 0, bytes: per.bytes, limit_maxbytes: 1000, time: ts / 1000 },
    })), MIN);
  }
}

test('hit rate over the last 10 minutes: fires below, quiet while firing, reminds after 24 h, resolves 5 points over', () => withCatalog(async (c) => {
  const { cache } = await c.createCache({ memoryBytes: 2000 });
  const cfg = await c.createDeliveryConfig(cache.id, EMAIL);
  const alert = await c.createAlert(cache.id, { triggerType: 'hit_rate', threshold: 50, deliveryConfigId: cfg.id, description: '', enabled: true });
  assert.ok(typeof alert === 'object');
  const ev = new AlertEvaluator({ catalog: c, intervalMs: MIN });
  const t0 = Math.floor(Date.now() / MIN) * MIN - 3 * 24 * 60 * MIN;

  // An hour ago the hit rate was 90 %; over the last 10 minutes 25 %.
  await samples(c, cache.id, t0, 50, { hits: 9, misses: 1, bytes: 100 });
  assert.equal(await ev.evaluateOnce(t0 + 50 * MIN), 0, '90 %: ok');
  await samples(c, cache.id, t0 + 51 * MIN, 10, { hits: 1, misses: 3, bytes: 100 }, { hits: 450, misses: 50 });
  assert.equal(await ev.evaluateOnce(t0 + 61 * MIN), 1, '25 % over the window: firing');
  assert.deepEqual((await c.alertEvents(cache.id, 10)).map((e) => [e.kind, e.value]), [['firing', 25]]);
  assert.equal(await ev.evaluateOnce(t0 + 61 * MIN + 1000), 0, 'nothing more while firing');
  // A day later, still bad: one reminder.
  const day = t0 + 61 * MIN + 24 * 60 * MIN;
  await samples(c, cache.id, day - 10 * MIN, 10, { hits: 1, misses: 3, bytes: 100 }, { hits: 460, misses: 80 });
  assert.equal(await ev.evaluateOnce(day), 1);
  assert.equal(await ev.evaluateOnce(day + 1000), 0);
  // No gets at all in the window: no value, no change.
  assert.equal(await ev.evaluateOnce(day + 60 * MIN), 0);
  // 54 %: not 5 points over; 60 %: resolved.
  const later = day + 2 * 60 * MIN;
  await samples(c, cache.id, later - 10 * MIN, 10, { hits: 27, misses: 23, bytes: 100 }, { hits: 470, misses: 110 });
  assert.equal(await ev.evaluateOnce(later), 0, '54 % stays firing');
  const last = later + 60 * MIN;
  await samples(c, cache.id, last - 10 * MIN, 10, { hits: 3, misses: 2, bytes: 100 }, { hits: 740, misses: 340 });
  assert.equal(await ev.evaluateOnce(last), 1);
  assert.deepEqual((await c.alertEvents(cache.id, 10)).map((e) => e.kind), ['resolved', 'reminder', 'firing']);
  assert.deepEqual((await c.alertState(alert.id))!.state, 'ok');
}));

test('memory from each server\'s latest sample; two evaluators claim once; disabled alerts and caches are skipped', () => withCatalog(async (c, dir) => {
  const { cache } = await c.createCache({ memoryBytes: 2000 });
  const { cache: off } = await c.createCache({ memoryBytes: 2000 });
  const cfg = await c.createDeliveryConfig(cache.id, EMAIL);
  const cfgOff = await c.createDeliveryConfig(off.id, EMAIL);
  await c.createAlert(cache.id, { triggerType: 'memory_usage', threshold: 80, deliveryConfigId: cfg.id, description: '', enabled: true });
  await c.createAlert(cache.id, { triggerType: 'memory_usage', threshold: 10, deliveryConfigId: cfg.id, description: '', enabled: false });
  await c.createAlert(off.id, { triggerType: 'memory_usage', threshold: 10, deliveryConfigId: cfgOff.id, description: '', enabled: true });
  await c.updateCache(off.id, { enabled: false });
  const t0 = Math.floor(Date.now() / MIN) * MIN - 30 * MIN;
  await samples(c, cache.id, t0, 3, { hits: 0, misses: 0, bytes: 900 });
  await samples(c, off.id, t0, 3, { hits: 0, misses: 0, bytes: 900 });
  const other = openSqliteCatalog(dir);
  try {
    const a = new AlertEvaluator({ catalog: c, intervalMs: MIN });
    const b = new AlertEvaluator({ catalog: other, intervalMs: MIN });
    const claimed = await Promise.all([a.evaluateOnce(t0 + 3 * MIN), b.evaluateOnce(t0 + 3 * MIN), a.evaluateOnce(t0 + 3 * MIN)]);
    assert.equal(claimed.reduce((x, y) => x + y, 0), 1, '90 % > 80 %: one firing between them');
    const events = await c.alertEvents(undefined, 10);
    assert.deepEqual(events.map((e) => [e.cacheId, e.kind, e.value]), [[cache.id, 'firing', 90]]);
    // 70 % is not 5 points under; 75 % is.
    await samples(c, cache.id, t0 + 4 * MIN, 0, { hits: 0, misses: 0, bytes: 760 });
    assert.equal(await b.evaluateOnce(t0 + 4 * MIN), 0);
    await samples(c, cache.id, t0 + 5 * MIN, 0, { hits: 0, misses: 0, bytes: 750 });
    assert.equal(await b.evaluateOnce(t0 + 5 * MIN) + await a.evaluateOnce(t0 + 5 * MIN), 1);
    assert.equal((await c.alertEvents(cache.id, 1))[0]!.kind, 'resolved');
  } finally {
    await other.close();
  }
}));
