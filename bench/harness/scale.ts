/**
 * `npm run bench -- --scale` (issue 16): aggregate throughput of K cachier node processes,
 * each pinned to its own core and all joined to one catalog, against `memcached -t K`
 * pinned to the same K cores, for K = 1, 2, 4, …; the load from our own generator
 * (bench/load/) on every remaining core, one process per core, summed.
 *
 * Why not memcaslap: with several --servers it gives each of its threads one server
 * (thread i → server i mod n, checked against two memcached: with --threads=1 every
 * request went to the first server) and never hashes keys, so it cannot spread a cache's
 * keys with ketama as MemCachier's clients do. Our generator's clients each hold a
 * connection to every node and send each request to the node its key maps to on a ketama
 * ring (load/ketama.ts); against memcached, one connection per client to its one port.
 * Same mix as memcaslap-ascii: ASCII, 100 B values, 90 % get / 10 % set, one request in
 * flight per client, CONNECTIONS clients per server core; every hit is checked to carry
 * the value set and the preloaded keys must never miss.
 *
 * Then per-core speed at K = 1 (memcaslap single gets, then sets, the full bench's
 * tool): server CPU µs per request, cachier node vs memcached -t 1 on the same core. And
 * a short perf profile of a node (native socket loop) under memcaslap-ascii.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClosedLoopSpec, LoadResult } from '../load/spec.ts';
import { runLoadOn } from './load-process.ts';
import { runMemcaslap } from './memcaslap.ts';
import { perfUnavailable, profilePid } from './perf-profile.ts';
import { LOAD_CORE, PINNED, SERVER_CORE } from './processes.ts';
import { coreBusySeconds, coreIds, cpuSeconds } from './proc-stats.ts';
import type { PerCoreRow, PerfBreakdown, ScaleMeasurement, ScaleOutcome, ScalePoint, ScaleSkip } from './report.ts';
import { summarizeScale } from './report.ts';
import { counterDelta, readServerCounters, type ServerCounters } from './server-stats.ts';
import { createBenchCache, startCachierNode, startMemcached, type RunningServer } from './servers.ts';
import { CONNECTIONS, GET_RATIO, KEYS, MEMCASLAP_KEY_SIZE, VALUE_SIZE, type RunProfile } from './workloads.ts';

export interface ScaleOptions {
  readonly profile: RunProfile;
  /** The bench cache's plan; the nodes of a point split it K ways. */
  readonly cacheMemory: string;
  readonly workDir: string;
  readonly log: (line: string) => void;
  /** Skip the per-core and perf phases (K points only). */
  readonly curveOnly?: boolean;
}

export interface ScaleRun {
  readonly outcome: ScaleOutcome;
  readonly commands: Record<string, string>;
  /** sourceFingerprint() of every cachier node started. */
  readonly sources: string[];
}

const LOAD_TOOL =
  'bench/load closed loop with a ketama ring over the K nodes (memcaslap gives each thread one server and cannot hash keys)';
/** Highest K listed: the issue's 16-core machine, or more if this one has the cores. */
const LIST_UP_TO = 16;
/** Time for a loader process to start (node + tsx) and connect before its warm-up begins. */
const LOADER_STARTUP_MS = 900;

/** K = 1, 2, 4, … : which this machine can measure (K server cores + one loader core at least). */
export function scalePlan(cores: number): { measure: number[]; skipped: ScaleSkip[] } {
  const measure: number[] = [];
  const skipped: ScaleSkip[] = [];
  for (let k = 1; k <= Math.max(LIST_UP_TO, cores - 1); k *= 2) {
    if (k + 1 <= cores) measure.push(k);
    else skipped.push({ k, needs: k + 1, has: cores });
  }
  return { measure, skipped };
}

/** Splits `total` clients over `loaders` processes as evenly as possible. */
export function splitClients(total: number, loaders: number): number[] {
  return Array.from({ length: loaders }, (_, i) => Math.floor(total / loaders) + (i < total % loaders ? 1 : 0)).filter((n) => n > 0);
}

export async function runScale(o: ScaleOptions): Promise<ScaleRun> {
  const cores = os.availableParallelism();
  const plan = scalePlan(cores);
  const commands: Record<string, string> = {};
  const sources: string[] = [];
  o.log(`scale: ${cores} cores; measuring K = ${plan.measure.join(', ') || 'none'}` +
    `${plan.skipped.length ? `; not enough cores for K = ${plan.skipped.map((s) => s.k).join(', ')}` : ''}` +
    `${PINNED ? '' : ' (NOT pinned: no taskset, or one core)'}`);
  const points: ScalePoint[] = [];
  for (const k of plan.measure) {
    const serverCores = Array.from({ length: k }, (_, i) => i);
    const loaderCores = Array.from({ length: cores - k }, (_, i) => k + i);
    points.push(await measurePoint(o, serverCores, loaderCores, commands, sources));
  }
  let perCore: PerCoreRow[] | undefined;
  let perf: PerfBreakdown | undefined;
  if (!o.curveOnly && cores >= 2) {
    perCore = await measurePerCore(o, commands, sources);
    perf = await measurePerf(o, commands);
  } else if (!o.curveOnly) {
    perf = { ok: false, reason: `one core: no room for a loader next to the node (needs 2, has ${cores})` };
  }
  return {
    outcome: { loadTool: LOAD_TOOL, points, skipped: plan.skipped, ...(perCore ? { perCore } : {}), ...(perf ? { perf } : {}) },
    commands,
    sources,
  };
}

// ---------------------------------------------------------------- the curve

/** One K (= serverCores.length): a node per server core, one loader process per loader core. */
export async function measurePoint(
  o: ScaleOptions, serverCores: readonly number[], loaderCores: readonly number[], commands: Record<string, string>, sources: string[],
): Promise<ScalePoint> {
  const k = serverCores.length;
  const clients = CONNECTIONS * k;
  const split = splitClients(clients, loaderCores.length);
  // A catalog of its own per K: nodes stay registered after they stop, and a stale entry
  // would shrink every later node's share of the plan.
  const dataDir = fs.mkdtempSync(path.join(o.workDir, `scale-k${k}-`));
  const cache = await createBenchCache(dataDir, o.cacheMemory);
  const running: RunningServer[] = [];
  try {
    const memcached = await startMemcached(2048, { threads: k, cores: [...new Set(serverCores)].join(',') });
    running.push(memcached);
    const nodes: RunningServer[] = [];
    // One after another: each registers in the shared SQLite catalog as it starts.
    for (const core of serverCores) {
      const n = await startCachierNode({ dataDir, cacheId: cache.id, core });
      nodes.push(n);
      running.push(n);
      sources.push(n.source!);
    }
    commands[`scale K=${k} memcached`] = `taskset -c ${[...new Set(serverCores)].join(',')} ${memcached.command}`;
    commands[`scale K=${k} cachier`] = nodes.map((n) => n.command).join(' & ');
    o.log(`scale K=${k}: memcached -t ${k} pid ${memcached.pid} on cores ${serverCores.join(',')}; cachier nodes ` +
      `${nodes.map((n) => `pid ${n.pid} :${n.port}`).join(', ')}; ${split.length} loader(s) on cores ${loaderCores.join(',')} with ${split.join('+')} clients`);

    for (const s of running) {
      const f = await runLoadOn(loaderCores[0]!, { mode: 'fill', host: s.host, port: s.port, connections: 1, items: KEYS, valueSize: VALUE_SIZE });
      // Every key on every server: a get must hit wherever ketama sends it.
      if (f.currItems !== KEYS || f.evictions !== 0) {
        throw new Error(`scale K=${k} ${s.name} :${s.port}: preload left curr_items ${f.currItems} of ${KEYS} keys, evictions ${f.evictions}`);
      }
    }

    const measurements: ScaleMeasurement[] = [];
    for (let round = 1; round <= o.profile.rounds; round++) {
      // Paired rounds: memcached first in odd rounds, cachier first in even ones.
      const order = round % 2 === 1 ? (['memcached', 'cachier'] as const) : (['cachier', 'memcached'] as const);
      for (const name of order) {
        const targets = name === 'memcached' ? [memcached] : nodes;
        const m = await measureLoad(o, round, name, targets, loaderCores, split);
        measurements.push(m);
        o.log(`scale K=${k} round ${round} ${name}: ${m.opsPerSec} ops/s, p99 ${m.p99Us} µs, ` +
          `cpu servers ${m.serverCpuPercent ?? '?'}% loaders ${m.loaderCpuPercent?.join('/') ?? '?'}% other ${m.otherPercent ?? '?'}%` +
          `${m.serverCpuUsPerOp !== undefined ? `, ${m.serverCpuUsPerOp} µs cpu/op` : ''}` +
          `${m.errors ? ` ERRORS ${m.errors}: ${m.errorSamples.slice(0, 2).join('; ')}` : ''}` +
          `${m.misses || m.counters?.getMisses ? ` MISSES ${m.misses} (servers ${m.counters?.getMisses ?? '?'})` : ''}`);
      }
    }
    const point: ScalePoint = { k, serverCores, loaderCores, clients, measurements, best: {} };
    return Object.assign(point, summarizeScale(measurements));
  } catch (e) {
    for (const s of running) {
      const tail = s.output().slice(-2000).trim();
      if (tail) o.log(`${s.name} :${s.port} output (tail):\n${tail}`);
    }
    throw e;
  } finally {
    for (const s of running.reverse()) await s.stop();
  }
}

async function sumCounters(servers: readonly RunningServer[]): Promise<ServerCounters> {
  const all = await Promise.all(servers.map((s) => readServerCounters(s.host, s.port)));
  return all.reduce((a, b) => ({
    cmdGet: a.cmdGet + b.cmdGet, getMisses: a.getMisses + b.getMisses, cmdSet: a.cmdSet + b.cmdSet, evictions: a.evictions + b.evictions,
  }));
}

const machineBusy = (() => {
  const ids = coreIds();
  return () => ids.reduce((t, c) => t + coreBusySeconds(c), 0);
})();

async function measureLoad(
  o: ScaleOptions, round: number, name: 'memcached' | 'cachier', targets: readonly RunningServer[], loaderCores: readonly number[], split: readonly number[],
): Promise<ScaleMeasurement> {
  const { warmupSeconds, seconds } = o.profile;
  const before = await sumCounters(targets);
  const loaderPids: number[] = [];
  const serverPids = targets.map((t) => t.pid);
  const read = () => ({
    t: performance.now(),
    server: serverPids.reduce((s, p) => s + cpuSeconds(p), 0),
    loaders: loaderPids.map((p) => cpuSeconds(p)),
    busy: machineBusy(),
  });
  // CPU over a window inside the measured part (after start-up and warm-up).
  const cpu = (async () => {
    await sleep(LOADER_STARTUP_MS + warmupSeconds * 1000);
    const a = read();
    await sleep(Math.max(500, seconds * 1000 - 600));
    const b = read();
    const secs = (b.t - a.t) / 1000;
    if (b.loaders.length !== a.loaders.length || b.loaders.some((x) => x === 0)) return undefined; // a loader ended early
    const server = b.server - a.server;
    const loaders = b.loaders.map((x, i) => x - a.loaders[i]!);
    const other = Math.max(0, b.busy - a.busy - server - loaders.reduce((s, x) => s + x, 0));
    return {
      serverCpuPercent: Math.round((server / secs) * 100),
      loaderCpuPercent: loaders.map((x) => Math.round((x / secs) * 100)),
      otherPercent: Math.round((other / secs) * 100),
    };
  })();
  const results: LoadResult[] = await Promise.all(split.map((n, i) => {
    const spec: ClosedLoopSpec = {
      mode: 'closed', host: targets[0]!.host, port: targets[0]!.port, protocol: 'ascii', connections: n, getRatio: GET_RATIO,
      valueSize: VALUE_SIZE, keys: KEYS, depth: 1, warmupSeconds, seconds,
      ...(targets.length > 1 ? { servers: targets.map((t) => ({ host: t.host, port: t.port })) } : {}),
    };
    return runLoadOn(loaderCores[i]!, spec, (pid) => loaderPids.push(pid));
  }));
  const share = await cpu;
  const counters = counterDelta(before, await sumCounters(targets));
  const opsPerSec = results.reduce((s, r) => s + r.opsPerSec, 0);
  const m: ScaleMeasurement = {
    round, server: name, opsPerSec,
    p50Us: Math.max(...results.map((r) => r.latency.p50Us)), p99Us: Math.max(...results.map((r) => r.latency.p99Us)),
    errors: results.reduce((s, r) => s + r.errors, 0), misses: results.reduce((s, r) => s + r.misses, 0),
    gets: results.reduce((s, r) => s + r.gets, 0), errorSamples: results.flatMap((r) => r.errorSamples).slice(0, 5), counters,
    ...(share ?? {}),
  };
  return withCpuPerOp(m);
}

function withCpuPerOp(m: ScaleMeasurement): ScaleMeasurement {
  if (m.serverCpuPercent === undefined || m.opsPerSec <= 0) return m;
  return { ...m, serverCpuUsPerOp: Math.round((m.serverCpuPercent / 100 / m.opsPerSec) * 1e6 * 10) / 10 };
}

// ---------------------------------------------------------------- per-core speed

/**
 * The node's CPU per single get and per set against memcached -t 1's, both on the server
 * core, memcaslap (the full bench's tool) on the load core: server CPU time over the
 * sampled window / requests answered. CPU per op, unlike ops/s, barely moves when other
 * processes share the machine.
 */
async function measurePerCore(o: ScaleOptions, commands: Record<string, string>, sources: string[]): Promise<PerCoreRow[]> {
  const dataDir = fs.mkdtempSync(path.join(o.workDir, 'per-core-'));
  const cache = await createBenchCache(dataDir, o.cacheMemory);
  const memcached = await startMemcached();
  const running: RunningServer[] = [memcached];
  try {
    const node = await startCachierNode({ dataDir, cacheId: cache.id, core: SERVER_CORE });
    running.push(node);
    sources.push(node.source!);
    commands['per-core cachier'] = node.command;
    commands['per-core memcached'] = memcached.command;
    const rows: PerCoreRow[] = [
      { op: 'get', description: 'memcaslap ASCII single gets only (--verify=1), 32 conns', measurements: [] },
      { op: 'set', description: 'memcaslap ASCII sets only, 32 conns', measurements: [] },
    ];
    for (const row of rows) {
      // Long enough for memcaslap to store its window's items first (gets), then a measured window.
      const seconds = Math.max(row.op === 'get' ? 10 : 6, o.profile.memcaslapSeconds);
      for (let round = 1; round <= o.profile.rounds; round++) {
        const order = round % 2 === 1 ? [memcached, node] : [node, memcached];
        for (const s of order) {
          let window: Promise<PerCoreWindow | undefined> = Promise.resolve(undefined);
          const r = await runMemcaslap({
            server: `${s.host}:${s.port}`, seconds, concurrency: CONNECTIONS, binary: false, division: 1,
            getRatio: row.op === 'get' ? 1 : 0, valueSize: VALUE_SIZE, keySize: MEMCASLAP_KEY_SIZE, workDir: o.workDir,
            winSize: `${PER_CORE_WINDOW / 1024}k`, ...(row.op === 'get' ? { verify: 1 } : {}),
          }, (pid) => {
            window = perCoreWindow(s, pid, seconds, row.op === 'get' ? CONNECTIONS * PER_CORE_WINDOW : 0);
          });
          let w = await window;
          // A get row's window must hold gets: if memcaslap was still storing its items, its CPU per op is a mix.
          const setShare = w ? w.counters.cmdSet / Math.max(1, w.counters.cmdGet + w.counters.cmdSet) : 0;
          if (w && row.op === 'get' && setShare > MAX_SET_SHARE_OF_GETS) {
            o.log(`per-core get round ${round} ${s.name}: ${Math.round(setShare * 100)}% sets in the window (memcaslap still storing): no CPU per op`);
            w = { ...w, serverCpuUsPerOp: undefined };
          }
          commands[`per-core ${row.op}`] = r.command;
          const f = r.failures;
          const m: ScaleMeasurement = {
            round, server: s.name as 'memcached' | 'cachier', opsPerSec: w?.opsPerSec ?? r.opsPerSec, p50Us: r.latency.p50Us, p99Us: r.latency.p99Us,
            errors: f.errors + (f.verifyFailed ?? 0), misses: Math.max(f.getMisses, f.verifyMisses ?? 0, w?.counters.getMisses ?? 0), gets: f.gets,
            errorSamples: w ? f.errorSamples : [...f.errorSamples, 'no measured window (memcaslap ended early?)'],
            ...(w ? {
              counters: w.counters, serverCpuPercent: w.serverCpuPercent, loaderCpuPercent: [w.loaderCpuPercent], otherPercent: w.otherPercent,
              ...(w.serverCpuUsPerOp !== undefined ? { serverCpuUsPerOp: w.serverCpuUsPerOp } : {}),
            } : {}),
          };
          row.measurements.push(m);
          o.log(`per-core ${row.op} round ${round} ${s.name}: ${m.opsPerSec} ops/s in the window ` +
            `(${w ? `${w.counters.cmdGet} gets, ${w.counters.cmdSet} sets` : '?'}), ${m.serverCpuUsPerOp ?? '?'} µs cpu/op ` +
            `(server ${m.serverCpuPercent ?? '?'}%, memcaslap ${w?.loaderCpuPercent ?? '?'}%, other ${m.otherPercent ?? '?'}%)` +
            `${m.errors ? ` ERRORS ${m.errors}: ${m.errorSamples.slice(0, 2).join('; ')}` : ''}${m.misses ? ` MISSES ${m.misses}` : ''}`);
        }
      }
      const lowest = (server: 'memcached' | 'cachier') => {
        const v = row.measurements.filter((m) => m.server === server && m.serverCpuUsPerOp !== undefined).map((m) => m.serverCpuUsPerOp!);
        return v.length ? Math.min(...v) : undefined;
      };
      const mc = lowest('memcached');
      const ca = lowest('cachier');
      if (mc !== undefined) row.memcachedCpuUsPerOp = mc;
      if (ca !== undefined) row.cachierCpuUsPerOp = ca;
    }
    return rows;
  } finally {
    for (const s of running.reverse()) await s.stop();
  }
}

/**
 * memcaslap --win_size for the per-core rows: items per connection it stores before getting
 * them; 1k is its smallest (32,768 stores over 32 connections, against 327,680 by default).
 */
const PER_CORE_WINDOW = 1024;
/** A get row whose window holds more sets than this share is not a get measurement. */
const MAX_SET_SHARE_OF_GETS = 0.02;

interface PerCoreWindow {
  readonly opsPerSec: number;
  readonly counters: ServerCounters;
  readonly serverCpuPercent: number;
  readonly loaderCpuPercent: number;
  readonly otherPercent: number;
  readonly serverCpuUsPerOp: number | undefined;
}

/**
 * The server's CPU and its own request counters over one window of a memcaslap run, so
 * CPU per op divides by exactly the requests served in it. A get-only run first sets every
 * item of its windows (`setsFirst`): the window starts after those sets.
 */
async function perCoreWindow(s: RunningServer, loaderPid: number, seconds: number, setsFirst: number): Promise<PerCoreWindow | undefined> {
  const t0 = performance.now();
  const endBy = t0 + seconds * 1000 - 500;
  const base = await readServerCounters(s.host, s.port);
  if (setsFirst > 0) {
    while (performance.now() < endBy - 1500) {
      const c = await readServerCounters(s.host, s.port);
      if (c.cmdSet - base.cmdSet >= setsFirst) break;
      await sleep(100);
    }
    await sleep(200);
  } else {
    await sleep(1000);
  }
  const read = async () => ({
    t: performance.now(), counters: await readServerCounters(s.host, s.port), server: cpuSeconds(s.pid), loader: cpuSeconds(loaderPid), busy: machineBusy(),
  });
  const a = await read();
  const length = endBy - a.t;
  if (length < 500) return undefined;
  await sleep(length);
  const b = await read();
  const secs = (b.t - a.t) / 1000;
  const counters = counterDelta(a.counters, b.counters);
  const ops = counters.cmdGet + counters.cmdSet;
  if (ops <= 0 || b.loader === 0) return undefined;
  const server = b.server - a.server;
  const loader = b.loader - a.loader;
  return {
    opsPerSec: Math.round(ops / secs), counters,
    serverCpuPercent: Math.round((server / secs) * 100), loaderCpuPercent: Math.round((loader / secs) * 100),
    otherPercent: Math.round((Math.max(0, b.busy - a.busy - server - loader) / secs) * 100),
    serverCpuUsPerOp: Math.round((server / ops) * 1e6 * 100) / 100,
  };
}

// ---------------------------------------------------------------- perf

/**
 * A node started with --perf-basic-prof (JS frames named) and --io native (the native
 * socket loop, or no start at all), memcaslap-ascii's load on the load core, and perf
 * recording the node's process for most of it.
 */
async function measurePerf(o: ScaleOptions, commands: Record<string, string>): Promise<PerfBreakdown> {
  const why = await perfUnavailable(o.workDir);
  if (why) return { ok: false, reason: why };
  const dataDir = fs.mkdtempSync(path.join(o.workDir, 'perf-'));
  const cache = await createBenchCache(dataDir, o.cacheMemory);
  const recordSeconds = Math.max(3, o.profile.memcaslapSeconds);
  let node: RunningServer | undefined;
  try {
    node = await startCachierNode({ dataDir, cacheId: cache.id, core: SERVER_CORE, nodeFlags: ['--perf-basic-prof'], extraArgs: ['--io', 'native'] });
    commands['perf cachier'] = node.command;
    const n = node;
    const load = runMemcaslap({
      server: `${n.host}:${n.port}`, seconds: recordSeconds + 2, concurrency: CONNECTIONS, binary: false, division: 1,
      getRatio: GET_RATIO, valueSize: VALUE_SIZE, keySize: MEMCASLAP_KEY_SIZE, workDir: o.workDir, verify: 1,
    });
    await sleep(1000); // past memcaslap's start and the node's first JIT tiers
    const profile = await profilePid(n.pid, recordSeconds, o.workDir);
    const r = await load;
    o.log(`perf: memcaslap-ascii on the profiled node ${r.opsPerSec} ops/s (LOAD core ${LOAD_CORE})` +
      `${r.failures.errors ? `, ERRORS ${r.failures.errors}` : ''}; ${profile.ok ? `${profile.samples ?? '?'} samples` : profile.reason}`);
    return profile;
  } catch (e) {
    return { ok: false, reason: `${(e as Error).message.split('\n')[0]}` };
  } finally {
    if (node) {
      await node.stop();
      // The JIT symbol map node wrote for perf: ours, and of no use once the process is gone.
      fs.rmSync(`/tmp/perf-${node.pid}.map`, { force: true });
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
