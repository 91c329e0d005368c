/**
 * `npm run soak -- --minutes N [--json FILE]` (or `--seconds N`): sustained mixed load
 * against `cachier start --nodes 2` with every reply checked (see
 * test/faults/support/soak.ts for the mix). Prints progress every 10 s (30 s past
 * 10 minutes), then a summary; exits 1 if any error was seen. Every process it starts is
 * stopped by pid; the data directory is a temp dir, removed at the end.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { mib } from '../test/support/child-process.ts';
import { runSoak } from '../test/faults/support/soak.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string' }, seconds: { type: 'string' }, json: { type: 'string' } },
  strict: true,
});
const seconds = values.seconds !== undefined ? Number(values.seconds) : Number(values.minutes ?? '1') * 60;
if (!Number.isFinite(seconds) || seconds < 1) {
  console.error('usage: npm run soak -- --minutes N | --seconds N [--json FILE]');
  process.exit(2);
}

const r = await runSoak({ seconds, reportEverySeconds: seconds > 600 ? 30 : 10, log: (l) => console.log(l) });
console.log('');
console.log(`soak: ${(r.seconds / 60).toFixed(1)} min, ${r.memcache.ops} memcache operations (${Math.round(r.memcache.opsPerSec)}/s), ` +
  `${r.memcache.errors} errors, ${r.memcache.evictedMisses} misses in the evicting cache, ${r.memcache.reconnects} reconnects`);
for (const [name, s] of Object.entries(r.memcache.byClient)) console.log(`  ${name.padEnd(32)} ${String(s.ops).padStart(10)} ops  ${s.errors} errors  ${s.evictedMisses} evicted misses`);
console.log(`  API: ${r.api.requests} requests, ${r.api.errors} errors; credential changes reached both nodes ${r.propagation.checks} times, ` +
  `worst ${r.propagation.worstMs} ms; ${r.flushes} flushes`);
console.log(`  server RSS: start ${mib(r.rss.start)}, max ${mib(r.rss.max)}, end ${mib(r.rss.end)}`);
if (r.serverStderr.trim()) console.log(`  server stderr:\n${r.serverStderr}`);
for (const s of [...r.memcache.samples, ...r.api.samples]) console.log(`  error: ${s}`);
console.log(`soak ${r.errors === 0 ? 'passed' : 'FAILED'}: ${r.errors} errors`);
if (values.json) fs.writeFileSync(values.json, `${JSON.stringify(r, null, 2)}\n`);
process.exit(r.errors === 0 ? 0 : 1);
