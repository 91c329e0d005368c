/**
 * memcaslap (libmemcached-tools' memaslap) as the load for the plain get/set workloads:
 * one thread, 32 concurrent connections, one request in flight each, keys and values
 * from a config file, for a fixed time. Its throughput comes from the final `TPS:` line;
 * its latency from the `-S` statistics, whose histogram has power-of-two buckets, so our
 * p50/p99 are interpolated within a bucket (good to tens of percent, not to 1 %).
 *
 * memcaslap counts no errors. What it does on a failure (libmemcached's clients/ms_conn.c,
 * checked against memcached 1.6.18 with `-c 20` and `-m 2`), and what we read for it:
 * - ASCII error replies (ERROR, CLIENT_ERROR, SERVER_ERROR, NOT_STORED, EXISTS) are
 *   printed to stdout as `<fd LINE`; binary error statuses without a body go to stderr as
 *   their text ("Out of memory", "Not stored.", ...), as do write failures ("Failed to
 *   write, and not due to blocking."). Every such line is an error.
 * - A connection the server closes is dropped silently, but then the periodic statistics
 *   (`Period` rows, printed only while all connections are alive) are missing, and if all
 *   are gone the run ends early (`Run time` short of --time).
 * - A binary miss comes with a body ("Not found"), which memcaslap takes for a value: its
 *   get_misses stays 0 (seen: 0 reported, 4,621 in memcached's stats). So misses are read
 *   from the server's stats too (bench/harness/server-stats.ts), and with --verify such a
 *   miss shows as verify_failed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LOAD_CORE, pinned, runBounded } from './processes.ts';

export interface MemcaslapOptions {
  readonly server: string; // host:port
  readonly seconds: number;
  readonly concurrency: number;
  readonly binary: boolean;
  /** Keys per multi-get (memcaslap --division); 1 is a single get. */
  readonly division: number;
  readonly getRatio: number;
  readonly valueSize: number;
  readonly keySize: number;
  /** Directory for the config file. */
  readonly workDir: string;
  /** memcaslap --verify: the share of gets whose value it compares with what it set. */
  readonly verify?: number;
  /** memcaslap --win_size (items per connection; default 10k): it sets a window's items before getting them. */
  readonly winSize?: string;
}

/** What memcaslap's output says went wrong (see the comment at the top). */
export interface MemcaslapFailures {
  /** `<fd ERROR…` lines, stderr lines, `didn't set success` lines, lost connections. */
  readonly errors: number;
  /** The first few of them, for the report. */
  readonly errorSamples: readonly string[];
  readonly getMisses: number;
  readonly gets: number;
  /** With --verify: values that differed, and verified gets that found nothing. */
  readonly verifyFailed?: number;
  readonly verifyMisses?: number;
  /** Every connection stayed open to the end (the periodic statistics were printed). */
  readonly allConnectionsAlive: boolean;
}

export interface MemcaslapResult {
  readonly opsPerSec: number;
  readonly ops: number;
  readonly seconds: number;
  /** Latency of one request as memcaslap records it: Get statistics for multi-gets, Total otherwise. */
  readonly latency: { readonly events: number; readonly avgUs: number; readonly p50Us: number; readonly p99Us: number; readonly maxUs: number; readonly source: string };
  readonly failures: MemcaslapFailures;
  readonly command: string;
}

let cfgWrites = 0;

export async function runMemcaslap(o: MemcaslapOptions, onStart?: (pid: number) => void): Promise<MemcaslapResult> {
  const cfg = path.join(o.workDir, `memcaslap-${o.keySize}-${o.valueSize}-${o.getRatio}.cfg`);
  // key: min max proportion; value: min max proportion; cmd: 0 = set, 1 = get. Written
  // aside and renamed into place: a concurrent row's two memcaslaps start together, and
  // one read the file while the other had it truncated ("Bad configuration file").
  const aside = `${cfg}.${process.pid}.${++cfgWrites}`;
  fs.writeFileSync(
    aside,
    `key\n${o.keySize} ${o.keySize} 1\nvalue\n${o.valueSize} ${o.valueSize} 1\ncmd\n0 ${round(1 - o.getRatio)}\n1 ${round(o.getRatio)}\n`,
  );
  fs.renameSync(aside, cfg);
  const args = [
    'memcaslap', `--servers=${o.server}`, '--threads=1', `--concurrency=${o.concurrency}`, `--time=${o.seconds}s`,
    `--stat_freq=${o.seconds}s`, `--cfg_cmd=${cfg}`,
  ];
  if (o.binary) args.push('--binary');
  if (o.division > 1) args.push(`--division=${o.division}`);
  if (o.verify) args.push(`--verify=${o.verify}`);
  if (o.winSize) args.push(`--win_size=${o.winSize}`);
  const r = await runBounded(pinned(LOAD_CORE, args), (o.seconds + 30) * 1000, {}, onStart);
  const out = r.stdout.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  const final = /Run time: ([\d.]+)s Ops: (\d+) TPS: (\d+)/.exec(out);
  if (r.timedOut || !final) {
    throw new Error(`memcaslap failed (code ${r.code}, timed out ${r.timedOut}):\n${out.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  }
  const block = o.division > 1 ? 'Get' : 'Total';
  return {
    opsPerSec: Number(final[3]),
    ops: Number(final[2]),
    seconds: Number(final[1]),
    latency: { ...parseLatency(out, block), source: `memcaslap ${block} Statistics, log2 histogram interpolated` },
    failures: parseFailures(out, r.stderr, o.seconds, o.verify !== undefined),
    command: args.join(' ').replace(cfg, path.basename(cfg)),
  };
}

/** Reads memcaslap's stdout (colour codes removed) and stderr for failures. */
export function parseFailures(out: string, stderr: string, seconds: number, verify: boolean): MemcaslapFailures {
  const counter = (name: string) => {
    const m = new RegExp(`^${name}: (\\d+)$`, 'm').exec(out);
    return m ? Number(m[1]) : undefined;
  };
  const lines = [
    ...out.split('\n').filter((l) => /^<\d+ /.test(l) || /didn't set success/.test(l)),
    ...stderr.split('\n').map((l) => l.trim()).filter(Boolean),
  ];
  const samples = [...new Set(lines)].slice(0, 5);
  const allConnectionsAlive = /^Period\s/m.test(out);
  const runTime = Number(/Run time: ([\d.]+)s/.exec(out)?.[1] ?? 0);
  let errors = lines.length;
  if (!allConnectionsAlive) {
    errors++;
    samples.push('connections closed: no periodic statistics (memcaslap prints them only while every connection is open)');
  }
  if (runTime < seconds - 0.5) {
    errors++;
    samples.push(`ran ${runTime} s of ${seconds} s: every connection was closed`);
  }
  const verifyFailed = counter('verify_failed');
  const verifyMisses = counter('verify_misses');
  if (verify && verifyFailed === undefined) {
    errors++;
    samples.push('--verify given but no verify_failed line printed');
  }
  return {
    errors,
    errorSamples: samples,
    getMisses: counter('get_misses') ?? 0,
    gets: counter('cmd_get') ?? 0,
    ...(verify ? { verifyFailed: verifyFailed ?? 0, verifyMisses: verifyMisses ?? 0 } : {}),
    allConnectionsAlive,
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Parses a block such as
 *   Total Statistics (179007 events)
 *      Min: 37  Max: 15661  Avg: 1072 …
 *      Log2 Dist:
 *          4:        0        0        4        7
 *          8:      268     9916   133336    19320
 * where column j of row r counts latencies v (µs) with 2^(i-1) < v <= 2^i, i = r + j.
 */
export function parseLatency(out: string, block: 'Total' | 'Get') {
  const start = out.lastIndexOf(`${block} Statistics (`);
  if (start < 0) return { events: 0, avgUs: 0, p50Us: 0, p99Us: 0, maxUs: 0 };
  const text = out.slice(start).split(/\n\s*\n/)[0]!;
  const num = (name: string) => Number(new RegExp(`${name}:\\s+([\\d.]+)`).exec(text)?.[1] ?? 0);
  const dist = new Map<number, number>();
  for (const m of text.matchAll(/^\s+(\d+):((?:\s+\d+)+)\s*$/gm)) {
    const base = Number(m[1]);
    m[2]!.trim().split(/\s+/).forEach((c, j) => dist.set(base + j, Number(c)));
  }
  const events = [...dist.values()].reduce((a, b) => a + b, 0);
  const maxUs = num('Max');
  const quantile = (q: number) => {
    const rank = q * events;
    let seen = 0;
    for (const i of [...dist.keys()].sort((a, b) => a - b)) {
      const c = dist.get(i)!;
      if (c > 0 && seen + c >= rank) {
        const lo = i === 0 ? 0 : 2 ** (i - 1);
        const hi = Math.min(2 ** i, maxUs || 2 ** i);
        return Math.round(lo + ((rank - seen) / c) * (hi - lo));
      }
      seen += c;
    }
    return maxUs;
  };
  return { events, avgUs: num('Avg'), p50Us: quantile(0.5), p99Us: quantile(0.99), maxUs };
}
