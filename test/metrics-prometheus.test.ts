/**
 * /metrics scraped by a real Prometheus (Debian's `prometheus` package): `cachier start
 * --nodes 2` on loopback with a metrics token and memcache traffic; Prometheus scrapes the
 * control plane and both nodes' admin ports every second with that token, and its HTTP
 * API must show the get hits we caused. `promtool check metrics` must pass on both
 * endpoints' text. Who may read /metrics (token, operator token, loopback, 404) is
 * checked over HTTP too. Without prometheus the tests skip, or fail under CI=true.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HOST, REPO_ROOT, printed, printedOperatorToken, spawnCli, tempDir, track, stopChild, type Proc } from './support/child-process.ts';
import { freePorts } from './support/ports.ts';
import { RawClient } from './support/raw-client.ts';
import { haveCommand } from './support/clients.ts';
import { skipUnlessCI } from './support/required-tool.ts';
import { until } from './support/wait.ts';

const PROMETHEUS = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => fs.existsSync(p)) ?? (haveCommand('prometheus') ? 'prometheus' : undefined);
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => fs.existsSync(p)) ?? (haveCommand('promtool') ? 'promtool' : undefined);
const skip = skipUnlessCI(PROMETHEUS && PROMTOOL ? undefined : 'prometheus and promtool not installed (Debian package prometheus)');

const TOKEN = 'metrics-token-0123456789abcdef';
const GETS = 25;

let cachier: Proc | undefined;
let prometheus: ChildProcess | undefined;
let httpPort = 0;
let operatorToken = '';
let adminAddresses: string[] = [];
let clients: RawClient[] = [];

async function scrape(url: string, authorization?: string): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(url, { headers: authorization ? { authorization } : {} });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

before(async () => {
  if (skip) return;
  const dir = tempDir('cachier-metrics-');
  const [port] = await freePorts(2, { consecutive: true });
  [httpPort] = (await freePorts(1)) as [number];
  cachier = await spawnCli(['start', '--data', dir, '--host', HOST, '--port', String(port), '--http-port', String(httpPort), '--nodes', '2',
    '--history-interval', '1', '--latency-interval', '1', '--metrics-token', TOKEN], 'cachier ready:', { timeoutMs: 60_000 });
  operatorToken = printedOperatorToken(cachier.stdout())!;
  const username = printed(cachier.stdout(), 'MEMCACHIER_USERNAME');
  const password = printed(cachier.stdout(), 'MEMCACHIER_PASSWORD');
  const nodes = await (await fetch(`http://${HOST}:${httpPort}/api/operator/nodes`, { headers: { authorization: `Bearer ${operatorToken}` } })).json() as { admin_address: string }[];
  adminAddresses = nodes.map((n) => n.admin_address);
  assert.equal(adminAddresses.length, 2);
  // GETS hits on each node, and one miss.
  for (const p of [port!, port! + 1]) {
    const c = await RawClient.connect(p, HOST);
    clients.push(c);
    assert.equal(await c.text(`set ${username} 0 0 ${password.length}\r\n${password}\r\n`), 'STORED\r\n');
    assert.equal(await c.text('set k 0 0 1\r\nv\r\n'), 'STORED\r\n');
    for (let i = 0; i < GETS; i++) assert.equal(await c.text('get k\r\n', 'END\r\n'), 'VALUE k 0 1\r\nv\r\nEND\r\n');
    assert.equal(await c.text('get nope\r\n', 'END\r\n'), 'END\r\n');
  }
});

after(async () => {
  for (const c of clients) c.end();
  if (prometheus) await stopChild(prometheus);
  await cachier?.stop();
});

test('who may read /metrics: the metrics token or the operator token, not a wrong one', { skip }, async () => {
  const control = `http://${HOST}:${httpPort}/metrics`;
  assert.equal((await scrape(control)).status, 401);
  assert.equal((await scrape(control, 'Bearer wrong-token-0123456789abcdef')).status, 401);
  const ok = await scrape(control, `Bearer ${TOKEN}`);
  assert.equal(ok.status, 200);
  assert.match(ok.type, /^text\/plain; version=0\.0\.4/);
  assert.equal((await scrape(control, `Bearer ${operatorToken}`)).status, 200);
  for (const admin of adminAddresses) {
    const url = `http://${admin}/metrics`;
    assert.equal((await scrape(url)).status, 401);
    assert.equal((await scrape(url, 'Bearer wrong-token-0123456789abcdef')).status, 401);
    assert.equal((await scrape(url, `Bearer ${TOKEN}`)).status, 200);
    // The metrics token opens /metrics only, not the rest of the admin port.
    assert.equal((await scrape(`http://${admin}/health`, `Bearer ${TOKEN}`)).status, 401);
  }
});

test('promtool check metrics passes on the control plane\'s and both nodes\' /metrics', { skip }, async () => {
  // After a sampler round, so the cache series are there.
  const text = await until('cache series on the control plane', Date.now() + 20_000, async () => {
    const r = await scrape(`http://${HOST}:${httpPort}/metrics`, `Bearer ${TOKEN}`);
    return /^cachier_cache_get_hits_total\{cache="_all",server="[^"]+"\} [1-9]/m.test(r.body) && r.body;
  }, 200);
  const texts = [text, ...await Promise.all(adminAddresses.map(async (a) => (await scrape(`http://${a}/metrics`, `Bearer ${TOKEN}`)).body))];
  for (const t of texts) {
    // promtool reads the exposition on stdin and exits non-zero on a problem (lint warnings included).
    execFileSync(PROMTOOL!, ['check', 'metrics'], { input: t, timeout: 20_000 });
  }
  assert.match(texts[1]!, /^cachier_node_commands_total\{command="get"\} \d+/m);
  assert.match(texts[1]!, /^cachier_node_connections\{state="logged_in"\} 1$/m);
  assert.match(texts[1]!, /^cachier_node_event_loop_delay_p99_seconds \d/m);
  assert.match(text, /^cachier_http_requests_total\{method="GET",route="\/metrics",status="401"\} [1-9]/m);
  assert.match(text, /^cachier_latency_probe_seconds_count\{server="[^"]+"\} [1-9]/m);
});

test('a real Prometheus scrapes both endpoints and sees the get hits we sent', { skip, timeout: 60_000 }, async () => {
  const dir = tempDir('cachier-prometheus-');
  const [promPort] = await freePorts(1);
  fs.writeFileSync(path.join(dir, 'token'), TOKEN);
  const job = (name: string, targets: string[]) => [
    `  - job_name: ${name}`,
    '    scrape_interval: 1s',
    '    scrape_timeout: 1s',
    '    authorization:',
    `      credentials_file: ${path.join(dir, 'token')}`,
    '    static_configs:',
    `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    job('cachier-control', [`${HOST}:${httpPort}`]),
    job('cachier-node', adminAddresses),
    '',
  ].join('\n'));
  prometheus = track(spawn(PROMETHEUS!, [
    `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=${HOST}:${promPort}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let log = '';
  prometheus.stderr!.setEncoding('utf8').on('data', (d: string) => { log = (log + d).slice(-8000); });
  const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const res = await fetch(`http://${HOST}:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = await res.json() as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    assert.equal(body.status, 'success');
    return body.data.result;
  };
  const deadline = Date.now() + 40_000;
  const why = () => `Prometheus (log tail: ${log.slice(-1500)})`;
  // Every target up.
  await until(() => `${why()}: 3 targets up`, deadline, async () => {
    const up = await query('up');
    return up.length === 3 && up.every((r) => r.value[1] === '1');
  }, 250);
  // Get hits per server from the control plane: GETS on each node.
  const hits = await until(() => `${why()}: get hits of both servers`, deadline, async () => {
    const r = await query('cachier_cache_get_hits_total{job="cachier-control"}');
    return r.length === 2 && r.every((s) => Number(s.value[1]) >= GETS) && r;
  }, 250);
  for (const s of hits) assert.equal(Number(s.value[1]), GETS, `${s.metric.server}`);
  const misses = await query('sum(cachier_cache_get_misses_total)');
  assert.equal(Number(misses[0]!.value[1]), 2);
  // The nodes' own count of keys requested: GETS + 1 each.
  const gets = await until(() => `${why()}: node get commands`, deadline, async () => {
    const r = await query('cachier_node_commands_total{command="get"}');
    return r.length === 2 && r;
  }, 250);
  for (const s of gets) assert.equal(Number(s.value[1]), GETS + 1, s.metric.instance);
  const open = await query('sum(cachier_node_connections{state="logged_in"})');
  assert.equal(Number(open[0]!.value[1]), 2);
  // docs/grafana-cachier.json: every query parses and runs, and every metric it names is exported.
  const dashboard = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'docs', 'grafana-cachier.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr.replaceAll('$__rate_interval', '10s').replaceAll('$cache', '.*')));
  assert.ok(exprs.length >= 10);
  for (const expr of exprs) await query(expr);
  const names = new Set((await (await fetch(`http://${HOST}:${promPort}/api/v1/label/__name__/values`)).json() as { data: string[] }).data);
  // A labelled counter has no series until its first event (no catalog error here).
  const firstEventOnly = new Set(['cachier_catalog_errors_total']);
  const missing = [...new Set(exprs.flatMap((e) => e.match(/cachier_[a-z0-9_]+/g) ?? []))].filter((n) => !names.has(n) && !firstEventOnly.has(n));
  assert.deepEqual(missing, [], 'metrics the dashboard uses that were not scraped');
  await stopChild(prometheus);
  prometheus = undefined;
});
