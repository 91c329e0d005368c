// php-memcached (libmemcached) with the binary protocol and SASL PLAIN.
// php-memcached 3.x (Debian's php-memcached 3.2.0) has no memcached.use_sasl ini
// setting any more: setSaslAuthData() initialises SASL by itself; it needs
// OPT_BINARY_PROTOCOL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { clientScript, haveCommand, runJsonClient, show } from '../support/clients.ts';
import { skipOrFail } from '../support/required-tool.ts';
import { openTarget, serverLog, type Target } from '../support/target.ts';

// Memcached::RES_* codes
const RES_SUCCESS = 0;
const RES_NOTFOUND = 16;

let target: Target;
before(async () => {
  target = await openTarget();
});
after(async () => {
  await target?.stop();
});

test('php-memcached (binary + SASL): set, get, delete, increment', { timeout: 60_000 }, async (t) => {
  if (!haveCommand('php')) return skipOrFail(t, 'php not installed');
  const { result, stderr } = await runJsonClient('php', [
    clientScript('php_ops.php'),
    target.servers.join(','),
    target.username,
    target.password,
  ]);
  const ok = (value: unknown) => ({ value, code: RES_SUCCESS, message: 'SUCCESS' });
  const notFound = { value: false, code: RES_NOTFOUND, message: 'NOT FOUND' };
  const expected: Record<string, unknown> = {
    set: ok(true),
    get: ok('hello'),
    get_missing: notFound,
    set_counter: ok(true), // PHP int: stored as "10" with php-memcached's long flag
    increment: ok(15),
    decrement: ok(12),
    increment_init: ok(7), // binary incr with initial value on a missing key
    get_counter: ok(12),
    delete: ok(true),
    delete_again: notFound,
    get_deleted: notFound,
  };
  if (target.username) expected.set_sasl_auth_data = true;
  assert.deepEqual(result, expected, `php observed:\n${show(result)}\nstderr:\n${stderr}${serverLog(target)}`);
});
