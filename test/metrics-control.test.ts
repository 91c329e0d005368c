/**
 * The control plane's /metrics in-process: cache stats served from the sampler's last
 * round (summed over caches by default, per cache with perCache), HTTP requests counted
 * by route pattern, catalog errors counted by operation, and who may read it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { buildApp } from '../src/control/app.ts';
import { ALL_CACHES, CACHE_METRIC_NAMES, ControlMetrics, countCatalogErrors } from '../src/control/metrics.ts';
import type { LatestStats, SamplerCounts } from '../src/control/sampler.ts';
import { STAT_NAMES } from '../src/shared/stat-names.ts';
import type { ServerStats } from '../src/api/v1.ts';
import { openTestCatalog, type TestCatalog } from './support/test-catalog.ts';

let tc: TestCatalog;
before(async () => {
  tc = await openTestCatalog('cachier-metrics-');
});
after(async () => {
  await tc.dispose();
});

function stats(getHits: number, bytes: number): ServerStats {
  const s = Object.fromEntries(STAT_NAMES.map((n) => [n, 0])) as Record<string, number>;
  s.get_hits = getHits;
  s.bytes = bytes;
  s.time = 1_700_000_000;
  return s as unknown as ServerStats;
}

function sampler(): { latest: LatestStats; counts: SamplerCounts } {
  const caches = new Map([
    [1, new Map([['127.0.0.1:1', stats(3, 100)], ['127.0.0.1:2', stats(4, 200)]])],
    [2, new Map([['127.0.0.1:1', stats(10, 1000)], ['127.0.0.1:2', stats(20, 2000)]])],
  ]);
  return { latest: { at: 1_700_000_000_000, caches }, counts: { rounds: 5, roundErrors: 1, samples: 20, nodeFailures: 0, thins: 1, thinned: 0 } };
}

test('every stat but time has one Prometheus name, counters ending in _total', () => {
  assert.equal(CACHE_METRIC_NAMES.length, STAT_NAMES.length - 1);
  assert.equal(new Set(CACHE_METRIC_NAMES.map((m) => m.name)).size, CACHE_METRIC_NAMES.length);
  for (const m of CACHE_METRIC_NAMES) {
    assert.match(m.name, /^cachier_cache_[a-z_]+$/);
    assert.equal(m.name.endsWith('_total'), m.type === 'counter', m.name);
  }
  assert.ok(CACHE_METRIC_NAMES.some((m) => m.name === 'cachier_cache_get_hits_total'));
  assert.ok(CACHE_METRIC_NAMES.some((m) => m.name === 'cachier_cache_bytes' && m.type === 'gauge'));
});

test('summed over caches by default, one series per cache with perCache; served without asking a node', async () => {
  const summed = new ControlMetrics({ processMetrics: false });
  summed.sources.sampler = sampler();
  const text = await summed.text();
  assert.match(text, new RegExp(`^cachier_cache_get_hits_total\\{cache="${ALL_CACHES}",server="127.0.0.1:1"\\} 13$`, 'm'));
  assert.match(text, new RegExp(`^cachier_cache_bytes\\{cache="${ALL_CACHES}",server="127.0.0.1:2"\\} 2200$`, 'm'));
  assert.doesNotMatch(text, /cache="1"/);
  assert.match(text, /^cachier_sampler_rounds_total 5$/m);
  assert.match(text, /^cachier_sampler_last_round_timestamp_seconds 1700000000$/m);
  assert.doesNotMatch(text, /cachier_cache_time/);

  const perCache = new ControlMetrics({ perCache: true, processMetrics: false });
  perCache.sources.sampler = sampler();
  const per = await perCache.text();
  assert.match(per, /^cachier_cache_get_hits_total\{cache="2",server="127.0.0.1:2"\} 20$/m);
  assert.equal(per.split('\n').filter((l) => l.startsWith('cachier_cache_get_hits_total{')).length, 4);
  // promtool (test/metrics-prometheus.test.ts needs it) agrees with both forms.
  if (existsSync('/usr/bin/promtool')) for (const t of [text, per]) execFileSync('/usr/bin/promtool', ['check', 'metrics'], { input: t, timeout: 20_000 });
});

test('HTTP requests by route pattern, never the raw URL; catalog errors by operation', async () => {
  const metrics = new ControlMetrics({ processMetrics: false });
  const app = buildApp({ catalog: countCatalogErrors(tc.catalog, metrics), metrics });
  try {
    for (const id of [12345, 67890]) await app.inject({ url: `/api/v1/${id}/stats` });
    await app.inject({ url: '/no/such/path' });
    const text = (await app.inject({ url: '/metrics' })).body;
    assert.match(text, /^cachier_http_requests_total\{method="GET",route="\/api\/v1\/:id\/stats",status="404"\} 2$/m);
    assert.match(text, /^cachier_http_requests_total\{method="GET",route="unmatched",status="404"\} 1$/m);
    assert.doesNotMatch(text, /12345|no\/such/);
    const failing = countCatalogErrors({ ...tc.catalog, listCaches: () => Promise.reject(new Error('down')) } as typeof tc.catalog, metrics);
    await assert.rejects(failing.listCaches(), /down/);
    await new Promise((r) => setImmediate(r));
    assert.match(await metrics.text(), /^cachier_catalog_errors_total\{operation="listCaches"\} 1$/m);
  } finally {
    await app.close();
  }
});

test('access: a token (or the operator token) when one is set; without one, 404 on a non-loopback host', async () => {
  const operatorToken = (await tc.catalog.ensureOperatorToken()) ?? undefined;
  const token = 'metrics-token-0123456789abcdef';
  const withToken = buildApp({ catalog: tc.catalog, metricsAccess: { token, host: '0.0.0.0' } });
  const open = buildApp({ catalog: tc.catalog, metricsAccess: { token: undefined, host: '127.0.0.1' } });
  const off = buildApp({ catalog: tc.catalog, metricsAccess: { token: undefined, host: '0.0.0.0' } });
  try {
    assert.equal((await withToken.inject({ url: '/metrics' })).statusCode, 401);
    assert.equal((await withToken.inject({ url: '/metrics', headers: { authorization: 'Bearer nope-nope-nope-nope' } })).statusCode, 401);
    assert.equal((await withToken.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
    if (operatorToken) {
      assert.equal((await withToken.inject({ url: '/metrics', headers: { authorization: `Bearer ${operatorToken}` } })).statusCode, 200);
      assert.equal((await off.inject({ url: '/metrics', headers: { authorization: `Bearer ${operatorToken}` } })).statusCode, 200);
    }
    assert.equal((await open.inject({ url: '/metrics' })).statusCode, 200);
    assert.equal((await off.inject({ url: '/metrics' })).statusCode, 404);
  } finally {
    await Promise.all([withToken.close(), open.close(), off.close()]);
  }
});

test('the usage names the metrics flags', () => {
  const usage = execFileSync(process.execPath, [new URL('../bin/cachier.js', import.meta.url).pathname, 'help'], { encoding: 'utf8', timeout: 30_000 });
  for (const flag of ['--metrics-token', '--metrics-per-cache', '[METRICS]']) assert.ok(usage.includes(flag), flag);
});
