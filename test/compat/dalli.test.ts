// Dalli (Ruby). Dalli 3.0.x speaks only the binary protocol; it logs in with SASL
// PLAIN when given username/password.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { clientScript, errorsToClass, haveCommand, runJsonClient, show } from '../support/clients.ts';
import { skipOrFail } from '../support/required-tool.ts';
import { openTarget, serverLog, type Target } from '../support/target.ts';

// The 31 per-cache stats of the Analytics API (SYSTEM.md). Stock memcached lacks
// `cmd_delete` and `expired`, so the self-check against it skips those two.
const STAT_NAMES = [
  'auth_cmds', 'auth_errors', 'bytes', 'bytes_read', 'bytes_written', 'cas_badval', 'cas_hits',
  'cas_misses', 'cmd_delete', 'cmd_flush', 'cmd_get', 'cmd_set', 'cmd_touch', 'curr_connections',
  'curr_items', 'decr_hits', 'decr_misses', 'delete_hits', 'delete_misses', 'evictions', 'expired',
  'get_hits', 'get_misses', 'incr_hits', 'incr_misses', 'limit_maxbytes', 'time', 'total_connections',
  'total_items', 'touch_hits', 'touch_misses',
];
const NOT_IN_MEMCACHED = new Set(['cmd_delete', 'expired']);

type Stats = Record<string, number | string>;

let target: Target;
before(async () => {
  target = await openTarget();
});
after(async () => {
  await target?.stop();
});

test('dalli (binary + SASL): set, get, fetch, incr, get_multi and stats', { timeout: 60_000 }, async (t) => {
  if (!haveCommand('ruby')) return skipOrFail(t, 'ruby not installed');
  const { result, stderr } = await runJsonClient('ruby', [
    clientScript('dalli_ops.rb'),
    target.servers.join(','),
    target.username,
    target.password,
  ]);
  const context = `dalli observed:\n${show(result)}\nstderr:\n${stderr}${serverLog(target)}`;
  const { stats_before, stats_after, ...ops } = errorsToClass(result);

  assert.deepEqual(
    ops,
    {
      set: true,
      get: 'hello',
      get_missing: null,
      fetch_miss: 'computed', // get (miss), block, add
      fetch_hit: { value: 'computed', block_called: false }, // get (hit)
      incr_init: 10, // binary incr on a missing key with an initial value
      incr: 15,
      decr: 12,
      get_multi: { greeting: 'hello', fetched: 'computed' }, // 3 keys: 2 hits, 1 miss
    },
    context,
  );

  const server = target.servers[0];
  assert.equal(typeof stats_before, 'object', context);
  assert.deepEqual(Object.keys(stats_after as object), [server], `stats are keyed by host:port\n${context}`);
  const before = (stats_before as Record<string, Stats>)[server];
  const after = (stats_after as Record<string, Stats>)[server];
  assert.ok(before && after, context);

  const expectedNames = STAT_NAMES.filter((n) => target.kind === 'cachier' || !NOT_IN_MEMCACHED.has(n));
  const missing = expectedNames.filter((n) => typeof after[n] !== 'number');
  assert.deepEqual(missing, [], `stats lack (or have non-integer) ${missing.join(', ')}\n${context}`);

  const delta = (name: string) => Number(after[name]) - Number(before[name]);
  assert.deepEqual(
    {
      cmd_get: delta('cmd_get'),
      get_hits: delta('get_hits'),
      get_misses: delta('get_misses'),
      cmd_set: delta('cmd_set'),
      incr_hits: delta('incr_hits'),
      decr_hits: delta('decr_hits'),
      curr_items: delta('curr_items'),
    },
    {
      cmd_get: 7, // get, get, fetch, fetch, get_multi x3
      get_hits: 4, // get greeting, fetch hit, get_multi greeting + fetched
      get_misses: 3, // get missing, fetch miss, get_multi missing
      cmd_set: 2, // set, the add inside fetch (an incr that creates is not a set)
      incr_hits: 1,
      decr_hits: 1,
      curr_items: 3, // greeting, fetched, counter
    },
    `stats deltas over the run\n${context}`,
  );
  if (target.kind === 'cachier') {
    assert.equal(after.limit_maxbytes, 64 * 1024 * 1024, `one node holds the whole 64mb plan\n${context}`);
    assert.ok(Number(after.auth_cmds) >= 1, `auth_cmds counts the SASL login\n${context}`);
  }
});
