// pylibmc (libmemcached) over the binary protocol with SASL PLAIN.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PYTHON, clientScript, errorsToClass, runJsonClient, show } from '../support/clients.ts';
import { openTarget, serverLog, type Target } from '../support/target.ts';

let target: Target;
before(async () => {
  target = await openTarget();
});
after(async () => {
  await target?.stop();
});

test('pylibmc (binary + SASL): storage, retrieval, arithmetic, delete and cas', { timeout: 60_000 }, async () => {
  const { result, stderr } = await runJsonClient(PYTHON, [
    clientScript('pylibmc_ops.py'),
    target.servers.join(','),
    target.username,
    target.password,
  ]);
  const observed = errorsToClass(result);
  // memcached decrements in place and pads with spaces ("12" - 100 reads back "0 ");
  // a fresh value "0" is just as right.
  if (typeof observed.get_counter === 'string') observed.get_counter = observed.get_counter.trimEnd();

  assert.deepEqual(
    observed,
    {
      set: true,
      get: 'hello',
      get_missing: null,
      set_b: true,
      get_multi: { greeting: 'hello', b: 'bee' },
      add_existing: false,
      add_new: true,
      get_added: 'fresh',
      replace_existing: true,
      replace_missing: 'error:NotFound', // binary status 0x0001 (key not found)
      get_replaced: 'hi',
      append: true,
      prepend: true,
      get_appended: 'oh-hi-there',
      append_missing: false, // binary status 0x0005 (not stored)
      set_counter: true,
      incr: 15,
      decr: 12,
      decr_floor: 0,
      incr_missing: 'error:NotFound',
      get_counter: '0',
      delete: true,
      delete_again: false,
      get_deleted: null,
      set_cas: true,
      gets: ['v1', true],
      cas_ok: true,
      cas_stale: false,
      get_cas: 'v2',
    },
    `pylibmc observed:\n${show(result)}\nstderr:\n${stderr}${serverLog(target)}`,
  );
});
