// Structured logs (issue 17) from a real `cachier start`: every line on stderr is JSON,
// and one line of each event type is checked — node start (ports, io), a catalog change
// applied, an HTTP request (its id also in X-Request-Id, the route pattern, never the URL's
// query), failed logins aggregated (count per source and username, a foreign "username"
// only as a short hash), a connection limit hit, node and control plane stop; what the CLI
// prints on stdout is unchanged. `--log-level warn` keeps only warnings and up;
// `--log-format pretty` prints human lines; `cachier node` and `cachier control` log the
// same way. In-process: the native loop fallback under
// `--io auto` when the addon did not load, and the per-minute aggregation itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteCatalog } from '../src/catalog/sqlite.ts';
import { createCacheNode } from '../src/node/cache-node.ts';
import { loggedUsername, NodeEvents } from '../src/node/node-events.ts';
import { createLogger, prettyLine } from '../src/shared/logger.ts';
import { asciiLogin, McConn } from './faults/support/mc.ts';
import { HOST, printed, runCli, spawnCli, tempDir, type Proc } from './support/child-process.ts';
import { freePort, freePorts } from './support/ports.ts';
import { PROMPTLY_MS, until } from './support/wait.ts';

type Line = Record<string, any>;

/** The JSON lines of a process's stderr; fails on any line that is not JSON. */
function linesOf(proc: Proc): Line[] {
  return proc.stderr().split('\n').filter((l) => l.trim() !== '').map((l) => {
    try {
      return JSON.parse(l) as Line;
    } catch {
      throw new Error(`a stderr line is not JSON: ${l}`);
    }
  });
}

async function start(dataDir: string, extra: string[]): Promise<{ proc: Proc; port: number; httpPort: number }> {
  const [port] = await freePorts(1);
  const httpPort = await freePort();
  const proc = await spawnCli(['start', '--data', dataDir, '--host', HOST, '--port', String(port), '--http-port', String(httpPort), ...extra], 'cachier ready');
  return { proc, port: port!, httpPort };
}

/** A failed ASCII login: answered (after the throttle's delay) with an error line. */
async function failLogin(port: number, username: string, password: string): Promise<void> {
  const c = await McConn.connect(port);
  const r = await c.text(`set ${username} 0 0 ${password.length}\r\n${password}\r\n`);
  assert.match(r.line, /^CLIENT_ERROR /);
  c.end();
}

test('cachier start: one JSON line per event on stderr, the CLI lines on stdout as before', { timeout: 90_000 }, async () => {
  const dataDir = tempDir('cachier-logs-');
  const { proc, port, httpPort } = await start(dataDir, ['--log-level', 'debug', '--max-cache-connections', '1']);
  const out = proc.stdout();
  assert.match(out, /^cachier ready: http=/m);
  const first = { id: Number(/first cache \(id (\d+)\)/.exec(out)![1]), username: printed(out, 'MEMCACHIER_USERNAME'), password: printed(out, 'MEMCACHIER_PASSWORD') };
  assert.doesNotMatch(proc.stderr(), /MEMCACHIER_|cachier ready/, 'what the CLI prints stays on stdout');

  // node start: ports and io mode
  const started = await until('node_start line', Date.now() + PROMPTLY_MS, () => linesOf(proc).find((l) => l.event === 'node_start'));
  assert.equal(started.level, 'info');
  assert.equal(started.part, 'node');
  assert.equal(started.node, `${HOST}:${port}`);
  assert.equal(started.port, port);
  assert.match(started.admin, /^127\.0\.0\.1:\d+$/);
  assert.ok(['native', 'stream'].includes(started.io), started.io);
  assert.ok(typeof started.time === 'string' && typeof started.pid === 'number');
  // Written asynchronously, and on another pipe than the ready line: it may come a moment later.
  await until('control_start line', Date.now() + PROMPTLY_MS, () => linesOf(proc).some((l) => l.event === 'control_start' && l.port === httpPort && l.part === 'control'));

  // a catalog change applied: a cache made by the CLI reaches the node
  const made = JSON.parse((await runCli(['cache', 'create', '--data', dataDir, '--memory', '8mb', '--json'])).stdout) as { id: number; username: string; password: string };
  const change = await until('catalog_changes line with the new cache', Date.now() + PROMPTLY_MS,
    () => linesOf(proc).find((l) => l.event === 'catalog_changes' && l.caches >= 1 && l.credentials >= 1 && l.revision > 0 && l.from_revision < l.revision));
  assert.equal(change.part, 'node');
  assert.equal(typeof change.removed_credentials, 'number');
  assert.equal(change.cluster_secret_rotated, false);

  // an HTTP request: id (the caller's, or a fresh one, answered in X-Request-Id), route pattern, status, ms, cache
  const basic = `Basic ${Buffer.from(`${made.username}:${made.password}`).toString('base64')}`;
  const withId = await fetch(`http://${HOST}:${httpPort}/api/v1/${made.id}/stats?q=query-must-not-be-logged`, { headers: { authorization: basic, 'x-request-id': 'deploy-42.a' } });
  assert.equal(withId.status, 200);
  assert.equal(withId.headers.get('x-request-id'), 'deploy-42.a');
  const fresh = await fetch(`http://${HOST}:${httpPort}/api/v1/${made.id}/stats`, { headers: { authorization: basic, 'x-request-id': 'not a plain token!' } });
  const freshId = fresh.headers.get('x-request-id')!;
  assert.match(freshId, /^[0-9a-f-]{36}$/, 'an unusable caller id is replaced by a UUID');
  const missing = await fetch(`http://${HOST}:${httpPort}/no/such/path?token=query-must-not-be-logged`);
  assert.equal(missing.status, 404);
  const requests = await until('three request lines', Date.now() + PROMPTLY_MS, () => {
    const r = linesOf(proc).filter((l) => l.event === 'http_request' && l.status !== undefined && l.route !== '/healthz');
    return r.length >= 3 && r;
  });
  const line = requests.find((l) => l.reqId === 'deploy-42.a')!;
  assert.ok(line, JSON.stringify(requests));
  assert.equal(line.level, 'info');
  assert.equal(line.part, 'control');
  assert.equal(line.method, 'GET');
  assert.equal(line.route, '/api/v1/:id/stats');
  assert.equal(line.status, 200);
  assert.equal(line.cache, made.id);
  assert.ok(typeof line.ms === 'number' && line.ms >= 0, String(line.ms));
  assert.ok(requests.some((l) => l.reqId === freshId && l.route === '/api/v1/:id/stats'));
  assert.ok(requests.some((l) => l.status === 404 && l.route === null), 'an unrouted request has no route, not its URL');
  assert.doesNotMatch(proc.stderr(), /query-must-not-be-logged|no\/such\/path/, 'no URL or query in the log');
  assert.doesNotMatch(proc.stderr(), new RegExp(basic.slice(6)), 'no Authorization header in the log');

  // a connection limit (--max-cache-connections 1): a second login to the same cache is refused
  const held = await McConn.connect(port);
  await asciiLogin(held, first.username, first.password);
  const second = await McConn.connect(port);
  const refused = await second.text(`set ${first.username} 0 0 ${first.password.length}\r\n${first.password}\r\n`);
  assert.match(refused.line, /^SERVER_ERROR too many connections for this cache/);
  second.end();
  held.end();

  // failed logins: a known username with a wrong password, an unknown one that is a secret typed in the wrong field
  const wrong = 'wrong-password-must-not-be-logged';
  const pasted = 'a-password-pasted-as-username';
  for (let i = 0; i < 3; i++) await failLogin(port, first.username, wrong);
  for (let i = 0; i < 2; i++) await failLogin(port, pasted, wrong);
  // Aggregated per minute; a stopping node writes what it has counted.
  assert.equal(linesOf(proc).filter((l) => l.event === 'login_failures').length, 0, 'not a line per failure');
  await proc.stop();
  const lines = linesOf(proc);
  const failures = lines.filter((l) => l.event === 'login_failures');
  assert.equal(failures.length, 1, JSON.stringify(failures));
  const f = failures[0]!;
  assert.equal(f.level, 'warn');
  assert.equal(f.failures, 5);
  assert.equal(f.window_s, 60);
  assert.deepEqual(f.sources, [{ source: '127.0.0.1', failures: 5 }]);
  assert.deepEqual(f.usernames, [
    { username: first.username, cache: first.id, failures: 3 },
    { username: loggedUsername(pasted, false), failures: 2 },
  ]);
  const limits = lines.find((l) => l.event === 'connection_limits');
  assert.ok(limits, 'a connection_limits line');
  assert.equal(limits.level, 'warn');
  assert.equal(limits.hits.max_cache_connections, 1);
  assert.deepEqual(limits.caches, [{ cache: first.id, hits: 1 }]);
  assert.deepEqual(limits.sources, [{ source: '127.0.0.1', hits: 1 }]);
  assert.ok(lines.some((l) => l.event === 'node_stop' && l.node === `${HOST}:${port}`));
  assert.ok(lines.some((l) => l.event === 'control_stop'));
  for (const secret of [wrong, pasted, first.password, made.password]) assert.ok(!proc.stderr().includes(secret), 'no password in the log');
});

test('--log-level warn keeps warnings and up only; --log-format pretty prints human lines', { timeout: 60_000 }, async () => {
  const quiet = await start(tempDir('cachier-logs-warn-'), ['--log-level', 'warn']);
  const username = printed(quiet.proc.stdout(), 'MEMCACHIER_USERNAME');
  assert.equal((await fetch(`http://${HOST}:${quiet.httpPort}/healthz`)).status, 200);
  await failLogin(quiet.port, username, 'nope');
  await quiet.proc.stop();
  const lines = linesOf(quiet.proc);
  assert.deepEqual(lines.map((l) => l.event), ['login_failures'], quiet.proc.stderr());
  assert.ok(lines.every((l) => ['warn', 'error', 'fatal'].includes(l.level)));

  const pretty = await start(tempDir('cachier-logs-pretty-'), ['--log-format', 'pretty']);
  await until('the node_start line', Date.now() + PROMPTLY_MS, () => /node started/.test(pretty.proc.stderr()));
  await pretty.proc.stop();
  const text = pretty.proc.stderr();
  assert.match(text, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  \\[node ${HOST}:${pretty.port}\\] node started  event=node_start .*io=(native|stream)`, 'm'));
  assert.match(text, /^\d\d:\d\d:\d\d\.\d{3} INFO  \[control\] control plane listening /m);
  assert.doesNotMatch(text, /^\{/m, 'no JSON lines');
  assert.match(pretty.proc.stdout(), /^cachier ready: /m);

  const bad = await runCli(['start', '--log-level', 'loud']).catch((e: { code: number; stderr: string }) => e);
  assert.equal((bad as { code: number }).code, 2);
  assert.match((bad as { stderr: string }).stderr, /--log-level must be one of fatal, error, warn, info, debug, trace, silent/);
});

test('cachier node and cachier control log the same way (start, stop, a request line)', { timeout: 60_000 }, async () => {
  const dataDir = tempDir('cachier-logs-split-');
  const [port] = await freePorts(1);
  const httpPort = await freePort();
  const node = await spawnCli(['node', '--data', dataDir, '--host', HOST, '--port', String(port), '--log-level', 'info'], 'cachier node ready:');
  const control = await spawnCli(['control', '--data', dataDir, '--host', HOST, '--http-port', String(httpPort), '--log-format', 'json'], 'cachier control ready:');
  assert.equal((await fetch(`http://${HOST}:${httpPort}/healthz`, { headers: { 'x-request-id': 'probe-1' } })).headers.get('x-request-id'), 'probe-1');
  assert.equal((await fetch(`http://${HOST}:${httpPort}/api/operator/caches`)).status, 401);
  await until('the control plane\'s request line', Date.now() + PROMPTLY_MS, () => linesOf(control).some((l) => l.event === 'http_request' && l.status === 401));
  await Promise.all([node.stop(), control.stop()]);
  const nodeLines = linesOf(node);
  assert.ok(nodeLines.some((l) => l.event === 'node_start' && l.part === 'node' && l.node === `${HOST}:${port}` && l.port === port));
  assert.ok(nodeLines.some((l) => l.event === 'node_stop'));
  const controlLines = linesOf(control);
  assert.ok(controlLines.some((l) => l.event === 'control_start' && l.port === httpPort));
  assert.ok(controlLines.some((l) => l.event === 'http_request' && l.route === '/api/operator/caches' && l.status === 401 && l.method === 'GET'));
  assert.ok(!controlLines.some((l) => l.reqId === 'probe-1'), 'a healthy /healthz is a debug line, not at info');
  assert.ok(controlLines.some((l) => l.event === 'control_stop'));
});

test('--io auto without the native socket loop: a warning with the reason, and the node serves on Node sockets', async () => {
  const lines: Line[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(JSON.parse(l) as Line) } });
  const catalog = openSqliteCatalog(tempDir('cachier-logs-io-'));
  const missing = () => ({ error: 'not loadable (test: no build)' });
  const node = await createCacheNode({ catalog, logger, loadSocketLoop: missing }).listen({ host: HOST, port: 0, io: 'auto' });
  try {
    const fallback = lines.find((l) => l.event === 'native_loop_fallback');
    assert.ok(fallback, JSON.stringify(lines));
    assert.equal(fallback.level, 'warn');
    assert.equal(fallback.reason, 'not loadable (test: no build)');
    assert.equal(fallback.node, node.address);
    assert.equal(lines.find((l) => l.event === 'node_start')?.io, 'stream');
  } finally {
    await node.close();
  }
  // Asked for by name, a missing loop is an error, not a fallback; `stream` never looks for it.
  await assert.rejects(createCacheNode({ catalog, logger, loadSocketLoop: missing }).listen({ host: HOST, port: 0, io: 'native' }), /io native: not loadable/);
  const streamed = await createCacheNode({ catalog, logger, loadSocketLoop: missing }).listen({ host: HOST, port: 0, io: 'stream' });
  await streamed.close();
  assert.equal(lines.filter((l) => l.event === 'native_loop_fallback').length, 1);
  await catalog.close();
});

test('node events: one line per kind per window, bounded, with the top sources and hashed foreign usernames', () => {
  const lines: Line[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(JSON.parse(l) as Line) } });
  const events = new NodeEvents(logger);
  events.flush();
  assert.equal(lines.length, 0, 'nothing counted, nothing written');
  for (let i = 0; i < 5000; i++) events.loginFailed(`10.0.${i % 250}.${i % 7}`, `guess-${i}`, undefined, i % 100 === 0);
  events.loginFailed('2001:db8::1', 'ABCD1234', 7, false);
  events.limitHit('max_pending_per_source', '10.9.9.9');
  events.limitHit('max_connections', '10.9.9.9', 3);
  events.flush();
  assert.equal(lines.length, 2);
  const [failures, limits] = lines as [Line, Line];
  assert.equal(failures.event, 'login_failures');
  assert.equal(failures.failures, 5001);
  assert.equal(failures.dropped, 50);
  assert.equal(failures.sources.length, 10, 'the top 10 sources');
  assert.equal(failures.usernames.length, 10);
  assert.ok(failures.other_usernames > 0, 'the rest counted, not listed');
  assert.ok(failures.usernames.every((u: { username: string }) => /^\?[0-9a-f]{8}$/.test(u.username) || u.username === 'ABCD1234'));
  assert.ok(!JSON.stringify(failures).includes('guess-'), 'a foreign username appears only hashed');
  assert.deepEqual(limits.hits, { max_pending_per_source: 1, max_connections: 1 });
  assert.deepEqual(limits.caches, [{ cache: 3, hits: 1 }]);
  events.flush();
  assert.equal(lines.length, 2, 'a window is written once');
  assert.equal(prettyLine(JSON.stringify({ time: '2026-12-06T10:00:01.234Z', level: 'warn', part: 'node', node: 'h:1', msg: 'm', a: 'x y', b: 2 })),
    '10:00:01.234 WARN  [node h:1] m  a="x y" b=2\n');
});
