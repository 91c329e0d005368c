/** Linux /proc readings: a process's resident memory and CPU time, and per-core busy time. */
import fs from 'node:fs';

const TICKS_PER_SEC = 100; // USER_HZ on Linux

/** VmRSS of `pid` in bytes. */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** User + system CPU seconds `pid` has used so far (0 if it is gone). */
export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

/** User and system CPU seconds of `pid` (zeros if it is gone). */
export function cpuTimes(pid: number): { user: number; system: number } {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(rest[11]) / TICKS_PER_SEC, system: Number(rest[12]) / TICKS_PER_SEC };
  } catch {
    return { user: 0, system: 0 };
  }
}

/** `pid` and every live process below it (`cachier start` runs its nodes as child processes). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      /* gone meanwhile */
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** User and system CPU seconds of `pid` and its live descendants. */
export function treeCpuTimes(pid: number): { user: number; system: number } {
  return processTree(pid).map(cpuTimes).reduce((a, b) => ({ user: a.user + b.user, system: a.system + b.system }), { user: 0, system: 0 });
}

/** Busy (non-idle, non-iowait) CPU seconds of one core so far. */
export function coreBusySeconds(core: number): number {
  const line = fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${core} `));
  if (!line) return 0;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return (total - idle) / TICKS_PER_SEC;
}

/** The ids of the machine's cores, from /proc/stat. */
export function coreIds(): number[] {
  return [...fs.readFileSync('/proc/stat', 'utf8').matchAll(/^cpu(\d+) /gm)].map((m) => Number(m[1]));
}

export function loadAverage(): number {
  return Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}
