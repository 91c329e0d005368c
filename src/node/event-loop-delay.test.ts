// Event-loop delay in fixed windows, with the real perf_hooks monitor and a real stall:
// reading never resets what another reader sees, and a stall shows for one window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLoopDelayWindows } from './event-loop-delay.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // the event loop is blocked: that is the point
  }
}

test('a 200 ms stall shows in the next window for every reader, however often they read, then ages out', async () => {
  const w = new EventLoopDelayWindows(300, 5);
  try {
    await sleep(700); // two quiet windows first
    assert.ok(w.read().maxSeconds < 0.15, `quiet max ${w.read().maxSeconds}`);
    stall(200);
    // Wait until a window holding the stall has ended (bounded: windows end every 300 ms).
    const deadline = Date.now() + 10_000;
    while (w.read().maxSeconds < 0.15 && Date.now() < deadline) await sleep(20);
    const first = w.read();
    assert.ok(first.maxSeconds >= 0.15, `max after the stall: ${first.maxSeconds}`);
    // Many reads within the window: each sees the same figures (a read resets nothing).
    for (let i = 0; i < 50; i++) assert.deepEqual(w.read(), first);
    // Quiet windows later the stall has aged out.
    while (w.read().maxSeconds >= 0.15 && Date.now() < deadline) await sleep(20);
    assert.ok(w.read().maxSeconds < 0.15, `max after quiet windows: ${w.read().maxSeconds}`);
  } finally {
    w.stop();
  }
});
