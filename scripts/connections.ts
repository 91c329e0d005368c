/**
 * `npm run connections -- [--connections 10000] [--seconds 60] [--cycles 2] [--loaded 4] [--depth 8] [--anonymous] [--json FILE]`
 *
 * One cache node (`cachier node`, its own SQLite catalog in a temp dir, `ulimit -n` raised)
 * holds N idle logged-in connections, opened by a holder process of their own, while a
 * loaded client runs; prints the node's RSS before and after, memory per connection, the
 * loaded client's operations per second (also without the idle connections, first) and
 * errors, and whether every idle connection still answers. Exits 1 on any error. See
 * test/faults/support/connections.ts.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { runConnections } from '../test/faults/support/connections.ts';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '60' },
    cycles: { type: 'string', default: '2' },
    loaded: { type: 'string', default: '4' },
    depth: { type: 'string', default: '8' },
    anonymous: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
  strict: true,
});
const r = await runConnections({
  connections: Number(values.connections), seconds: Number(values.seconds), cycles: Number(values.cycles), loaded: Number(values.loaded),
  depth: Number(values.depth), anonymous: values.anonymous, log: (l) => console.log(l),
});
for (const c of r.cycles) for (const e of [...c.openErrors, ...c.load.samples, ...c.idleAfterLoad.samples]) console.log(`  error: ${e}`);
console.log(`connections ${r.errors === 0 ? 'passed' : 'FAILED'}: ${r.errors} errors`);
if (values.json) fs.writeFileSync(values.json, `${JSON.stringify(r, null, 2)}\n`);
process.exit(r.errors === 0 ? 0 : 1);
