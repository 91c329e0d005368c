/**
 * What credential churn costs other tenants. A cache node runs as its own
 * process (`cachier node`) on a fresh catalog; a writer process creates N credentials
 * spread over many caches at a steady rate straight through the catalog (as the CLI or a
 * control plane would); meanwhile this process logs in to another cache over TCP and
 * times one `get` every --interval ms, before the churn (idle) and during it.
 *
 * Latency is measured from each get's scheduled time (no coordinated omission: a node
 * stalled 50 ms shows 50 ms for every get that was due meanwhile) and, separately, from
 * when it was sent. Not a test: it prints raw numbers.
 *
 *   node --import tsx bench/catalog-churn.ts [--credentials 3000] [--rate 120] [--caches 40]
 *        [--interval 2] [--idle 5] [--database-url postgres://…?schema=NAME]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openCatalog } from '../src/catalog/open.ts';
import { LatencyHistogram } from './load/histogram.ts';

const { values: o } = parseArgs({
  options: {
    credentials: { type: 'string', default: '3000' },
    rate: { type: 'string', default: '120' },
    caches: { type: 'string', default: '40' },
    interval: { type: 'string', default: '2' },
    idle: { type: 'string', default: '5' },
    'database-url': { type: 'string' },
    // Internal: run as the writer process.
    writer: { type: 'string' },
    'cache-ids': { type: 'string' },
  },
});

if (o.writer !== undefined) {
  await runWriter();
  process.exit(0);
}

const total = Number(o.credentials);
const rate = Number(o.rate);
const intervalMs = Number(o.interval);
const dataDir = mkdtempSync(join(tmpdir(), 'cachier-churn-'));
const where = o['database-url'] ? ['--database-url', o['database-url']] : ['--data', dataDir];
const catalog = await openCatalog({ dataDir, databaseUrl: o['database-url'] });
const churnIds: number[] = [];
for (let i = 0; i < Number(o.caches); i++) churnIds.push((await catalog.createCache({ memoryBytes: 1 << 20 })).cache.id);
const victim = await catalog.createCache({ memoryBytes: 16 << 20 });
await catalog.close();

const port = 20000 + Math.floor(Math.random() * 20000);
const node = spawn(process.execPath, ['bin/cachier.js', 'node', ...where, '--host', '127.0.0.1', '--port', String(port)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
await waitForLine(node, /cachier node ready/);

const sock = connect(port, '127.0.0.1');
sock.setNoDelay(true);
await new Promise<void>((r) => sock.once('connect', () => r()));
let pending: { match: (s: string) => boolean; resolve: () => void } | undefined;
let buf = '';
sock.on('data', (d) => {
  buf += d.toString('latin1');
  if (pending?.match(buf)) {
    buf = '';
    const p = pending;
    pending = undefined;
    p.resolve();
  }
});
const request = (line: string, done: (s: string) => boolean) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(line.slice(0, 20))}: ${JSON.stringify(buf)}`)), 10_000);
    pending = { match: done, resolve: () => (clearTimeout(timer), resolve()) };
    sock.write(line);
  });
const pw = victim.password;
await request(`set ${victim.credential.username} 0 0 ${pw.length}\r\n${pw}\r\n`, (s) => s.endsWith('\r\n'));
await request('set k 0 0 5\r\nhello\r\n', (s) => s === 'STORED\r\n');

async function measure(until: () => boolean): Promise<{ scheduled: LatencyHistogram; service: LatencyHistogram; ms: number }> {
  const scheduled = new LatencyHistogram();
  const service = new LatencyHistogram();
  const t0 = performance.now();
  for (let i = 0; !until(); i++) {
    const due = t0 + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0.5) await new Promise((r) => setTimeout(r, Math.floor(wait)));
    const sent = performance.now();
    await request('get k\r\n', (s) => s.endsWith('END\r\n'));
    const done = performance.now();
    scheduled.recordMs(done - Math.min(due, sent));
    service.recordMs(done - sent);
  }
  return { scheduled, service, ms: performance.now() - t0 };
}

/** The node process's CPU time so far, ms (utime + stime from /proc; Linux). */
const nodeCpuMs = () => {
  const f = readFileSync(`/proc/${node.pid}/stat`, 'latin1');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
};
const idleEnd = performance.now() + Number(o.idle) * 1000;
let cpu0 = nodeCpuMs();
const idle = await measure(() => performance.now() >= idleEnd);
const idleCpu = nodeCpuMs() - cpu0;
cpu0 = nodeCpuMs();

const writer = spawn(process.execPath, ['--import', 'tsx', 'bench/catalog-churn.ts', '--writer', dataDir,
  ...(o['database-url'] ? ['--database-url', o['database-url']] : []),
  '--cache-ids', churnIds.join(','), '--credentials', String(total), '--rate', String(rate)], { stdio: ['ignore', 'pipe', 'inherit'] });
let writerDone = false;
let writerReport = '';
writer.stdout!.on('data', (d) => (writerReport += d));
writer.on('exit', () => (writerDone = true));
const churn = await measure(() => writerDone);
const churnCpu = nodeCpuMs() - cpu0;

sock.destroy();
node.kill('SIGTERM');
await new Promise((r) => node.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });

const fmt = (h: LatencyHistogram) => {
  const s = h.summary();
  return `n=${s.count} p50=${(s.p50Us / 1000).toFixed(2)}ms p90=${(s.p90Us / 1000).toFixed(2)}ms p99=${(s.p99Us / 1000).toFixed(2)}ms max=${(s.maxUs / 1000).toFixed(2)}ms`;
};
console.log(`catalog: ${o['database-url'] ? 'postgres' : 'sqlite'}; ${writerReport.trim()}`);
console.log(`idle   (${(idle.ms / 1000).toFixed(1)} s, node cpu ${idleCpu.toFixed(0)} ms)  from scheduled: ${fmt(idle.scheduled)}  | service: ${fmt(idle.service)}`);
console.log(`churn  (${(churn.ms / 1000).toFixed(1)} s, node cpu ${churnCpu.toFixed(0)} ms)  from scheduled: ${fmt(churn.scheduled)}  | service: ${fmt(churn.service)}`);

async function runWriter(): Promise<void> {
  const c = await openCatalog({ dataDir: o.writer!, databaseUrl: o['database-url'] });
  const ids = o['cache-ids']!.split(',').map(Number);
  const n = Number(o.credentials);
  const perSecond = Number(o.rate);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await c.createCredential(ids[i % ids.length]!, { flush: false });
  }
  const s = (performance.now() - t0) / 1000;
  console.log(`${n} credentials over ${ids.length} caches in ${s.toFixed(1)} s (${(n / s).toFixed(0)}/s)`);
  await c.close();
}

function waitForLine(child: ChildProcess, re: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (re.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`node exited (${code}) before it was ready: ${out}`)));
  });
}
