// The Introspection screen's arithmetic (dashboard/src/introspection-data.ts), without a
// browser: recent_logs of every server merged newest first and filtered, the filter menus,
// a watched prefix's five series read by column name, what a prefix name may be, and the
// small formats (window, TTL, log time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INTROSPECTION_COLUMNS } from '../src/api/v2-introspection.ts';
import {
  COMMANDS, PREFIX_SERIES, STATUSES, choices, filterRecent, logTime, mergeRecent, prefixLines, prefixProblem, statusTone, ttlLabel,
  windowLabel, type RecentLogs,
} from '../dashboard/src/introspection-data.ts';

const line = (timestamp: string, command: string, status: string, key = 'k', size = 0) => ({ timestamp, key, command, status, size });

test('recent_logs: every server in one list, newest first; ties in a stable order', () => {
  const logs: RecentLogs = {
    'b:2': [line('2026-12-06T10:00:00.001Z', 'GET', 'HIT', 'x'), line('2026-12-06T10:00:00.005Z', 'SET', 'STORED', 'y', 10)],
    'a:1': [line('2026-12-06T10:00:00.003Z', 'GET', 'MISS', 'z'), line('2026-12-06T10:00:00.005Z', 'DELETE', 'DELETED', 'y')],
  };
  const rows = mergeRecent(logs);
  assert.deepEqual(rows.map((r) => [r.server, r.command, r.time]), [
    ['a:1', 'DELETE', Date.parse('2026-12-06T10:00:00.005Z')],
    ['b:2', 'SET', Date.parse('2026-12-06T10:00:00.005Z')],
    ['a:1', 'GET', Date.parse('2026-12-06T10:00:00.003Z')],
    ['b:2', 'GET', Date.parse('2026-12-06T10:00:00.001Z')],
  ]);
  // Within one server, equal times keep the server's own order, newest (last) first.
  const same = mergeRecent({ s: [line('2026-12-06T10:00:00.000Z', 'GET', 'HIT', 'first'), line('2026-12-06T10:00:00.000Z', 'GET', 'HIT', 'second')] });
  assert.deepEqual(same.map((r) => r.key), ['second', 'first']);
  assert.deepEqual(mergeRecent({}), []);
});

test('recent requests filtered by command, status and part of the key (case-sensitive: keys are bytes)', () => {
  const rows = mergeRecent({
    s: [line('2026-12-06T10:00:00.001Z', 'GET', 'HIT', 'user:1'), line('2026-12-06T10:00:00.002Z', 'GET', 'MISS', 'user:2'),
      line('2026-12-06T10:00:00.003Z', 'INCR', 'OK', 'Counter'), line('2026-12-06T10:00:00.004Z', 'STATS', 'OK', '')],
  });
  assert.deepEqual(filterRecent(rows, { command: 'GET', status: '', key: '' }).map((r) => r.key), ['user:2', 'user:1']);
  assert.deepEqual(filterRecent(rows, { command: 'GET', status: 'MISS', key: '' }).map((r) => r.key), ['user:2']);
  assert.deepEqual(filterRecent(rows, { command: '', status: 'OK', key: '' }).map((r) => r.command), ['STATS', 'INCR']);
  assert.deepEqual(filterRecent(rows, { command: '', status: '', key: 'Count' }).map((r) => r.key), ['Counter']);
  assert.deepEqual(filterRecent(rows, { command: '', status: '', key: 'count' }), []);
  assert.equal(filterRecent(rows, { command: '', status: '', key: '' }).length, 4);
});

test('filter menus: the spec’s vocabulary first, then anything else, each with its count', () => {
  assert.deepEqual(choices(['GET', 'SET'], ['SET', 'GET', 'SET', 'META']), [
    { value: 'GET', count: 1 }, { value: 'SET', count: 2 }, { value: 'META', count: 1 },
  ]);
  assert.ok(COMMANDS.includes('GAT') && COMMANDS.includes('NOOP'));
  assert.equal(statusTone('HIT'), 'good');
  assert.equal(statusTone('MISS'), 'fair');
  assert.equal(statusTone('DENIED'), 'poor');
  for (const s of STATUSES) assert.notEqual(statusTone(s), 'none', s);
});

test('a watched prefix’s five series are the API’s columns, read by name', () => {
  assert.deepEqual(PREFIX_SERIES.map((s) => s.column), INTROSPECTION_COLUMNS.filter((c) => c !== 'time'));
  const lines = prefixLines([{
    name: 'prefix_stats',
    columns: ['time', 'total_size', 'num_keys', 'total_hits_rate', 'total_misses_rate', 'total_mutations_rate'],
    values: [['2026-12-06T10:00:00Z', 100, 2, 0.5, null, 0], ['2026-12-06T10:01:00Z', 300, 3, 1, 0, 0.25]],
  }]);
  assert.deepEqual(lines[0], { t: [Date.parse('2026-12-06T10:00:00Z'), Date.parse('2026-12-06T10:01:00Z')], v: [2, 3] }, 'num_keys by name');
  assert.deepEqual(lines[1]!.v, [100, 300]);
  assert.deepEqual(lines[3]!.v, [null, 0], 'a null stays a gap');
  assert.deepEqual(prefixLines([]).map((l) => l.t.length), [0, 0, 0, 0, 0]);
});

test('a prefix to watch: not empty, at most 250 bytes, not already watched', () => {
  assert.match(prefixProblem('', [])!, /Enter a prefix/);
  assert.equal(prefixProblem('é'.repeat(125), []), undefined, '250 bytes');
  assert.match(prefixProblem('é'.repeat(126), [])!, /250 bytes/);
  assert.match(prefixProblem('user:', [{ id: 1, name: 'user:' }])!, /already watched/);
  assert.equal(prefixProblem('user:', [{ id: 1, name: 'user' }]), undefined);
});

test('small formats: the window, a TTL, a log line’s time with milliseconds', () => {
  assert.equal(windowLabel(180_000_000_000), '3\u00a0min');
  assert.equal(windowLabel(45e9), '45\u00a0s');
  assert.equal(windowLabel(0), 'the last few minutes');
  assert.equal(ttlLabel(-1), 'never');
  assert.equal(ttlLabel(42), '42\u00a0s');
  assert.equal(ttlLabel(600), '10\u00a0min');
  assert.equal(ttlLabel(7200), '2\u00a0h');
  assert.equal(ttlLabel(3 * 86400), '3\u00a0d');
  const t = new Date(2026, 11, 6, 9, 5, 7, 42).getTime();
  assert.equal(logTime({ time: t, timestamp: '' }), '09:05:07.042');
  assert.equal(logTime({ time: NaN, timestamp: 'garbled' }), 'garbled');
});
