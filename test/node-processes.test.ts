// `cachier start --nodes 3`: each node in its own process (src/cli/node-supervisor.ts).
// A ketama client (memjs picking servers by our ketama ring) writes over all three and reads
// everything back; `stats settings` names each node's pid; a change the CLI makes reaches
// every node process within 1 s; kill -9 of one node process is
// answered by a restart on the same port within a second while the other two keep serving,
// and loses no catalog row; a second death right after is restarted only after a delay.
// npm test runs this file alone: it times node restarts against 1-2 s deadlines.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import memjs from 'memjs';
import { openSqliteCatalog } from '../src/catalog/sqlite.ts';
import { runCli, spawnCli, tempDir, type Proc } from './support/child-process.ts';
import { KetamaRing } from './support/ketama.ts';
import { asciiLogin } from './support/node-process.ts';
import { freePorts } from './support/ports.ts';
import { RawClient } from './support/raw-client.ts';
import { sleep, until } from './support/wait.ts';

const NODES = 3;
const KEYS = 600;

interface LogLine { event?: string; node?: string; node_pid?: number; [k: string]: unknown }

function events(proc: Proc, event: string): LogLine[] {
  return proc.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine).filter((l) => l.event === event);
}

const printed = (out: string, name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(out)![1]!;

function parentOf(pid: number): number {
  return Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

async function login(port: number, cred: { username: string; password: string }): Promise<RawClient> {
  const c = await RawClient.connect(port);
  assert.equal(await c.text(asciiLogin(cred)), 'STORED\r\n');
  return c;
}

async function statsOf(c: RawClient, group = ''): Promise<Map<string, string>> {
  const text = await c.text(`stats${group ? ` ${group}` : ''}\r\n`, 'END\r\n');
  return new Map([...text.matchAll(/^STAT (\S+) (.*)\r$/gm)].map((m) => [m[1]!, m[2]!]));
}

async function settingsPid(port: number, cred: { username: string; password: string }): Promise<number> {
  const c = await login(port, cred);
  try {
    return Number((await statsOf(c, 'settings')).get('pid'));
  } finally {
    c.end();
  }
}

describe(`cachier start --nodes ${NODES}: a process per node`, { timeout: 150_000 }, () => {
  const dir = tempDir('cachier-procs-');
  let proc: Proc;
  let ports: number[];
  let cred: { username: string; password: string };
  let cacheId: number;
  let httpPort: number;

  before(async () => {
    ports = await freePorts(NODES, { consecutive: true });
    [httpPort] = await freePorts(1) as [number];
    proc = await spawnCli(['start', '--data', dir, '--host', '127.0.0.1', '--port', String(ports[0]), '--http-port', String(httpPort),
      '--nodes', String(NODES), '--history-interval', '1', '--log-format', 'json'], 'cachier ready', { timeoutMs: 60_000 });
    cred = { username: printed(proc.stdout(), 'MEMCACHIER_USERNAME'), password: printed(proc.stdout(), 'MEMCACHIER_PASSWORD') };
    cacheId = Number(/first cache \(id (\d+)\)/.exec(proc.stdout())![1]);
    assert.equal(printed(proc.stdout(), 'MEMCACHIER_SERVERS'), ports.map((p) => `127.0.0.1:${p}`).join(','));
    // The restart test wants the spare loaded (it is what makes a restart take milliseconds).
    await until(() => `a spare node process\n${proc.stderr()}`, Date.now() + 40_000, () => events(proc, 'node_process_spare').length > 0, 100);
  });
  after(() => proc?.stop());

  test('every node is a process of its own, a child of start; stats settings and the operator API show its pid', async () => {
    const started = events(proc, 'node_process_started');
    assert.deepEqual(started.map((l) => l.node).sort(), ports.map((p) => `127.0.0.1:${p}`).sort());
    const pids = new Set<number>();
    for (const [i, port] of ports.entries()) {
      const pid = started.find((l) => l.node === `127.0.0.1:${port}`)!.node_pid!;
      assert.equal(await settingsPid(port, cred), pid, `node ${i}: stats settings pid`);
      assert.notEqual(pid, proc.pid);
      assert.equal(parentOf(pid), proc.pid, 'a child of cachier start');
      pids.add(pid);
    }
    assert.equal(pids.size, NODES, 'one process per node');
    const token = /^Operator API token[^:]*: (\S+)$/m.exec(proc.stdout())![1]!;
    const listed = await (await fetch(`http://127.0.0.1:${httpPort}/api/operator/nodes`, { headers: { authorization: `Bearer ${token}` } })).json() as { address: string; pid: number }[];
    assert.deepEqual(listed.map((n) => [n.address, n.pid]), started.map((l) => [l.node, l.node_pid]).sort(), 'GET /api/operator/nodes');
  });

  test(`a ketama client writes ${KEYS} keys over the ${NODES} node processes and reads every one back`, async () => {
    const servers = ports.map((p) => `127.0.0.1:${p}`);
    const ring = new KetamaRing(servers);
    const client = memjs.Client.create(servers.join(','), {
      username: cred.username, password: cred.password, timeout: 5, retries: 0, logger: { log: () => {} },
    });
    (client as unknown as { getServer: (key: string) => number }).getServer = (key) => ring.serverOf(key);
    try {
      for (let i = 0; i < KEYS; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => client.set(`key:${i + j}`, `value ${i + j}`, {})));
      }
      let found = 0;
      for (let i = 0; i < KEYS; i += 50) {
        const got = await Promise.all(Array.from({ length: 50 }, (_, j) => client.get(`key:${i + j}`)));
        got.forEach((g, j) => g.value?.toString() === `value ${i + j}` && found++);
      }
      assert.equal(found, KEYS, 'every key read back');
    } finally {
      client.close();
    }
    const expected = ports.map((_, n) => Array.from({ length: KEYS }, (_, i) => `key:${i}`).filter((k) => ring.serverOf(k) === n).length);
    const items: number[] = [];
    let maxbytes = 0;
    for (const port of ports) {
      const c = await login(port, cred);
      const s = await statsOf(c);
      c.end();
      items.push(Number(s.get('curr_items')));
      maxbytes += Number(s.get('limit_maxbytes'));
    }
    assert.deepEqual(items, expected, 'each node holds the keys ketama gave it');
    assert.ok(items.every((n) => n > 0), `every node holds some keys: ${items.join(' + ')}`);
    assert.ok(64 * 2 ** 20 - maxbytes < NODES, `limit_maxbytes sums to the plan over the nodes (${maxbytes}, rounded down per node)`);
  });

  test('catalog changes by another process reach every node process within 1 s (SQLite, WAL): a new credential logs in, a deleted one is closed', async () => {
    const made = JSON.parse((await runCli(['credentials', 'create', String(cacheId), '--data', dir, '--json'])).stdout) as { id: number; username: string; password: string };
    const madeAt = Date.now();
    const clients = await Promise.all(ports.map((port) => until(`the new credential on ${port}`, madeAt + 5000, async () => {
      const c = await RawClient.connect(port);
      if (await c.text(asciiLogin(made)) === 'STORED\r\n') return c;
      c.end();
      return undefined;
    }, 50)));
    const loggedIn = Date.now() - madeAt;
    await runCli(['credentials', 'delete', String(cacheId), String(made.id), '--data', dir]);
    const deletedAt = Date.now();
    await Promise.all(clients.map((c) => c.waitClosed(5000)));
    const closed = Date.now() - deletedAt;
    console.log(`a credential made by the CLI logged in on all ${NODES} node processes ${loggedIn} ms after the CLI exited; deleted, its connections closed after ${closed} ms`);
    assert.ok(loggedIn < 1000, `logged in everywhere after ${loggedIn} ms`);
    assert.ok(closed < 1000, `closed everywhere after ${closed} ms`);
  });

  test('kill -9 of one node process: restarted on its port within a second, the others serve meanwhile, no catalog row lost', async () => {
    // More rows to keep: a second cache with two credentials, and some history.
    const second = JSON.parse((await runCli(['cache', 'create', '--data', dir, '--memory', '8mb', '--json'])).stdout) as { id: number };
    await runCli(['credentials', 'create', String(second.id), '--data', dir]);
    const catalogRows = async () => {
      const catalog = openSqliteCatalog(dir, () => {});
      try {
        const caches = await catalog.listCaches();
        const credentials = (await Promise.all(caches.map((c) => catalog.listCredentials(c.id)))).flat().map((c) => c.id).sort();
        const history = (await catalog.history(cacheId)).map((h) => `${h.server}@${h.timestamp}`);
        return { caches: caches.map((c) => c.id), credentials, history };
      } finally {
        await catalog.close();
      }
    };
    await until('history samples of every node', Date.now() + 20_000, async () => new Set((await catalogRows()).history.map((h) => h.split('@')[0])).size === NODES, 200);
    const rowsBefore = await catalogRows();

    // The other two nodes under steady traffic for the whole episode.
    const victim = 1;
    const survivors = ports.filter((_, i) => i !== victim);
    const clients = await Promise.all(survivors.map((p) => login(p, cred)));
    let running = true;
    const served: number[] = [];
    const failures: string[] = [];
    const traffic = Promise.all(clients.map(async (c, n) => {
      for (let i = 0; running; i++) {
        const key = `steady:${n}:${i % 100}`;
        try {
          const r = await Promise.race([c.text(`set ${key} 0 0 1\r\nx\r\nget ${key}\r\n`, 'END\r\n'), sleep(2000).then(() => 'timeout')]);
          if (r !== `STORED\r\nVALUE ${key} 0 1\r\nx\r\nEND\r\n`) failures.push(`${survivors[n]}: ${JSON.stringify(r)}`);
          else served.push(Date.now());
        } catch (e) {
          failures.push(`${survivors[n]}: ${(e as Error).message}`);
          return;
        }
        await sleep(5);
      }
    }));

    const oldPid = await settingsPid(ports[victim]!, cred);
    await sleep(300);
    const killedAt = Date.now();
    process.kill(oldPid, 'SIGKILL');
    const newPid = await until('the node answering again', killedAt + 10_000, async () => {
      const pid = await settingsPid(ports[victim]!, cred);
      return pid !== oldPid ? pid : undefined;
    }, 20);
    const backAfter = Date.now() - killedAt;
    await sleep(300);
    running = false;
    await traffic;
    for (const c of clients) c.end();

    console.log(`killed node answering again after ${backAfter} ms; served by the other nodes meanwhile: ${served.filter((t) => t >= killedAt && t <= killedAt + backAfter).length} requests`);
    const exited = events(proc, 'node_process_exited').find((l) => l.node_pid === oldPid);
    assert.ok(exited, `an exit logged\n${proc.stderr()}`);
    assert.deepEqual([exited.node, exited.signal, exited.restart_in_ms], [`127.0.0.1:${ports[victim]}`, 'SIGKILL', 0]);
    const restarted = events(proc, 'node_process_restarted').find((l) => l.node_pid === newPid);
    assert.ok(restarted, 'the restart logged with the new pid');
    assert.ok((restarted.down_ms as number) < 1000, `down ${restarted.down_ms as number} ms by the supervisor's clock`);
    assert.ok(backAfter < 2000, `answering again ${backAfter} ms after the kill (a client's view, logins included)`);
    assert.equal(parentOf(newPid), proc.pid);

    assert.deepEqual(failures, [], 'the other nodes answered every request');
    const during = served.filter((t) => t >= killedAt && t <= killedAt + backAfter);
    assert.ok(during.length >= 2, `the other nodes served while the node was down (${during.length} requests)`);
    const times = [killedAt, ...during, killedAt + backAfter];
    const gap = Math.max(...times.slice(1).map((t, i) => t - times[i]!));
    assert.ok(gap < 1000, `longest pause of the other nodes' traffic: ${gap} ms`);
    console.log(`supervisor: down ${restarted.down_ms as number} ms; longest pause of the other nodes' traffic ${gap} ms`);

    const rowsAfter = await catalogRows();
    assert.deepEqual(rowsAfter.caches, rowsBefore.caches, 'caches');
    assert.deepEqual(rowsAfter.credentials, rowsBefore.credentials, 'credentials');
    assert.deepEqual(rowsAfter.history.filter((h) => rowsBefore.history.includes(h)), rowsBefore.history, 'history samples');

    // The restarted node is a full member: it serves the cache with its share of the plan.
    const c = await login(ports[victim]!, cred);
    assert.equal(await c.text('set back 0 0 2\r\nok\r\nget back\r\n', 'END\r\n'), 'STORED\r\nVALUE back 0 2\r\nok\r\nEND\r\n');
    assert.equal(Number((await statsOf(c)).get('limit_maxbytes')), Math.floor(64 * 2 ** 20 / NODES));
    c.end();

    // Dying again at once is a crash loop: the next restart waits.
    const againAt = Date.now();
    process.kill(newPid, 'SIGKILL');
    const third = await until('the second restart', againAt + 15_000, () => events(proc, 'node_process_restarted').find((l) => (l.restarts as number) === 2));
    const loop = events(proc, 'node_process_exited').find((l) => l.node_pid === newPid)!;
    assert.equal(loop.restart_in_ms, 500, 'backs off when a node dies within 10 s of its start');
    assert.equal(loop.deaths_in_a_row, 2);
    assert.ok((third.down_ms as number) >= 500, `down ${third.down_ms as number} ms`);
    assert.equal(await settingsPid(ports[victim]!, cred), third.node_pid);
  });

  test('failed logins on one node slow the next on another: one throttle budget, relayed through start', async () => {
    const failOn = async (port: number) => {
      const c = await RawClient.connect(port);
      const t0 = Date.now();
      const r = await c.text(asciiLogin({ username: cred.username, password: 'not-the-password' }));
      c.end();
      assert.match(r, /^CLIENT_ERROR /);
      return Date.now() - t0;
    };
    for (let i = 0; i < 7; i++) await failOn(ports[0]!);
    await sleep(300);
    // Seven failures of the pair: the next waits 10 ms × 2^7 here, where a fresh count would say 10 ms.
    const elsewhere = await failOn(ports[2]!);
    assert.ok(elsewhere >= 600, `a failure on another node answered after ${elsewhere} ms`);
  });
});
