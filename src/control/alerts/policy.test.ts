// Alert policy (when an alert notifies), the measures it reads from the rollups, the retry
// schedule of deliveries, and the message text: pure functions, worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INITIAL_ALERT_STATE, type AlertDelivery } from '../../catalog/alerts.ts';
import { ROLLUP_COUNTERS, type RollupRow } from '../../catalog/rollups.ts';
import { measuresOf, nextNotification, REMINDER_MS } from './policy.ts';
import { retryAt } from './deliverer.ts';
import { alertMessage } from './message.ts';
import { signatureOf } from './senders.ts';
import { createHmac } from 'node:crypto';

const mem = { triggerType: 'memory_usage' as const, threshold: 80 };
const hit = { triggerType: 'hit_rate' as const, threshold: 50 };
const firing = (at: number) => ({ state: 'firing' as const, since: at, lastNotifiedAt: at, seq: 1 });

test('memory_usage fires above the threshold, resolves 5 points under it, reminds every 24 h', () => {
  assert.equal(nextNotification(mem, INITIAL_ALERT_STATE, 80, 0), undefined, 'at the threshold is not above it');
  assert.equal(nextNotification(mem, INITIAL_ALERT_STATE, 80.1, 0), 'firing');
  assert.equal(nextNotification(mem, firing(0), 99, 1000), undefined, 'nothing more while firing');
  assert.equal(nextNotification(mem, firing(0), 76, 1000), undefined, 'under, but not by 5 points');
  assert.equal(nextNotification(mem, firing(0), 75, 1000), 'resolved');
  assert.equal(nextNotification(mem, firing(0), 90, REMINDER_MS - 1), undefined);
  assert.equal(nextNotification(mem, firing(0), 90, REMINDER_MS), 'reminder');
  assert.equal(nextNotification(mem, firing(0), undefined, REMINDER_MS), undefined, 'no value, no change');
  assert.equal(nextNotification({ ...mem, threshold: 2 }, firing(0), 0, 1), 'resolved', 'clamped at 0');
});

test('hit_rate fires below the threshold and resolves 5 points over it (clamped at 100)', () => {
  assert.equal(nextNotification(hit, INITIAL_ALERT_STATE, 50, 0), undefined);
  assert.equal(nextNotification(hit, INITIAL_ALERT_STATE, 49.9, 0), 'firing');
  assert.equal(nextNotification(hit, firing(0), 54.9, 1), undefined);
  assert.equal(nextNotification(hit, firing(0), 55, 1), 'resolved');
  assert.equal(nextNotification({ ...hit, threshold: 98 }, firing(0), 100, 1), 'resolved');
  assert.equal(nextNotification({ ...hit, threshold: 0 }, INITIAL_ALERT_STATE, 0, 0), undefined, 'a 0 threshold never fires');
});

function row(server: string, gaugeTs: number, hits: number, misses: number, bytes: number | null, limit: number | null): RollupRow {
  const counters = Object.fromEntries(ROLLUP_COUNTERS.map((c) => [c, 0])) as Record<(typeof ROLLUP_COUNTERS)[number], number>;
  counters.get_hits = hits;
  counters.get_misses = misses;
  return {
    cacheId: 1, server, level: 60_000, bucket: Math.floor(gaugeTs / 60_000) * 60_000, seconds: 60, samples: 1, counters, gaugeTs,
    gauges: { bytes, limit_maxbytes: limit, curr_items: 0, curr_connections: 0, time: 0 },
  };
}

test('measures: hit rate over every row of the window, memory from each server\'s latest gauges', () => {
  const m = measuresOf([
    row('a:1', 60_000, 30, 10, 100, 1000), row('b:1', 60_500, 0, 20, 300, 1000),
    row('a:1', 120_000, 10, 20, 600, 1000), row('b:1', 120_500, 0, 0, null, null),
  ]);
  assert.equal(m.hitRate, (100 * 40) / 90);
  assert.equal(m.memoryUsage, (100 * (600 + 300)) / 2000);
  assert.deepEqual(measuresOf([]), { hitRate: undefined, memoryUsage: undefined });
  assert.equal(measuresOf([row('a:1', 1, 0, 0, 5, 10)]).hitRate, undefined, 'no gets: no hit rate');
});

test('retries back off from the base, doubling up to the cap, and stop after an hour', () => {
  const o = { baseMs: 10_000, maxMs: 600_000, giveUpAfterMs: 3_600_000 };
  assert.equal(retryAt({ at: 0 }, 1, 1_000, o), 11_000);
  assert.equal(retryAt({ at: 0 }, 2, 1_000, o), 21_000);
  assert.equal(retryAt({ at: 0 }, 10, 1_000, o), 601_000, 'capped');
  assert.equal(retryAt({ at: 0 }, 10, 3_000_000, o), 3_600_000, 'the last one within the hour');
  assert.equal(retryAt({ at: 0 }, 10, 3_000_001, o), undefined, 'then given up');
});

test('the message names the cache, the alert, the value, the threshold and the dashboard', () => {
  const d: AlertDelivery = {
    id: 9, alertId: 7, seq: 1, cacheId: 3, kind: 'firing', configId: 1, triggerType: 'memory_usage', threshold: 80,
    description: 'nearly full', value: 91.26, at: Date.UTC(2026, 11, 6, 13, 40), status: 'pending', attempts: 1,
  };
  const m = alertMessage(d, { id: 3, name: 'mc-3' }, 'http://127.0.0.1:8080/');
  assert.equal(m.subject, '[cachier] FIRING: memory usage 91.3% > 80% on cache mc-3 (id 3)');
  assert.equal(m.text, [
    'Alert 7 (memory_usage above 80%) on cache mc-3 (id 3) is FIRING: memory usage is 91.3%, threshold 80%.',
    'Description: nearly full',
    'Since: 2026-12-06T13:40:00.000Z',
    'Dashboard: http://127.0.0.1:8080/',
  ].join('\n'));
  const r = alertMessage({ ...d, kind: 'resolved', value: 12 }, { id: 3, name: 'mc-3' }, 'http://x/');
  assert.equal(r.subject, '[cachier] RESOLVED: memory usage 12% on cache mc-3 (id 3)');
  assert.equal(r.payload.state, 'ok');
  assert.deepEqual(m.payload.alert, { id: 7, trigger_type: 'memory_usage', trigger_threshold: 80, description: 'nearly full' });
  assert.equal(signatureOf('{"a":1}', 'k'), `sha256=${createHmac('sha256', 'k').update('{"a":1}').digest('hex')}`);
});
