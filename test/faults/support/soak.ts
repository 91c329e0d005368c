/**
 * Sustained mixed load against `cachier start --nodes 2` (SQLite, temp dir), every reply
 * checked: on each node ASCII, binary (SASL) and meta clients on a cache that never
 * evicts (exact model: a miss or a wrong value is an error), ASCII and binary clients with
 * large values on a small cache that evicts all the time (a miss is counted, a wrong value
 * is an error), a client that connects, logs in (ASCII and SASL in turn), works and
 * disconnects in a loop with a rare wrong password, and the control plane polled every
 * 2 s (stats, history, credentials) with a credential made, logged in on both nodes,
 * changed and deleted every 15 s, and the evicting cache flushed every 30 s.
 *
 * Used by scripts/soak.ts (`npm run soak -- --minutes N`) and test/faults/soak.test.ts.
 */
import fs from 'node:fs';
import { freePort, freePorts } from '../../support/ports.ts';
import { Churner, Worker, addStats, newStats, openSession, type WorkerStats } from './mc.ts';
import { PROMPTLY_MS, sleep, until } from '../../support/wait.ts';
import { HOST, mib, printed, printedOperatorToken, spawnCli, treeRssBytes, tempDir, type Proc } from '../../support/child-process.ts';
import { http } from '../../support/http-client.ts';

export interface SoakOptions {
  seconds: number;
  /** Progress line every this many seconds (default 10). */
  reportEverySeconds?: number;
  /**
   * After `seconds`, also run on (60 s at most) until every client did some work and the
   * API poller made this many requests, so a slow machine still exercises everything.
   */
  minApiRequests?: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  seconds: number;
  command: string;
  memcache: WorkerStats & { opsPerSec: number; byClient: Record<string, { ops: number; errors: number; evictedMisses: number }> };
  api: { requests: number; errors: number; samples: string[] };
  propagation: { checks: number; worstMs: number; errors: number };
  flushes: number;
  rss: { start: number; max: number; end: number; samples: { t: number; rss: number }[] };
  serverStderr: string;
  errors: number;
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => {});
  const everyMs = (opts.reportEverySeconds ?? 10) * 1000;
  const dataDir = tempDir('cachier-soak-');
  let server: Proc | undefined;
  const workers: [string, Worker][] = [];
  const churners: [string, Churner][] = [];
  const api = { requests: 0, errors: 0, samples: [] as string[] };
  const propagation = { checks: 0, worstMs: 0, errors: 0 };
  let flushes = 0;
  const apiError = (what: string) => {
    api.errors++;
    if (api.samples.length < 10) api.samples.push(`${new Date().toISOString()} ${what}`);
  };
  let stopping = false;
  const background: Promise<void>[] = [];
  try {
    const ports = await freePorts(2, { consecutive: true });
    const httpPort = await freePort();
    server = await spawnCli(['start', '--data', dataDir, '--host', HOST, '--port', String(ports[0]), '--nodes', '2',
      '--http-port', String(httpPort), '--history-interval', '5', '--memory', '64mb'], 'cachier ready', { nofile: 65536 });
    const pid = server.pid;
    const token = printedOperatorToken(server.output())!;
    const strict = {
      id: Number(/first cache \(id (\d+)\)/.exec(server.output())![1]),
      username: printed(server.output(), 'MEMCACHIER_USERNAME'), password: printed(server.output(), 'MEMCACHIER_PASSWORD'),
    };
    const mkCache = async (memory: string, name: string) => {
      const r = await http(httpPort, 'POST', '/api/operator/caches', { bearer: token }, { memory, name });
      if (r.status !== 200) throw new Error(`create cache: ${r.status} ${r.text}`);
      return { id: r.body.id as number, username: r.body.username as string, password: r.body.password as string };
    };
    const small = await mkCache('4mb', 'small');
    const churn = await mkCache('16mb', 'churn');
    const mkCred = async (c: { id: number; username: string; password: string }) => {
      const r = await http(httpPort, 'POST', `/api/v1/${c.id}/credentials`, { basic: c }, {});
      if (r.status !== 200) throw new Error(`create credential: ${r.status} ${r.text}`);
      return { username: r.body.sasl_username as string, password: r.body.sasl_password as string };
    };
    const victim = await mkCred(churn);
    const caches = [strict, small, churn];
    for (const p of ports) await until(`login on :${p}`, Date.now() + 3000, async () => ((await openSession(p, { mode: 'text', ...small })).end(), true));

    ports.forEach((port, n) => {
      const add = (name: string, w: Worker) => workers.push([`${name}@node${n + 1}`, w]);
      add('ascii', new Worker({ flavor: 'ascii', port, ...strict, prefix: `a${n}`, lanes: 4 }));
      add('binary', new Worker({ flavor: 'binary', port, ...strict, prefix: `b${n}`, lanes: 4 }));
      add('meta', new Worker({ flavor: 'meta', port, ...strict, prefix: `m${n}`, lanes: 4 }));
      add('ascii-evicting', new Worker({ flavor: 'ascii', port, ...small, prefix: `ea${n}`, lanes: 2, keys: 200, minValue: 1000, maxValue: 60_000, evictable: true }));
      add('binary-evicting', new Worker({ flavor: 'binary', port, ...small, prefix: `eb${n}`, lanes: 2, keys: 200, minValue: 1000, maxValue: 60_000, evictable: true }));
      churners.push([`connect-login-close@node${n + 1}`, new Churner({ port, ...churn, prefix: `c${n}`, pauseMs: 20, wrong: { ...victim, every: 400 } })]);
    });
    await Promise.all(workers.map(([, w]) => w.start()));
    for (const [, c] of churners) c.start();

    // The control plane, polled.
    background.push((async () => {
      while (!stopping) {
        for (const c of caches) {
          for (const [what, p] of [['stats', `/api/v1/${c.id}/stats`], ['history', `/api/v1/${c.id}/history`], ['credentials', `/api/v1/${c.id}/credentials`]] as const) {
            api.requests++;
            try {
              const r = await http(httpPort, 'GET', p, { basic: c }, undefined, PROMPTLY_MS);
              if (r.status !== 200) apiError(`${what} of cache ${c.id}: ${r.status} ${r.text.slice(0, 200)}`);
              else if (what === 'stats' && Object.keys(r.body).length !== 2) apiError(`stats of cache ${c.id}: ${Object.keys(r.body).length} servers`);
            } catch (e) {
              apiError(`${what} of cache ${c.id}: ${(e as Error).message}`);
            }
          }
        }
        await sleep(2000);
      }
    })());
    // Catalog changes reaching both nodes; the evicting cache flushed.
    background.push((async () => {
      let round = 0;
      while (!stopping) {
        for (let i = 0; i < 15 && !stopping; i++) await sleep(1000);
        if (stopping) break;
        round++;
        try {
          const t0 = Date.now();
          api.requests++;
          const cred = await mkCred(churn);
          // A generous deadline: the soak reports the worst propagation time it saw.
          await Promise.all(ports.map((p) => until(`new credential on :${p}`, t0 + PROMPTLY_MS, async () =>
            ((await openSession(p, { mode: 'binary', ...cred })).end(), true), 50)));
          const ms = Date.now() - t0;
          propagation.checks++;
          propagation.worstMs = Math.max(propagation.worstMs, ms);
          api.requests += 2;
          const patched = await http(httpPort, 'PATCH', `/api/v1/${churn.id}/credentials/${cred.username}`, { basic: churn }, { flush_capability: false });
          if (patched.status !== 200) apiError(`patch: ${patched.status} ${patched.text}`);
          const deleted = await http(httpPort, 'DELETE', `/api/v1/${churn.id}/credentials/${cred.username}`, { basic: churn });
          if (deleted.status !== 200) apiError(`delete: ${deleted.status} ${deleted.text}`);
        } catch (e) {
          propagation.errors++;
          apiError(`propagation: ${(e as Error).message}`);
        }
        if (round % 2 === 0) {
          api.requests++;
          const r = await http(httpPort, 'POST', `/api/v1/${small.id}/flush`, { basic: small }).catch((e: Error) => ({ status: 0, text: e.message }));
          if (r.status !== 200) apiError(`flush: ${r.status} ${r.text}`);
          else flushes++;
        }
      }
    })());

    const t0 = Date.now();
    const rssStart = treeRssBytes(pid);
    const rssSamples: { t: number; rss: number }[] = [{ t: 0, rss: rssStart }];
    let lastOps = 0;
    let lastAt = t0;
    log(`soak: ${opts.seconds} s against ${server.command} (pid ${pid}); ${workers.length} checked clients, ${churners.length} reconnecting clients, API poller`);
    while (Date.now() - t0 < opts.seconds * 1000) {
      await sleep(Math.min(everyMs, Math.max(10, opts.seconds * 1000 - (Date.now() - t0))));
      if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`the server exited: ${server.output().slice(-3000)}`);
      const rss = treeRssBytes(pid);
      rssSamples.push({ t: Math.round((Date.now() - t0) / 1000), rss });
      const all = [...workers, ...churners].map(([, w]) => w.stats);
      const ops = all.reduce((n, s) => n + s.ops, 0);
      const errors = all.reduce((n, s) => n + s.errors, 0);
      const evicted = all.reduce((n, s) => n + s.evictedMisses, 0);
      const now = Date.now();
      log(`  ${String(Math.round((now - t0) / 1000)).padStart(5)} s  ${ops} ops (${Math.round((ops - lastOps) / ((now - lastAt) / 1000))}/s)  ` +
        `${errors} errors  ${evicted} evicted misses  API ${api.requests} requests ${api.errors} errors  RSS ${mib(rss)}`);
      lastOps = ops;
      lastAt = now;
    }
    if (opts.minApiRequests !== undefined) {
      await until('every client and the API poller did some work', Date.now() + 60_000, async () =>
        ([...workers, ...churners].every(([, w]) => w.stats.ops > 0) && api.requests >= opts.minApiRequests!) || undefined, 100);
    }
    stopping = true;
    const seconds = (Date.now() - t0) / 1000;
    const byClient: Record<string, { ops: number; errors: number; evictedMisses: number }> = {};
    const total = newStats();
    for (const [name, w] of [...workers, ...churners]) {
      const s = await w.stop();
      addStats(total, s);
      byClient[name] = { ops: s.ops, errors: s.errors, evictedMisses: s.evictedMisses };
    }
    await Promise.all(background);
    const rssEnd = treeRssBytes(pid);
    // The server's log (JSON lines on stderr) is its normal output up to info, and warnings of
    // failed logins or limits hit; anything else there (an error line, a stack) is reported.
    const serverStderr = server.stderr().split('\n').filter((l) => l.trim() !== '' && !/^\{"level":"(trace|debug|info)"/.test(l)
      && !(/^\{"level":"warn"/.test(l) && /"event":"(login_failures|connection_limits)"/.test(l))).join('\n');
    const report: SoakReport = {
      seconds, command: server.command,
      memcache: { ...total, opsPerSec: total.ops / seconds, byClient },
      api, propagation, flushes,
      rss: { start: rssStart, max: Math.max(...rssSamples.map((s) => s.rss), rssEnd), end: rssEnd, samples: rssSamples },
      serverStderr,
      errors: total.errors + api.errors + (serverStderr.trim() ? 1 : 0),
    };
    return report;
  } finally {
    stopping = true;
    // Cleanup: the try block's error, if any, is the one to report.
    await Promise.allSettled([...workers, ...churners].map(([, w]) => w.stop()));
    await Promise.allSettled(background);
    await server?.stop();
    if (!process.env.CACHIER_TEST_KEEP) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
