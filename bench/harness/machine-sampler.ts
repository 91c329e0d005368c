/**
 * Who used the CPU while a measurement ran: the server under test, the load process, and
 * everything else on the machine (other people's builds and tests share it). Sampled over
 * a window inside the measurement, so process start-up is not counted.
 */
import { coreBusySeconds, coreIds, cpuSeconds, processTree, treeCpuTimes } from './proc-stats.ts';

export interface CpuShare {
  /** Percent of one core, over the window. */
  readonly serverPercent: number;
  /** The part of serverPercent spent in the kernel (system calls, TCP). */
  readonly serverSystemPercent: number;
  readonly loadPercent: number;
  /** Everything else on the machine, in percent of one core (a two-core machine has 200). */
  readonly otherPercent: number;
}

const CORES = coreIds();

function machineBusy(): number {
  return CORES.reduce((sum, c) => sum + coreBusySeconds(c), 0);
}

/** Samples the CPU of `serverPid`, `loadPid` and the rest of the machine from `delayMs` on, for `windowMs`. */
export function sampleCpu(delayMs: number, windowMs: number, serverPid: number, loadPid: number): Promise<CpuShare | undefined> {
  const read = () => {
    // With its child processes: a multi-process `cachier start` serves from its nodes.
    const s = treeCpuTimes(serverPid);
    return { t: performance.now(), server: s.user + s.system, serverSys: s.system, load: cpuSeconds(loadPid), busy: machineBusy() };
  };
  return new Promise((resolve) => {
    setTimeout(() => {
      const a = read();
      setTimeout(() => {
        const b = read();
        const secs = (b.t - a.t) / 1000;
        if (b.load === 0 || secs <= 0) return resolve(undefined); // the load process ended early
        const server = b.server - a.server;
        const load = b.load - a.load;
        const other = Math.max(0, b.busy - a.busy - server - load);
        resolve({
          serverPercent: Math.round((server / secs) * 100),
          serverSystemPercent: Math.round(((b.serverSys - a.serverSys) / secs) * 100),
          loadPercent: Math.round((load / secs) * 100),
          otherPercent: Math.round((other / secs) * 100),
        });
      }, windowMs);
    }, delayMs);
  });
}

/**
 * Waits (up to `maxMs`) until the rest of the machine uses less than `thresholdPercent` of
 * one core over a 500 ms window, ignoring `ignorePids`. Returns the last reading, or
 * undefined when `maxMs` is 0 (no reading taken).
 */
export async function waitForQuiet(maxMs: number, thresholdPercent: number, ignorePids: number[]): Promise<number | undefined> {
  if (maxMs <= 0) return undefined;
  const deadline = performance.now() + maxMs;
  for (;;) {
    // Each process once, however many of the trees it is in.
    const ours = () => [...new Set(ignorePids.flatMap(processTree))].reduce((s, p) => s + cpuSeconds(p), 0);
    const a = { busy: machineBusy(), ours: ours(), t: performance.now() };
    await new Promise((r) => setTimeout(r, 500));
    const b = { busy: machineBusy(), ours: ours(), t: performance.now() };
    const other = Math.round((Math.max(0, b.busy - a.busy - (b.ours - a.ours)) / ((b.t - a.t) / 1000)) * 100);
    if (other < thresholdPercent || performance.now() >= deadline) return other;
  }
}
