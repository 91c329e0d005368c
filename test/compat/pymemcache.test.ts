// pymemcache over the ASCII protocol, logging in MemCachier-style: the first
// command is `set <username> 0 0 <len>` with the password as data (-> STORED).
// Stock memcached has no such login (and refuses ASCII under SASL), so the
// self-check against memcached runs without login and skips the password test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PYTHON, clientScript, errorsToClass, runJsonClient, show, type ClientRun } from '../support/clients.ts';
import { openTarget, serverLog, TARGET_KIND, type Target } from '../support/target.ts';

let target: Target;
let run: ClientRun;
before(async () => {
  target = await openTarget({ anonymous: TARGET_KIND === 'memcached' });
  run = await runJsonClient(PYTHON, [
    clientScript('pymemcache_ops.py'),
    target.servers[0],
    target.username,
    target.password,
  ]);
});
after(async () => {
  await target?.stop();
});

const context = () => `pymemcache observed:\n${show(run.result)}\nstderr:\n${run.stderr}${serverLog(target)}`;

test('pymemcache (ASCII + MemCachier login): set, get, incr, decr, delete, cas', { timeout: 60_000 }, () => {
  const observed = errorsToClass(run.result);
  const expected: Record<string, unknown> = {
    set: true,
    get: 'hello',
    get_missing: null,
    set_counter: true,
    incr: 15,
    decr: 12,
    incr_missing: null, // NOT_FOUND
    set_secret: true,
    delete: true,
    delete_again: false,
    get_deleted: null,
    gets: ['s3cr3t', true],
    cas_ok: true,
    cas_stale: false,
  };
  if (target.authenticates) {
    expected.login = true; // `set <username> 0 0 <len>` + password -> STORED
    // the wrong-password run is judged in the next test
    for (const k of ['wrong_login', 'wrong_get', 'wrong_set', 'wrong_get_after_set', 'right_get_secret', 'right_get_intruder']) {
      expected[k] = observed[k];
    }
  }
  assert.deepEqual(observed, expected, context());
});

test('pymemcache: a wrong password cannot read or write the cache', { timeout: 60_000 }, (t) => {
  if (!target.authenticates) return t.skip('target does not authenticate');
  const r = run.result;
  assert.notEqual(r.wrong_login, true, `ASCII login with a wrong password must not answer STORED\n${context()}`);
  assert.notEqual(r.wrong_get, 's3cr3t', `the intruder read the secret\n${context()}`);
  assert.notEqual(r.wrong_get_after_set, 's3cr3t', `the intruder read the secret\n${context()}`);
  assert.notEqual(r.wrong_set, true, `the intruder's set was STORED\n${context()}`);
  assert.equal(r.right_get_secret, 's3cr3t', `the right client lost its key\n${context()}`);
  assert.equal(r.right_get_intruder, null, `the intruder's key reached the cache\n${context()}`);
});
