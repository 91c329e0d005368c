/**
 * Top functions by self time in a V8 .cpuprofile (what `node --cpu-prof` writes):
 *
 *   node --import tsx bench/profile-summary.ts bench/results/profile/CPU.….cpuprofile [top=25]
 *   node --import tsx bench/profile-summary.ts bench/results/profile          # main thread's, newest
 *
 * Self time of a node = its samples × the sampling interval; nodes of the same function
 * (same name, file, line) are summed. Also prints the share of idle, GC and program time.
 * `windows` restricts the count to samples inside those intervals; the sample times are
 * CLOCK_MONOTONIC microseconds, the clock of process.hrtime, so bench/run.ts can pass
 * the intervals in which it drove the node with load.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface FunctionTime {
  readonly name: string;
  readonly where: string;
  readonly selfMs: number;
  readonly selfPercent: number;
  /** Share of the time the process was not idle. */
  readonly busyPercent: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly windows?: readonly SampleWindow[];
  readonly totalMs: number;
  /** (idle), (garbage collector), (program) and the rest. */
  readonly idlePercent: number;
  readonly gcPercent: number;
  readonly top: readonly FunctionTime[];
}

/**
 * The newest main-thread .cpuprofile in `dir`, or undefined. Node names them
 * CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread (tsx's
 * module loader runs in another).
 */
export function newestProfile(dir: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(dir, f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
}

export interface SampleWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

export function summarizeProfile(file: string, top = 25, windows?: readonly SampleWindow[]): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) {
    // Each sample's time is the delta to the next sample.
    const { samples, timeDeltas } = profile;
    const inside = (t: number) => !windows || windows.some((w) => t >= w.fromUs && t < w.toUs);
    let t = profile.startTime;
    for (let i = 0; i < samples.length; i++) {
      t += timeDeltas[i]!;
      if (!inside(t)) continue;
      const dt = timeDeltas[i + 1] ?? 0;
      selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt));
    }
  } else {
    const total = profile.endTime - profile.startTime;
    const hits = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || 1;
    for (const n of profile.nodes) selfUs.set(n.id, ((n.hitCount ?? 0) / hits) * total);
  }
  const byFunction = new Map<string, { name: string; where: string; us: number }>();
  let totalUs = 0;
  for (const n of profile.nodes) {
    const us = selfUs.get(n.id) ?? 0;
    totalUs += us;
    const { functionName, url, lineNumber } = n.callFrame;
    const name = functionName || '(anonymous)';
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${name}\0${where}`;
    const entry = byFunction.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
  }
  const pct = (us: number) => Math.round((us / (totalUs || 1)) * 1000) / 10;
  const find = (name: string) => [...byFunction.values()].filter((e) => e.name === name).reduce((s, e) => s + e.us, 0);
  const busyUs = totalUs - find('(idle)');
  const sorted = [...byFunction.values()].sort((a, b) => b.us - a.us).slice(0, top);
  return {
    file,
    ...(windows ? { windows } : {}),
    totalMs: Math.round(totalUs / 1000),
    idlePercent: pct(find('(idle)')),
    gcPercent: pct(find('(garbage collector)')),
    top: sorted.map((e) => ({ name: e.name, where: e.where, selfMs: Math.round(e.us / 100) / 10, selfPercent: pct(e.us),
      busyPercent: Math.round((e.us / (busyUs || 1)) * 1000) / 10,
    })),
  };
}

function shortUrl(url: string): string {
  const clean = url.replace(/^file:\/\//, '');
  const i = clean.indexOf('/node_modules/');
  if (i >= 0) return clean.slice(i + 1);
  const repo = clean.indexOf('/src/');
  if (repo >= 0) return clean.slice(repo + 1);
  return clean;
}

export function formatProfileSummary(s: ProfileSummary): string {
  const lines = [
    `profile ${path.relative(process.cwd(), s.file)}: ${s.totalMs} ms sampled${s.windows ? ` in ${s.windows.length} load window(s)` : ''}; ` +
      `idle ${s.idlePercent}%, GC ${s.gcPercent}%`,
    `${'self ms'.padStart(9)} ${'total %'.padStart(7)} ${'busy %'.padStart(7)}  function  (location)`,
  ];
  for (const f of s.top) {
    lines.push(`${f.selfMs.toFixed(1).padStart(9)} ${f.selfPercent.toFixed(1).padStart(7)} ${f.name === '(idle)' ? '-'.padStart(7) : f.busyPercent.toFixed(1).padStart(7)}  ${f.name}${f.where ? `  (${f.where})` : ''}`);
  }
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const target = process.argv[2] ?? 'bench/results/profile';
  const file = fs.existsSync(target) && fs.statSync(target).isDirectory() ? newestProfile(target) : target;
  if (!file) {
    console.error(`no .cpuprofile in ${target}`);
    process.exit(1);
  }
  console.log(formatProfileSummary(summarizeProfile(file, Number(process.argv[3] ?? 25))));
}
