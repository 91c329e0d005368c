/**
 * The benchmark's verdicts fail when they should: made-up measurements through the same
 * functions `npm run bench` uses, memcaslap output as it prints failures, and the load
 * generator's reply framers. Run: node --import tsx --test bench/harness/verdicts.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rawResponse } from '../../src/protocol/binary/testing/frames.ts';
import { asciiFramer, binaryFramer, framed, metaFramer, OP_GET, OP_SET, REPLY_ERROR, REPLY_HIT, REPLY_MISS, valueOf } from '../load/protocols.ts';
import { parseFailures } from './memcaslap.ts';
import {
  formatIntrospectionMemoryTable, formatThroughputTable, formatVerdicts, type IntrospectionMemoryOutcome, type IntrospectionMemoryRun,
  type Measurement, type MemoryOutcome, type WorkloadOutcome,
} from './report.ts';
import { exitCode, judge, judgeScale, summarize } from './verdicts.ts';
import {
  formatPerCoreTable, formatPerf, formatScaleTable, notEnoughCores, summarizeScale, type PerCoreRow, type ScaleMeasurement, type ScaleOutcome,
  type ScalePoint,
} from './report.ts';
import { Ketama } from '../load/ketama.ts';
import { classify, parsePerfReport } from './perf-profile.ts';
import { scalePlan, splitClients } from './scale.ts';
import { WORKLOADS } from './workloads.ts';
import type { ServerName } from './servers.ts';

const workload = (name: string) => WORKLOADS.find((w) => w.name === name)!;

function measurement(server: ServerName, round: number, over: Partial<Measurement> = {}): Measurement {
  return {
    round, server, opsPerSec: 50_000, p50Us: 500, p99Us: 1500, errors: 0, misses: 0, gets: 90_000,
    counters: { cmdGet: 90_000, getMisses: 0, cmdSet: 10_000, evictions: 0 },
    cpu: { serverPercent: 90, serverSystemPercent: 40, loadPercent: 95, otherPercent: 5 },
    window: { fromUs: 0, toUs: 1 }, raw: null, ...over,
  };
}

function outcome(name: string, ms: Measurement[]): WorkloadOutcome {
  const o: WorkloadOutcome = { name, description: '', baseline: workload(name).baseline, measurements: ms, best: {} };
  return Object.assign(o, summarize(workload(name), ms));
}

const memory = (over: Partial<MemoryOutcome> = {}): MemoryOutcome[] => [
  { server: 'memcached', items: 1000, rssBeforeBytes: 0, rssAfterBytes: 200_000, bytesPerItem: 200, currItems: 1000, evictions: 0, fillSeconds: 1 },
  { server: 'cachier', items: 1000, rssBeforeBytes: 0, rssAfterBytes: 180_000, bytesPerItem: 180, currItems: 1000, evictions: 0, fillSeconds: 1, ...over },
];

function run(outcomes: WorkloadOutcome[], mem: MemoryOutcome[] = [], introspectionMemory?: IntrospectionMemoryOutcome) {
  const verdicts = judge({
    workloads: WORKLOADS, outcomes, memory: mem, memoryItems: 1000, fullMemoryItems: 1000, ...(introspectionMemory ? { introspectionMemory } : {}),
  });
  const status = (prefix: string) => verdicts.filter((v) => v.target.startsWith(prefix)).map((v) => v.status);
  return { verdicts, status, code: exitCode(verdicts) };
}

const clean = (name: string, over: Partial<Measurement> = {}) =>
  outcome(name, [measurement('memcached', 1), measurement('cachier', 1, { opsPerSec: 48_000, ...over })]);

describe('bench verdicts', () => {
  it('a concurrent row (introspection) is judged by the median round, not by the best of each server', () => {
    const off = 'cachier-no-introspection';
    // Rounds measured together: on/off 0.95, 0.96, 0.99. The best of each (on 60,000 in round 3,
    // off 63,000 in round 1) would say 0.95; round 2 alone is 0.96.
    const ms = [
      measurement(off, 1, { opsPerSec: 63_000 }), measurement('cachier', 1, { opsPerSec: 59_850 }),
      measurement(off, 2, { opsPerSec: 50_000 }), measurement('cachier', 2, { opsPerSec: 48_000 }),
      measurement(off, 3, { opsPerSec: 60_606 }), measurement('cachier', 3, { opsPerSec: 60_000 }),
    ];
    const o = outcome('introspection-mget20', ms);
    assert.equal(o.ratio, 0.96);
    assert.deepEqual(o.roundRatios?.map((r) => r?.toFixed(2)), ['0.95', '0.96', '0.99']);
    assert.deepEqual(run([o]).status('introspection-mget20: throughput'), ['FAIL']);
    const better = outcome('introspection-mget20', ms.map((m) => (m.server === 'cachier' ? { ...m, opsPerSec: m.opsPerSec * 1.02 } : m)));
    assert.deepEqual(run([better]).status('introspection-mget20: throughput'), ['PASS']);
  });

  it('pass when nothing is wrong, and exit 0', () => {
    const r = run([clean('memcaslap-ascii'), clean('ascii')], memory());
    assert.deepEqual(r.verdicts.map((v) => v.status).filter((s) => s !== 'PASS'), []);
    assert.equal(r.code, 0);
  });

  it('an error reply fails the row whatever its speed, and the run exits 1', () => {
    const r = run([clean('ascii', { errors: 3, opsPerSec: 90_000, errorSamples: ['get answered: "SERVER_ERROR out of memory"'] })]);
    assert.deepEqual(r.status('ascii:'), ['FAIL', 'FAIL']);
    assert.match(r.verdicts[0]!.note!, /cachier round 1: 3 errors .*SERVER_ERROR out of memory/);
    assert.equal(r.code, 1);
  });

  it('misses above the allowance fail, also when only the server counted them (binary memcaslap)', () => {
    const r = run([clean('memcaslap-binary', { misses: 0, counters: { cmdGet: 90_000, getMisses: 12, cmdSet: 10_000, evictions: 0 } })]);
    assert.deepEqual(r.status('memcaslap-binary:'), ['FAIL', 'FAIL']);
    assert.match(r.verdicts[0]!.note!, /12 misses of 90000 gets \(allowed 0\)/);
    assert.equal(r.code, 1);
  });

  it('a bad round fails the row even when the best round was clean', () => {
    const o = outcome('ascii', [
      measurement('memcached', 1), measurement('cachier', 1, { opsPerSec: 30_000, misses: 5 }),
      measurement('cachier', 2), measurement('memcached', 2),
    ]);
    assert.deepEqual(run([o]).status('ascii:'), ['FAIL', 'FAIL']);
  });

  it('a value memcaslap --verify found different fails', () => {
    const r = run([clean('memcaslap-ascii', { verifyFailed: 1, verifyMisses: 0 })]);
    assert.deepEqual(r.status('memcaslap-ascii:'), ['FAIL', 'FAIL']);
  });

  it('evictions during a row fail it', () => {
    const r = run([clean('meta', { counters: { cmdGet: 90_000, getMisses: 0, cmdSet: 10_000, evictions: 7 } })]);
    assert.deepEqual(r.status('meta:'), ['FAIL']);
  });

  it('the auth cost fails when either row it compares is wrong', () => {
    const login = outcome('ascii-login', [measurement('cachier', 1, { errors: 1 })]);
    assert.deepEqual(run([clean('ascii'), login]).status('ascii-login: throughput'), ['FAIL']);
  });

  it('memory fails when an item was evicted or is missing, ratio included', () => {
    assert.deepEqual(run([], memory({ evictions: 1, currItems: 999 })).status('memory'), ['FAIL', 'FAIL']);
    assert.deepEqual(run([], memory({ currItems: undefined })).status('memory'), ['FAIL', 'FAIL']);
    assert.equal(run([], memory({ evictions: 1 })).code, 1);
  });

  it('a disturbed row gets RERUN instead of PASS, but a failure stays FAIL', () => {
    const busy = { cpu: { serverPercent: 90, serverSystemPercent: 40, loadPercent: 95, otherPercent: 80 } };
    const passing = run([clean('ascii', busy)]);
    assert.deepEqual(passing.status('ascii:'), ['PASS', 'RERUN']);
    assert.equal(passing.code, 0);
    assert.match(formatVerdicts(passing.verdicts), /^RERUN .*DISTURBED/m);
    const slow = run([clean('ascii', { ...busy, opsPerSec: 10_000 })]);
    assert.deepEqual(slow.status('ascii:'), ['PASS', 'FAIL']);
    assert.equal(slow.code, 1);
    const wrong = run([clean('ascii', { ...busy, errors: 1 })]);
    assert.deepEqual(wrong.status('ascii:'), ['FAIL', 'FAIL']);
  });

  it('reports the ratio of each round beside the best-of ratio', () => {
    const o = outcome('ascii', [
      measurement('memcached', 1, { opsPerSec: 50_000 }), measurement('cachier', 1, { opsPerSec: 40_000 }),
      measurement('cachier', 2, { opsPerSec: 45_000 }), measurement('memcached', 2, { opsPerSec: 60_000 }),
    ]);
    assert.equal(o.ratio, 45_000 / 60_000);
    assert.deepEqual(o.roundRatios, [0.8, 0.75]);
    assert.match(formatThroughputTable([o]), /0\.75 +0\.80 0\.75 +0\/0 +0\/0/);
  });
});

describe('introspection cost rows (baseline cachier --no-introspection)', () => {
  const OFF = 'cachier-no-introspection' as const;
  const paired = (name: string, onOps: number, over: Partial<Measurement> = {}) =>
    outcome(name, [measurement(OFF, 1, { opsPerSec: 50_000 }), measurement('cachier', 1, { opsPerSec: onOps, ...over })]);

  it('the ratio is on/off and passes at 0.97, fails below', () => {
    const pass = run([paired('introspection-ascii', 48_500), paired('introspection-mget20', 49_000)]);
    assert.deepEqual(pass.status('introspection-'), ['PASS', 'PASS', 'PASS', 'PASS']);
    assert.ok(pass.verdicts.some((v) => v.target === 'introspection-ascii: throughput introspection on/off (cachier)' && v.value === 0.97));
    const slow = run([paired('introspection-ascii', 48_000)]);
    assert.deepEqual(slow.status('introspection-ascii:'), ['PASS', 'FAIL']);
    assert.equal(slow.code, 1);
  });

  it('never reads a memcached measurement: a memcached one in the row is ignored', () => {
    const o = outcome('introspection-ascii', [
      measurement('memcached', 1, { opsPerSec: 1_000 }), measurement(OFF, 1, { opsPerSec: 50_000 }), measurement('cachier', 1, { opsPerSec: 45_000 }),
    ]);
    assert.equal(o.ratio, 0.9);
    assert.deepEqual(o.roundRatios, [0.9]);
  });

  it('an error on either node fails the row; the note names the node as it is', () => {
    const o = outcome('introspection-mget20', [measurement(OFF, 1, { errors: 2 }), measurement('cachier', 1)]);
    const r = run([o]);
    assert.deepEqual(r.status('introspection-mget20:'), ['FAIL', 'FAIL']);
    assert.match(r.verdicts[0]!.note!, /cachier --no-introspection round 1: 2 errors/);
  });

  it('rounds pair off with on, in either order', () => {
    const o = outcome('introspection-ascii', [
      measurement(OFF, 1, { opsPerSec: 50_000 }), measurement('cachier', 1, { opsPerSec: 49_000 }),
      measurement('cachier', 2, { opsPerSec: 47_000 }), measurement(OFF, 2, { opsPerSec: 50_000 }),
    ]);
    assert.deepEqual(o.roundRatios, [0.98, 0.94]);
    assert.equal(o.ratio, 0.96, 'the median of the two rounds');
  });

  it('the tables keep them apart: no memcached column over an introspection row', () => {
    const rows = [clean('memcaslap-ascii'), paired('introspection-ascii', 49_000)];
    const vsMemcached = formatThroughputTable(rows);
    assert.match(vsMemcached, /^workload +memcached ops\/s/);
    assert.doesNotMatch(vsMemcached, /introspection-ascii/);
    const vsOff = formatThroughputTable(rows, OFF);
    assert.match(vsOff, /^workload +cachier --no-introspection ops\/s .* cachier \(introspection on\) ops\/s/);
    assert.doesNotMatch(vsOff, /memcached|memcaslap-ascii/);
    assert.match(vsOff, /introspection-ascii .* 0\.98 /);
  });
});

describe('introspection memory phase', () => {
  const r = (server: IntrospectionMemoryRun['server'], growth: number, over: Partial<IntrospectionMemoryRun> = {}): IntrospectionMemoryRun => ({
    server, caches: 1000, rssBeforeBytes: 100 * 2 ** 20, rssAfterBytes: 100 * 2 ** 20 + growth, requests: 301_000,
    answeredCorrectly: 301_000, failedCaches: 0, problems: [], seconds: 3, ...over,
  });
  const phase = (runs: IntrospectionMemoryRun[]): IntrospectionMemoryOutcome => ({
    caches: 1000, keysPerCache: 50, setsPerCache: 100, getsPerCache: 200, cap: '64 MiB', runs,
    extraBytes: 20 * 2 ** 20, extraBytesPerCache: (20 * 2 ** 20) / 1000,
  });

  it('is reported, not judged on size: PASS when every reply is right, whatever the growth', () => {
    const res = run([], [], phase([r('cachier', 500 * 2 ** 20), r('cachier-no-introspection', 0)]));
    assert.deepEqual(res.status('introspection-memory'), ['PASS']);
    assert.match(formatIntrospectionMemoryTable(phase([r('cachier', 30 * 2 ** 20), r('cachier-no-introspection', 10 * 2 ** 20)])),
      /introspection on − off: 20\.0 MiB for 1,000 active caches, 20\.5 KiB\/cache \(node cap --introspection-memory 64 MiB/);
  });

  it('a wrong reply on either node fails it', () => {
    const bad = r('cachier-no-introspection', 0, { answeredCorrectly: 300_999, failedCaches: 1, problems: ['cache 7: reply 3 of 300 wrong: "END\\r\\n"'] });
    const res = run([], [], phase([r('cachier', 0), bad]));
    assert.deepEqual(res.status('introspection-memory'), ['FAIL']);
    assert.match(res.verdicts[0]!.note!, /cachier --no-introspection: 1 caches wrong \(cache 7/);
    assert.equal(res.code, 1);
  });
});

describe('memcaslap failures', () => {
  const good = [
    'Total Statistics', 'Type     Time(s)  Ops', 'Period   2        113425       56712', 'Global   2        113425       56712', '',
    'cmd_get: 102127', 'cmd_set: 11362', 'get_misses: 0', 'verify_misses: 0', 'verify_failed: 0', '',
    'Run time: 2.0s Ops: 113489 TPS: 56726 Net_rate: 8.5M/s', '',
  ].join('\n');

  it('finds nothing in a clean run', () => {
    const f = parseFailures(good, '', 2, true);
    assert.equal(f.errors, 0);
    assert.equal(f.verifyFailed, 0);
    assert.equal(f.gets, 102127);
  });

  it('counts echoed error replies, stderr lines and closed connections (memcached -c 20)', () => {
    const out = good.replace(/^Period.*\n/m, '').replace('cmd_get', '<14 ERROR\n<15 ERROR\ncmd_get');
    const f = parseFailures(out, 'Failed to write, and not due to blocking.\n', 2, false);
    assert.equal(f.errors, 4);
    assert.equal(f.allConnectionsAlive, false);
    assert.deepEqual(f.errorSamples.slice(0, 2), ['<14 ERROR', '<15 ERROR']);
  });

  it('treats a short run and a verify that never ran as errors', () => {
    assert.equal(parseFailures(good.replace('Run time: 2.0s', 'Run time: 0.4s'), '', 2, true).errors, 1);
    assert.equal(parseFailures(good.replace(/^verify_.*\n/gm, ''), '', 2, true).errors, 1);
  });
});

describe('load generator replies', () => {
  const value = valueOf(8);
  const frame = (framer: ReturnType<typeof asciiFramer>, text: string | Buffer, op: typeof OP_GET | typeof OP_SET) => {
    const buf = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    const end = framer(buf, 0, op);
    return { end, status: framed.status, length: buf.length };
  };
  const binary = (status: number, body: Buffer, extras = 0) =>
    rawResponse({ status, extras: body.subarray(0, extras), value: body.subarray(extras) });

  it('ASCII: a hit must carry the value and END; error lines are errors', () => {
    const f = asciiFramer(value);
    assert.equal(frame(f, 'VALUE k 0 8\r\nabcdefgh\r\nEND\r\n', OP_GET).status, REPLY_HIT);
    assert.equal(frame(f, 'VALUE k 0 8\r\nabcdefgX\r\nEND\r\n', OP_GET).status, REPLY_ERROR);
    assert.equal(frame(f, 'VALUE k 0 8\r\nabcdefgh\r\nXXX\r\n', OP_GET).status, REPLY_ERROR);
    assert.equal(frame(f, 'END\r\n', OP_GET).status, REPLY_MISS);
    assert.equal(frame(f, 'SERVER_ERROR out of memory\r\n', OP_GET).status, REPLY_ERROR);
    assert.equal(frame(f, 'SERVER_ERROR out of memory storing object\r\n', OP_SET).status, REPLY_ERROR);
    assert.equal(frame(f, 'ERROR\r\n', OP_GET).status, REPLY_ERROR);
    assert.equal(frame(f, 'STORED\r\n', OP_SET).status, REPLY_HIT);
  });

  it('meta: EN is a miss, anything but VA/HD an error', () => {
    const f = metaFramer(value);
    assert.equal(frame(f, 'VA 8\r\nabcdefgh\r\n', OP_GET).status, REPLY_HIT);
    assert.equal(frame(f, 'VA 8\r\nabcdefgX\r\n', OP_GET).status, REPLY_ERROR);
    assert.equal(frame(f, 'EN\r\n', OP_GET).status, REPLY_MISS);
    assert.equal(frame(f, 'CLIENT_ERROR bad command line format\r\n', OP_GET).status, REPLY_ERROR);
    assert.equal(frame(f, 'NS\r\n', OP_SET).status, REPLY_ERROR);
  });

  it('binary: key-not-found is a miss for a get only; other statuses are errors', () => {
    const f = binaryFramer(value);
    const flags = Buffer.alloc(4);
    assert.equal(frame(f, binary(0, Buffer.concat([flags, value]), 4), OP_GET).status, REPLY_HIT);
    assert.equal(frame(f, binary(0, Buffer.concat([flags, valueOf(7)]), 4), OP_GET).status, REPLY_ERROR);
    assert.equal(frame(f, binary(1, Buffer.from('Not found')), OP_GET).status, REPLY_MISS);
    assert.equal(frame(f, binary(1, Buffer.from('Not found')), OP_SET).status, REPLY_ERROR);
    assert.equal(frame(f, binary(0x82, Buffer.from('Out of memory')), OP_SET).status, REPLY_ERROR);
    assert.equal(frame(f, binary(0, Buffer.alloc(0)), OP_SET).status, REPLY_HIT);
  });
});

describe('scale (npm run bench -- --scale)', () => {
  const sm = (server: ScaleMeasurement['server'], round: number, opsPerSec: number, over: Partial<ScaleMeasurement> = {}): ScaleMeasurement => ({
    round, server, opsPerSec, p50Us: 300, p99Us: 900, errors: 0, misses: 0, gets: 90_000, errorSamples: [],
    counters: { cmdGet: 90_000, getMisses: 0, cmdSet: 10_000, evictions: 0 },
    serverCpuPercent: 95, loaderCpuPercent: [60], otherPercent: 5, serverCpuUsPerOp: 9, ...over,
  });
  const point = (k: number, ms: ScaleMeasurement[]): ScalePoint => {
    const p: ScalePoint = { k, serverCores: [0], loaderCores: [1], clients: 32 * k, measurements: ms, best: {} };
    return Object.assign(p, summarizeScale(ms));
  };
  const outcome = (points: ScalePoint[], perCore?: PerCoreRow[]): ScaleOutcome => ({
    loadTool: 'test', points, skipped: [{ k: 2, needs: 3, has: 2 }], ...(perCore ? { perCore } : {}),
  });
  const status = (o: ScaleOutcome, target: string) => judgeScale(o).find((v) => v.target === target)?.status;

  it('plans K = 1, 2, 4, … and says which K the cores cannot hold', () => {
    assert.deepEqual(scalePlan(2).measure, [1]);
    assert.deepEqual(scalePlan(2).skipped.map((s) => s.k), [2, 4, 8, 16]);
    assert.equal(notEnoughCores(scalePlan(2).skipped[0]!), 'not enough cores for K=2 (needs 3, has 2)');
    assert.deepEqual(scalePlan(16).measure, [1, 2, 4, 8]);
    assert.deepEqual(scalePlan(16).skipped, [{ k: 16, needs: 17, has: 16 }]);
    assert.deepEqual(scalePlan(64).measure, [1, 2, 4, 8, 16, 32]);
    assert.deepEqual(scalePlan(1).measure, []);
    assert.deepEqual(splitClients(128, 12).reduce((a, b) => a + b, 0), 128);
    assert.deepEqual(splitClients(32, 1), [32]);
    assert.deepEqual(splitClients(2, 3), [1, 1]);
  });

  it('passes at >= 0.8 of memcached, fails below, pairs rounds', () => {
    const ok = point(1, [sm('memcached', 1, 100_000), sm('cachier', 1, 85_000), sm('cachier', 2, 90_000), sm('memcached', 2, 95_000)]);
    assert.equal(ok.ratio, 0.9);
    assert.deepEqual(ok.roundRatios, [0.85, 90_000 / 95_000]);
    assert.equal(status(outcome([ok]), 'scale K=1: throughput cachier/memcached'), 'PASS');
    assert.equal(status(outcome([ok]), 'scale K=1: errors, misses'), 'PASS');
    const slow = point(1, [sm('memcached', 1, 100_000), sm('cachier', 1, 79_000)]);
    assert.equal(status(outcome([slow]), 'scale K=1: throughput cachier/memcached'), 'FAIL');
    assert.equal(exitCode(judgeScale(outcome([slow]))), 1);
  });

  it('fails a fast point with an error, a miss the servers saw, or an eviction', () => {
    for (const bad of [{ errors: 1, errorSamples: ['wrong value'] }, { counters: { cmdGet: 9, getMisses: 1, cmdSet: 1, evictions: 0 } },
      { counters: { cmdGet: 9, getMisses: 0, cmdSet: 1, evictions: 3 } }, { misses: 2 }]) {
      const o = outcome([point(1, [sm('memcached', 1, 100_000), sm('cachier', 1, 120_000, bad)])]);
      assert.equal(status(o, 'scale K=1: errors, misses'), 'FAIL', JSON.stringify(bad));
      assert.equal(status(o, 'scale K=1: throughput cachier/memcached'), 'FAIL', JSON.stringify(bad));
    }
    // A missing server is no pass.
    assert.equal(status(outcome([point(1, [sm('memcached', 1, 100_000)])]), 'scale K=1: throughput cachier/memcached'), 'FAIL');
  });

  it('a saturated loader or a busy machine turns a pass into RERUN, never a fail into a pass', () => {
    const loaderBound = point(1, [sm('memcached', 1, 50_000, { loaderCpuPercent: [99] }), sm('cachier', 1, 49_000, { loaderCpuPercent: [98] })]);
    const v = judgeScale(outcome([loaderBound])).find((x) => x.target === 'scale K=1: throughput cachier/memcached')!;
    assert.equal(v.status, 'RERUN');
    assert.match(v.note!, /loader used 99% of its core/);
    const busy = point(1, [sm('memcached', 1, 100_000, { otherPercent: 120 }), sm('cachier', 1, 90_000)]);
    assert.equal(status(outcome([busy]), 'scale K=1: throughput cachier/memcached'), 'RERUN');
    const slowBusy = point(1, [sm('memcached', 1, 100_000, { otherPercent: 120 }), sm('cachier', 1, 60_000)]);
    assert.equal(status(outcome([slowBusy]), 'scale K=1: throughput cachier/memcached'), 'FAIL');
  });

  it('per-core speed: cpu µs/op cachier/memcached <= 1.05 per op, correctness first', () => {
    const row = (op: 'get' | 'set', m: number, c: number, over: Partial<ScaleMeasurement> = {}): PerCoreRow => ({
      op, description: '', memcachedCpuUsPerOp: m, cachierCpuUsPerOp: c,
      measurements: [sm('memcached', 1, 100_000, { serverCpuUsPerOp: m }), sm('cachier', 1, 90_000, { serverCpuUsPerOp: c, ...over })],
    });
    const o = outcome([], [row('get', 8, 8.3), row('set', 10, 11)]);
    assert.equal(status(o, 'per-core get: server cpu µs/op cachier/memcached'), 'PASS');
    assert.equal(status(o, 'per-core set: server cpu µs/op cachier/memcached'), 'FAIL');
    assert.equal(status(outcome([], [row('get', 8, 8, { errors: 1 })]), 'per-core get: server cpu µs/op cachier/memcached'), 'FAIL');
    assert.equal(status(outcome([], [{ ...row('get', 8, 8), cachierCpuUsPerOp: undefined }]), 'per-core get: server cpu µs/op cachier/memcached'), 'FAIL');
    assert.match(formatPerCoreTable(o.perCore!), /get\s+100,000\s+8\.0\s+90,000\s+8\.3\s+1\.04/);
    // Judged on the machine's state during the measurements it uses: a busy other round does not matter.
    const busyOther = row('get', 8, 8.3);
    busyOther.measurements.push(sm('cachier', 2, 50_000, { serverCpuUsPerOp: 12, otherPercent: 150 }));
    assert.equal(status(outcome([], [busyOther]), 'per-core get: server cpu µs/op cachier/memcached'), 'PASS');
    const busyChosen = row('get', 8, 8.3, { otherPercent: 150 });
    assert.equal(status(outcome([], [busyChosen]), 'per-core get: server cpu µs/op cachier/memcached'), 'RERUN');
  });

  it('prints the curve and the K it could not measure', () => {
    const text = formatScaleTable(outcome([point(1, [sm('memcached', 1, 100_000), sm('cachier', 1, 90_000)])]));
    assert.match(text, /^1\s+0\s+1\s+32\s+100,000\s+9\.0\s+90,000\s+9\.0\s+0\.90/m);
    assert.match(text, /not enough cores for K=2 \(needs 3, has 2\)/);
  });

  it('reads perf report lines, JIT frames included, and sums them by kind of code', () => {
    const rows = parsePerfReport([
      '# Samples: 12K of event \'cpu-clock\'',
      '    40.00%  [kernel.kallsyms]     [k] tcp_sendmsg',
      '    25.00%  [JIT] tid 123         [.] JS:*onData /x/session.ts:10:3',
      '    20.00%  node                  [.] Builtins_LoadIC',
      '    10.00%  socket_loop.node      [.] loop_run',
      '     5.00%  libc.so.6             [.] read',
    ].join('\n'));
    assert.equal(rows.length, 5);
    assert.deepEqual(rows[1], { percent: 25, dso: '[JIT] tid 123', symbol: 'JS:*onData /x/session.ts:10:3' });
    const byKind = Object.fromEntries(classify(rows).map((c) => [c.name.split(' ')[0], c.percent]));
    assert.deepEqual(byKind, { kernel: 40, JS: 25, node: 20, native: 10, libc: 5 });
    assert.match(formatPerf({ ok: false, reason: 'perf_event_paranoid 3' }), /not measured: perf_event_paranoid 3/);
  });

  it('ketama spreads keys over the servers, each key to one server, stable', () => {
    const servers = ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'];
    const ring = new Ketama(servers);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[ring.serverFor(`key:${String(i).padStart(7, '0')}`)]!++;
    for (const c of counts) assert.ok(c > 6_000 && c < 14_000, `uneven: ${counts}`);
    assert.equal(new Ketama(servers).serverFor('abc'), ring.serverFor('abc'));
    // Adding a server moves only the keys it takes over.
    const more = new Ketama([...servers, '127.0.0.1:4']);
    let moved = 0;
    for (let i = 0; i < 10_000; i++) {
      const k = `k${i}`;
      const to = more.serverFor(k);
      if (to !== ring.serverFor(k)) {
        moved++;
        assert.equal(to, 3);
      }
    }
    assert.ok(moved > 1_000 && moved < 4_000, `moved ${moved}`);
  });
});
