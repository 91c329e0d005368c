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

test('frames announced one byte bigger on each new connection: none but the one let on may size a buffer past the budget', () => {
  const b = new ReceiveBudget(4 * MiB, 64 * 1024);
  const conns = Array.from({ length: 40 }, () => new Conn());
  let allowed = 0;
  conns.forEach((c, k) => {
    const need = MiB - 2000 + k;
    if (b.allows(c, need)) {
      allowed++;
      b.hold(c, need);
    } else {
      b.hold(c, 128 * 1024); // what it holds growing by doubling until its read is checked
    }
  });
  // Within the budget (3 of 1 MiB), then one let on past it: every later one is refused.
  assert.ok(allowed <= 5, `${allowed} connections sized a 1 MiB buffer under a 4 MiB budget`);
  assert.ok(b.charged < 4 * MiB + MiB + 40 * 128 * 1024, `${b.charged} bytes charged`);
});

test('the connection let on is never paused, and when it is done the biggest waiter is let on', () => {
  const b = new ReceiveBudget(2 * MiB, 64 * 1024);
  const [x, y, z, r, big, c, d, e] = Array.from({ length: 8 }, () => new Conn());
  b.hold(x, 512 * 1024);
  b.hold(y, 512 * 1024);
  b.hold(z, 512 * 1024);
  assert.equal(b.hold(r, 768 * 1024), true, 'past the budget: r is let on');
  b.hold(x, 0);
  b.hold(y, 0);
  b.hold(z, 0);
  assert.equal(b.hold(big, MiB), true, 'under the budget');
  assert.equal(b.hold(c, 700 * 1024), false);
  assert.equal(b.hold(r, 980 * 1024), true, 'r goes on though big holds more: it was let on');
  assert.equal(b.hold(d, 800 * 1024), false);
  assert.equal(b.hold(e, 900 * 1024), false);
  b.hold(big, 0);
  assert.deepEqual([c.resumed, d.resumed, e.resumed], [0, 0, 0], 'r is still reading its frame');
  b.hold(r, 0); // r's frame is done: the waiters alone are over the budget, the biggest goes on
  assert.deepEqual([c.resumed, d.resumed, e.resumed], [0, 0, 1]);
  assert.equal(b.hold(e, 950 * 1024), true);
  b.hold(e, 0);
  assert.deepEqual([c.resumed, d.resumed], [1, 1], 'under the budget again: everyone reads on');
});
