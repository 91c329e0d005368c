/**
 * `npm run bench [-- --quick] [--profile] [--only a,b] [--rounds N] [--rate R] [--out FILE] [--publish]`
 *
 * cachier against memcached, side by side, on loopback. Starts memcached with
 * one worker thread and one cachier node (`cachier start --anonymous-cache`, its cache
 * big enough that nothing is evicted), both pinned to core 0; the load (memcaslap, or our
 * generator in bench/load/) runs pinned to core 1. Every workload runs against memcached
 * and cachier in rounds, paired: memcached first in odd rounds, cachier first in even ones,
 * so neither always gets the fresher machine (the full run does two; the table shows each
 * round's ratio and the best result per server, because other processes on a shared
 * machine only ever make a run slower).
 * The introspection rows (issue 14) have as their baseline a second cachier node started
 * with --no-introspection, on the same core, and load both nodes at once (each with its
 * own memcaslap on the load core), a fresh pair of nodes every round, nine rounds, judged
 * by the median round's ratio: run one after the other, the machine's noise (±20 % a round
 * here) hid a few-percent cost, and one pair for every round judged one draw of what two
 * processes of the same code differ by.
 * Then memory: each server started fresh, RSS before and after storing N items of 100 B.
 * Then introspection-memory: 1,000 caches made in the catalog, a cachier node's RSS before
 * and after a login and a little traffic to each, introspection on and then off.
 * Every row is also judged on correctness (bench/harness/verdicts.ts): errors, misses
 * beyond what its workload can produce, values that differ, items lost. Prints the table
 * and the verdicts, writes bench/results/latest.json, and exits 1 when any verdict is FAIL.
 * Every process it starts is ended by pid; every step has a time limit.
 *
 * --quick      about a minute: short runs, one round, 200k items for memory
 * --profile    start the cachier node with --cpu-prof (into bench/results/profile) and
 *              print its top functions by self time; pair with --only memcaslap-ascii
 * --only LIST  comma-separated workload names and/or `memory`, `introspection-memory`
 * --rounds N   rounds per workload (default 1 quick, 2 full)
 * --rate R     offered req/s for ascii-fixed-rate instead of half memcached's peak
 * --publish    also copy the results and the printed table to bench/results/published/
 *              (committed: the run the README quotes; scratch results stay ignored)
 * --cache-memory SIZE  the bench cache's plan on cachier (default 2gb). A self-check:
 *              `--quick --only memcaslap-ascii,memory --cache-memory 2mb` must FAIL.
 * --scale      instead of the above, issue 16's scaling curve (bench/harness/scale.ts): K
 *              cachier node processes on K pinned cores vs `memcached -t K` on the same cores,
 *              K = 1, 2, 4, … as the cores allow (the rest say "not enough cores"), then
 *              per-core CPU per get and per set, and a perf profile of a node. Writes
 *              bench/results/scale-latest.json and .txt (--out FILE for the JSON); with
 *              --quick, short points; --rounds, --cache-memory and --publish as above.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ClosedLoopSpec, LoadAuth, LoadResult, OpenLoopSpec } from './load/spec.ts';
import { runLoad } from './harness/load-process.ts';
import { sampleCpu, waitForQuiet, type CpuShare } from './harness/machine-sampler.ts';
import { runMemcaslap, type MemcaslapOptions } from './harness/memcaslap.ts';
import { PINNED, requireTool } from './harness/processes.ts';
import { loadAverage, rssBytes } from './harness/proc-stats.ts';
import { createCaches, driveCaches } from './harness/introspection-memory.ts';
import {
  cpuUsPerOp, formatIntrospectionMemoryTable, formatMemoryTable, formatPerCoreTable, formatPerf, formatScaleTable, formatThroughputTable,
  formatVerdicts,
  type IntrospectionMemoryOutcome, type IntrospectionMemoryRun, type Measurement, type MemoryOutcome, type WorkloadOutcome,
} from './harness/report.ts';
import { counterDelta, readServerCounters } from './harness/server-stats.ts';
import { exitCode, judge, judgeScale, summarize } from './harness/verdicts.ts';
import { runScale } from './harness/scale.ts';
import {
  REPO_ROOT, createBenchCache, makeDataDir, sourceFingerprint, startCachier, startMemcached,
  type BenchCache, type RunningServer, type ServerName,
} from './harness/servers.ts';
import {
  CONNECTIONS, FULL, GET_RATIO, INTROSPECTION_CACHES, INTROSPECTION_GETS_PER_CACHE, INTROSPECTION_KEYS_PER_CACHE,
  CONCURRENT_ROUNDS, INTROSPECTION_MEMORY_CAP, INTROSPECTION_SETS_PER_CACHE, KEYS, LOADER_SATURATED_PERCENT, MEMCASLAP_KEY_SIZE, MIN_INTROSPECTION_RATIO, QUICK,
  SERVER_LABEL, VALUE_SIZE, WORKLOADS, type MemcaslapWorkload, type RunProfile, type Workload,
} from './harness/workloads.ts';
import { formatProfileSummary, newestProfile, summarizeProfile, type ProfileSummary, type SampleWindow } from './profile-summary.ts';

const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');
const PUBLISHED_DIR = path.join(RESULTS_DIR, 'published');
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
    publish: { type: 'boolean', default: false },
    'cache-memory': { type: 'string', default: '2gb' },
    scale: { type: 'boolean', default: false },
  },
  strict: true,
});

const base = flags.quick ? QUICK : FULL;
const profile: RunProfile = { ...base, rounds: flags.rounds ? Math.max(1, Number(flags.rounds)) : base.rounds };
const only = flags.only?.split(',').map((s) => s.trim()).filter(Boolean);
const known = new Set([...WORKLOADS.map((w) => w.name), 'memory', 'introspection-memory']);
for (const name of only ?? []) if (!known.has(name)) fail(`--only: unknown "${name}" (one of ${[...known].join(', ')})`);
const selected = WORKLOADS.filter((w) => !only || only.includes(w.name));
const runMemory = !only || only.includes('memory');
const runIntrospectionMemory = !only || only.includes('introspection-memory');
const outFile = path.resolve(flags.out ?? path.join(RESULTS_DIR, flags.scale ? 'scale-latest.json' : 'latest.json'));
if (flags.scale && (flags.only || flags.profile || flags.rate)) fail('--scale runs its own phases: no --only, --profile or --rate with it');

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
  /** Already waited for (a concurrent pair waits once, before either starts). */
  quiet?: { readonly otherCpuBefore: number | undefined },
): Promise<Measurement> {
  const otherCpuBefore = quiet ? quiet.otherCpuBefore : await waitQuiet(ignorePids);
  let cpu: Promise<CpuShare | undefined> = Promise.resolve(undefined);
  const fromUs = hrtimeUs();
  const common = { round, server: server.name, ...(otherCpuBefore !== undefined ? { otherCpuBefore } : {}) };
  // The server's own get_misses and evictions over the measurement (see server-stats.ts).
  const countersBefore = await readServerCounters(server.host, server.port);
  const serverDelta = async () => ({ counters: counterDelta(countersBefore, await readServerCounters(server.host, server.port)) });

  if (w.tool === 'memcaslap') {
    const seconds = profile.memcaslapSeconds;
    const started = runMemcaslap({ ...memcaslapLoad(w, server, seconds), ...(w.verify ? { verify: w.verify } : {}) }, (pid) => {
      cpu = sampleCpu(300, Math.max(500, seconds * 1000 - 800), server.pid, pid);
    });
    const r = await started;
    const f = r.failures;
    return {
      ...common, opsPerSec: r.opsPerSec, p50Us: r.latency.p50Us, p99Us: r.latency.p99Us,
      errors: f.errors, misses: f.getMisses, gets: f.gets, errorSamples: f.errorSamples,
      ...(f.verifyFailed !== undefined ? { verifyFailed: f.verifyFailed, verifyMisses: f.verifyMisses } : {}),
      ...(await serverDelta()),
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
    ...common, opsPerSec: r.opsPerSec, p50Us: r.latency.p50Us, p99Us: r.latency.p99Us,
    errors: r.errors, misses: r.misses, gets: r.gets, errorSamples: r.errorSamples,
    ...(r.offeredRate !== undefined ? { offeredRate: r.offeredRate, unanswered: r.unanswered, sendLagP99Us: r.sendLag?.p99Us } : {}),
    ...(await serverDelta()),
    cpu: await cpu,
    window: { fromUs, toUs: hrtimeUs() },
    command: `node --import tsx bench/load/main.ts '${JSON.stringify({ ...spec, ...(auth ? { auth: { ...auth, password: '…' } } : {}) })}'`,
    raw: r,
  };
}

/** Waits for the rest of the machine to calm down, within the run's allowance; the last reading. */
async function waitQuiet(ignorePids: number[]): Promise<number | undefined> {
  const waitStarted = performance.now();
  const otherCpuBefore = await waitForQuiet(Math.min(profile.quietWaitMs, quietBudgetMs), QUIET_PERCENT, ignorePids);
  quietBudgetMs = Math.max(0, quietBudgetMs - (performance.now() - waitStarted));
  return otherCpuBefore;
}

/**
 * A concurrent row's measurements of one round: each saw the other pair's server and load
 * as "other processes"; what is left after taking them out is the rest of the machine.
 */
function withoutPartner(ms: Measurement[]): Measurement[] {
  return ms.map((m, i) => {
    const partner = ms[1 - i]?.cpu;
    if (!m.cpu || !partner) return m;
    return { ...m, cpu: { ...m.cpu, otherPercent: Math.max(0, m.cpu.otherPercent - partner.serverPercent - partner.loadPercent) } };
  });
}

async function runThroughput(cache: BenchCache, dataDir: string): Promise<{ outcomes: WorkloadOutcome[]; commands: Record<string, string> }> {
  // Each long-lived server only when a selected row runs on it: the introspection rows
  // need neither (runPair starts their nodes, fresh every round).
  const memcached = needsServer('memcached') ? await startMemcached() : undefined;
  // The introspection rows' nodes (fresh every round, see runPair): each its own copy of
  // the catalog (the same cache, id and credential), as one `cachier start` locks its data
  // dir, and neither node's plan is split with the other; a new copy every round from one
  // made before any server ran, as a stopped node stays registered and would split the
  // plan of the next one started there.
  const pairDirs = selected.some(isPairRow) ? pairDirsOf(dataDir) : undefined;
  if (pairDirs) fs.cpSync(dataDir, pairDirs.base, { recursive: true });
  const cachier = needsServer('cachier')
    ? await startCachier({ dataDir, cacheId: cache.id, ...(flags.profile ? { profileDir: PROFILE_DIR } : {}) })
    : undefined;
  const running = [memcached, cachier].filter((s) => s !== undefined);
  const pairCommands: Record<string, string> = {};
  const servers: Partial<Record<ServerName, RunningServer>> = Object.fromEntries(running.map((s) => [s.name, s]));
  if (cachier) sources.throughput = cachier.source!;
  if (flags.profile && cachier && cachier.pid !== cachier.startedPid) {
    log(`--profile: cachier serves from node process ${cachier.pid}, a child of the started ${cachier.startedPid}; ` +
      '--cpu-prof reaches only the started one, so the profile below is not the node\'s');
  }
  if (running.length) log(running.map((s) => `${SERVER_LABEL[s.name]} pid ${s.pid} on :${s.port}`).join('; ') + (cachier ? ` (cachier sources ${cachier.source})` : ''));
  try {
    for (const s of running) await fill(s);
    const outcomes = new Map<string, WorkloadOutcome>();
    for (const w of selected) outcomes.set(w.name, { name: w.name, description: w.description, baseline: w.baseline, measurements: [], best: {} });
    const memcachedPeak = () => {
      const candidates = selected.filter((w) => w.tool === 'memcaslap' ? w.division === 1 && !w.binary : w.tool === 'load-closed' && w.peakCandidate);
      const rates = candidates.flatMap((w) => outcomes.get(w.name)!.measurements.filter((m) => m.server === 'memcached').map((m) => m.opsPerSec));
      return rates.length ? Math.max(...rates) : undefined;
    };
    const ignore = [...running.map((s) => s.pid), process.pid];

    // Paired rounds: the baseline first in odd rounds, cachier first in even ones.
    const runOnServers = async (w: Workload, round: number, peak: () => number | undefined) => {
      const order = round % 2 === 1 ? w.servers : [...w.servers].reverse();
      const serverOf = (name: ServerName) => {
        const server = servers[name];
        if (!server) throw new Error(`${w.name}: ${name} was not started`);
        return server;
      };
      if (isPairRow(w)) {
        await runPair(w, round, order, peak);
        return;
      }
      for (const name of order) keep(w, name, await measure(w, serverOf(name), round, cache, ignore, peak));
    };
    /**
     * An introspection row's round: a fresh pair of nodes, started (in the round's order)
     * and filled as the long-lived ones were, loaded at once, then stopped. Two processes
     * of the same code differ by a percent or two for as long as they live (an A/A run,
     * both nodes with introspection on, read 0.99 to 1.02 from one pair of processes to
     * the next, every round of one pair alike); a pair per round makes the median of the
     * rounds average that out instead of judging one draw of it.
     */
    const runPair = async (w: MemcaslapWorkload, round: number, order: readonly ServerName[], peak: () => number | undefined) => {
      const started: RunningServer[] = [];
      try {
        for (const name of order) {
          const off = name === 'cachier-no-introspection';
          const dir = off ? pairDirs!.off : pairDirs!.on;
          fs.rmSync(dir, { recursive: true, force: true });
          fs.cpSync(pairDirs!.base, dir, { recursive: true });
          const s = await startCachier({ dataDir: dir, cacheId: cache.id, ...(off ? { introspection: false } : {}) });
          started.push(s);
          pairCommands[`${name} (introspection rows)`] = s.command;
          sources[`${w.name} round ${round} ${name}`] = s.source!;
        }
        log(`round ${round} ${w.name}: fresh ${started.map((s) => `${SERVER_LABEL[s.name]} pid ${s.pid} on :${s.port}`).join(', ')}`);
        for (const s of started) await fill(s);
        // Unmeasured: the fresh processes compile their request path (and each start's
        // spare node process loads) before the round's clock starts.
        await Promise.all(started.map((s) => runMemcaslap(memcaslapLoad(w, s, PAIR_WARMUP_SECONDS))));
        const pairIgnore = [...ignore, ...started.flatMap((s) => [s.pid, s.startedPid])];
        const quiet = { otherCpuBefore: await waitQuiet(pairIgnore) };
        const pair = await Promise.all(started.map((s) => measure(w, s, round, cache, pairIgnore, peak, quiet)));
        withoutPartner(pair).forEach((m, i) => keep(w, order[i]!, m));
      } catch (e) {
        logOutputTails(started);
        throw e;
      } finally {
        for (const s of started) await s.stop();
      }
    };
    const keep = (w: Workload, name: ServerName, measured: Measurement) => {
      const round = measured.round;
      {
        const perOp = cpuUsPerOp(measured);
        const m: Measurement = perOp === undefined ? measured : { ...measured, serverCpuUsPerOp: Math.round(perOp * 10) / 10 };
        // --profile profiles the long-lived node only: the introspection rows' nodes are others.
        if (name === 'cachier' && !isPairRow(w)) cachierWindows.set(w.name, [...(cachierWindows.get(w.name) ?? []), m.window]);
        outcomes.get(w.name)!.measurements.push(m);
        const cpu = m.cpu
          ? ` cpu server ${m.cpu.serverPercent}% (sys ${m.cpu.serverSystemPercent}%), load ${m.cpu.loadPercent}%, other ${m.cpu.otherPercent}%`
          : '';
        const offered = m.offeredRate !== undefined
          ? ` (offered ${m.offeredRate}/s, unanswered ${m.unanswered}, client send lag p99 ${m.sendLagP99Us} µs)`
          : '';
        log(`round ${round} ${w.name} ${SERVER_LABEL[name]}: ${m.opsPerSec} ops/s${offered} p50 ${m.p50Us} µs p99 ${m.p99Us} µs${cpu}` +
          `${m.serverCpuUsPerOp !== undefined ? `, ${m.serverCpuUsPerOp} µs cpu/op` : ''}` +
          `${badNote(m)}${(m.otherCpuBefore ?? 0) >= QUIET_PERCENT ? ` (machine busy: ${m.otherCpuBefore}% before)` : ''}`);
      }
    };

    // Closed-loop workloads first, all rounds; then the fixed-rate ones, every round at the
    // same offered rate: half of memcached's best closed-loop result.
    const closedLoop = selected.filter((w) => w.tool !== 'load-open');
    const openLoop = selected.filter((w) => w.tool === 'load-open');
    const roundsOf = (w: Workload) =>
      w.tool === 'memcaslap' && w.concurrent && profile.name === 'full' ? Math.max(profile.rounds, CONCURRENT_ROUNDS) : profile.rounds;
    const allRounds = Math.max(...closedLoop.map(roundsOf), 0);
    for (let round = 1; round <= allRounds; round++) {
      for (const w of closedLoop) if (round <= roundsOf(w)) await runOnServers(w, round, memcachedPeak);
    }
    if (openLoop.length) {
      if (!flags.rate && memcachedPeak() === undefined) {
        const calib = WORKLOADS.find((x) => x.name === 'ascii')!;
        log(`no memcached peak in this selection: measuring "${calib.name}" on memcached first`);
        outcomes.set(calib.name, { name: calib.name, description: calib.description, baseline: calib.baseline, measurements: [], best: {} });
        await runOnServers({ ...calib, servers: ['memcached'] }, 1, memcachedPeak);
      }
      const peak = memcachedPeak();
      for (let round = 1; round <= profile.rounds; round++) {
        for (const w of openLoop) await runOnServers(w, round, () => peak);
      }
    }
    for (const o of outcomes.values()) Object.assign(o, summarize(WORKLOADS.find((x) => x.name === o.name)!, o.measurements));
    const order = WORKLOADS.map((w) => w.name);
    return {
      outcomes: [...outcomes.values()].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name)),
      commands: { ...Object.fromEntries(running.map((s) => [s.name, s.command])), ...pairCommands },
    };
  } catch (e) {
    logOutputTails(running);
    throw e;
  } finally {
    // cachier first and gracefully: --cpu-prof writes its profile on exit.
    await cachier?.stop();
    await memcached?.stop();
  }
}

/** What the servers printed last, for a run that failed. */
function logOutputTails(servers: readonly RunningServer[]): void {
  for (const s of servers) {
    const tail = s.output().slice(-3000).trim();
    if (tail) log(`${s.name} output (tail):\n${tail}`);
  }
}

/** A memcaslap row's load against `server` for `seconds` (its --verify left to the caller). */
function memcaslapLoad(w: MemcaslapWorkload, server: RunningServer, seconds: number): MemcaslapOptions {
  return {
    server: `${server.host}:${server.port}`, seconds, concurrency: CONNECTIONS, binary: w.binary, division: w.division,
    getRatio: GET_RATIO, valueSize: VALUE_SIZE, keySize: MEMCASLAP_KEY_SIZE, workDir,
  };
}

/** Seconds of unmeasured load on a fresh pair before its round (runPair). */
const PAIR_WARMUP_SECONDS = 2;

/** The introspection rows' data dirs: `base`, copied before any server runs, and a copy of it per node and round. */
function pairDirsOf(dataDir: string): { base: string; on: string; off: string } {
  return { base: `${dataDir}-pair-base`, on: `${dataDir}-introspection-on`, off: `${dataDir}-no-introspection` };
}

/** An introspection row: both nodes loaded at once, a fresh pair every round (runPair). */
function isPairRow(w: Workload): w is MemcaslapWorkload {
  return w.tool === 'memcaslap' && w.concurrent === true;
}

/** Stores the KEYS items every row's gets count on: anything short of all of them voids the run. */
async function fill(s: RunningServer): Promise<void> {
  const f = await runLoad({ mode: 'fill', host: s.host, port: s.port, connections: 1, items: KEYS, valueSize: VALUE_SIZE });
  if (f.currItems !== KEYS || f.evictions !== 0) {
    throw new Error(`${s.name}: preload left curr_items ${f.currItems} of ${KEYS} keys, evictions ${f.evictions}`);
  }
}

/** Whether a selected workload runs on `name` (the fixed-rate rows calibrate on memcached). */
function needsServer(name: ServerName): boolean {
  return selected.some((w) => !isPairRow(w) && w.servers.includes(name));
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

// ---------------------------------------------------------------- introspection memory

/**
 * Issue 14's "node's memory for 1,000 active caches": the caches go into the catalog
 * before any node starts (the node reads them at start); then for introspection on, then
 * off, a fresh node's RSS before and after a login and a little traffic to every cache.
 * The difference of the two growths is introspection's state (each cache's store grows
 * the same on both). Reported, not judged, except that every reply must be right.
 */
async function runIntrospectionMemoryPhase(dataDir: string, cacheId: number): Promise<IntrospectionMemoryOutcome> {
  const t0 = performance.now();
  // 1 MiB plans: 50 items of ~130 B fit many times over.
  const caches = await createCaches(dataDir, INTROSPECTION_CACHES, 1 << 20);
  log(`introspection-memory: created ${caches.length} caches in the catalog in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const runs: IntrospectionMemoryRun[] = [];
  for (const introspection of [true, false]) {
    const s = await startCachier({ dataDir, cacheId, introspection });
    if (introspection) sources.introspectionMemory = s.source!;
    try {
      await sleep(1000);
      const before = rssBytes(s.pid);
      const r = await driveCaches({
        host: s.host, port: s.port, caches, keysPerCache: INTROSPECTION_KEYS_PER_CACHE, setsPerCache: INTROSPECTION_SETS_PER_CACHE,
        getsPerCache: INTROSPECTION_GETS_PER_CACHE, valueSize: VALUE_SIZE, concurrency: CONNECTIONS, timeoutMs: 15_000,
      });
      await sleep(1000);
      const after = rssBytes(s.pid);
      const run: IntrospectionMemoryRun = {
        server: s.name as IntrospectionMemoryRun['server'], caches: caches.length, rssBeforeBytes: before, rssAfterBytes: after,
        requests: r.requests, answeredCorrectly: r.answeredCorrectly, failedCaches: r.failedCaches, problems: r.problems, seconds: r.seconds,
      };
      log(`introspection-memory ${SERVER_LABEL[s.name]}: RSS ${before} → ${after} (+${((after - before) / 2 ** 20).toFixed(1)} MiB), ` +
        `${r.answeredCorrectly} of ${r.requests} replies right in ${r.seconds.toFixed(1)} s` +
        `${r.failedCaches ? `; ${r.failedCaches} caches WRONG: ${r.problems.slice(0, 3).join('; ')}` : ''}`);
      runs.push(run);
    } catch (e) {
      logOutputTails([s]);
      throw e;
    } finally {
      await s.stop();
    }
  }
  const on = runs.find((r) => r.server === 'cachier');
  const offRun = runs.find((r) => r.server === 'cachier-no-introspection');
  const extraBytes = on && offRun ? (on.rssAfterBytes - on.rssBeforeBytes) - (offRun.rssAfterBytes - offRun.rssBeforeBytes) : undefined;
  return {
    caches: caches.length, keysPerCache: INTROSPECTION_KEYS_PER_CACHE, setsPerCache: INTROSPECTION_SETS_PER_CACHE,
    getsPerCache: INTROSPECTION_GETS_PER_CACHE, cap: INTROSPECTION_MEMORY_CAP, runs,
    ...(extraBytes !== undefined ? { extraBytes, extraBytesPerCache: extraBytes / caches.length } : {}),
  };
}

/** Errors and misses of one measurement for the progress log. */
function badNote(m: Measurement): string {
  const parts = [
    m.errors ? `ERRORS ${m.errors}` : '',
    m.verifyFailed ? `VERIFY FAILED ${m.verifyFailed}` : '',
    m.misses || m.counters?.getMisses ? `MISSES ${m.misses} (server ${m.counters?.getMisses ?? '?'})` : '',
    m.counters?.evictions ? `EVICTIONS ${m.counters.evictions}` : '',
  ].filter(Boolean);
  const samples = m.errorSamples?.length ? `: ${m.errorSamples.slice(0, 3).join('; ')}` : '';
  return parts.length ? ` ${parts.join(', ')}${samples}` : '';
}

// ---------------------------------------------------------------- scale (issue 16)

async function runScaleBench(): Promise<void> {
  const startedAt = new Date();
  const benchCommand = `npm run bench -- ${process.argv.slice(2).join(' ')}`;
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  log(`${profile.name} scale run: ${profile.rounds} round(s) per point, ${profile.warmupSeconds} s warm-up + ${profile.seconds} s each; ` +
    `load average ${loadAverage()}`);
  const { outcome, commands, sources: nodeSources } = await runScale({ profile, cacheMemory: flags['cache-memory'], workDir, log });
  const verdictList = judgeScale(outcome);
  const end = sourceFingerprint();
  const changed = new Set([...nodeSources, end]).size > 1;
  const cores = os.availableParallelism();
  const printed = [
    '',
    `cachier scaling (issue 16) — ${profile.name} run, ${startedAt.toISOString()}, ${cores} cores (${os.cpus()[0]?.model ?? '?'}), ` +
      `load average ${loadAverage()} at the end`,
    `${version('memcached', ['-V'])}; node ${process.version}; best of ${profile.rounds} paired round(s) per server and K`,
    `K cachier node processes (\`cachier node\`, one catalog) each pinned to one of cores 0..K-1, vs memcached -t K pinned to the same cores;`,
    `load: ${outcome.loadTool}, one loader process per remaining core, summed. ASCII, ${VALUE_SIZE} B values, 90% get / 10% set,`,
    `${CONNECTIONS} clients per server core, one request in flight each, every hit's value checked.`,
    '',
    formatScaleTable(outcome),
    '',
    'ratio: cachier/memcached ops/s, best of each; per round: within each round (memcached first in odd rounds).',
    'cpu µs/op: all server processes\' CPU per request; errors, misses: memcached/cachier over all rounds (servers\' get_misses too);',
    `loader cpu %: the busiest loader (memcached/cachier), at >= ${LOADER_SATURATED_PERCENT}% it may have set the pace; other cpu %: the rest of the machine.`,
    ...(outcome.perCore ? [
      '',
      'per-core speed (K = 1): memcaslap on core 1 against memcached -t 1 / one cachier node on core 0; server CPU per request,',
      'lowest of the rounds.',
      '',
      formatPerCoreTable(outcome.perCore),
    ] : []),
    ...(outcome.perf ? ['', formatPerf(outcome.perf)] : []),
    ...(changed ? ['', `WARNING: cachier's sources changed during the run (${[...new Set([...nodeSources, end])].join(', ')}): points measured different code.`] : []),
    '',
    formatVerdicts(verdictList),
    '',
  ].join('\n');
  console.log(printed);
  const result = {
    version: 1,
    kind: 'scale',
    run: profile,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cores, cpu: os.cpus()[0]?.model, pinned: PINNED, loadAverageAtEnd: loadAverage(), node: process.version, memcached: version('memcached', ['-V']) },
    cachierSources: [...new Set([...nodeSources, end])],
    commands: { bench: benchCommand, ...commands },
    scale: outcome,
    targets: verdictList,
    printed,
  };
  const json = `${JSON.stringify(result, null, 2)}\n`;
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, json);
  const txt = outFile.replace(/\.json$/, '') + '.txt';
  fs.writeFileSync(txt, `$ ${benchCommand}\n${printed}\n`);
  const stamped = path.join(RESULTS_DIR, 'runs', `${startedAt.toISOString().replace(/[:.]/g, '-')}-scale-${profile.name}.json`);
  fs.mkdirSync(path.dirname(stamped), { recursive: true });
  fs.writeFileSync(stamped, json);
  log(`wrote ${path.relative(process.cwd(), outFile)}, ${path.relative(process.cwd(), txt)} and ${path.relative(process.cwd(), stamped)}`);
  if (flags.publish) {
    const base = path.join(PUBLISHED_DIR, `${startedAt.toISOString().slice(0, 16).replace(':', '-')}Z-scale-${profile.name}`);
    fs.mkdirSync(PUBLISHED_DIR, { recursive: true });
    fs.writeFileSync(`${base}.json`, json);
    fs.writeFileSync(`${base}.txt`, `$ ${benchCommand}\n${printed}\n`);
    log(`published ${path.relative(process.cwd(), base)}.json and .txt`);
  }
  process.exitCode = exitCode(verdictList);
  if (process.exitCode) log('a verdict is FAIL: exit code 1');
}

// ---------------------------------------------------------------- main

if (needsServer('memcached') || runMemory) requireTool('memcached', 'apt-get install memcached');
if (selected.some((w) => w.tool === 'memcaslap')) requireTool('memcaslap', 'apt-get install libmemcached-tools');
if (os.platform() !== 'linux') fail('needs Linux (/proc for RSS and CPU)');

const workDir = makeDataDir();
const startedAt = new Date();
const benchCommand = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
function version(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 5000 }).trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

// --scale is a run of its own (its phases, table and result file); the rest is the usual bench.
if (flags.scale) {
  try {
    await runScaleBench();
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
} else try {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  if (flags.profile) {
    fs.rmSync(PROFILE_DIR, { recursive: true, force: true });
    fs.mkdirSync(PROFILE_DIR, { recursive: true });
  }
  log(`${profile.name} run: ${selected.length} workloads × ${profile.rounds} round(s)${runMemory ? `, memory with ${profile.memoryItems} items` : ''}` +
    `${runIntrospectionMemory ? `, introspection memory over ${INTROSPECTION_CACHES} caches` : ''}; ` +
    `${PINNED ? 'servers on core 0, load on core 1' : 'NOT pinned (no taskset or one core)'}; load average ${loadAverage()}`);
  const cache = await createBenchCache(workDir, flags['cache-memory']);
  const { outcomes, commands } = selected.length ? await runThroughput(cache, workDir) : { outcomes: [], commands: {} };
  const memory = runMemory ? await runMemoryPhase(workDir, cache.id) : [];
  // Last: its 1,000 caches stay in this run's catalog, and no other phase should see them.
  const introspectionMemory = runIntrospectionMemory ? await runIntrospectionMemoryPhase(workDir, cache.id) : undefined;
  const verdictList = judge({
    workloads: WORKLOADS, outcomes, memory, memoryItems: profile.memoryItems, fullMemoryItems: FULL.memoryItems,
    ...(introspectionMemory ? { introspectionMemory } : {}),
  });

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
  const vsMemcached = outcomes.filter((o) => o.baseline === 'memcached');
  const vsOff = outcomes.filter((o) => o.baseline === 'cachier-no-introspection');
  const introspectionLines = vsOff.length ? [
    '',
    'introspection cost (issue 14): the same cachier, introspection on (the default) vs started with --no-introspection;',
    'no memcached in these rows. Same memcaslap loads as memcaslap-ascii / memcaslap-mget20, both nodes on the server core,',
    'loaded at the same time (each by its own memcaslap on the load core), so the machine\'s noise slows both alike.',
    '',
    formatThroughputTable(vsOff, 'cachier-no-introspection'),
    '',
    `ratio: introspection on/off ops/s, the median of the rounds' (target >= ${MIN_INTROSPECTION_RATIO}); per round: on/off`,
    'measured together; errors, misses: off/on over all rounds.',
  ] : [];
  const introspectionMemoryLines = introspectionMemory ? [
    '',
    `introspection memory (issue 14): node RSS before and after a login and ${introspectionMemory.setsPerCache} sets + ` +
      `${introspectionMemory.getsPerCache} gets of ${introspectionMemory.keysPerCache} distinct ~30-byte keys (100 B values)`,
    `to each of ${introspectionMemory.caches.toLocaleString('en-US')} caches (${CONNECTIONS} at a time, pipelined), a fresh node each; ` +
      `growth includes each cache's store, the same on both. Reported, not judged.`,
    '',
    formatIntrospectionMemoryTable(introspectionMemory),
  ] : [];
  const lines = [
    '',
    `${vsMemcached.length || memory.length ? 'cachier vs memcached' : 'cachier'} — ${profile.name} run, ${startedAt.toISOString()}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ` +
      `${PINNED ? 'servers pinned to core 0, load to core 1' : 'not pinned'}`,
    `${vsMemcached.length || memory.length ? `${version('memcached', ['-V'])}; ` : ''}node ${process.version}; ` +
      `best of ${profile.rounds} round(s) per server; latency of memcaslap rows from its log2 histogram (coarse)`,
    '',
    ...(vsMemcached.length ? [
      formatThroughputTable(vsMemcached),
      '',
      'ratio: cachier/memcached ops/s, except ascii-fixed-rate: cachier/memcached p99, best result of each server;',
      'per round: the same within each round (memcached ran first in odd rounds, cachier in even ones).',
      'errors, misses: memcached/cachier summed over all rounds; misses are the larger of the load tool\'s count and',
      'the server\'s get_misses. Any error, or a miss (no row can legitimately miss), fails the row whatever its speed.',
    ] : []),
    ...(fixed?.best.memcached?.offeredRate ? [`ascii-fixed-rate offered ${fixed.best.memcached.offeredRate} req/s (half of memcached's best closed-loop ASCII get/set ops/s in this run)`] : []),
    ...introspectionLines,
    ...(outcomes.length ? [
      'cpu µs/op: server CPU time per op (user + system, sampled over the run); other cpu %: the rest of the machine',
      'during each server\'s run (baseline/cachier), in % of one core — high values mean the numbers are disturbed.',
    ] : []),
    ...(sourceChanged ? [`WARNING: cachier's sources changed during the run (${JSON.stringify(sources)}): phases measured different code.`] : []),
    ...(memory.length ? ['', formatMemoryTable(memory)] : []),
    ...introspectionMemoryLines,
    ...(verdictList.length ? ['', formatVerdicts(verdictList)] : []),
    ...(profileSummary ? ['', formatProfileSummary(profileSummary)] : []),
    '',
  ];
  const printed = lines.join('\n');
  console.log(printed);

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
    commands: { bench: benchCommand, ...commands },
    workloads: outcomes,
    memory,
    ...(introspectionMemory ? { introspectionMemory } : {}),
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
  if (flags.publish) {
    // The run the README quotes, kept in the repo: its JSON and the table exactly as printed.
    const base = path.join(PUBLISHED_DIR, `${startedAt.toISOString().slice(0, 16).replace(':', '-')}Z-${profile.name}`);
    fs.mkdirSync(PUBLISHED_DIR, { recursive: true });
    fs.writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
    fs.writeFileSync(`${base}.txt`, `$ ${benchCommand}\n${printed}\n`);
    log(`published ${path.relative(process.cwd(), base)}.json and .txt: commit them with the README change that quotes them`);
  }
  process.exitCode = exitCode(verdictList);
  if (process.exitCode) log('a verdict is FAIL: exit code 1');
} finally {
  fs.rmSync(workDir, { recursive: true, force: true });
  for (const dir of Object.values(pairDirsOf(workDir))) fs.rmSync(dir, { recursive: true, force: true });
}
