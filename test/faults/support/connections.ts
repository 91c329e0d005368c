/**
 * Connection scale: one cache node (`cachier node`, SQLite catalog in a temp dir) holding
 * N idle logged-in connections (a holder child process, holder.ts) while a loaded client
 * (4 connections, pipelined, self-checking) runs against it; reports the node's memory
 * before, with the idle connections, during and after the load, per-connection memory,
 * the load's operations per second and errors, and whether every idle connection still
 * answers afterwards. With `cycles` > 1 it closes them and does it all again, so memory
 * the first round kept is told apart from memory that keeps growing. Both node and holder
 * run with a raised `ulimit -n`.
 *
 * Used by scripts/connections.ts (the long run) and test/faults/connections.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openSqliteCatalog } from '../../../src/catalog/sqlite.ts';
import { freePort } from '../../support/ports.ts';
import { McConn, Worker, addStats, asciiLogin, newStats, type Flavor, type WorkerStats } from './mc.ts';
import { REPO_ROOT, mib, openFds, rssBytes, spawnCli, spawnNode, tempDir, type Proc } from '../../support/child-process.ts';
import { sleep } from '../../support/wait.ts';

export interface ConnectionsOptions {
  connections: number;
  /** Seconds of load with the idle connections held, per cycle. */
  seconds: number;
  /** Open, load, check, close: this many times (default 1). */
  cycles?: number;
  /** Loaded client connections (default 4: ascii, binary, meta, ascii). */
  loaded?: number;
  /** Requests in flight per loaded connection (default 8). */
  depth?: number;
  /** Seconds of the same load before any idle connection opens, for comparison (default min(10, seconds)). */
  baselineSeconds?: number;
  /** Idle connections never log in: the node serves them from --anonymous-cache. */
  anonymous?: boolean;
  /** Each load also runs until it has done this many operations (so a slow machine still loads the node; default 0). */
  minOps?: number;
  log?: (line: string) => void;
}

export interface CycleReport {
  opened: number;
  failedToOpen: number;
  openErrors: string[];
  openSeconds: number;
  rssBefore: number;
  rssWithConnections: number;
  /** (rssWithConnections - rssBefore) / opened */
  perConnectionBytes: number;
  fdsWithConnections: number;
  /** The cache's curr_connections as its `stats` report it, with everything open. */
  currConnections: number | undefined;
  rssDuringLoadMax: number;
  rssAfterLoad: number;
  rssAfterClose: number;
  load: { seconds: number; opsPerSec: number } & WorkerStats;
  idleAfterLoad: { ok: number; bad: number; closedByServer: number; samples: string[] };
}

export interface ConnectionsReport {
  connections: number;
  loaded: number;
  depth: number;
  nodeCommand: string;
  rssStart: number;
  /** The same load with no idle connections held. */
  baseline: { seconds: number; opsPerSec: number } & WorkerStats;
  cycles: CycleReport[];
  nodeExitedEarly: boolean;
  /** Every failure counted: connections not opened, load errors, idle connections that stopped answering. */
  errors: number;
}

const NOFILE = 65536;

/** Waits for a JSON line starting with `{"event":"<event>"` on `proc`'s stdout after byte `from`. */
async function holderEvent(proc: Proc, event: string, from: number, timeoutMs: number): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  const prefix = `{"event":"${event}"`;
  for (;;) {
    const line = proc.stdout().slice(from).split('\n').find((l) => l.startsWith(prefix));
    if (line) return JSON.parse(line);
    if (proc.child.exitCode !== null) throw new Error(`holder exited: ${proc.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`holder: no ${event} within ${timeoutMs} ms: ${proc.output().slice(-2000)}`);
    await sleep(50);
  }
}

export async function runConnections(opts: ConnectionsOptions): Promise<ConnectionsReport> {
  const log = opts.log ?? (() => {});
  const loaded = opts.loaded ?? 4;
  const depth = opts.depth ?? 8;
  const dataDir = tempDir('cachier-conns-');
  let node: Proc | undefined;
  let holder: Proc | undefined;
  const workers: Worker[] = [];
  try {
    const catalog = openSqliteCatalog(dataDir);
    const made = await catalog.createCache({ memoryBytes: 256 * 2 ** 20, name: 'conns' });
    await catalog.close();
    const cred = { username: made.credential.username, password: made.password };
    const port = await freePort();
    const limit = String(opts.connections + loaded + 100);
    node = await spawnCli([
      'node', '--data', dataDir, '--host', '127.0.0.1', '--port', String(port),
      // The holder logs in its connections from one address, all at once.
      '--max-connections', limit, '--max-cache-connections', limit, '--max-pending-connections', limit, '--max-pending-per-source', limit,
      ...(opts.anonymous ? ['--anonymous-cache', String(made.cache.id)] : []),
    ], 'cachier node ready:', { nofile: NOFILE });
    const pid = node.pid;
    const rssStart = rssBytes(pid);
    const flavors: Flavor[] = ['ascii', 'binary', 'meta', 'ascii'];
    const makeWorkers = (tag: string) => Array.from({ length: loaded }, (_, i) => new Worker({
      flavor: flavors[i % flavors.length]!, port, prefix: `${tag}${i}`, lanes: depth, keys: 100,
      ...(opts.anonymous ? {} : cred),
    }));
    const runLoad = async (tag: string, seconds: number, each?: () => void) => {
      const ws = makeWorkers(tag);
      workers.push(...ws);
      await Promise.all(ws.map((w) => w.start()));
      const t0 = Date.now();
      let lastLog = t0;
      const ops = () => ws.reduce((n, w) => n + w.stats.ops, 0);
      while (Date.now() - t0 < seconds * 1000 || ops() < (opts.minOps ?? 0)) {
        if (Date.now() - t0 > seconds * 1000 + 60_000) throw new Error(`load ${tag}: ${ops()} operations in ${seconds + 60} s, fewer than ${opts.minOps}`);
        await sleep(Math.min(1000, Math.max(10, seconds * 1000 - (Date.now() - t0))));
        each?.();
        if (Date.now() - lastLog >= 10_000) {
          lastLog = Date.now();
          log(`  load ${((Date.now() - t0) / 1000).toFixed(0)} s: ${ws.reduce((n, w) => n + w.stats.ops, 0)} ops, ` +
            `${ws.reduce((n, w) => n + w.stats.errors, 0)} errors, node RSS ${mib(rssBytes(pid))}`);
        }
      }
      return { ws, t0 };
    };
    const finish = async (ws: Worker[], t0: number) => {
      const total = newStats();
      for (const s of await Promise.all(ws.map((w) => w.stop()))) addStats(total, s);
      const seconds = (Date.now() - t0) / 1000;
      return { seconds, opsPerSec: total.ops / seconds, ...total };
    };

    // The same load with no idle connection, for comparison (and so the node's heap has
    // grown to its working size before the idle connections are measured).
    const b = await runLoad('base', opts.baselineSeconds ?? Math.min(10, opts.seconds));
    const baseline = await finish(b.ws, b.t0);
    log(`node pid ${pid} on :${port}, RSS ${mib(rssStart)} at start. Baseline, no idle connections: ${loaded} connections × ${depth} ` +
      `in flight for ${baseline.seconds.toFixed(1)} s: ${baseline.ops} ops (${Math.round(baseline.opsPerSec)}/s), ${baseline.errors} errors`);
    await sleep(1000);

    const cycles: CycleReport[] = [];
    for (let cycle = 1; cycle <= (opts.cycles ?? 1); cycle++) {
      const rssBefore = rssBytes(pid);
      const t0 = Date.now();
      holder = await spawnNode(path.join(REPO_ROOT, 'test', 'faults', 'support', 'holder.ts'), [JSON.stringify({
        port, count: opts.connections, concurrency: 200, ...(opts.anonymous ? {} : cred),
      })], '{"event":"ready"', { nofile: NOFILE, nodeFlags: ['--import', 'tsx'], timeoutMs: 60_000 + opts.connections * 20 });
      const ready = JSON.parse(holder.readyLine) as { open: number; failed: number; errors: string[] };
      const openSeconds = (Date.now() - t0) / 1000;
      await sleep(1000);
      const rssWithConnections = rssBytes(pid);
      const fdsWithConnections = openFds(pid);
      const perConnectionBytes = ready.open ? (rssWithConnections - rssBefore) / ready.open : 0;
      log(`cycle ${cycle}: ${ready.open} idle connections open${opts.anonymous ? '' : ' and logged in'} in ${openSeconds.toFixed(1)} s ` +
        `(${ready.failed} failed${ready.errors.length ? `: ${ready.errors.slice(0, 3).join('; ')}` : ''}); node RSS ` +
        `${mib(rssBefore)} -> ${mib(rssWithConnections)}, ${(perConnectionBytes / 1024).toFixed(1)} KiB per connection, ${fdsWithConnections} fds`);

      const statsConn = await McConn.connect(port);
      if (!opts.anonymous) await asciiLogin(statsConn, cred.username, cred.password);
      let rssDuringLoadMax = 0;
      const l = await runLoad(`load${cycle}-`, opts.seconds, () => {
        rssDuringLoadMax = Math.max(rssDuringLoadMax, rssBytes(pid));
      });
      const statsText = await statsConn.text('stats\r\n');
      const curr = Number(/^STAT curr_connections (\d+)$/m.exec(statsText.values.map((v) => v.line).join('\n'))?.[1] ?? NaN);
      const load = await finish(l.ws, l.t0);
      statsConn.end();
      await sleep(500);
      const rssAfterLoad = rssBytes(pid);
      log(`cycle ${cycle}: load ${loaded} connections × ${depth} in flight for ${load.seconds.toFixed(1)} s: ${load.ops} ops ` +
        `(${Math.round(load.opsPerSec)}/s), ${load.errors} errors; node RSS max ${mib(rssDuringLoadMax)}, after ${mib(rssAfterLoad)}`);

      const before = holder.stdout().length;
      holder.child.stdin!.write('check\n');
      const checked = await holderEvent(holder, 'checked', before, 60_000 + opts.connections * 10);
      log(`cycle ${cycle}: idle connections after the load: ${checked.ok} answer, ${checked.bad} do not, ${checked.closedByServer} closed by the node`);
      const beforeClose = holder.stdout().length;
      holder.child.stdin!.write('close\n');
      await holderEvent(holder, 'closed', beforeClose, 10_000);
      await Promise.race([holder.exited, sleep(5000)]);
      await holder.stop(2000);
      holder = undefined;
      await sleep(1000);
      const rssAfterClose = rssBytes(pid);
      log(`cycle ${cycle}: idle connections closed: node RSS ${mib(rssAfterClose)}`);
      cycles.push({
        opened: ready.open, failedToOpen: ready.failed, openErrors: ready.errors, openSeconds,
        rssBefore, rssWithConnections, perConnectionBytes, fdsWithConnections,
        currConnections: Number.isNaN(curr) ? undefined : curr,
        rssDuringLoadMax, rssAfterLoad, rssAfterClose, load,
        idleAfterLoad: { ok: checked.ok, bad: checked.bad, closedByServer: checked.closedByServer, samples: checked.samples },
      });
    }
    const nodeExitedEarly = node.child.exitCode !== null || node.child.signalCode !== null;
    const errors = baseline.errors + (nodeExitedEarly ? 1 : 0) + cycles.reduce((n, c) =>
      n + c.failedToOpen + c.load.errors + c.idleAfterLoad.bad + c.idleAfterLoad.closedByServer, 0);
    return { connections: opts.connections, loaded, depth, nodeCommand: node.command, rssStart, baseline, cycles, nodeExitedEarly, errors };
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop())); // cleanup: the try block's error, if any, is the one to report
    await holder?.stop(2000);
    await node?.stop();
    if (!process.env.CACHIER_TEST_KEEP) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
