/** The printed table and the target verdicts of a benchmark run (its JSON has the same facts). */
import type { CpuShare } from './machine-sampler.ts';
import type { ServerCounters } from './server-stats.ts';
import type { ServerName } from './servers.ts';
import { SERVER_LABEL, type Baseline } from './workloads.ts';

export interface Measurement {
  readonly round: number;
  readonly server: ServerName;
  readonly opsPerSec: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** Open loop: the offered rate and requests never answered. */
  readonly offeredRate?: number;
  readonly unanswered?: number;
  /** Open loop: p99 of how late the load generator itself sent. */
  readonly sendLagP99Us?: number;
  /** Error replies and lost requests as the load tool saw them (see badReplies). */
  readonly errors: number;
  /** Gets answered "not found", as the load tool saw them, and its gets. */
  readonly misses: number;
  readonly gets?: number;
  /** The first few errors, as text. */
  readonly errorSamples?: readonly string[];
  /** memcaslap --verify: values that differed from what it set, verified gets that found nothing. */
  readonly verifyFailed?: number;
  readonly verifyMisses?: number;
  /** The server's own counters over the measurement (after − before). */
  readonly counters?: ServerCounters;
  /** CPU of the rest of the machine just before the measurement (percent of one core). */
  readonly otherCpuBefore?: number;
  readonly cpu?: CpuShare;
  /** Server CPU µs per operation (see cpuUsPerOp). */
  readonly serverCpuUsPerOp?: number;
  /** When the load ran (process.hrtime µs): lets --profile count only these samples. */
  readonly window: { readonly fromUs: number; readonly toUs: number };
  readonly command?: string;
  readonly raw: unknown;
}

export interface WorkloadOutcome {
  readonly name: string;
  readonly description: string;
  /** The server cachier is compared with in this row (workloads.ts). */
  readonly baseline: Baseline;
  readonly measurements: Measurement[];
  /** The measurement reported for each server: best throughput, or best p99 at a fixed rate. */
  best: Partial<Record<ServerName, Measurement>>;
  /** cachier / baseline: ops/s (closed loop) or p99 (open loop), best of each server. */
  ratio?: number;
  /** The same ratio within each round (index 0 = round 1), where both servers ran it. */
  roundRatios?: (number | undefined)[];
}

export interface MemoryOutcome {
  readonly server: ServerName;
  readonly items: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly bytesPerItem: number;
  readonly currItems: number | undefined;
  readonly evictions: number | undefined;
  readonly fillSeconds: number;
}

/** One node's RSS around the introspection-memory phase's traffic to many caches. */
export interface IntrospectionMemoryRun {
  readonly server: Extract<ServerName, 'cachier' | 'cachier-no-introspection'>;
  readonly caches: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  /** Requests sent (logins included) and those answered exactly as expected. */
  readonly requests: number;
  readonly answeredCorrectly: number;
  /** Caches with any wrong, missing or late reply, and the first few problems. */
  readonly failedCaches: number;
  readonly problems: readonly string[];
  readonly seconds: number;
}

export interface IntrospectionMemoryOutcome {
  readonly caches: number;
  readonly keysPerCache: number;
  readonly setsPerCache: number;
  readonly getsPerCache: number;
  /** The nodes' --introspection-memory (the default): the bound on the difference. */
  readonly cap: string;
  readonly runs: readonly IntrospectionMemoryRun[];
  /** (RSS growth with introspection − without) / caches, when both ran. */
  readonly extraBytesPerCache?: number;
  readonly extraBytes?: number;
}

/** RERUN: it would pass, but it was measured on a disturbed machine. */
export type VerdictStatus = 'PASS' | 'FAIL' | 'RERUN';

export interface TargetVerdict {
  readonly target: string;
  readonly value: number | string;
  readonly limit: string;
  readonly status: VerdictStatus;
  /** Context printed after the verdict. */
  readonly note?: string;
}

/**
 * What went wrong in one measurement, from both the load tool's count and the server's
 * counters (whichever saw more): errors include memcaslap's verify failures and requests
 * the open loop never got an answer to.
 */
export function badReplies(m: Measurement): { errors: number; misses: number; gets: number } {
  return {
    errors: m.errors + (m.verifyFailed ?? 0) + (m.unanswered ?? 0),
    misses: Math.max(m.misses, m.verifyMisses ?? 0, m.counters?.getMisses ?? 0),
    gets: Math.max(m.gets ?? 0, m.counters?.cmdGet ?? 0),
  };
}

const fmtInt = (n: number | undefined) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const fmtUs = (n: number | undefined) => (n === undefined ? '-' : n >= 100 ? String(Math.round(n)) : n.toFixed(1));

function pad(cells: string[], widths: number[], rightFrom = 1): string {
  return cells.map((c, i) => (i >= rightFrom ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
}

/**
 * Server CPU time per operation over the sampled window: unlike ops/s it barely moves when
 * other processes steal the machine, so it is the steadier comparison on a shared host.
 */
export function cpuUsPerOp(m: Measurement | undefined): number | undefined {
  if (!m?.cpu || m.opsPerSec <= 0) return undefined;
  return (m.cpu.serverPercent / 100 / m.opsPerSec) * 1e6;
}

/**
 * The rows compared with `baseline`, one column group per server, headed with the server
 * each really is: the introspection rows get their own table, never a memcached column.
 */
export function formatThroughputTable(outcomes: readonly WorkloadOutcome[], baseline: Baseline = 'memcached'): string {
  const servers = [baseline, 'cachier'] as const;
  const cachierLabel = baseline === 'memcached' ? SERVER_LABEL.cachier : `${SERVER_LABEL.cachier} (introspection on)`;
  const header = [
    'workload', `${SERVER_LABEL[baseline]} ops/s`, 'p50 µs', 'p99 µs', 'cpu µs/op', `${cachierLabel} ops/s`, 'p50 µs', 'p99 µs', 'cpu µs/op', 'ratio',
    'per round', 'errors', 'misses', 'other cpu %',
  ];
  const rows = outcomes.filter((o) => o.baseline === baseline).map((o) => {
    const m = o.best[baseline];
    const c = o.best.cachier;
    const cpu = (x: Measurement | undefined) => {
      const v = cpuUsPerOp(x);
      return v === undefined ? '-' : v.toFixed(1);
    };
    const other = [m, c].map((x) => (x?.cpu ? String(x.cpu.otherPercent) : '-')).join('/');
    // Over every round, baseline/cachier: a bad reply in any round counts, not only in the best.
    const total = (key: 'errors' | 'misses') => servers
      .map((server) => {
        const ms = o.measurements.filter((x) => x.server === server);
        return ms.length ? fmtInt(ms.reduce((sum, x) => sum + badReplies(x)[key], 0)) : '-';
      })
      .join('/');
    return [
      o.name,
      m ? fmtInt(m.opsPerSec) : '-', fmtUs(m?.p50Us), fmtUs(m?.p99Us), cpu(m),
      c ? fmtInt(c.opsPerSec) : '-', fmtUs(c?.p50Us), fmtUs(c?.p99Us), cpu(c),
      o.ratio === undefined ? '-' : o.ratio.toFixed(2),
      o.roundRatios?.length ? o.roundRatios.map((r) => (r === undefined ? '-' : r.toFixed(2))).join(' ') : '-',
      total('errors'), total('misses'),
      other,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [pad(header, widths), pad(widths.map((w) => '-'.repeat(w)), widths), ...rows.map((r) => pad(r, widths))].join('\n');
}

export function formatMemoryTable(memory: readonly MemoryOutcome[]): string {
  const header = ['server', 'items', 'RSS before', 'RSS after', 'bytes/item', 'curr_items', 'evictions', 'load s'];
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const rows = memory.map((m) => [
    m.server, fmtInt(m.items), mib(m.rssBeforeBytes), mib(m.rssAfterBytes), m.bytesPerItem.toFixed(1),
    fmtInt(m.currItems), fmtInt(m.evictions), m.fillSeconds.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [pad(header, widths), pad(widths.map((w) => '-'.repeat(w)), widths), ...rows.map((r) => pad(r, widths))].join('\n');
}

export function formatIntrospectionMemoryTable(o: IntrospectionMemoryOutcome): string {
  const header = ['server', 'caches', 'RSS before', 'RSS after', 'growth', 'requests', 'answered ok', 'seconds'];
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const rows = o.runs.map((r) => [
    SERVER_LABEL[r.server], fmtInt(r.caches), mib(r.rssBeforeBytes), mib(r.rssAfterBytes), mib(r.rssAfterBytes - r.rssBeforeBytes),
    fmtInt(r.requests), fmtInt(r.answeredCorrectly), r.seconds.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const lines = [pad(header, widths), pad(widths.map((w) => '-'.repeat(w)), widths), ...rows.map((r) => pad(r, widths))];
  if (o.extraBytes !== undefined && o.extraBytesPerCache !== undefined) {
    lines.push(`introspection on − off: ${(o.extraBytes / 2 ** 20).toFixed(1)} MiB for ${fmtInt(o.caches)} active caches, ` +
      `${(o.extraBytesPerCache / 1024).toFixed(1)} KiB/cache (node cap --introspection-memory ${o.cap}, the default)`);
  }
  return lines.join('\n');
}

export function formatVerdicts(verdicts: readonly TargetVerdict[]): string {
  const width = Math.max(...verdicts.map((v) => v.target.length));
  const value = (v: TargetVerdict) => (typeof v.value === 'number' ? v.value.toFixed(3) : v.value);
  const valueWidth = Math.max(8, ...verdicts.map((v) => value(v).length));
  const lines = verdicts.map((v) =>
    `${v.status.padEnd(5)}  ${v.target.padEnd(width)}  ${value(v).padStart(valueWidth)}  (target ${v.limit})${v.note ? `  ${v.note}` : ''}`);
  const count = (s: string) => verdicts.filter((v) => v.status === s).length;
  lines.push(`${count('PASS')} PASS, ${count('FAIL')} FAIL, ${count('RERUN')} RERUN` +
    (count('RERUN') ? ' (RERUN: it would pass, but the machine was busy; rerun on a quiet one before trusting it)' : ''));
  return lines.join('\n');
}

// ---------------------------------------------------------------- scaling (npm run bench -- --scale)

/** One measurement of a scaling point: every loader process summed, every server process summed. */
export interface ScaleMeasurement {
  readonly round: number;
  readonly server: Extract<ServerName, 'memcached' | 'cachier'>;
  readonly opsPerSec: number;
  /** The worst loader's p50 and p99 (each loader measures its own requests). */
  readonly p50Us: number;
  readonly p99Us: number;
  readonly errors: number;
  readonly misses: number;
  readonly gets: number;
  readonly errorSamples: readonly string[];
  /** The servers' own counters over the measurement, summed over the K nodes. */
  readonly counters?: ServerCounters;
  /** CPU over the sampled window, in % of one core: all server processes, each loader, everything else. */
  readonly serverCpuPercent?: number;
  readonly loaderCpuPercent?: readonly number[];
  readonly otherPercent?: number;
  readonly serverCpuUsPerOp?: number;
}

export interface ScalePoint {
  readonly k: number;
  readonly serverCores: readonly number[];
  readonly loaderCores: readonly number[];
  /** Closed-loop clients over all loaders (one request in flight each). */
  readonly clients: number;
  readonly measurements: ScaleMeasurement[];
  best: { memcached?: ScaleMeasurement; cachier?: ScaleMeasurement };
  ratio?: number;
  roundRatios?: (number | undefined)[];
}

/** A K the machine cannot measure: K server cores and at least one loader core. */
export interface ScaleSkip {
  readonly k: number;
  readonly needs: number;
  readonly has: number;
}

/** Per-core speed: server CPU per request for single gets and for sets (memcaslap, K = 1). */
export interface PerCoreRow {
  readonly op: 'get' | 'set';
  readonly description: string;
  readonly measurements: ScaleMeasurement[];
  /** Lowest cpu µs/op of each server over its rounds (other processes only add to it). */
  memcachedCpuUsPerOp?: number;
  cachierCpuUsPerOp?: number;
}

/** Where a node's CPU time went under memcaslap-ascii, from perf (or why perf could not say). */
export interface PerfBreakdown {
  readonly ok: boolean;
  readonly reason?: string;
  readonly samples?: number;
  /** Share of samples per kind of code: kernel, JS, node/V8 runtime, native addon, libraries. */
  readonly classes?: readonly { readonly name: string; readonly percent: number }[];
  readonly topSymbols?: readonly { readonly percent: number; readonly dso: string; readonly symbol: string }[];
  readonly command?: string;
}

export interface ScaleOutcome {
  readonly loadTool: string;
  readonly points: ScalePoint[];
  readonly skipped: readonly ScaleSkip[];
  readonly perCore?: readonly PerCoreRow[];
  readonly perf?: PerfBreakdown;
}

/** Best ops/s per server, the ratio of the bests and of each round (the paired ones). */
export function summarizeScale(ms: readonly ScaleMeasurement[]): Pick<ScalePoint, 'best' | 'ratio' | 'roundRatios'> {
  const best: ScalePoint['best'] = {};
  for (const m of ms) if (!best[m.server] || m.opsPerSec > best[m.server]!.opsPerSec) best[m.server] = m;
  const rounds = Math.max(0, ...ms.map((m) => m.round));
  const roundRatios: (number | undefined)[] = [];
  for (let r = 1; r <= rounds; r++) {
    const b = ms.find((x) => x.round === r && x.server === 'memcached');
    const c = ms.find((x) => x.round === r && x.server === 'cachier');
    roundRatios.push(b && c && b.opsPerSec > 0 ? c.opsPerSec / b.opsPerSec : undefined);
  }
  const b = best.memcached;
  const c = best.cachier;
  return { best, ...(b && c && b.opsPerSec > 0 ? { ratio: c.opsPerSec / b.opsPerSec, roundRatios } : {}) };
}

/** The honest line for a K this machine cannot measure. */
export function notEnoughCores(s: ScaleSkip): string {
  return `not enough cores for K=${s.k} (needs ${s.needs}, has ${s.has})`;
}

export function formatScaleTable(o: ScaleOutcome): string {
  const header = [
    'K', 'server cores', 'loader cores', 'clients', 'memcached ops/s', 'cpu µs/op', 'cachier ops/s', 'cpu µs/op', 'ratio', 'per round',
    'errors', 'misses', 'loader cpu %', 'other cpu %',
  ];
  const sum = (p: ScalePoint, key: 'errors' | 'misses', server: ScaleMeasurement['server']) => {
    const ms = p.measurements.filter((m) => m.server === server);
    if (!ms.length) return '-';
    return fmtInt(ms.reduce((t, m) => t + (key === 'errors' ? m.errors : Math.max(m.misses, m.counters?.getMisses ?? 0)), 0));
  };
  const cores = (c: readonly number[]) => (c.length > 2 && c.at(-1)! - c[0]! === c.length - 1 ? `${c[0]}-${c.at(-1)}` : c.join(','));
  const rows = o.points.map((p) => {
    const m = p.best.memcached;
    const c = p.best.cachier;
    const loader = (x: ScaleMeasurement | undefined) => (x?.loaderCpuPercent?.length ? String(Math.max(...x.loaderCpuPercent)) : '-');
    return [
      String(p.k), cores(p.serverCores), cores(p.loaderCores), String(p.clients),
      m ? fmtInt(m.opsPerSec) : '-', fmtUs(m?.serverCpuUsPerOp), c ? fmtInt(c.opsPerSec) : '-', fmtUs(c?.serverCpuUsPerOp),
      p.ratio === undefined ? '-' : p.ratio.toFixed(2),
      p.roundRatios?.length ? p.roundRatios.map((r) => (r === undefined ? '-' : r.toFixed(2))).join(' ') : '-',
      `${sum(p, 'errors', 'memcached')}/${sum(p, 'errors', 'cachier')}`, `${sum(p, 'misses', 'memcached')}/${sum(p, 'misses', 'cachier')}`,
      `${loader(m)}/${loader(c)}`, `${m?.otherPercent ?? '-'}/${c?.otherPercent ?? '-'}`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const lines = [pad(header, widths), pad(widths.map((w) => '-'.repeat(w)), widths), ...rows.map((r) => pad(r, widths))];
  for (const s of o.skipped) lines.push(notEnoughCores(s));
  return lines.join('\n');
}

export function formatPerCoreTable(rows: readonly PerCoreRow[]): string {
  const header = ['op', 'memcached ops/s', 'cpu µs/op', 'cachier ops/s', 'cpu µs/op', 'cpu/op cachier/memcached', 'errors', 'misses', 'other cpu %'];
  const best = (r: PerCoreRow, s: ScaleMeasurement['server']) =>
    r.measurements.filter((m) => m.server === s).sort((a, b) => b.opsPerSec - a.opsPerSec)[0];
  const total = (r: PerCoreRow, key: 'errors' | 'misses') => (['memcached', 'cachier'] as const)
    .map((s) => fmtInt(r.measurements.filter((m) => m.server === s)
      .reduce((t, m) => t + (key === 'errors' ? m.errors : Math.max(m.misses, m.counters?.getMisses ?? 0)), 0)))
    .join('/');
  const table = rows.map((r) => {
    const m = best(r, 'memcached');
    const c = best(r, 'cachier');
    const ratio = r.memcachedCpuUsPerOp && r.cachierCpuUsPerOp ? (r.cachierCpuUsPerOp / r.memcachedCpuUsPerOp).toFixed(2) : '-';
    return [
      r.op, m ? fmtInt(m.opsPerSec) : '-', fmtUs(r.memcachedCpuUsPerOp), c ? fmtInt(c.opsPerSec) : '-', fmtUs(r.cachierCpuUsPerOp), ratio,
      total(r, 'errors'), total(r, 'misses'), `${m?.otherPercent ?? '-'}/${c?.otherPercent ?? '-'}`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  return [pad(header, widths), pad(widths.map((w) => '-'.repeat(w)), widths), ...table.map((r) => pad(r, widths))].join('\n');
}

export function formatPerf(p: PerfBreakdown): string {
  if (!p.ok) return `perf: not measured: ${p.reason}`;
  const lines = [`perf: where the cachier node's CPU went under memcaslap-ascii (${fmtInt(p.samples)} samples; ${p.command})`];
  for (const c of p.classes ?? []) lines.push(`  ${c.percent.toFixed(1).padStart(5)}%  ${c.name}`);
  if (p.topSymbols?.length) {
    lines.push('  top symbols:');
    for (const s of p.topSymbols) lines.push(`  ${s.percent.toFixed(1).padStart(5)}%  ${s.symbol}  (${s.dso})`);
  }
  return lines.join('\n');
}
