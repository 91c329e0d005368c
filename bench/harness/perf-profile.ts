/**
 * `perf record` of one running process, reduced to a few lines: the share of samples in
 * the kernel, in JIT-compiled JS (node started with --perf-basic-prof writes
 * /tmp/perf-<pid>.map so perf can name those frames), in node's own binary (V8, builtins,
 * GC, libuv), in the native socket loop addon, and in libraries; and the top symbols.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PerfBreakdown } from './report.ts';
import { runBounded } from './processes.ts';

const PERF = '/usr/bin/perf';

/** Why perf cannot run here, or undefined when it can (checked with a tiny recording). */
export async function perfUnavailable(workDir: string): Promise<string | undefined> {
  if (!fs.existsSync(PERF)) return `${PERF} not found`;
  const paranoid = (() => {
    try {
      return fs.readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8').trim();
    } catch {
      return '?';
    }
  })();
  const out = path.join(workDir, 'perf-check.data');
  const r = await runBounded([PERF, 'record', '-o', out, '--', 'true'], 15_000);
  fs.rmSync(out, { force: true });
  if (r.code !== 0) {
    return `perf record failed (perf_event_paranoid ${paranoid}, uid ${process.getuid?.()}): ${r.stderr.trim().split('\n').slice(-2).join(' ')}`;
  }
  return undefined;
}

/** Which kind of code a perf DSO is. */
export function classifyDso(dso: string): string {
  if (dso.startsWith('[kernel') || dso === '[vdso]') return 'kernel (system calls, TCP/IP, scheduling)';
  if (/perf-\d+\.map$/.test(dso) || dso.startsWith('[JIT]')) return 'JS (JIT-compiled code)';
  if (dso.endsWith('.node')) return 'native addon (socket loop)';
  if (dso === 'node' || dso === path.basename(process.execPath)) return 'node binary (V8, builtins, GC, libuv)';
  if (/^(libc|libm|libstdc\+\+|ld-linux|libpthread|libgcc)/.test(dso)) return 'libc and C++ runtime';
  return `other (${dso})`;
}

/**
 * Parses `perf report --stdio --sort dso,sym` lines: "  12.34%  dso  [k] symbol"; JIT code
 * shows as "[JIT] tid 123" (a DSO name with spaces).
 */
export function parsePerfReport(text: string): { percent: number; dso: string; symbol: string }[] {
  const rows: { percent: number; dso: string; symbol: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([\d.]+)%\s+(.+?)\s+\[[.kgu]\]\s+(.*?)\s*$/.exec(line);
    if (m) rows.push({ percent: Number(m[1]), dso: m[2]!, symbol: m[3]! });
  }
  return rows;
}

/** Shares per kind of code, largest first. */
export function classify(rows: readonly { percent: number; dso: string }[]): { name: string; percent: number }[] {
  const by = new Map<string, number>();
  for (const r of rows) by.set(classifyDso(r.dso), (by.get(classifyDso(r.dso)) ?? 0) + r.percent);
  return [...by].map(([name, percent]) => ({ name, percent: Math.round(percent * 10) / 10 })).sort((a, b) => b.percent - a.percent);
}

/** Records `pid` for `seconds` (perf's own sampling rate), then reports. */
export async function profilePid(pid: number, seconds: number, workDir: string, topN = 12): Promise<PerfBreakdown> {
  const data = path.join(workDir, `perf-${pid}.data`);
  const record = [PERF, 'record', '-F', '999', '-p', String(pid), '-o', data, '--', 'sleep', String(seconds)];
  const r = await runBounded(record, (seconds + 30) * 1000);
  if (r.code !== 0 || !fs.existsSync(data)) {
    return { ok: false, reason: `perf record exited ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' ')}` };
  }
  const rep = await runBounded([PERF, 'report', '-i', data, '--stdio', '--sort', 'dso,sym', '--percent-limit', '0'], 120_000);
  fs.rmSync(data, { force: true });
  const rows = parsePerfReport(rep.stdout);
  if (rep.code !== 0 || rows.length === 0) return { ok: false, reason: `perf report exited ${rep.code}: ${rep.stderr.trim().slice(-300)}` };
  // "# Samples: 12K of event 'cpu-clock'": perf rounds to K/M.
  const sm = /^# Samples: ([\d.]+)([KM]?)/m.exec(rep.stdout);
  const samples = sm ? Math.round(Number(sm[1]) * (sm[2] === 'K' ? 1e3 : sm[2] === 'M' ? 1e6 : 1)) : NaN;
  return {
    ok: true,
    ...(Number.isFinite(samples) ? { samples } : {}),
    classes: classify(rows),
    topSymbols: rows.slice(0, topN),
    command: `perf record -F 999 -p <node pid> -- sleep ${seconds}; perf report --sort dso,sym`,
  };
}
