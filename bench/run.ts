/**
 * `npm run bench [-- --quick] [--profile] [--only a,b] [--rounds N] [--rate R] [--out FILE]`
 *
 * cachier against memcached, side by side, on loopback (issue 5). Starts memcached with
 * one worker thread and one cachier node (`cachier start --anonymous-cache`, its cache
 * big enough that nothing is evicted), both pinned to core 0; the load (memcaslap, or our
 * generator in bench/load/) runs pinned to core 1. Every workload runs against memcached
 * and then cachier, in rounds (the full run does two and reports the better result per
 * server, because other processes on a shared machine only ever make a run slower).
 * Then memory: each server started fresh, RSS before and after storing N items of 100 B.
 * Prints the table, the verdict on each target, and writes bench/results/latest.json.
 * Every process it starts is ended by pid; every step has a time limit.
 *
 * --quick      about a minute: short runs, one round, 200k items for memory
 * --profile    start the cachier node with --cpu-prof (into bench/results/profile) and
 *              print its top functions by self time; pair with --only memcaslap-ascii
 * --only LIST  comma-separated workload names and/or `memory`
 * --rounds N   rounds per workload (default 1 quick, 2 full)
 * --rate R     offered req/s for ascii-fixed-rate instead of half memcached's peak
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ClosedLoopSpec, LoadAuth, LoadResult, OpenLoopSpec } from './load/spec.ts';
import { runLoad } from './harness/load-process.ts';
import { sampleCpu, waitForQuiet, type CpuShare } from './harness/machine-sampler.ts';
import { runMemcaslap } from './harness/memcaslap.ts';
import { PINNED, requireTool } from './harness/processes.ts';
import { loadAverage, rssBytes } from './harness/proc-stats.ts';
import {
  cpuUsPerOp, formatMemoryTable, formatThroughputTable, formatVerdicts,
  type Measurement, type MemoryOutcome, type TargetVerdict, type WorkloadOutcome,
} from './harness/report.ts';
import {
  REPO_ROOT, createBenchCache, makeDataDir, sourceFingerprint, startCachier, startMemcached,
  type BenchCache, type RunningServer, type ServerName,
} from './harness/servers.ts';
import {
  CONNECTIONS, FULL, GET_RATIO, KEYS, MAX_AUTH_COST, MAX_MEMORY_RATIO, MEMCASLAP_KEY_SIZE, QUICK, VALUE_SIZE, WORKLOADS,
  type RunProfile, type Workload,
} from './harness/workloads.ts';
import { formatProfileSummary, newestProfile, summarizeProfile, type ProfileSummary, type SampleWindow } from './profile-summary.ts';

const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');
const PROFILE_DIR = path.join(RESULTS_DIR, 'profile');
/** Other processes may use this much of one core before a measurement starts (we wait up to quietWaitMs). */
const QUIET_PERCENT = 15;
const MEMORY_FILL_CONNECTIONS = 4;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    rate: { type: 'string' },
    out: { type: 'string' },
  },
  strict: true,
});

const base = flags.quick ? QUICK : FULL;
const profile: RunProfile = { ...base, rounds: flags.rounds ? Math.max(1, Number(flags.rounds)) : base.rounds };
const only = flags.only?.split(',').map((s) => s.trim()).filter(Boolean);
const known = new Set([...WORKLOADS.map((w) => w.name), 'memory']);
for (const name of only ?? []) if (!known.has(name)) fail(`--only: unknown "${name}" (one of ${[...known].join(', ')})`);
const selected = WORKLOADS.filter((w) => !only || only.includes(w.name));
const runMemory = !only || only.includes('memory');
const outFile = path.resolve(flags.out ?? path.join(RESULTS_DIR, 'latest.json'));

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** With --profile: when cachier was under load, per workload (process.hrtime µs, the profile's clock). */
const cachierWindows = new Map<string, SampleWindow[]>();
const hrtimeUs = () => Number(process.hrtime.bigint() / 1000n);

/** sourceFingerprint() of the cachier tree at each cachier start, and at the end. */
const sources: Record<string, string> = {};

/** What is left of the run's total allowance for waiting on a quiet machine. */
let quietBudgetMs = profile.quietBudgetMs;

// ---------------------------------------------------------------- throughput and latency

async function measure(
  w: Workload,
  server: RunningServer,
  round: number,
  cache: BenchCache,
  ignorePids: number[],
  peak: () => number | undefined,
): Promise<Measurement> {
  const waitStarted = performance.now();
  const otherCpuBefore = await waitForQuiet(Math.min(profile.quietWaitMs, quietBudgetMs), QUIET_PERCENT, ignorePids);
  quietBudgetMs = Math.max(0, quietBudgetMs - (performance.now() - waitStarted));
  let cpu: Promise<CpuShare | undefined> = Promise.resolve(undefined);
  const fromUs = hrtimeUs();
  const common = { round, server: server.name, ...(otherCpuBefore !== undefined ? { otherCpuBefore } : {}) };

  if (w.tool === 'memcaslap') {
    const seconds = profile.memcaslapSeconds;
    const started = runMemcaslap({
      server: `${server.host}:${server.port}`, seconds, concurrency: CONNECTIONS, binary: w.binary, division: w.division,
      getRatio: GET_RATIO, valueSize: VALUE_SIZE, keySize: MEMCASLAP_KEY_SIZE, workDir: workDir,
    }, (pid) => {
      cpu = sampleCpu(300, Math.max(500, seconds * 1000 - 800), server.pid, pid);
    });
    const r = await started;
    return {
      ...common, opsPerSec: r.opsPerSec, p50Us: r.latency.p50Us, p99Us: r.latency.p99Us, errors: 0, misses: r.getMisses,
      cpu: await cpu, window: { fromUs, toUs: hrtimeUs() }, command: r.command, raw: r,
    };
  }

  const auth: LoadAuth | undefined =
    w.tool === 'load-closed' && w.auth !== 'none' ? { kind: w.auth, username: cache.username, password: cache.password } : undefined;
  const mix = {
    host: server.host, port: server.port, protocol: w.protocol, connections: CONNECTIONS, getRatio: GET_RATIO,
    valueSize: VALUE_SIZE, keys: KEYS, ...(auth ? { auth } : {}),
  };
  let spec: ClosedLoopSpec | OpenLoopSpec;
  if (w.tool === 'load-closed') {
    spec = { ...mix, mode: 'closed', depth: w.depth, warmupSeconds: profile.warmupSeconds, seconds: profile.seconds };
  } else {
    const explicit = flags.rate ? Number(flags.rate) : undefined;
    const rate = explicit ?? Math.round((peak() ?? 0) * w.fractionOfPeak);
    if (!(rate > 0)) throw new Error(`${w.name}: no memcached peak measured and no --rate given`);
    spec = { ...mix, mode: 'open', rate, warmupSeconds: profile.openWarmupSeconds, seconds: profile.openSeconds };
  }
  const startupMs = 900; // node + tsx start and connect before the warm-up begins
  const r: LoadResult = await runLoad(spec, (pid) => {
    cpu = sampleCpu(startupMs + spec.warmupSeconds * 1000, Math.max(500, spec.seconds * 1000 - 600), server.pid, pid);
  });
  return {
    ...common, opsPerSec: r.opsPerSec, p50Us: r.latency.p50Us, p99Us: r.latency.p99Us, errors: r.errors, misses: r.misses,
    ...(r.offeredRate !== undefined ? { offeredRate: r.offeredRate, unanswered: r.unanswered, sendLagP99Us: r.sendLag?.p99Us } : {}),
    cpu: await cpu,
    window: { fromUs, toUs: hrtimeUs() },
    command: `node --import tsx bench/load/main.ts '${JSON.stringify({ ...spec, ...(auth ? { auth: { ...auth, password: '…' } } : {}) })}'`,
    raw: r,
  };
}

function pickBest(w: Workload, ms: readonly Measurement[]): Partial<Record<ServerName, Measurement>> {
  const best: Partial<Record<ServerName, Measurement>> = {};
  for (const m of ms) {
    const cur = best[m.server];
    const better = w.tool === 'load-open' ? !cur || m.p99Us < cur.p99Us : !cur || m.opsPerSec > cur.opsPerSec;
    if (better) best[m.server] = m;
  }
  return best;
}

async function runThroughput(cache: BenchCache, dataDir: string): Promise<{ outcomes: WorkloadOutcome[]; commands: Record<string, string> }> {
  const memcached = await startMemcached();
  const cachier = await startCachier({ dataDir, cacheId: cache.id, ...(flags.profile ? { profileDir: PROFILE_DIR } : {}) });
  const servers: Record<ServerName, RunningServer> = { memcached, cachier };
  sources.throughput = cachier.source!;
  log(`memcached pid ${memcached.pid} on :${memcached.port}; cachier pid ${cachier.pid} on :${cachier.port} (sources ${cachier.source})`);
  try {
    for (const s of [memcached, cachier]) {
      const f = await runLoad({ mode: 'fill', host: s.host, port: s.port, connections: 1, items: KEYS, valueSize: VALUE_SIZE });
      if (f.currItems !== undefined && f.currItems < KEYS) throw new Error(`${s.name}: preload stored ${f.currItems} of ${KEYS} keys`);
    }
    const outcomes = new Map<string, WorkloadOutcome>();
    for (const w of selected) outcomes.set(w.name, { name: w.name, description: w.description, measurements: [], best: {} });
    const memcachedPeak = () => {
      const candidates = selected.filter((w) => w.tool === 'memcaslap' ? w.division === 1 && !w.binary : w.tool === 'load-closed' && w.peakCandidate);
      const rates = candidates.flatMap((w) => outcomes.get(w.name)!.measurements.filter((m) => m.server === 'memcached').map((m) => m.opsPerSec));
      return rates.length ? Math.max(...rates) : undefined;
    };
    const ignore = [memcached.pid, cachier.pid, process.pid];

    const runOnServers = async (w: Workload, round: number, peak: () => number | undefined) => {
      for (const name of w.servers) {
        const measured = await measure(w, servers[name], round, cache, ignore, peak);
        const perOp = cpuUsPerOp(measured);
        const m: Measurement = perOp === undefined ? measured : { ...measured, serverCpuUsPerOp: Math.round(perOp * 10) / 10 };
        if (name === 'cachier') cachierWindows.set(w.name, [...(cachierWindows.get(w.name) ?? []), m.window]);
        outcomes.get(w.name)!.measurements.push(m);
        const cpu = m.cpu
          ? ` cpu server ${m.cpu.serverPercent}% (sys ${m.cpu.serverSystemPercent}%), load ${m.cpu.loadPercent}%, other ${m.cpu.otherPercent}%`
          : '';
        const offered = m.offeredRate !== undefined
          ? ` (offered ${m.offeredRate}/s, unanswered ${m.unanswered}, client send lag p99 ${m.sendLagP99Us} µs)`
          : '';
        log(`round ${round} ${w.name} ${name}: ${m.opsPerSec} ops/s${offered} p50 ${m.p50Us} µs p99 ${m.p99Us} µs${cpu}` +
          `${m.serverCpuUsPerOp !== undefined ? `, ${m.serverCpuUsPerOp} µs cpu/op` : ''}` +
          `${m.errors ? ` ERRORS ${m.errors}` : ''}${(m.otherCpuBefore ?? 0) >= QUIET_PERCENT ? ` (machine busy: ${m.otherCpuBefore}% before)` : ''}`);
      }
    };

    // Closed-loop workloads first, all rounds; then the fixed-rate ones, every round at the
    // same offered rate: half of memcached's best closed-loop result.
    const closedLoop = selected.filter((w) => w.tool !== 'load-open');
    const openLoop = selected.filter((w) => w.tool === 'load-open');
    for (let round = 1; round <= profile.rounds; round++) {
      for (const w of closedLoop) await runOnServers(w, round, memcachedPeak);
    }
    if (openLoop.length) {
      if (!flags.rate && memcachedPeak() === undefined) {
        const calib = WORKLOADS.find((x) => x.name === 'ascii')!;
        log(`no memcached peak in this selection: measuring "${calib.name}" on memcached first`);
        outcomes.set(calib.name, { name: calib.name, description: calib.description, measurements: [], best: {} });
        await runOnServers({ ...calib, servers: ['memcached'] }, 1, memcachedPeak);
      }
      const peak = memcachedPeak();
      for (let round = 1; round <= profile.rounds; round++) {
        for (const w of openLoop) await runOnServers(w, round, () => peak);
      }
    }
    for (const o of outcomes.values()) {
      const w = WORKLOADS.find((x) => x.name === o.name)!;
      o.best = pickBest(w, o.measurements);
      const m = o.best.memcached;
      const c = o.best.cachier;
      if (m && c) o.ratio = w.tool === 'load-open' ? c.p99Us / m.p99Us : c.opsPerSec / m.opsPerSec;
    }
    const order = WORKLOADS.map((w) => w.name);
    return {
      outcomes: [...outcomes.values()].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name)),
      commands: { memcached: memcached.command, cachier: cachier.command },
    };
  } catch (e) {
    for (const s of [memcached, cachier]) {
      const tail = s.output().slice(-3000).trim();
      if (tail) log(`${s.name} output (tail):\n${tail}`);
    }
    throw e;
  } finally {
    // cachier first and gracefully: --cpu-prof writes its profile on exit.
    await cachier.stop();
    await memcached.stop();
  }
}

// ---------------------------------------------------------------- memory

async function runMemoryPhase(dataDir: string, cacheId: number): Promise<MemoryOutcome[]> {
  const out: MemoryOutcome[] = [];
  for (const name of ['memcached', 'cachier'] as const) {
    const s = name === 'memcached' ? await startMemcached() : await startCachier({ dataDir, cacheId });
    if (s.source) sources.memory = s.source;
    try {
      await sleep(1000);
      const before = rssBytes(s.pid);
      const f = await runLoad({
        mode: 'fill', host: s.host, port: s.port, connections: MEMORY_FILL_CONNECTIONS, items: profile.memoryItems, valueSize: VALUE_SIZE,
      });
      await sleep(1000);
      const after = rssBytes(s.pid);
      const m: MemoryOutcome = {
        server: name, items: profile.memoryItems, rssBeforeBytes: before, rssAfterBytes: after,
        bytesPerItem: (after - before) / profile.memoryItems, currItems: f.currItems, evictions: f.evictions, fillSeconds: f.seconds,
      };
      log(`memory ${name}: ${m.bytesPerItem.toFixed(1)} B/item (RSS ${before} → ${after}), curr_items ${f.currItems}, evictions ${f.evictions}, ${f.itemsPerSec} sets/s`);
      out.push(m);
    } finally {
      await s.stop();
    }
  }
  return out;
}

// ---------------------------------------------------------------- verdicts

/** Other processes used at least this much of a core during a measurement: its verdict is marked disturbed. */
const DISTURBED_PERCENT = 50;
/** The open-loop generator sent this late (p99): it, not the server, limited the result. */
const CLIENT_LAG_LIMIT_US = 1000;

/** Why these measurements cannot be trusted, if they cannot. */
function disturbance(...ms: (Measurement | undefined)[]): string | undefined {
  const why: string[] = [];
  const other = Math.max(...ms.map((m) => m?.cpu?.otherPercent ?? 0));
  if (other >= DISTURBED_PERCENT) why.push(`other processes used ${other}% of a core`);
  const lag = Math.max(...ms.map((m) => m?.sendLagP99Us ?? 0));
  if (lag >= CLIENT_LAG_LIMIT_US) why.push(`load generator sent up to ${Math.round(lag)} µs late (p99)`);
  return why.length ? `[DISTURBED: ${why.join('; ')}]` : undefined;
}

function verdicts(outcomes: readonly WorkloadOutcome[], memory: readonly MemoryOutcome[]): TargetVerdict[] {
  const v: TargetVerdict[] = [];
  const get = (name: string) => outcomes.find((o) => o.name === name);
  const notes = (...parts: (string | undefined)[]) => {
    const text = parts.filter(Boolean).join(' ');
    return text ? { note: text } : {};
  };
  for (const w of WORKLOADS) {
    const o = get(w.name);
    if (!o || o.ratio === undefined) continue;
    const { memcached: m, cachier: c } = o.best;
    if (w.tool !== 'load-open' && w.minThroughputRatio !== undefined) {
      v.push({
        target: `${w.name}: throughput cachier/memcached`, value: o.ratio, limit: `>= ${w.minThroughputRatio}`, pass: o.ratio >= w.minThroughputRatio,
        ...notes(
          m?.serverCpuUsPerOp && c?.serverCpuUsPerOp ? `(server cpu/op memcached/cachier ${(m.serverCpuUsPerOp / c.serverCpuUsPerOp).toFixed(2)})` : undefined,
          disturbance(m, c),
        ),
      });
    }
    if (w.tool === 'load-open') {
      v.push({
        target: `${w.name}: p99 cachier/memcached`, value: o.ratio, limit: `<= ${w.maxP99Ratio}`, pass: o.ratio <= w.maxP99Ratio,
        ...notes(`(offered ${m?.offeredRate} req/s)`, disturbance(m, c)),
      });
    }
  }
  for (const w of WORKLOADS) {
    if (w.tool !== 'load-closed' || !w.authCostAgainst) continue;
    const authed = get(w.name)?.best.cachier;
    const plain = get(w.authCostAgainst)?.best.cachier;
    if (!authed || !plain) continue;
    const cost = 1 - authed.opsPerSec / plain.opsPerSec;
    const cpuCost = authed.serverCpuUsPerOp && plain.serverCpuUsPerOp ? authed.serverCpuUsPerOp / plain.serverCpuUsPerOp - 1 : undefined;
    v.push({
      target: `${w.name}: throughput cost vs ${w.authCostAgainst} (cachier)`, value: cost, limit: `< ${MAX_AUTH_COST}`, pass: cost < MAX_AUTH_COST,
      ...notes(
        cpuCost !== undefined ? `(server cpu/op ${cpuCost >= 0 ? '+' : ''}${(cpuCost * 100).toFixed(1)}%)` : undefined,
        disturbance(authed, plain),
      ),
    });
  }
  const mm = memory.find((m) => m.server === 'memcached');
  const mc = memory.find((m) => m.server === 'cachier');
  if (mm && mc) {
    const ratio = mc.bytesPerItem / mm.bytesPerItem;
    // The target is set at 1,000,000 items: with fewer, the node's fixed growth (V8's heap
    // settling, tables sized in powers of two) weighs more per item.
    const few = profile.memoryItems < FULL.memoryItems
      ? `[${profile.memoryItems.toLocaleString('en-US')} items: fixed costs weigh more; judge on the full run's ${FULL.memoryItems.toLocaleString('en-US')}]`
      : undefined;
    v.push({
      target: 'memory per item cachier/memcached', value: ratio, limit: `<= ${MAX_MEMORY_RATIO}`, pass: ratio <= MAX_MEMORY_RATIO,
      ...(few ? { note: few } : {}),
    });
  }
  return v;
}

// ---------------------------------------------------------------- main

requireTool('memcached', 'apt-get install memcached');
if (selected.some((w) => w.tool === 'memcaslap')) requireTool('memcaslap', 'apt-get install libmemcached-tools');
if (os.platform() !== 'linux') fail('needs Linux (/proc for RSS and CPU)');

const workDir = makeDataDir();
const startedAt = new Date();
const version = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 5000 }).trim().split('\n')[0];
  } catch {
    return undefined;
  }
};

try {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  if (flags.profile) {
    fs.rmSync(PROFILE_DIR, { recursive: true, force: true });
    fs.mkdirSync(PROFILE_DIR, { recursive: true });
  }
  log(`${profile.name} run: ${selected.length} workloads × ${profile.rounds} round(s)${runMemory ? `, memory with ${profile.memoryItems} items` : ''}; ` +
    `${PINNED ? 'servers on core 0, load on core 1' : 'NOT pinned (no taskset or one core)'}; load average ${loadAverage()}`);
  const cache = await createBenchCache(workDir, '2gb');
  const { outcomes, commands } = selected.length ? await runThroughput(cache, workDir) : { outcomes: [], commands: {} };
  const memory = runMemory ? await runMemoryPhase(workDir, cache.id) : [];
  const verdictList = verdicts(outcomes, memory);

  let profileSummary: ProfileSummary | undefined;
  if (flags.profile) {
    const file = newestProfile(PROFILE_DIR);
    // The brief: profile under the single-get memcaslap load; else every cachier workload.
    const windows = cachierWindows.get('memcaslap-ascii') ?? [...cachierWindows.values()].flat();
    if (file) profileSummary = summarizeProfile(file, 25, windows.length ? windows : undefined);
    else log(`no .cpuprofile written to ${PROFILE_DIR}`);
  }

  sources.end = sourceFingerprint();
  const sourceChanged = new Set(Object.values(sources)).size > 1;
  const fixed = outcomes.find((o) => o.name === 'ascii-fixed-rate');
  const lines = [
    '',
    `cachier vs memcached — ${profile.name} run, ${startedAt.toISOString()}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ` +
      `${PINNED ? 'servers pinned to core 0, load to core 1' : 'not pinned'}`,
    `${version('memcached', ['-V'])}; node ${process.version}; best of ${profile.rounds} round(s) per server; ` +
      `latency of memcaslap rows from its log2 histogram (coarse)`,
    '',
    formatThroughputTable(outcomes),
    '',
    'ratio: cachier/memcached ops/s, except ascii-fixed-rate: cachier/memcached p99.',
    'cpu µs/op: server CPU time per op (user + system, sampled over the run); other cpu %: the rest of the machine',
    'during the memcached/cachier run, in % of one core — high values mean the numbers above are disturbed.',
    ...(fixed?.best.memcached?.offeredRate ? [`ascii-fixed-rate offered ${fixed.best.memcached.offeredRate} req/s (half of memcached's best closed-loop ASCII get/set ops/s in this run)`] : []),
    ...(sourceChanged ? [`WARNING: cachier's sources changed during the run (${JSON.stringify(sources)}): phases measured different code.`] : []),
    ...(memory.length ? ['', formatMemoryTable(memory)] : []),
    ...(verdictList.length ? ['', formatVerdicts(verdictList)] : []),
    ...(profileSummary ? ['', formatProfileSummary(profileSummary)] : []),
    '',
  ];
  console.log(lines.join('\n'));

  const result = {
    version: 1,
    run: profile,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      pinned: PINNED,
      loadAverageAtEnd: loadAverage(),
      node: process.version,
      memcached: version('memcached', ['-V']),
    },
    cachierSources: sources,
    commands: {
      bench: `npm run bench --${flags.quick ? ' --quick' : ''}${flags.profile ? ' --profile' : ''}${only ? ` --only ${only.join(',')}` : ''}`,
      ...commands,
    },
    workloads: outcomes,
    memory,
    targets: verdictList,
    ...(profileSummary ? { profile: profileSummary } : {}),
  };
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
  // Keep every run too: on a shared machine one run is rarely the whole story.
  const stamped = path.join(RESULTS_DIR, 'runs', `${startedAt.toISOString().replace(/[:.]/g, '-')}-${profile.name}.json`);
  fs.mkdirSync(path.dirname(stamped), { recursive: true });
  fs.writeFileSync(stamped, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), outFile)} and ${path.relative(process.cwd(), stamped)}`);
} finally {
  fs.rmSync(workDir, { recursive: true, force: true });
}
