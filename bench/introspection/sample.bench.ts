/**
 * What one request line costs when every line is sampled (CacheIntrospection.log: the ring's
 * line, and the sketches counting it as the ring is followed, 256 lines at a time), with
 * the CPU's caches cold as on a busy node: between two lines the loop
 * touches 60 random places in 64 MiB. Reported as the difference from the same loop
 * without the sample, median of 5 alternated repetitions, for keys drawn uniformly from
 * 100,000 (nearly every sample a key not held) and Zipf-like (hot keys held).
 *
 *   taskset -c 0 node --import tsx bench/introspection/sample.bench.ts
 */
import { CacheIntrospection } from '../../src/introspection/cache-introspection.ts';
import { CMD, ST } from '../../src/introspection/request-ring.ts';

const budget = { charge: () => true, refund: () => {}, reuse: () => null };
const keys: Buffer[] = [];
for (let i = 0; i < 100_000; i++) keys.push(Buffer.from(`key:${String(i).padStart(12, '0')}xxx`, 'latin1'));
const big = new Float64Array((64 << 20) >> 3);
let sink = 0;
let seed = 1;
const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
function thrash(n: number): void {
  for (let j = 0; j < n; j++) {
    const at = (rand() * big.length) | 0;
    sink += big[at]!;
    big[at] = j;
  }
}
const zipfLike: number[] = [];
for (let i = 0; i < 1 << 20; i++) zipfLike.push(Math.min(99_999, Math.floor(1 / (rand() + 1e-9)) - 1));

function nsPerIteration(kind: 'uniform' | 'zipf', sample: boolean): number {
  const ci = new CacheIntrospection(budget);
  ci.setSamplingBudget(1e12); // every event taken
  const now = Date.now();
  for (let r = 0; r < 3000; r++) ci.log(now, CMD.GET, ST.HIT, keys[r % 1000]!, 1);
  const n = 60_000;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < n; r++) {
    if (sample) ci.log(now, CMD.GET, ST.HIT, keys[kind === 'uniform' ? (rand() * 100_000) | 0 : zipfLike[r & 0xfffff]!]!, 1);
    thrash(60);
  }
  return Number(process.hrtime.bigint() - t0) / n;
}

for (const kind of ['uniform', 'zipf'] as const) {
  const costs: number[] = [];
  for (let rep = 0; rep < 5; rep++) costs.push(nsPerIteration(kind, true) - nsPerIteration(kind, false));
  costs.sort((a, b) => a - b);
  console.log(`${kind}: ${costs[2]!.toFixed(0)} ns a line (median; all: ${costs.map((c) => c.toFixed(0)).join(' ')})`);
}
if (sink === 0.5) console.log('');
