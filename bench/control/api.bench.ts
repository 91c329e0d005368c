/**
 * `npm run bench:control [-- --seconds N] [--connections 1,8,32] [--runs N] [--no-postgres] [--only stats,history,insight] [--out FILE]`
 *
 * The control plane under load: p50/p99 of `GET /api/v1/<id>/stats` for a cache
 * over 4 nodes, the time to serve 30 days of history samples for one cache, and insight
 * (API v2): processed stats and latency over ranges of 24 h to a year.
 *
 * - Server: the real CLI, `cachier start --nodes 4` (4 nodes + control plane in one
 *   process), pinned to core 0; the load (autocannon, in this process) pinned to core 1.
 * - Stats: autocannon drives GET stats with Basic auth for --seconds at each of
 *   --connections; each request fans out to the 4 nodes' admin ports.
 * - History: 30 days at the default 60 s interval for 4 servers (172,800 rows) go straight
 *   into the catalog the server uses (`addHistory`, batches), then GET history is timed
 *   --runs times (to the first byte and to the last) over the whole range (streamed), with
 *   `?since=` the last 24 h, and over the last 7 and 30 days with the `step` the dashboard
 *   asks for (historyStepMs). One more whole-range request runs while another client calls
 *   GET stats back to back. Again on a fresh PostgreSQL schema (`--database-url`) when one
 *   answers at CACHIER_TEST_DATABASE_URL.
 * - Insight: another cache gets 90 days of samples at 60 s for the 4 servers, and the 275
 *   days before at one an hour (what thinned history looks like), through `addHistory` in
 *   batches (so the rollups are built as the sampler builds them); the 4 servers get 90
 *   days of latency probes at 20 s and the 275 days before at 10 min (`addLatency`). Then
 *   the retention the server applies (raw history 7 d then hourly to 90 d; rollups and raw
 *   probes per level) thins it, and GET insight/processed_stats (5 names), …/per_server
 *   and insight/latency are timed --runs times each over 24 h, 7 d, 30 d, 90 d and 1 year.
 *
 * Prints a table and writes bench/results/control.json. Every process it starts is ended
 * by pid; every wait has a time limit; loopback only.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import type { Catalog, HistorySample } from '../../src/catalog/catalog.ts';
import type { LatencyProbe } from '../../src/catalog/latency.ts';
import { openCatalog } from '../../src/catalog/open.ts';
import { openSqliteCatalog } from '../../src/catalog/sqlite.ts';
import { sampleCpu, waitForQuiet, type CpuShare } from '../harness/machine-sampler.ts';
import { LOAD_CORE, PINNED, SERVER_CORE, pinned, runBounded, startTracked, stopTracked } from '../harness/processes.ts';
import { rssBytes } from '../harness/proc-stats.ts';
import { REPO_ROOT, sourceFingerprint } from '../harness/servers.ts';
import { historyStepMs } from '../../dashboard/src/metrics.ts';
import { freePort, freePorts } from '../../test/support/ports.ts';

const CLI = path.join(REPO_ROOT, 'bin', 'cachier.js');
const HOST = '127.0.0.1';
const NODES = 4;
const DAY_MS = 86_400_000;
const HISTORY_DAYS = 30;
const INTERVAL_MS = 60_000;
const INSERT_BATCH = 5_000;
const REQUEST_TIMEOUT_MS = 60_000;
/** Insight: days of 60 s samples (and 20 s latency probes), then hourly samples (10-minute probes) back to a year. */
const INSIGHT_DAYS = 90;
const INSIGHT_OLD_DAYS = 365;
const INSIGHT_NAMES = 'get_rate,get_hit_rate,set_rate,bytes,connections';
const INSIGHT_RANGES: readonly [string, number][] = [['24 h', 1], ['7 d', 7], ['30 d', 30], ['90 d', 90], ['1 y', 365]];
const LATENCY_INTERVAL_MS = 20_000;
/** Before each measurement wait up to QUIET_WAIT_MS for the rest of the machine to use under QUIET_PERCENT of a core. */
const QUIET_PERCENT = 15;
const QUIET_WAIT_MS = 20_000;
/** A stats row measured while the rest of the machine used this much of a core is marked DISTURBED (as in npm run bench). */
const DISTURBED_PERCENT = 50;

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '1,8,32' },
    runs: { type: 'string', default: '5' },
    'no-postgres': { type: 'boolean', default: false },
    only: { type: 'string', default: 'stats,history,insight' },
    out: { type: 'string' },
  },
  strict: true,
});
const seconds = Math.max(1, Number(flags.seconds));
const connectionLevels = flags.connections.split(',').map((s) => Math.max(1, Math.floor(Number(s.trim())))).filter((n) => n > 0);
const runs = Math.max(1, Math.floor(Number(flags.runs)));
const parts = new Set(flags.only.split(',').map((p) => p.trim()));
if ([...parts].some((p) => !['stats', 'history', 'insight'].includes(p))) fail('--only takes stats, history, insight (comma-separated)');
const outFile = path.resolve(flags.out ?? path.join(REPO_ROOT, 'bench', 'results', 'control.json'));
if (!(seconds > 0) || connectionLevels.length === 0 || !(runs > 0)) fail('bad --seconds, --connections or --runs');

function fail(message: string): never {
  console.error(`bench:control: ${message}`);
  process.exit(2);
}
function log(message: string): void {
  process.stderr.write(`[bench:control ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bounds a promise: rejects after `ms` with `what` in the message. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]);
}

function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.MEMCACHIER_SERVERS;
  delete env.MEMCACHIER_USERNAME;
  delete env.MEMCACHIER_PASSWORD;
  return env;
}

// ---------------------------------------------------------------- server

interface Server {
  pid: number;
  httpPort: number;
  nodes: string[];
  command: string;
  stop(): Promise<void>;
}

interface BenchCache {
  id: number;
  username: string;
  password: string;
}

async function createCache(catalogArgs: string[]): Promise<BenchCache> {
  const argv = [process.execPath, CLI, 'cache', 'create', ...catalogArgs, '--memory', '64mb', '--json'];
  const r = await runBounded(argv, 30_000, { cwd: REPO_ROOT, env: childEnv() });
  if (r.code !== 0) throw new Error(`cache create failed (code ${r.code}):\n${r.stdout}\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').reverse().find((l) => l.trim().startsWith('{'));
  const raw = JSON.parse(line ?? 'null') as { id: number; username: string; password: string } | null;
  if (!raw) throw new Error(`cache create printed no JSON:\n${r.stdout}`);
  return { id: Number(raw.id), username: raw.username, password: raw.password };
}

async function startServer(catalogArgs: string[]): Promise<Server> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const ports = await freePorts(NODES, { consecutive: true });
    let httpPort = await freePort();
    while (ports.includes(httpPort)) httpPort = await freePort();
    const cliArgs = ['start', ...catalogArgs, '--host', HOST, '--http-port', String(httpPort), '--port', String(ports[0]), '--nodes', String(NODES)];
    const child = startTracked(pinned(SERVER_CORE, [process.execPath, CLI, ...cliArgs]), { cwd: REPO_ROOT, env: childEnv() });
    let out = '';
    let err = '';
    // Its log (a line per request at info) can be large: the last 64 KiB are kept for error messages.
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-65536)));
    child.stdout!.setEncoding('utf8');
    try {
      const ready = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`cachier not ready within 30 s\n${out}\n${err}`)), 30_000);
        child.stdout!.on('data', (d: string) => {
          out += d;
          const m = /^cachier ready.*$/m.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[0]);
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          setTimeout(() => reject(new Error(`cachier exited (code ${code}) before it was ready\n${out}\n${err}`)), 50);
        });
      });
      const nodes = /nodes=(\S+)/.exec(ready)?.[1]?.split(',') ?? [];
      const shown = cliArgs.map((a) => (a.startsWith('postgres://') ? 'postgres://…' : a));
      return { pid: child.pid!, httpPort, nodes, command: `node bin/cachier.js ${shown.join(' ')}`, stop: () => stopTracked(child, 15_000) };
    } catch (e) {
      last = e;
      await stopTracked(child, 5_000);
      if (!/EADDRINUSE/.test(out + err)) break;
    }
  }
  throw last;
}

// ---------------------------------------------------------------- HTTP

const basic = (c: BenchCache) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

interface Timed {
  status: number;
  ms: number;
  /** To the first byte of the body. */
  firstByteMs: number;
  bytes: number;
  body: Buffer;
}

/**
 * One GET over a fresh connection, timed from the request to the last byte of the body.
 * `keepBody: false` only counts the bytes, so this process does no large copy meanwhile
 * (it also times the GET stats probe).
 */
function timedGet(port: number, urlPath: string, auth: string, { keepBody = true } = {}): Promise<Timed> {
  return within(REQUEST_TIMEOUT_MS + 1_000, `GET ${urlPath}`, new Promise<Timed>((resolve, reject) => {
    const started = performance.now();
    const req = http.get({ host: HOST, port, path: urlPath, headers: { authorization: auth }, agent: false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      let firstByteMs = NaN;
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        if (bytes === 0) firstByteMs = performance.now() - started;
        bytes += c.length;
        if (keepBody) chunks.push(c);
      });
      res.on('end', () => {
        const ms = performance.now() - started;
        resolve({ status: res.statusCode ?? 0, ms, firstByteMs, bytes, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  }));
}

// ---------------------------------------------------------------- stats under load

interface StatsResult {
  connections: number;
  seconds: number;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  serverCpuPercent?: number;
  loadCpuPercent?: number;
  otherCpuPercent?: number;
  /** The rest of the machine just before the measurement (percent of one core). */
  otherCpuBefore?: number;
  serverCpuMsPerReq?: number;
  command: string;
}

async function loadStats(server: Server, cache: BenchCache, connections: number, durationS: number): Promise<StatsResult> {
  const url = `http://${HOST}:${server.httpPort}/api/v1/${cache.id}/stats`;
  const otherCpuBefore = await waitForQuiet(QUIET_WAIT_MS, QUIET_PERCENT, [server.pid, process.pid]);
  let cpu: Promise<CpuShare | undefined> = Promise.resolve(undefined);
  cpu = sampleCpu(300, Math.max(500, durationS * 1000 - 600), server.pid, process.pid);
  let instance: autocannon.Instance | undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon({
      url, connections, duration: durationS, pipelining: 1, timeout: 10,
      headers: { authorization: basic(cache) },
    }, (err, res) => (err ? reject(err) : resolve(res)));
  });
  const r = await within(durationS * 1000 + 30_000, `autocannon ${connections}c`, done).catch((e) => {
    instance?.stop();
    throw e;
  });
  const share = await cpu;
  const reqPerSec = r.requests.total / r.duration;
  return {
    connections, seconds: r.duration, requests: r.requests.total, reqPerSec,
    p50Ms: r.latency.p50, p90Ms: r.latency.p90, p99Ms: r.latency.p99, maxMs: r.latency.max,
    errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx,
    ...(otherCpuBefore !== undefined ? { otherCpuBefore } : {}),
    ...(share ? {
      serverCpuPercent: share.serverPercent, loadCpuPercent: share.loadPercent, otherCpuPercent: share.otherPercent,
      serverCpuMsPerReq: reqPerSec > 0 ? (share.serverPercent / 100) * 1000 / reqPerSec : undefined,
    } : {}),
    command: `autocannon -c ${connections} -d ${durationS} -H 'authorization: Basic …' ${url}`,
  };
}

// ---------------------------------------------------------------- history

interface HistoryTiming {
  catalog: 'sqlite' | 'postgres';
  query: string;
  rows: number;
  bytes: number;
  runs: number;
  firstMs: number;
  p50Ms: number;
  maxMs: number;
  allMs: number[];
  /** Median time to the first byte of the body (the whole range is streamed). */
  firstByteP50Ms: number;
  serverRssBeforeMiB: number;
  serverRssAfterMiB: number;
  /** One more request with GET stats probed back to back alongside it: how long other tenants wait meanwhile. */
  probe?: { statsRequests: number; statsP50Ms: number; statsMaxMs: number; historyMs: number };
}

interface HistoryOutcome {
  catalog: 'sqlite' | 'postgres';
  command: string;
  insertedRows: number;
  insertSeconds: number;
  timings: HistoryTiming[];
}

/** 30 days of samples ending one interval before now, for every server, shaped like the stats the nodes return. */
function* historySamples(cacheId: number, templates: Record<string, Record<string, number>>, endMs: number): Generator<HistorySample[]> {
  const servers = Object.keys(templates);
  const slots = (HISTORY_DAYS * DAY_MS) / INTERVAL_MS;
  const first = endMs - (slots - 1) * INTERVAL_MS;
  let batch: HistorySample[] = [];
  for (let i = 0; i < slots; i++) {
    const ts = first + i * INTERVAL_MS;
    for (const server of servers) {
      const t = templates[server]!;
      const stats: Record<string, number> = {};
      // Plausible growing counters so every row's JSON differs, as real samples do.
      for (const [k, v] of Object.entries(t)) {
        stats[k] = /^(cmd_|get_|delete_|incr_|decr_|cas_|touch_|total_|evictions|expired|bytes_(read|written))/.test(k) ? v + i * 37 + (i % 13) : v;
      }
      batch.push({ cacheId, server, timestamp: ts, stats });
      if (batch.length >= INSERT_BATCH) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length) yield batch;
}

async function statsTemplates(server: Server, cache: BenchCache): Promise<Record<string, Record<string, number>>> {
  const r = await timedGet(server.httpPort, `/api/v1/${cache.id}/stats`, basic(cache));
  if (r.status !== 200) throw new Error(`GET stats: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 200)}`);
  const parsed = JSON.parse(r.body.toString('utf8')) as Record<string, Record<string, unknown>>;
  const out: Record<string, Record<string, number>> = {};
  for (const [server, stats] of Object.entries(parsed)) {
    out[server] = Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, Number(v)]).filter(([, v]) => Number.isFinite(v)));
  }
  if (Object.keys(out).length !== NODES) throw new Error(`GET stats answered for ${Object.keys(out).length} servers, want ${NODES}`);
  return out;
}

async function historyBench(kind: 'sqlite' | 'postgres', server: Server, catalog: Catalog, cache: BenchCache): Promise<HistoryOutcome> {
  const templates = await statsTemplates(server, cache);
  const endMs = (Math.floor(Date.now() / INTERVAL_MS) - 1) * INTERVAL_MS;
  log(`${kind}: inserting ${HISTORY_DAYS} days × ${NODES} servers at ${INTERVAL_MS / 1000} s …`);
  const t0 = performance.now();
  let inserted = 0;
  for (const batch of historySamples(cache.id, templates, endMs)) {
    await within(120_000, 'addHistory batch', catalog.addHistory(batch, INTERVAL_MS));
    inserted += batch.length;
  }
  const insertSeconds = (performance.now() - t0) / 1000;
  log(`${kind}: ${inserted} rows in ${insertSeconds.toFixed(1)} s`);

  const timings: HistoryTiming[] = [];
  const stepped = (days: number) => {
    const step = historyStepMs(days * DAY_MS, INTERVAL_MS)!;
    return { name: `${days} d, step=${step / 60_000} min`, path: `/api/v1/${cache.id}/history?since=${Date.now() - days * DAY_MS}&step=${step}` };
  };
  const queries = [
    { name: 'whole range', path: `/api/v1/${cache.id}/history` },
    { name: 'since=now-24h', path: `/api/v1/${cache.id}/history?since=${Date.now() - DAY_MS}` },
    // What the dashboard's 7 d and 30 d views ask for.
    stepped(7),
    stepped(30),
  ];
  for (const q of queries) {
    await waitForQuiet(QUIET_WAIT_MS, QUIET_PERCENT, [server.pid, process.pid]);
    const rssBefore = rssBytes(server.pid);
    const all: number[] = [];
    const firstBytes: number[] = [];
    let rows = 0;
    let bytes = 0;
    for (let i = 0; i < runs; i++) {
      const r = await timedGet(server.httpPort, q.path, basic(cache));
      if (r.status !== 200) throw new Error(`GET ${q.path}: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 200)}`);
      all.push(r.ms);
      firstBytes.push(r.firstByteMs);
      bytes = r.bytes;
      if (i === 0) rows = (JSON.parse(r.body.toString('utf8')) as unknown[]).length;
      await sleep(200);
    }
    // One extra request while another client calls GET stats back to back (one connection).
    let probe: HistoryTiming['probe'];
    if (q.name === 'whole range') {
      let running = true;
      const lat: number[] = [];
      const prober = (async () => {
        while (running) {
          const r = await timedGet(server.httpPort, `/api/v1/${cache.id}/stats`, basic(cache));
          lat.push(r.ms);
        }
      })();
      await sleep(300);
      const h = await timedGet(server.httpPort, q.path, basic(cache), { keepBody: false });
      running = false;
      await prober;
      const ls = [...lat].sort((a, b) => a - b);
      probe = { statsRequests: ls.length, statsP50Ms: ls[Math.floor((ls.length - 1) / 2)] ?? NaN, statsMaxMs: ls[ls.length - 1] ?? NaN, historyMs: h.ms };
      log(`${kind} ${q.name} + stats probe: history ${h.ms.toFixed(0)} ms; ${ls.length} stats requests meanwhile, p50 ${probe.statsP50Ms.toFixed(0)} ms, max ${probe.statsMaxMs.toFixed(0)} ms`);
    }
    const sorted = [...all].sort((a, b) => a - b);
    timings.push({
      ...(probe ? { probe } : {}),
      catalog: kind, query: q.name, rows, bytes, runs, firstMs: all[0]!, p50Ms: sorted[Math.floor((sorted.length - 1) / 2)]!,
      maxMs: sorted[sorted.length - 1]!, allMs: all.map((ms) => Math.round(ms * 10) / 10),
      firstByteP50Ms: [...firstBytes].sort((a, b) => a - b)[Math.floor((firstBytes.length - 1) / 2)]!,
      serverRssBeforeMiB: rssBefore / 2 ** 20, serverRssAfterMiB: rssBytes(server.pid) / 2 ** 20,
    });
    log(`${kind} ${q.name}: ${rows} rows, ${bytes} B, ${all.map((ms) => ms.toFixed(0)).join('/')} ms`);
  }
  return { catalog: kind, command: server.command, insertedRows: inserted, insertSeconds, timings };
}

// ---------------------------------------------------------------- insight

interface InsightTiming {
  catalog: 'sqlite' | 'postgres';
  endpoint: 'processed_stats' | 'per_server' | 'latency';
  range: string;
  /** Rows over all series. */
  rows: number;
  bytes: number;
  runs: number;
  p50Ms: number;
  maxMs: number;
  allMs: number[];
  /** The rest of the machine just before the runs (percent of one core). */
  otherCpuBefore?: number;
}

interface InsightOutcome {
  catalog: 'sqlite' | 'postgres';
  historyRows: number;
  historySeconds: number;
  probes: number;
  probeSeconds: number;
  thinSeconds: number;
  timings: InsightTiming[];
}

/** A small deterministic generator (the same data every run). */
function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

/** Samples at `stepMs` from `fromMs` (inclusive) to `toMs` (exclusive) for every server: growing counters, moving gauges. */
function* insightSamples(cacheId: number, servers: readonly string[], fromMs: number, toMs: number, stepMs: number, first: number): Generator<HistorySample[]> {
  const rand = seeded(first + 1);
  let batch: HistorySample[] = [];
  const counters = new Map<string, Record<string, number>>();
  for (let ts = fromMs, i = first; ts < toMs; ts += stepMs, i++) {
    for (const server of servers) {
      const c = counters.get(server) ?? {};
      const n = Math.floor((stepMs / 1000) * (50 + 40 * rand()));
      const hits = Math.floor(n * (0.85 + 0.1 * rand()));
      const add = (k: string, v: number) => (c[k] = (c[k] ?? 0) + v);
      add('cmd_get', n); add('get_hits', hits); add('get_misses', n - hits); add('cmd_set', Math.floor(n / 5));
      add('bytes_read', n * 60); add('bytes_written', n * 140); add('total_connections', rand() < 0.1 ? 1 : 0);
      add('delete_hits', Math.floor(n / 50)); add('touch_hits', Math.floor(n / 40)); add('cmd_touch', Math.floor(n / 40));
      counters.set(server, c);
      const stats: Record<string, number> = { ...c, bytes: 30_000_000 + (i % 1000) * 1000, curr_items: 100_000 + (i % 1000), curr_connections: 8, limit_maxbytes: 16 << 20, time: Math.floor(ts / 1000) };
      batch.push({ cacheId, server, timestamp: ts, stats });
      if (batch.length >= INSERT_BATCH) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length) yield batch;
}

/** Probes at `stepMs` for every server: about 150 µs, log-normal, with a slow one now and then. */
function* latencyProbes(servers: readonly string[], fromMs: number, toMs: number, stepMs: number): Generator<LatencyProbe[]> {
  const rand = seeded(fromMs % 1_000_003);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  let batch: LatencyProbe[] = [];
  for (let ts = fromMs; ts < toMs; ts += stepMs) {
    for (const server of servers) {
      const ns = rand() < 0.01 ? 2_000_000 + 8_000_000 * rand() : 150_000 * Math.exp(0.4 * gauss());
      batch.push({ server, timestamp: ts, ns: Math.round(ns) });
      if (batch.length >= 4 * INSERT_BATCH) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length) yield batch;
}

async function insightBench(kind: 'sqlite' | 'postgres', server: Server, catalog: Catalog, cache: BenchCache): Promise<InsightOutcome> {
  const servers = server.nodes;
  const end = (Math.floor(Date.now() / INTERVAL_MS) - 1) * INTERVAL_MS;
  const recentFrom = end - INSIGHT_DAYS * DAY_MS;
  const oldFrom = Math.floor((end - INSIGHT_OLD_DAYS * DAY_MS) / 3_600_000) * 3_600_000;
  log(`${kind} insight: ${INSIGHT_OLD_DAYS - INSIGHT_DAYS} days hourly, then ${INSIGHT_DAYS} days at ${INTERVAL_MS / 1000} s, × ${servers.length} servers …`);
  let t0 = performance.now();
  let historyRows = 0;
  const batches = [
    insightSamples(cache.id, servers, oldFrom, recentFrom, 3_600_000, 0),
    insightSamples(cache.id, servers, recentFrom, end + 1, INTERVAL_MS, 100_000),
  ];
  for (const gen of batches) {
    for (const batch of gen) {
      await within(120_000, 'addHistory batch', catalog.addHistory(batch, INTERVAL_MS));
      historyRows += batch.length;
    }
  }
  const historySeconds = (performance.now() - t0) / 1000;
  log(`${kind} insight: ${fmt(historyRows)} samples (with rollups) in ${historySeconds.toFixed(1)} s`);

  t0 = performance.now();
  let probes = 0;
  for (const gen of [latencyProbes(servers, oldFrom, recentFrom, 600_000), latencyProbes(servers, recentFrom, end + 1, LATENCY_INTERVAL_MS)]) {
    for (const batch of gen) {
      await within(120_000, 'addLatency batch', catalog.addLatency(batch, LATENCY_INTERVAL_MS));
      probes += batch.length;
    }
  }
  const probeSeconds = (performance.now() - t0) / 1000;
  log(`${kind} insight: ${fmt(probes)} latency probes (with rollups) in ${probeSeconds.toFixed(1)} s`);

  // What the server's hourly thinning leaves: raw history 7 d, hourly to 90 d; rollups and raw probes per level.
  t0 = performance.now();
  await within(600_000, 'thinHistory', catalog.thinHistory({ rawMs: 7 * DAY_MS, hourlyMs: 90 * DAY_MS }, Date.now()));
  const thinSeconds = (performance.now() - t0) / 1000;
  log(`${kind} insight: thinned in ${thinSeconds.toFixed(1)} s`);

  const timings: InsightTiming[] = [];
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const queryEnd = Date.now();
  for (const endpoint of ['processed_stats', 'per_server', 'latency'] as const) {
    for (const [label, days] of INSIGHT_RANGES) {
      const range = `startTime=${iso(queryEnd - days * DAY_MS)}&endTime=${iso(queryEnd)}`;
      const urlPath = endpoint === 'latency' ? `/api/v2/caches/${cache.id}/insight/latency?${range}`
        : `/api/v2/caches/${cache.id}/insight/processed_stats${endpoint === 'per_server' ? '/per_server' : ''}?names=${INSIGHT_NAMES}&${range}`;
      const otherCpuBefore = await waitForQuiet(QUIET_WAIT_MS, QUIET_PERCENT, [server.pid, process.pid]);
      const all: number[] = [];
      let rows = 0;
      let bytes = 0;
      for (let i = 0; i < runs; i++) {
        const r = await timedGet(server.httpPort, urlPath, basic(cache));
        if (r.status !== 200) throw new Error(`GET ${urlPath}: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 200)}`);
        all.push(r.ms);
        bytes = r.bytes;
        if (i === 0) rows = (JSON.parse(r.body.toString('utf8')) as { values: unknown[] }[]).reduce((n, s) => n + s.values.length, 0);
        await sleep(100);
      }
      const sorted = [...all].sort((a, b) => a - b);
      timings.push({
        catalog: kind, endpoint, range: label, rows, bytes, runs, p50Ms: sorted[Math.floor((sorted.length - 1) / 2)]!, maxMs: sorted.at(-1)!,
        allMs: all.map((ms) => Math.round(ms * 10) / 10), ...(otherCpuBefore !== undefined ? { otherCpuBefore } : {}),
      });
      log(`${kind} ${endpoint} ${label}: ${rows} rows, ${bytes} B, ${all.map((ms) => ms.toFixed(0)).join('/')} ms`);
    }
  }
  return { catalog: kind, historyRows, historySeconds, probes, probeSeconds, thinSeconds, timings };
}

async function postgresAvailable(): Promise<string | undefined> {
  if (flags['no-postgres']) return '--no-postgres';
  try {
    const { postgresSkipReason } = await import('../../src/catalog/testing/postgres-schema.ts');
    return await within(10_000, 'PostgreSQL check', postgresSkipReason());
  } catch (e) {
    return (e as Error).message;
  }
}

// ---------------------------------------------------------------- report

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function statsTable(results: StatsResult[]): string {
  return table(
    ['GET stats (4 nodes)', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', 'non-2xx', 'server cpu %', 'cpu ms/req', 'other cpu %'],
    results.map((r) => [
      `${r.connections} conn`, fmt(r.reqPerSec), fmt(r.p50Ms), fmt(r.p90Ms), fmt(r.p99Ms), fmt(r.maxMs), fmt(r.errors + r.timeouts), fmt(r.non2xx),
      fmt(r.serverCpuPercent), fmt(r.serverCpuMsPerReq, 2),
      `${fmt(r.otherCpuPercent)}${(r.otherCpuPercent ?? 0) >= DISTURBED_PERCENT ? ' [DISTURBED]' : ''}`,
    ]),
  );
}

function historyTable(outcomes: HistoryOutcome[]): string {
  return table(
    ['GET history', 'rows', 'bytes', 'first byte p50 ms', 'first ms', 'p50 ms', 'max ms', 'server RSS MiB', 'GET stats meanwhile: p50/max ms'],
    outcomes.flatMap((o) => o.timings.map((t) => [
      `${t.catalog}, ${t.query}`, fmt(t.rows), fmt(t.bytes), fmt(t.firstByteP50Ms), fmt(t.firstMs), fmt(t.p50Ms), fmt(t.maxMs),
      `${fmt(t.serverRssBeforeMiB)} → ${fmt(t.serverRssAfterMiB)}`,
      t.probe ? `${fmt(t.probe.statsP50Ms)} / ${fmt(t.probe.statsMaxMs)} (${t.probe.statsRequests} req)` : '-',
    ])),
  );
}

function insightTable(outcomes: InsightOutcome[]): string {
  return table(
    ['GET insight (5 names)', 'range', 'rows', 'bytes', 'p50 ms', 'max ms', 'runs ms', 'other cpu % before'],
    outcomes.flatMap((o) => o.timings.map((t) => [
      `${t.catalog}, ${t.endpoint}`, t.range, fmt(t.rows), fmt(t.bytes), fmt(t.p50Ms), fmt(t.maxMs),
      t.allMs.map((ms) => fmt(ms)).join('/'), fmt(t.otherCpuBefore),
    ])),
  );
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (PINNED) execFileSync('taskset', ['-a', '-pc', String(LOAD_CORE), String(process.pid)], { stdio: 'ignore' });
  const source = sourceFingerprint();
  const started = new Date().toISOString();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cachier-bench-control-'));
  const cleanups: (() => Promise<void>)[] = [async () => fs.rmSync(dataDir, { recursive: true, force: true })];
  const result: Record<string, unknown> = {
    started, source, node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, pinned: PINNED,
    seconds, connections: connectionLevels, runs,
  };
  try {
    // SQLite: stats under load, then history, then insight.
    const cache = await createCache(['--data', dataDir]);
    const insightCache = await createCache(['--data', dataDir]);
    const server = await startServer(['--data', dataDir]);
    cleanups.unshift(() => server.stop());
    log(`started: ${server.command} (pid ${server.pid})`);
    result.server = server.command;

    await statsTemplates(server, cache); // 4 servers answer
    const stats: StatsResult[] = [];
    if (parts.has('stats')) {
      log('warm-up: 2 s at 8 connections');
      await loadStats(server, cache, 8, 2);
    }
    for (const c of parts.has('stats') ? connectionLevels : []) {
      await sleep(500);
      log(`GET stats: ${c} connections for ${seconds} s`);
      const r = await loadStats(server, cache, c, seconds);
      log(`  ${fmt(r.reqPerSec)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, errors ${r.errors + r.timeouts}, non-2xx ${r.non2xx}`);
      stats.push(r);
    }
    result.stats = stats;

    const catalog = openSqliteCatalog(dataDir);
    cleanups.unshift(() => catalog.close());
    const history: HistoryOutcome[] = parts.has('history') ? [await historyBench('sqlite', server, catalog, cache)] : [];
    result.history = history;
    const insight: InsightOutcome[] = parts.has('insight') ? [await insightBench('sqlite', server, catalog, insightCache)] : [];
    result.insight = insight;
    await catalog.close().catch(() => {});
    cleanups.shift();
    await server.stop();
    cleanups.shift();

    // PostgreSQL, when it answers: history and insight.
    const skip = await postgresAvailable();
    if (skip || !(parts.has('history') || parts.has('insight'))) {
      log(`PostgreSQL history and insight skipped: ${skip ?? '--only'}`);
      if (skip) result.postgresSkipped = skip;
    } else {
      const { createTestSchema } = await import('../../src/catalog/testing/postgres-schema.ts');
      const schema = await within(20_000, 'create schema', createTestSchema());
      cleanups.unshift(() => within(30_000, 'drop schema', schema.drop()));
      const pgCache = await createCache(['--database-url', schema.url]);
      const pgInsightCache = await createCache(['--database-url', schema.url]);
      const pgServer = await startServer(['--database-url', schema.url]);
      cleanups.unshift(() => pgServer.stop());
      log(`started: ${pgServer.command} (pid ${pgServer.pid})`);
      const pgCatalog = await within(20_000, 'open PostgreSQL catalog', openCatalog({ databaseUrl: schema.url }));
      cleanups.unshift(() => within(10_000, 'close PostgreSQL catalog', pgCatalog.close()));
      if (parts.has('history')) history.push(await historyBench('postgres', pgServer, pgCatalog, pgCache));
      if (parts.has('insight')) insight.push(await insightBench('postgres', pgServer, pgCatalog, pgInsightCache));
    }

    result.finished = new Date().toISOString();
    result.sourceAtEnd = sourceFingerprint();
    const printed = `${statsTable(stats)}\n\n${historyTable(history)}\n\n${insightTable(insight)}\n`;
    result.table = printed;
    console.log(`\n${printed}`);
    console.log(`history: ${history.map((h) => `${h.catalog} ${fmt(h.insertedRows)} rows inserted in ${h.insertSeconds.toFixed(1)} s`).join('; ')}`);
    console.log(`insight: ${insight.map((h) => `${h.catalog} ${fmt(h.historyRows)} samples in ${h.historySeconds.toFixed(1)} s, ${fmt(h.probes)} probes in ${h.probeSeconds.toFixed(1)} s, thinned in ${h.thinSeconds.toFixed(1)} s`).join('; ')}`);
    if (result.sourceAtEnd !== source) console.log(`note: the sources changed during the run (${source} → ${result.sourceAtEnd})`);
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    fs.writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${path.relative(process.cwd(), outFile)}`);
  } finally {
    for (const c of cleanups) await c().catch((e) => log(`cleanup: ${(e as Error).message}`));
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
