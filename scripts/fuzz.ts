/**
 * The long fuzz run (the bounded versions run in `npm test`):
 *
 *   npm run fuzz -- [--frames 1000000] [--live-seconds 180] [--model-ops 1000000]
 *                   [--seed N] [--only parsers,live,model]
 *
 * - parsers: the properties of test/fuzz/parser-fuzz.ts (valid, mutated, random) and the
 *   encoder property, until each protocol (classic text, meta, binary) has been fed
 *   --frames frames. Each protocol runs in a child process with a watchdog: one that
 *   reports no progress for 60 s is a hang, killed and reported with its seed.
 * - live: test/fuzz/live-fuzz.ts against an in-process node for --live-seconds, half the
 *   time with login required and half in --anonymous-cache mode.
 * - model: test/fuzz/isolation-model.ts for --model-ops operations.
 *
 * Prints a summary table for RELIABILITY.md and exits non-zero on any crash, hang or
 * divergence, naming the seed that reproduces it (FUZZ_SEED=<n> for the tests).
 */
import fc from 'fast-check';
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { encoderProperty } from '../test/fuzz/encoder-fuzz.ts';
import type { Protocol } from '../test/fuzz/grammar.ts';
import { runIsolationModel, type ModelReport } from '../test/fuzz/isolation-model.ts';
import { runLiveFuzz, watchCrashes, type LiveFuzzReport } from '../test/fuzz/live-fuzz.ts';
import { emptyCounts, PROPERTIES, PROTOCOLS, type PropertyName } from '../test/fuzz/parser-fuzz.ts';
import { startTestNode } from '../test/support/test-node.ts';

interface Args {
  frames: number;
  liveSeconds: number;
  modelOps: number;
  seed: number;
  only: Set<string>;
  child?: Protocol;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    frames: 1_000_000, liveSeconds: 180, modelOps: 1_000_000, seed: (Math.random() * 0x7fffffff) | 0,
    only: new Set(['parsers', 'live', 'model']),
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const num = (): number => {
      const n = Number(value);
      if (value === undefined || !Number.isFinite(n)) throw new Error(`${flag} needs a number`);
      i++;
      return n;
    };
    switch (flag) {
      case '--frames': args.frames = num(); break;
      case '--live-seconds': args.liveSeconds = num(); break;
      case '--model-ops': args.modelOps = num(); break;
      case '--seed': args.seed = num() | 0; break;
      case '--only': args.only = new Set((value ?? '').split(',')); i++; break;
      case '--child': args.child = value as Protocol; i++; break;
      default: throw new Error(`unknown option ${flag}`);
    }
  }
  return args;
}

// ---- parser fuzz: one child process per protocol ------------------------------------

type ChildMessage =
  | { type: 'progress'; frames: number; property: string; seed: number }
  | { type: 'done'; frames: number; parses: number; replies: number; byProperty: Record<string, number>; ms: number }
  | { type: 'failure'; message: string; hang: boolean };

const BATCH: Record<PropertyName, number> = { valid: 1000, mutated: 1500, random: 3000 };

function failure<Ts>(what: string, seed: number, details: fc.RunDetails<Ts>): ChildMessage {
  const error = String((details.errorInstance as Error | undefined)?.message ?? details.errorInstance);
  return { type: 'failure', message: `${what} (seed ${seed}): ${error}\n${fc.defaultReportMessage(details)}`, hang: error.startsWith('HANG') };
}

/** Runs in the child: feeds one protocol's parser until `frames` frames have gone in. */
function runParserChild(p: Protocol, frames: number, seed: number): void {
  const send = (m: ChildMessage): void => void process.send!(m);
  const counts = emptyCounts();
  const byProperty: Record<string, number> = {};
  const replies = { replies: 0 };
  const started = Date.now();
  let batch = 0;
  while (counts[p].frames < frames) {
    for (const name of Object.keys(BATCH) as PropertyName[]) {
      const s = (seed + batch * 104729) | 0;
      send({ type: 'progress', frames: counts[p].frames, property: name, seed: s });
      const before = counts[p].frames;
      const details = fc.check(PROPERTIES[name](p, counts), { numRuns: BATCH[name], seed: s });
      if (details.failed) {
        send(failure(`${p} ${name}`, s, details));
        process.exit(1);
      }
      byProperty[name] = (byProperty[name] ?? 0) + counts[p].frames - before;
    }
    // Encoders: one random reply per five frames.
    const s = (seed + batch * 104729 + 1) | 0;
    send({ type: 'progress', frames: counts[p].frames, property: 'encoder', seed: s });
    const details = fc.check(encoderProperty(p, replies), { numRuns: 1100, seed: s });
    if (details.failed) {
      send(failure(`${p} encoder`, s, details));
      process.exit(1);
    }
    batch++;
  }
  send({ type: 'done', frames: counts[p].frames, parses: counts[p].parses, replies: replies.replies, byProperty, ms: Date.now() - started });
  process.exit(0);
}

interface ParserResult {
  protocol: Protocol;
  frames: number;
  parses: number;
  replies: number;
  byProperty: Record<string, number>;
  ms: number;
  failure?: string;
  hang?: boolean;
}

const WATCHDOG_MS = 60_000;

function forkParserRun(p: Protocol, args: Args): Promise<ParserResult> {
  return new Promise((resolve) => {
    const self = fileURLToPath(import.meta.url);
    const child: ChildProcess = fork(self, ['--child', p, '--frames', String(args.frames), '--seed', String(args.seed)], {
      execArgv: ['--import', 'tsx'],
    });
    const result: ParserResult = { protocol: p, frames: 0, parses: 0, replies: 0, byProperty: {}, ms: 0 };
    let last: Extract<ChildMessage, { type: 'progress' }> | undefined;
    let lastAt = Date.now();
    let lastLog = 0;
    const watchdog = setInterval(() => {
      if (Date.now() - lastAt < WATCHDOG_MS) return;
      result.failure = `HANG: no progress for ${WATCHDOG_MS / 1000} s in ${p} ${last?.property} (seed ${last?.seed})`;
      result.hang = true;
      child.kill('SIGKILL');
    }, 1000);
    child.on('message', (m: ChildMessage) => {
      lastAt = Date.now();
      if (m.type === 'progress') {
        last = m;
        if (m.frames - lastLog >= 100_000) {
          lastLog = m.frames;
          console.log(`parsers: ${p} ${m.frames} frames`);
        }
      } else if (m.type === 'done') {
        Object.assign(result, m);
      } else {
        result.failure = m.message;
        result.hang = m.hang;
      }
    });
    child.on('exit', (code) => {
      clearInterval(watchdog);
      if (code !== 0 && !result.failure) result.failure = `child for ${p} exited with ${code} (last: ${last?.property} seed ${last?.seed})`;
      resolve(result);
    });
  });
}

async function runParsers(args: Args): Promise<ParserResult[]> {
  const queue = [...PROTOCOLS];
  const results: ParserResult[] = [];
  const lanes = Math.max(1, Math.min(PROTOCOLS.length, availableParallelism()));
  await Promise.all(Array.from({ length: lanes }, async () => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) results.push(await forkParserRun(p, args));
  }));
  return PROTOCOLS.map((p) => results.find((r) => r.protocol === p)!);
}

// ---- live node and model ------------------------------------------------------------

async function runLive(args: Args): Promise<{ reports: LiveFuzzReport[]; failure?: string; ms: number }> {
  const started = Date.now();
  const reports: LiveFuzzReport[] = [];
  const half = (args.liveSeconds * 1000) / 2;
  for (const anonymous of [false, true]) {
    const crashes = watchCrashes();
    const t = await startTestNode({ anonymous, logger: crashes.logger });
    try {
      const cache = await t.createCache();
      const quiet = await t.createCache();
      const seed = anonymous ? args.seed ^ 0x2545f491 : args.seed;
      reports.push(await runLiveFuzz(t, cache, quiet, { seed, durationMs: half, log: console.log }, () => crashes.check()));
      crashes.check();
    } catch (e) {
      return { reports, failure: `live fuzz${anonymous ? ' (anonymous mode)' : ''}: ${(e as Error).message}`, ms: Date.now() - started };
    } finally {
      await t.close();
      crashes.dispose();
    }
  }
  return { reports, ms: Date.now() - started };
}

async function runModel(args: Args): Promise<{ report?: ModelReport; failure?: string; ms: number }> {
  const started = Date.now();
  const t = await startTestNode();
  try {
    const report = await runIsolationModel(t, { seed: args.seed, ops: args.modelOps, log: (l) => console.log(l) });
    return { report, ms: Date.now() - started };
  } catch (e) {
    return { failure: (e as Error).message, ms: Date.now() - started };
  } finally {
    await t.close();
  }
}

// ---- main ---------------------------------------------------------------------------

const fmt = (n: number): string => n.toLocaleString('en-US');
const rate = (n: number, ms: number): string => fmt(Math.round(n / (ms / 1000)));

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) return runParserChild(args.child, args.frames, args.seed);

  console.log(`fuzz: seed ${args.seed}`);
  const failures: string[] = [];
  const lines: string[] = [`Seed ${args.seed}, Node ${process.version}, ${availableParallelism()} CPUs.`, ''];

  if (args.only.has('parsers')) {
    const results = await runParsers(args);
    lines.push('| protocol | frames fuzzed | (valid / mutated / random) | parse calls | frames/s | random replies encoded | crashes | hangs |', '|---|---|---|---|---|---|---|---|');
    for (const r of results) {
      const hang = r.hang ? 1 : 0;
      const crash = r.failure && !hang ? 1 : 0;
      const split = ['valid', 'mutated', 'random'].map((k) => fmt(r.byProperty[k] ?? 0)).join(' / ');
      lines.push(`| ${r.protocol === 'text' ? 'ASCII classic' : r.protocol === 'meta' ? 'ASCII meta' : 'binary'} | ${fmt(r.frames)} | ${split} | ${fmt(r.parses)} | ${r.ms ? rate(r.frames, r.ms) : '-'} | ${fmt(r.replies)} | ${crash} | ${hang} |`);
      if (r.failure) failures.push(r.failure);
    }
    lines.push('');
  }

  if (args.only.has('live')) {
    const live = await runLive(args);
    const sum = (f: (r: LiveFuzzReport) => number): number => live.reports.reduce((s, r) => s + f(r), 0);
    lines.push(
      `Live node, ${Math.round(live.ms / 1000)} s (half with login, half in anonymous mode): ${fmt(sum((r) => r.batches))} batches, `
      + `${fmt(sum((r) => r.connections))} connections (+${fmt(sum((r) => r.stalled))} stalled mid-frame), `
      + `frames ASCII ${fmt(sum((r) => r.frames.text))} / meta ${fmt(sum((r) => r.frames.meta))} / binary ${fmt(sum((r) => r.frames.binary))}, `
      + `${fmt(sum((r) => r.bytesSent))} bytes, ${fmt(sum((r) => r.sentinels))} valid pipelines answered in full, `
      + `${fmt(sum((r) => r.closedByNode))} hostile connections closed by the node, ${fmt(sum((r) => r.healthChecks))} health checks passed; `
      + `${live.failure ? 'FAILED' : '0 crashes, 0 hangs'}.`,
      '',
    );
    if (live.failure) failures.push(live.failure);
  }

  if (args.only.has('model')) {
    const model = await runModel(args);
    if (model.report) {
      const r = model.report;
      lines.push(
        `Isolation model, ${Math.round(model.ms / 1000)} s: ${fmt(r.ops)} operations (ASCII ${fmt(r.byWire.text)}, meta ${fmt(r.byWire.meta)}, `
        + `binary ${fmt(r.byWire.binary)}; ${rate(r.ops, model.ms)}/s), ${fmt(r.refused)} refused for a missing capability as the model expected, `
        + `${fmt(r.statsChecks)} per-cache stats comparisons; 0 divergences.`,
        '',
      );
    } else {
      lines.push(`Isolation model: DIVERGED after ${Math.round(model.ms / 1000)} s.`, '');
    }
    if (model.failure) failures.push(model.failure);
  }

  console.log(`\n${lines.join('\n')}`);
  if (failures.length > 0) {
    console.log(`\n${failures.length} FAILURE(S):\n\n${failures.join('\n\n')}`);
    process.exit(1);
  }
  process.exit(0);
}

await main();
