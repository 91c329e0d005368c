// A PostgreSQL restart under a running cluster: two `cachier node`s and a `cachier control`
// on a private PostgreSQL server (initdb + pg_ctl in a temp dir, so the machine's own server
// is never touched). While the server is down (`pg_ctl stop -m fast`) the nodes keep
// serving: open connections, and new logins with every credential they knew. After
// `pg_ctl start` a credential made through the API logs in on both nodes within seconds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPostgresCatalog, type PostgresCatalog } from '../../src/catalog/postgres.ts';
import { freePorts } from '../support/ports.ts';
import { skipUnlessCI } from '../support/required-tool.ts';
import { Churner, Worker, addStats, newStats, openSession } from './support/mc.ts';
import { privatePostgresSkipReason, startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.ts';
import { HOST, http, sleep, spawnCli, until, type Proc } from './support/procs.ts';

const OUTAGE_MS = 3000;
/** What "within a few seconds" means here: the nodes poll every 200 ms once queries work again. */
const CATCH_UP_MS = 5000;

const skip = skipUnlessCI(privatePostgresSkipReason());

describe('PostgreSQL restart under a running cluster', { skip, timeout: 120_000 }, () => {
  let pg: PrivatePostgres;
  let catalog: PostgresCatalog;
  let url: string;
  let nodePorts: number[];
  let httpPort: number;
  const procs: Proc[] = [];

  before(async () => {
    pg = await startPrivatePostgres();
    url = `${pg.url}?schema=cachier_restart`;
    catalog = await openPostgresCatalog(url);
    [httpPort, ...nodePorts] = await freePorts(3);
    procs.push(...await Promise.all([
      ...nodePorts.map((p) => spawnCli(['node', '--database-url', url, '--host', HOST, '--port', String(p)], 'cachier node ready:')),
      spawnCli(['control', '--database-url', url, '--host', HOST, '--http-port', String(httpPort)], 'cachier control ready:'),
    ]));
  });

  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await catalog?.close().catch(() => {});
    await pg?.destroy();
  });

  const login = async (port: number, c: { username: string; password: string }, mode: 'text' | 'binary' = 'text') =>
    (await openSession(port, { mode, username: c.username, password: c.password })).end();

  test('nodes serve known credentials while PostgreSQL is down and catch up when it is back', async () => {
    const made = await catalog.createCache({ memoryBytes: 32 * 2 ** 20 });
    const cache = { id: made.cache.id, username: made.credential.username, password: made.password };
    const extra = await catalog.createCredential(cache.id, { flush: false });
    const known = { username: extra.credential.username, password: extra.password };
    for (const p of nodePorts) {
      await until(`login on :${p}`, Date.now() + 2000, async () => (await login(p, cache), true));
      await until(`second credential on :${p}`, Date.now() + 2000, async () => (await login(p, known, 'binary'), true));
    }
    const workers = nodePorts.flatMap((port, i) => [
      new Worker({ flavor: 'ascii', port, ...cache, prefix: `a${i}`, lanes: 2 }),
      new Worker({ flavor: 'binary', port, ...cache, prefix: `b${i}`, lanes: 2 }),
    ]);
    await Promise.all(workers.map((w) => w.start()));
    // New connections logging in over and over (ASCII and SASL), wrong passwords refused.
    const churners = nodePorts.map((port, i) => new Churner({ port, ...known, prefix: `c${i}`, pauseMs: 10 }));
    for (const c of churners) c.start();
    await sleep(300);

    await pg.stop();
    const downAt = Date.now();
    await sleep(500);
    const duringOutage = await http(httpPort, 'GET', `/api/v1/${cache.id}/stats`, { basic: cache }).catch((e: Error) => ({ status: e.message }));
    while (Date.now() - downAt < OUTAGE_MS) {
      for (const p of nodePorts) {
        await login(p, cache, 'binary');
        await login(p, known, 'text');
      }
      await sleep(200);
    }
    for (const p of procs) assert.equal(p.child.exitCode, null, `${p.command} is still running`);

    await pg.start();
    const upAt = Date.now();
    // The control plane's pool reconnects; the first write through it may need a moment.
    const fresh = await until('API create credential after the restart', upAt + CATCH_UP_MS, async () => {
      const r = await http(httpPort, 'POST', `/api/v1/${cache.id}/credentials`, { basic: cache }, {});
      return r.status === 200 ? { username: r.body.sasl_username as string, password: r.body.sasl_password as string } : undefined;
    }, 100);
    const createdAt = Date.now();
    await Promise.all(nodePorts.map((p) => until(`new credential on :${p}`, createdAt + CATCH_UP_MS, async () => (await login(p, fresh), true))));
    const caughtUp = Date.now();
    console.log(`PostgreSQL down ${upAt - downAt} ms (API stats meanwhile: ${duringOutage.status}); after pg_ctl start: ` +
      `API wrote after ${createdAt - upAt} ms, both nodes accepted the new credential ${caughtUp - createdAt} ms later`);

    await sleep(300);
    const total = newStats();
    for (const s of await Promise.all([...workers.map((w) => w.stop()), ...churners.map((c) => c.stop())])) addStats(total, s);
    console.log(`clients during the restart: ${total.ops} operations, ${total.errors} errors`);
    assert.deepEqual(total.samples, []);
    assert.equal(total.errors, 0);
    assert.ok(total.ops > 100);

    // What the processes logged about the outage names no password (nor does PostgreSQL's log).
    const logs = [...procs.map((p) => ({ where: p.command, text: p.output() })), { where: 'PostgreSQL server log', text: pg.log() }];
    for (const secret of [cache.password, known.password, fresh.password]) {
      for (const l of logs) assert.ok(!l.text.includes(secret), `a password appears in the output of ${l.where}`);
    }
  });
});
