// One cache's budget for partly received frames: who pauses, who goes on, who wakes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReceiveBudget } from './receive-budget.ts';

class Conn {
  resumed = 0;
  resumeReceiving(): void {
    this.resumed++;
  }
}

const MiB = 1 << 20;

test('holdings under one read are free; past the budget the smaller holders pause, the biggest goes on', () => {
  const b = new ReceiveBudget(4 * MiB, 64 * 1024);
  const small = new Conn();
  assert.equal(b.hold(small, 60 * 1024), true);
  assert.equal(b.charged, 0);
  const [a, c, d] = [new Conn(), new Conn(), new Conn()];
  assert.equal(b.hold(a, 2 * MiB), true);
  assert.equal(b.hold(c, 1536 * 1024), true);
  assert.equal(b.hold(d, 1 * MiB), false, 'over 4 MiB: d waits');
  assert.equal(b.hold(a, 3 * MiB), true, 'the biggest holder never waits: no two writers wait on each other');
  assert.equal(b.hold(c, 1640 * 1024), false);
  // a finishes its frame: room again, the waiters are told.
  b.hold(a, 0);
  assert.equal(c.resumed, 1);
  assert.equal(d.resumed, 1);
  b.release(c);
  b.release(d);
  assert.equal(b.charged, 0);
});

test('a connection alone over the budget (an item bigger than it) still goes on', () => {
  const b = new ReceiveBudget(1 * MiB, 64 * 1024);
  const big = new Conn();
  assert.equal(b.hold(big, 5 * MiB), true);
});
