// A PostgreSQL restart under a running cluster: two `cachier node`s and a `cachier control`
// on a private PostgreSQL server (initdb + pg_ctl in a temp dir on a free port, so the
// machine's own server is never touched). While the server is down (`pg_ctl stop -m fast`)
// the nodes keep serving from memory: open connections, and new logins with every
// credential they knew; the API, which checks every request against the catalog, answers
// 500 "Server error" at once. After `pg_ctl start` the API writes again, a credential made
// through it logs in on both nodes, stats answers 200, and traffic goes on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPostgresCatalog, type PostgresCatalog } from '../../src/catalog/postgres.ts';
import { freePorts } from '../support/ports.ts';
import { skipUnlessCI } from '../support/required-tool.ts';
import { Churner, Worker, addStats, newStats, openSession } from './support/mc.ts';
import { privatePostgresSkipReason, startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.ts';
import { PROMPTLY_MS, until } from '../support/wait.ts';
import { HOST, spawnCli, type Proc } from '../support/child-process.ts';
import { http } from '../support/http-client.ts';

const OUTAGE_MS = 3000;
/**
 * How long an API call may take while the catalog is down: generous (it answers in a few
 * milliseconds), but far below the 10 s a client gives up at, so a hang fails.
 */
const API_DEADLINE_MS = 5000;

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
    await catalog?.close();
    await pg?.destroy();
  });

  const login = async (port: number, c: { username: string; password: string }, mode: 'text' | 'binary' = 'text') =>
    (await openSession(port, { mode, username: c.username, password: c.password })).end();

  test('while PostgreSQL is down nodes serve from memory and the API fails fast with a 500; after the restart all recovers', async () => {
    const made = await catalog.createCache({ memoryBytes: 32 * 2 ** 20 });
    const cache = { id: made.cache.id, username: made.credential.username, password: made.password };
    const extra = await catalog.createCredential(cache.id, { flush: false });
    const known = { username: extra.credential.username, password: extra.password };
    for (const p of nodePorts) {
      await until(`login on :${p}`, Date.now() + PROMPTLY_MS, async () => (await login(p, cache), true));
      await until(`second credential on :${p}`, Date.now() + PROMPTLY_MS, async () => (await login(p, known, 'binary'), true));
    }
    const workers = nodePorts.flatMap((port, i) => [
      new Worker({ flavor: 'ascii', port, ...cache, prefix: `a${i}`, lanes: 2 }),
      new Worker({ flavor: 'binary', port, ...cache, prefix: `b${i}`, lanes: 2 }),
    ]);
    await Promise.all(workers.map((w) => w.start()));
    // New connections logging in over and over (ASCII and SASL), wrong passwords refused.
    const churners = nodePorts.map((port, i) => new Churner({ port, ...known, prefix: `c${i}`, pauseMs: 10 }));
    for (const c of churners) c.start();
    const served = () => [...workers, ...churners].reduce((n, w) => n + w.stats.ops, 0);
    await until('traffic on both nodes', Date.now() + PROMPTLY_MS, async () => (served() >= 100 || undefined));

    await pg.stop();
    const downAt = Date.now();
    const servedAtStop = served();
    // The API checks every request against the catalog: it answers 500 at once, not a hang.
    const apiDuringOutage: { what: string; status: number; body: unknown; ms: number }[] = [];
    for (const [what, method, url, body] of [
      ['stats', 'GET', `/api/v1/${cache.id}/stats`, undefined],
      ['create credential', 'POST', `/api/v1/${cache.id}/credentials`, {}],
    ] as const) {
      const r = await http(httpPort, method, url, { basic: cache }, body, API_DEADLINE_MS + 5000);
      apiDuringOutage.push({ what, status: r.status, body: r.body, ms: r.ms });
      assert.equal(r.status, 500, `${what} while PostgreSQL is down: ${r.status} ${r.text}`);
      assert.equal(r.body, 'Server error', `${what} while PostgreSQL is down`);
      assert.ok(r.ms < API_DEADLINE_MS, `${what} while PostgreSQL is down answered in ${r.ms} ms`);
    }
    // Logins with every credential the nodes knew, on fresh connections, for the whole outage.
    let outageLogins = 0;
    while (Date.now() - downAt < OUTAGE_MS) {
      for (const p of nodePorts) {
        await login(p, cache, 'binary');
        await login(p, known, 'text');
        outageLogins += 2;
      }
    }
    const servedDuringOutage = served() - servedAtStop;
    for (const p of procs) assert.equal(p.child.exitCode, null, `${p.command} is still running`);
    assert.ok(servedDuringOutage > 0, 'memcache traffic was served while PostgreSQL was down');

    await pg.start();
    const upAt = Date.now();
    // The control plane's pool reconnects; the first write through it may need a moment.
    const fresh = await until('API create credential after the restart', upAt + PROMPTLY_MS, async () => {
      const r = await http(httpPort, 'POST', `/api/v1/${cache.id}/credentials`, { basic: cache }, {});
      return r.status === 200 ? { username: r.body.sasl_username as string, password: r.body.sasl_password as string } : undefined;
    }, 100);
    const createdAt = Date.now();
    await Promise.all(nodePorts.map((p) => until(`new credential on :${p}`, createdAt + PROMPTLY_MS, async () => (await login(p, fresh), true))));
    const caughtUp = Date.now();
    const stats = await http(httpPort, 'GET', `/api/v1/${cache.id}/stats`, { basic: cache });
    assert.equal(stats.status, 200, `API stats after the restart: ${stats.text}`);
    assert.deepEqual(Object.keys(stats.body).sort(), nodePorts.map((p) => `${HOST}:${p}`).sort());
    console.log(`PostgreSQL down ${upAt - downAt} ms: ${servedDuringOutage} memcache operations and ${outageLogins} fresh logins served meanwhile; ` +
      `API meanwhile: ${apiDuringOutage.map((a) => `${a.what} ${a.status} in ${a.ms} ms`).join(', ')}; after pg_ctl start: ` +
      `API wrote after ${createdAt - upAt} ms, both nodes accepted the new credential ${caughtUp - createdAt} ms later`);

    // Traffic goes on after the restart too.
    const servedAtRestart = served();
    await until('traffic after the restart', Date.now() + PROMPTLY_MS, async () => (served() >= servedAtRestart + 100 || undefined));
    const total = newStats();
    for (const s of await Promise.all([...workers.map((w) => w.stop()), ...churners.map((c) => c.stop())])) addStats(total, s);
    console.log(`clients during the restart: ${total.ops} operations, ${total.errors} errors`);
    assert.deepEqual(total.samples, []);
    assert.equal(total.errors, 0);

    // What the processes logged about the outage names no password (nor does PostgreSQL's log).
    const logs = [...procs.map((p) => ({ where: p.command, text: p.output() })), { where: 'PostgreSQL server log', text: pg.log() }];
    for (const secret of [cache.password, known.password, fresh.password]) {
      for (const l of logs) assert.ok(!l.text.includes(secret), `a password appears in the output of ${l.where}`);
    }
  });
});
