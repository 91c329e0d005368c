import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUSY_SAMPLED_EVENTS_PER_SECOND, SAMPLED_EVENTS_PER_SECOND } from './event-sampler.ts';
import { CMD, ST } from './request-ring.ts';
import { IntrospectionRegistry } from './registry.ts';

test('a busy node shares one sampling budget among its active caches; calm again, each cache gets the full one', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: 64 << 20 });
  t.after(() => r.close());
  const caches = Array.from({ length: 5 }, () => r.create()!);
  const now = Date.now();
  // Four caches had requests just now; the fifth none for a minute.
  caches.slice(0, 4).forEach((c) => c.log(now, CMD.GET, ST.HIT, Buffer.from('k'), 1));
  caches[4]!.log(now - 60_000, CMD.GET, ST.HIT, Buffer.from('k'), 1);
  const at = now;
  r.setLoad(0.5, 200_000, at);
  assert.equal(r.busy, false);
  for (const c of caches) assert.equal(c.samplingBudget, SAMPLED_EVENTS_PER_SECOND);
  r.setLoad(1, 20_000, at);
  assert.equal(r.busy, false, 'a busy loop with few events per CPU second: every event is still counted');
  r.setLoad(0.85, 60_000, at);
  assert.equal(r.busy, true);
  for (const c of caches) assert.equal(c.samplingBudget, BUSY_SAMPLED_EVENTS_PER_SECOND / 4, 'four active caches share it');
  // Held for 10 s whatever the load (no switching every second)…
  r.setLoad(0.1, 0, at + 9_000);
  assert.equal(r.busy, true);
  // …then hysteresis: 0.7 is not calm yet, 0.6 is; nor 40,000 events per CPU second, 20,000 is.
  r.setLoad(0.7, 40_000, at + 11_000);
  assert.equal(r.busy, true);
  r.setLoad(0.6, 60_000, at + 12_000);
  assert.equal(r.busy, false);
  r.setLoad(0.9, 60_000, at + 13_000);
  r.setLoad(0.9, 20_000, at + 23_000);
  assert.equal(r.busy, false);
  assert.equal(caches[0]!.samplingBudget, SAMPLED_EVENTS_PER_SECOND);
});

test('however many caches are busy, each keeps a floor of the busy budget', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: 64 << 20 });
  t.after(() => r.close());
  const caches = Array.from({ length: 1000 }, () => r.create()!);
  for (const c of caches) c.log(Date.now(), CMD.SET, ST.STORED, Buffer.from('k'), 1);
  r.setLoad(1, 1_000_000);
  assert.equal(caches[0]!.samplingBudget, 100);
});

test('the node counts its caches\' key events to tell a busy node', (t) => {
  const r = new IntrospectionRegistry({ enabled: true, memoryBytes: 64 << 20 });
  t.after(() => r.close());
  const a = r.create()!;
  const b = r.create()!;
  const now = Date.now();
  for (let i = 0; i < 3000; i++) a.log(now, CMD.GET, ST.HIT, Buffer.from(`k${i % 7}`), 1);
  for (let i = 0; i < 500; i++) b.log(now, CMD.GET, ST.MISS, Buffer.from('m'), 0);
  // Lines are counted as the ring is followed (every 256 lines, and at settle); below the
  // budget each is taken, so the estimate is exact.
  a.settle();
  b.settle();
  assert.equal(a.takeEventCount() + b.takeEventCount(), 3500);
  assert.equal(a.takeEventCount(), 0, 'read once');
});
