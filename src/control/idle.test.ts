// What counts as memcache traffic for --disable-idle-days (idle.ts): marks that move to a
// value other than zero; resets alone are not traffic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sawTraffic, trafficMark } from './idle.ts';

test('the mark is request bytes plus connections; failed logins and gauges do not count', () => {
  assert.equal(trafficMark({ bytes_read: 10, total_connections: 2, auth_errors: 50, auth_cmds: 50, curr_items: 9, bytes: 100 }), 12);
  assert.equal(trafficMark({}), 0);
});

test('traffic: a mark that moved, up, or down to a non-zero value (a reset, then traffic); not one back to zero', () => {
  assert.equal(sawTraffic({ a: 5 }, { a: 5 }), false, 'unchanged');
  assert.equal(sawTraffic({ a: 5 }, { a: 6 }), true, 'up');
  assert.equal(sawTraffic({ a: 5 }, { a: 0 }), false, 'reset (reset_stats, node restart), nothing since');
  assert.equal(sawTraffic({ a: 5 }, { a: 3 }), true, 'reset, then traffic');
  assert.equal(sawTraffic({ a: 0 }, { a: 0 }), false);
  assert.equal(sawTraffic({}, { a: 0 }), false, 'a new server with nothing on it');
  assert.equal(sawTraffic({}, { a: 4 }), true, 'a new server with traffic');
  assert.equal(sawTraffic({ a: 5, b: 1 }, { a: 5 }), false, 'a server that did not answer tells nothing');
  assert.equal(sawTraffic({ a: 5, b: 1 }, { a: 5, b: 2 }), true, 'any server');
});
