/**
 * The verdicts of a benchmark run, as pure functions of its measurements (tested in
 * verdicts.test.ts with made-up ones). A row is judged on correctness first: an error, a
 * miss its workload cannot produce, or a value that differs, in any round on either server,
 * is FAIL whatever the speed. A speed target met on a disturbed machine is RERUN, not PASS.
 */
import {
  badReplies, type IntrospectionMemoryOutcome, type Measurement, type MemoryOutcome, type ScaleMeasurement, type ScaleOutcome,
  type TargetVerdict, type VerdictStatus, type WorkloadOutcome,
} from './report.ts';
import type { ServerName } from './servers.ts';
import {
  LOADER_SATURATED_PERCENT, MAX_AUTH_COST, MAX_MEMORY_RATIO, MAX_PER_CORE_CPU_RATIO, MIN_SCALE_RATIO, SERVER_LABEL, type Workload,
} from './workloads.ts';

/** Other processes used at least this much of a core during a measurement: its verdict is disturbed. */
export const DISTURBED_PERCENT = 50;
/** The open-loop generator sent this late (p99): it, not the server, limited the result. */
export const CLIENT_LAG_LIMIT_US = 1000;

/** Why these measurements cannot be trusted for speed, if they cannot. */
export function disturbance(...ms: (Measurement | undefined)[]): string | undefined {
  const why: string[] = [];
  const other = Math.max(...ms.map((m) => m?.cpu?.otherPercent ?? 0));
  if (other >= DISTURBED_PERCENT) why.push(`other processes used ${other}% of a core`);
  const lag = Math.max(...ms.map((m) => m?.sendLagP99Us ?? 0));
  if (lag >= CLIENT_LAG_LIMIT_US) why.push(`load generator sent up to ${Math.round(lag)} µs late (p99)`);
  return why.length ? `[DISTURBED: ${why.join('; ')}]` : undefined;
}

function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The ratio the workload is judged by: cachier/baseline ops/s, or p99 for a fixed rate. */
function ratioOf(w: Workload, b: Measurement, c: Measurement): number {
  return w.tool === 'load-open' ? c.p99Us / b.p99Us : c.opsPerSec / b.opsPerSec;
}

/** "cachier/memcached", or "introspection on/off (cachier)": what a row's ratio divides. */
export function ratioLabel(w: Workload): string {
  return w.baseline === 'memcached' ? 'cachier/memcached' : 'introspection on/off (cachier)';
}

/** Best per server (other processes only ever slow a run down), its ratio, and the ratio of each round. */
export function summarize(w: Workload, ms: readonly Measurement[]): Pick<WorkloadOutcome, 'best' | 'ratio' | 'roundRatios'> {
  const best: Partial<Record<ServerName, Measurement>> = {};
  for (const m of ms) {
    const cur = best[m.server];
    const better = w.tool === 'load-open' ? !cur || m.p99Us < cur.p99Us : !cur || m.opsPerSec > cur.opsPerSec;
    if (better) best[m.server] = m;
  }
  const rounds = Math.max(0, ...ms.map((m) => m.round));
  const roundRatios: (number | undefined)[] = [];
  for (let r = 1; r <= rounds; r++) {
    const b = ms.find((x) => x.round === r && x.server === w.baseline);
    const c = ms.find((x) => x.round === r && x.server === 'cachier');
    roundRatios.push(b && c ? ratioOf(w, b, c) : undefined);
  }
  const b = best[w.baseline];
  const c = best.cachier;
  if (w.tool === 'memcaslap' && w.concurrent) {
    // Measured at once, a round's ratio is the comparison; best-of would pair different rounds.
    const known = roundRatios.filter((r) => r !== undefined).sort((x, y) => x - y);
    return { best, ...(known.length ? { ratio: median(known), roundRatios } : {}) };
  }
  return { best, ...(b && c ? { ratio: ratioOf(w, b, c), roundRatios } : {}) };
}

/** What is wrong with one measurement of workload `w`; empty when nothing is. */
export function measurementProblems(w: Workload, m: Measurement): string[] {
  const bad = badReplies(m);
  const allowed = Math.floor(w.maxMissRate * bad.gets);
  const out: string[] = [];
  if (bad.errors > 0) {
    const parts = [
      m.errors ? `${m.errors} errors` : '',
      m.verifyFailed ? `${m.verifyFailed} values differ (memcaslap --verify)` : '',
      m.unanswered ? `${m.unanswered} never answered` : '',
    ].filter(Boolean);
    const samples = m.errorSamples?.length ? ` (${m.errorSamples.slice(0, 3).join('; ')})` : '';
    out.push(`${parts.join(', ')}${samples}`);
  }
  if (bad.misses > allowed) out.push(`${bad.misses} misses of ${bad.gets} gets (allowed ${allowed})`);
  if (m.counters && m.counters.evictions > 0) out.push(`server evicted ${m.counters.evictions} items`);
  return out;
}

/** The correctness verdict of a workload over all its measurements, every round, every server. */
export function correctnessVerdict(w: Workload, o: WorkloadOutcome): TargetVerdict {
  let errors = 0;
  let misses = 0;
  const problems: string[] = [];
  for (const m of o.measurements) {
    const bad = badReplies(m);
    errors += bad.errors;
    misses += bad.misses;
    for (const p of measurementProblems(w, m)) problems.push(`${SERVER_LABEL[m.server]} round ${m.round}: ${p}`);
  }
  const verified = w.tool === 'memcaslap' && w.verify ? '(values checked by memcaslap --verify)' : w.tool === 'memcaslap' ? '' : '(every hit checked to carry the value set)';
  const note = [problems.join('; '), verified].filter(Boolean).join(' ');
  return {
    target: `${w.name}: errors, misses`,
    value: `${errors}, ${misses}`,
    limit: w.maxMissRate === 0 ? '0, 0' : `0, <= ${w.maxMissRate * 100}% of gets`,
    status: problems.length ? 'FAIL' : 'PASS',
    ...(note ? { note } : {}),
  };
}

function speedStatus(meetsTarget: boolean, correct: boolean, disturbed: string | undefined): VerdictStatus {
  if (!correct || !meetsTarget) return 'FAIL';
  return disturbed ? 'RERUN' : 'PASS';
}

function noteOf(...parts: (string | undefined)[]): { note?: string } {
  const text = parts.filter(Boolean).join(' ');
  return text ? { note: text } : {};
}

const WRONG = '(FAIL: the row has errors or misses; its speed does not count)';

/** Memory: every item written is still there on both servers, none evicted. */
export function memoryKeptVerdict(memory: readonly MemoryOutcome[], items: number): TargetVerdict {
  const kept = (m: MemoryOutcome) => m.currItems === items && m.evictions === 0;
  const show = (n: number | undefined) => (n === undefined ? 'unknown' : n.toLocaleString('en-US'));
  return {
    target: 'memory: every item kept (curr_items, evictions)',
    value: memory.length > 0 && memory.every(kept) ? 'kept' : 'LOST',
    limit: `curr_items = ${items.toLocaleString('en-US')}, evictions = 0`,
    status: memory.length > 0 && memory.every(kept) ? 'PASS' : 'FAIL',
    note: memory.map((m) => `${m.server} curr_items ${show(m.currItems)} evictions ${show(m.evictions)}`).join('; '),
  };
}

export interface JudgeInput {
  readonly workloads: readonly Workload[];
  readonly outcomes: readonly WorkloadOutcome[];
  readonly memory: readonly MemoryOutcome[];
  /** Items the memory phase wrote to each server, and the full run's count (the target is set there). */
  readonly memoryItems: number;
  readonly fullMemoryItems: number;
  /** The introspection-memory phase, when it ran: judged on its replies only. */
  readonly introspectionMemory?: IntrospectionMemoryOutcome;
}

/**
 * The introspection-memory phase is reported, not judged on size; but every login, set
 * and get to each of its caches must be answered exactly, on both nodes.
 */
export function introspectionMemoryVerdict(o: IntrospectionMemoryOutcome): TargetVerdict {
  const requests = o.runs.reduce((sum, r) => sum + r.requests, 0);
  const ok = o.runs.reduce((sum, r) => sum + r.answeredCorrectly, 0);
  const bad = o.runs.filter((r) => r.failedCaches > 0 || r.answeredCorrectly !== r.requests);
  const pass = o.runs.length > 0 && bad.length === 0;
  return {
    target: 'introspection-memory: every request answered correctly',
    value: `${ok} of ${requests}`,
    limit: 'all, on both nodes',
    status: pass ? 'PASS' : 'FAIL',
    note: pass
      ? `(RSS reported, not judged; node cap --introspection-memory ${o.cap})`
      : bad.map((r) => `${SERVER_LABEL[r.server]}: ${r.failedCaches} caches wrong (${r.problems.slice(0, 3).join('; ')})`).join('; '),
  };
}

export function judge({ workloads, outcomes, memory, memoryItems, fullMemoryItems, introspectionMemory }: JudgeInput): TargetVerdict[] {
  const v: TargetVerdict[] = [];
  const get = (name: string) => outcomes.find((o) => o.name === name);
  const correct = new Map<string, boolean>();
  for (const w of workloads) {
    const o = get(w.name);
    if (!o || o.measurements.length === 0) continue;
    const c = correctnessVerdict(w, o);
    correct.set(w.name, c.status === 'PASS');
    v.push(c);
    if (o.ratio === undefined) continue;
    const m = o.best[w.baseline];
    const ca = o.best.cachier;
    const disturbed = disturbance(m, ca);
    const rowOk = c.status === 'PASS';
    if (w.tool !== 'load-open' && w.minThroughputRatio !== undefined) {
      // cpu/op baseline/cachier: above 1 means cachier spends more per op.
      const cpuLabel = w.baseline === 'memcached' ? 'memcached/cachier' : 'off/on';
      v.push({
        target: `${w.name}: throughput ${ratioLabel(w)}`, value: o.ratio, limit: `>= ${w.minThroughputRatio}`,
        status: speedStatus(o.ratio >= w.minThroughputRatio, rowOk, disturbed),
        ...noteOf(
          rowOk ? undefined : WRONG,
          m?.serverCpuUsPerOp && ca?.serverCpuUsPerOp ? `(server cpu/op ${cpuLabel} ${(m.serverCpuUsPerOp / ca.serverCpuUsPerOp).toFixed(2)})` : undefined,
          disturbed,
        ),
      });
    }
    if (w.tool === 'load-open') {
      v.push({
        target: `${w.name}: p99 ${ratioLabel(w)}`, value: o.ratio, limit: `<= ${w.maxP99Ratio}`,
        status: speedStatus(o.ratio <= w.maxP99Ratio, rowOk, disturbed),
        ...noteOf(rowOk ? undefined : WRONG, `(offered ${m?.offeredRate} req/s)`, disturbed),
      });
    }
  }
  for (const w of workloads) {
    if (w.tool !== 'load-closed' || !w.authCostAgainst) continue;
    const authed = get(w.name)?.best.cachier;
    const plain = get(w.authCostAgainst)?.best.cachier;
    if (!authed || !plain) continue;
    const cost = 1 - authed.opsPerSec / plain.opsPerSec;
    const cpuCost = authed.serverCpuUsPerOp && plain.serverCpuUsPerOp ? authed.serverCpuUsPerOp / plain.serverCpuUsPerOp - 1 : undefined;
    const rowOk = correct.get(w.name) === true && correct.get(w.authCostAgainst) === true;
    const disturbed = disturbance(authed, plain);
    v.push({
      target: `${w.name}: throughput cost vs ${w.authCostAgainst} (cachier)`, value: cost, limit: `< ${MAX_AUTH_COST}`,
      status: speedStatus(cost < MAX_AUTH_COST, rowOk, disturbed),
      ...noteOf(
        rowOk ? undefined : WRONG,
        cpuCost !== undefined ? `(server cpu/op ${cpuCost >= 0 ? '+' : ''}${(cpuCost * 100).toFixed(1)}%)` : undefined,
        disturbed,
      ),
    });
  }
  if (memory.length) {
    const kept = memoryKeptVerdict(memory, memoryItems);
    v.push(kept);
    const mm = memory.find((m) => m.server === 'memcached');
    const mc = memory.find((m) => m.server === 'cachier');
    if (mm && mc) {
      const ratio = mc.bytesPerItem / mm.bytesPerItem;
      // The target is set at the full run's item count: with fewer, the node's fixed growth
      // (V8's heap settling, tables sized in powers of two) weighs more per item.
      const few = memoryItems < fullMemoryItems
        ? `[${memoryItems.toLocaleString('en-US')} items: fixed costs weigh more; judge on the full run's ${fullMemoryItems.toLocaleString('en-US')}]`
        : undefined;
      const ok = kept.status === 'PASS';
      v.push({
        target: 'memory per item cachier/memcached', value: ratio, limit: `<= ${MAX_MEMORY_RATIO}`,
        status: ok && ratio <= MAX_MEMORY_RATIO ? 'PASS' : 'FAIL',
        ...noteOf(ok ? undefined : '(FAIL: items were lost, so the servers held different data)', few),
      });
    }
  }
  if (introspectionMemory) v.push(introspectionMemoryVerdict(introspectionMemory));
  return v;
}

// ---------------------------------------------------------------- scaling

/** What is wrong with one scaling measurement's replies; empty when nothing is (no row may miss). */
export function scaleMeasurementProblems(m: ScaleMeasurement): string[] {
  const out: string[] = [];
  const misses = Math.max(m.misses, m.counters?.getMisses ?? 0);
  if (m.errors > 0) out.push(`${m.errors} errors${m.errorSamples.length ? ` (${m.errorSamples.slice(0, 3).join('; ')})` : ''}`);
  if (misses > 0) out.push(`${misses} misses of ${Math.max(m.gets, m.counters?.cmdGet ?? 0)} gets`);
  if (m.counters && m.counters.evictions > 0) out.push(`server evicted ${m.counters.evictions} items`);
  return out;
}

/**
 * Why a scaling measurement says little about the servers: the rest of the machine was
 * busy, or a loader used (nearly) its whole core, so it, not the servers, may have set the pace.
 */
export function scaleDisturbance(...ms: (ScaleMeasurement | undefined)[]): string | undefined {
  const why: string[] = [];
  const other = Math.max(0, ...ms.map((m) => m?.otherPercent ?? 0));
  if (other >= DISTURBED_PERCENT) why.push(`other processes used ${other}% of a core`);
  const loader = Math.max(0, ...ms.flatMap((m) => m?.loaderCpuPercent ?? []));
  if (loader >= LOADER_SATURATED_PERCENT) why.push(`a loader used ${loader}% of its core: the load, not the servers, may have set the pace`);
  return why.length ? `[DISTURBED: ${why.join('; ')}]` : undefined;
}

/**
 * `--scale`: per K measured, correctness (errors, misses, evictions on either server in any
 * round) and throughput cachier/memcached >= MIN_SCALE_RATIO, best of each; per-core speed
 * (stretch): the node's cpu µs per get and per set over memcached's <= MAX_PER_CORE_CPU_RATIO.
 * A K the machine cannot measure gets no verdict: the report says so in words.
 */
export function judgeScale(o: ScaleOutcome): TargetVerdict[] {
  const v: TargetVerdict[] = [];
  for (const p of o.points) {
    const problems = p.measurements.flatMap((m) => scaleMeasurementProblems(m).map((x) => `${m.server} round ${m.round}: ${x}`));
    const errors = p.measurements.reduce((t, m) => t + m.errors, 0);
    const misses = p.measurements.reduce((t, m) => t + Math.max(m.misses, m.counters?.getMisses ?? 0), 0);
    const correct = problems.length === 0 && p.measurements.length > 0;
    v.push({
      target: `scale K=${p.k}: errors, misses`, value: `${errors}, ${misses}`, limit: '0, 0',
      status: correct ? 'PASS' : 'FAIL', note: problems.length ? problems.join('; ') : '(every hit checked to carry the value set)',
    });
    if (p.ratio === undefined) {
      v.push({ target: `scale K=${p.k}: throughput cachier/memcached`, value: '-', limit: `>= ${MIN_SCALE_RATIO}`, status: 'FAIL', note: '(a server was not measured)' });
      continue;
    }
    const disturbed = scaleDisturbance(p.best.memcached, p.best.cachier);
    const m = p.best.memcached?.serverCpuUsPerOp;
    const c = p.best.cachier?.serverCpuUsPerOp;
    v.push({
      target: `scale K=${p.k}: throughput cachier/memcached`, value: p.ratio, limit: `>= ${MIN_SCALE_RATIO}`,
      status: speedStatus(p.ratio >= MIN_SCALE_RATIO, correct, disturbed),
      ...noteOf(correct ? undefined : WRONG, m && c ? `(server cpu/op memcached/cachier ${(m / c).toFixed(2)})` : undefined, disturbed),
    });
  }
  for (const r of o.perCore ?? []) {
    const problems = r.measurements.flatMap((m) => scaleMeasurementProblems(m).map((x) => `${m.server} round ${m.round}: ${x}`));
    const correct = problems.length === 0 && r.measurements.length > 0;
    const target = `per-core ${r.op}: server cpu µs/op cachier/memcached`;
    if (!r.memcachedCpuUsPerOp || !r.cachierCpuUsPerOp) {
      v.push({ target, value: '-', limit: `<= ${MAX_PER_CORE_CPU_RATIO}`, status: 'FAIL', note: problems.join('; ') || '(no CPU reading for a server)' });
      continue;
    }
    const ratio = r.cachierCpuUsPerOp / r.memcachedCpuUsPerOp;
    // The machine's state during the two measurements the ratio is made of (each server's lowest).
    const chosen = r.measurements.filter((m) =>
      m.serverCpuUsPerOp === (m.server === 'memcached' ? r.memcachedCpuUsPerOp : r.cachierCpuUsPerOp));
    const other = Math.max(0, ...chosen.map((m) => m.otherPercent ?? 0));
    // CPU per op barely moves when others share the machine; only a very busy one voids it.
    const disturbed = other >= DISTURBED_PERCENT ? `[DISTURBED: other processes used ${other}% of a core]` : undefined;
    v.push({
      target, value: ratio, limit: `<= ${MAX_PER_CORE_CPU_RATIO}`,
      status: speedStatus(ratio <= MAX_PER_CORE_CPU_RATIO, correct, disturbed),
      ...noteOf(correct ? undefined : `${WRONG} ${problems.join('; ')}`, '(stretch target)', disturbed),
    });
  }
  return v;
}

/** `npm run bench` exits 1 when any verdict is FAIL. */
export function exitCode(verdicts: readonly TargetVerdict[]): number {
  return verdicts.some((v) => v.status === 'FAIL') ? 1 : 0;
}
