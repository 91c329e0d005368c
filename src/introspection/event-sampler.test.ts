import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSampler } from './event-sampler.ts';
import { seededRandom } from '../shared/testing/seeded-random.ts';

/** Feeds `perMs` events in each of `ms` milliseconds; returns the events taken and their summed weights. */
function feed(s: EventSampler, startMs: number, ms: number, perMs: number): { taken: number; weight: number } {
  let taken = 0;
  let weight = 0;
  for (let t = startMs; t < startMs + ms; t++) {
    for (let i = 0; i < perMs; i++) {
      if (s.nextTaken(1) < 0) continue;
      s.taken(t);
      taken++;
      weight += s.weight;
    }
  }
  return { taken, weight };
}

test('a sudden burst far over the budget is sampled within milliseconds, not after a second of taking everything', () => {
  const s = new EventSampler(5000, seededRandom(1));
  // 2,000 events a millisecond (2 M/s) from a standing start, for 100 ms.
  const burst = feed(s, 0, 100, 2000);
  assert.ok(burst.taken < 5000 / 4 + 1000, `took ${burst.taken} of 200,000 events in the burst's first 100 ms`);
  // Counts stay unbiased: the weights add up to the events.
  assert.ok(Math.abs(burst.weight - 200_000) < 200_000 * 0.1, `weights sum to ${Math.round(burst.weight)}`);
});

test('steady load: about the budget a second is taken, and the weights add up to the events', () => {
  const s = new EventSampler(5000, seededRandom(2));
  feed(s, 0, 1000, 300); // warm up at 300,000 a second
  const r = feed(s, 1000, 10_000, 300);
  assert.ok(r.taken > 5000 * 10 * 0.8 && r.taken < 5000 * 10 * 1.2, `took ${r.taken} in 10 s`);
  assert.ok(Math.abs(r.weight - 3_000_000) < 3_000_000 * 0.03, `weights sum to ${Math.round(r.weight)}`);
});

test('under the budget every event is taken with weight 1', () => {
  const s = new EventSampler(5000, seededRandom(3));
  const r = feed(s, 0, 3000, 2); // 2,000 a second
  assert.equal(r.taken, 6000);
  assert.equal(r.weight, 6000);
});

test('at the calm budget, a get of 20,000 keys in one millisecond is counted 5,000 at a time before sampling, not 25,000', () => {
  const s = new EventSampler(100_000, seededRandom(4));
  const r = feed(s, 0, 1, 20_000);
  assert.ok(r.taken < 6000, `took ${r.taken} of 20,000 events in one millisecond`);
  assert.ok(Math.abs(r.weight - 20_000) < 20_000 * 0.2, `weights sum to ${Math.round(r.weight)}`);
});
