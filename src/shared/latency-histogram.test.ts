// The latency histogram: quantiles within 1 % of the exact ones (nearest rank), never above
// the maximum; merging adds counts; the packed form stays sorted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { exactQuantile, histogramCount, histogramOf, histogramQuantiles, mergeHistograms, readHistogram } from './latency-histogram.ts';

test('property: p50, p99 and p100 of any durations within 1 % of the exact nearest-rank values, capped at the maximum', () => {
  const durations = fc.array(fc.integer({ min: 1_000, max: 10_000_000_000 }), { minLength: 1, maxLength: 300 });
  fc.assert(fc.property(durations, (ns) => {
    const sorted = [...ns].sort((a, b) => a - b);
    const max = sorted.at(-1)!;
    const got = histogramQuantiles(histogramOf(ns), [0.5, 0.99, 1], max);
    [0.5, 0.99, 1].forEach((q, i) => {
      const exact = exactQuantile(sorted, q)!;
      assert.ok(Math.abs(got[i]! - exact) <= exact * 0.01, `q ${q}: ${got[i]} vs ${exact}`);
      assert.ok(got[i]! <= max);
    });
  }), { seed: 2001, numRuns: 300 });
});

test('merging adds counts and keeps indexes ascending; splitting values over histograms changes no quantile', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 1e9 }), { maxLength: 100 }), fc.nat(100), (ns, cut) => {
    const whole = histogramOf(ns);
    const merged = mergeHistograms(histogramOf(ns.slice(0, cut)), histogramOf(ns.slice(cut)));
    assert.deepEqual(merged, whole);
    assert.equal(histogramCount(merged), ns.length);
    for (let i = 2; i < merged.length; i += 2) assert.ok(merged[i]! > merged[i - 2]!);
  }), { seed: 2002, numRuns: 200 });
  assert.deepEqual(histogramQuantiles([], [0.5]), [undefined]);
  assert.deepEqual(readHistogram({ 700: 1, 600: 2 }), [600, 2, 700, 1]);
  assert.deepEqual(readHistogram([600, 2]), [600, 2]);
});
