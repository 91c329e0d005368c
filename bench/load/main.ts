/**
 * The load generator's process: `node --import tsx bench/load/main.ts '<LoadSpec JSON>'`.
 * bench/run.ts starts it pinned to the load core and reads the result from the last line
 * of stdout. Runs one spec and exits.
 */
import { runClosedLoop } from './closed-loop.ts';
import { runFill } from './fill.ts';
import { runOpenLoop } from './open-loop.ts';
import type { LoadSpec } from './spec.ts';

const spec = JSON.parse(process.argv[2] ?? 'null') as LoadSpec | null;
if (!spec) {
  process.stderr.write('usage: node --import tsx bench/load/main.ts <LoadSpec JSON>\n');
  process.exit(2);
}
try {
  const result =
    spec.mode === 'closed' ? await runClosedLoop(spec) : spec.mode === 'open' ? await runOpenLoop(spec) : await runFill(spec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (e) {
  process.stderr.write(`load generator failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
}
