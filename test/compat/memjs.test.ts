// memjs (Node, npm) in-process: binary protocol with SASL PLAIN.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { show } from '../support/clients.ts';
import { openTarget, serverLog, type Target } from '../support/target.ts';
import { runMemjsOps } from './clients/memjs-ops.ts';

let target: Target;
before(async () => {
  target = await openTarget();
});
after(async () => {
  await target?.stop();
});

test('memjs (binary + SASL): set, get, delete, increment and flush', { timeout: 60_000 }, async () => {
  const observed = await runMemjsOps(target.servers, target.username, target.password);
  assert.deepEqual(
    observed,
    {
      set: true,
      get: 'hello',
      get_missing: null,
      set_counter: true,
      increment: { success: true, value: 15 },
      increment_initial: { success: true, value: 42 }, // a missing key takes the initial value
      get_counter: '15',
      delete: true,
      delete_again: false,
      get_deleted: null,
      set_before_flush: true,
      flush: { [target.servers[0]]: true },
      get_after_flush: null,
      get_counter_after_flush: null,
    },
    `memjs observed:\n${show(observed)}${serverLog(target)}`,
  );
});
