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

test('equal holders over the budget: only the first goes on, the others wait for it', () => {
  const b = new ReceiveBudget(2 * MiB, 64 * 1024);
  const conns = Array.from({ length: 4 }, () => new Conn());
  const passed = conns.map((c) => b.hold(c, 900_000));
  assert.deepEqual(passed, [true, true, true, false], 'the third passes the 2 MiB line first and is let on alone');
  assert.equal(b.hold(conns[1]!, 900_000), false, 'an equal of the one let on waits');
  assert.equal(b.hold(conns[2]!, 950_000), true, 'the one let on goes on');
  assert.equal(b.hold(conns[0]!, 950_000), false, 'catching up with it is not enough');
});

test('waiters that alone hold more than the budget: the biggest of them is woken, not none', () => {
  const b = new ReceiveBudget(2 * MiB, 64 * 1024);
  const [a, c, d, big] = [new Conn(), new Conn(), new Conn(), new Conn()];
  assert.equal(b.hold(big, 1 * MiB), true);
  assert.equal(b.hold(a, 900_000), true);
  assert.equal(b.hold(c, 950_000), false);
  assert.equal(b.hold(d, 800_000), false);
  assert.equal(b.hold(a, 1000_000), false, 'a now waits too: big goes on');
  // big's frame is done: the waiters hold 2.75 MB, still over 2 MiB, so only the biggest reads on.
  b.hold(big, 0);
  assert.deepEqual([a.resumed, c.resumed, d.resumed], [1, 0, 0]);
  assert.equal(b.hold(a, 1100_000), true, 'the woken one goes on past the budget');
  b.hold(a, 0);
  assert.deepEqual([c.resumed, d.resumed], [1, 1], 'under the budget again: all read on');
});
