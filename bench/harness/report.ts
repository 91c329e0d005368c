/** The printed table and the target verdicts of a benchmark run (its JSON has the same facts). */
import type { CpuShare } from './machine-sampler.ts';
import type { ServerName } from './servers.ts';

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
  readonly errors: number;
  readonly misses: number;
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
  readonly measurements: Measurement[];
  /** The measurement reported for each server: best throughput, or best p99 at a fixed rate. */
  best: Partial<Record<ServerName, Measurement>>;
  /** cachier / memcached: ops/s (closed loop) or p99 (open loop). */
  ratio?: number;
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

export interface TargetVerdict {
  readonly target: string;
  readonly value: number;
  readonly limit: string;
  readonly pass: boolean;
  /** Context printed after the verdict. */
  readonly note?: string;
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

export function formatThroughputTable(outcomes: readonly WorkloadOutcome[]): string {
  const header = [
    'workload', 'memcached ops/s', 'p50 µs', 'p99 µs', 'cpu µs/op', 'cachier ops/s', 'p50 µs', 'p99 µs', 'cpu µs/op', 'ratio', 'other cpu %',
  ];
  const rows = outcomes.map((o) => {
    const m = o.best.memcached;
    const c = o.best.cachier;
    const cpu = (x: Measurement | undefined) => {
      const v = cpuUsPerOp(x);
      return v === undefined ? '-' : v.toFixed(1);
    };
    const other = [m, c].map((x) => (x?.cpu ? String(x.cpu.otherPercent) : '-')).join('/');
    return [
      o.name,
      m ? fmtInt(m.opsPerSec) : '-', fmtUs(m?.p50Us), fmtUs(m?.p99Us), cpu(m),
      c ? fmtInt(c.opsPerSec) : '-', fmtUs(c?.p50Us), fmtUs(c?.p99Us), cpu(c),
      o.ratio === undefined ? '-' : o.ratio.toFixed(2),
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

export function formatVerdicts(verdicts: readonly TargetVerdict[]): string {
  const width = Math.max(...verdicts.map((v) => v.target.length));
  return verdicts
    .map((v) => `${v.pass ? 'PASS' : 'FAIL'}  ${v.target.padEnd(width)}  ${v.value.toFixed(3).padStart(8)}  (target ${v.limit})${v.note ? `  ${v.note}` : ''}`)
    .join('\n');
}
