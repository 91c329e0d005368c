// Secrets: passwords and tokens are kept only as salted hashes and never written to a log.
//
// A full session on a fresh data dir: `cachier start` (two nodes), caches made with the
// CLI and the operator API, credentials made, changed, promoted and listed through the
// API, a scoped API token made, listed, used and misused (wrong, as a password), real traffic (ASCII and SASL logins, failed logins that send another credential's
// password, malformed logins, flushes), then a clean stop and a restart. Every byte any
// process wrote to stdout or stderr is kept, and so are the catalog's files. The server logs
// at trace level (every log event type: requests, failed logins and tokens, limits, catalog
// changes, alert test notifications through Slack and webhook receivers whose URLs and
// signing secret are secrets too, a dashboard sign-in link made and used). Each password
// and token may appear only where the user asked to see it: the first start's
// MEMCACHIER_PASSWORD and operator-token lines, `cache create` output, and the API's
// create responses. Anywhere else (other log lines, `cache show`/`list`, list and get
// responses, the SQLite files) is a leak.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { hashSecret, verifySecret } from '../src/shared/secrets.ts';
import { freePort, freePorts } from './support/ports.ts';
import { req, saslPlain } from '../src/protocol/binary/testing/frames.ts';
import { McConn, openSession } from './faults/support/mc.ts';
import { printed, printedOperatorToken, REPO_ROOT, runCli, spawnCli, type Proc } from './support/child-process.ts';
import { http } from './support/http-client.ts';
import nodeHttp from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { PROMPTLY_MS, until } from './support/wait.ts';

interface Secret {
  readonly what: string;
  readonly value: string;
  /** Kept in the catalog in clear by design (an alert target): never in an output, but in the catalog's files. */
  readonly inCatalog?: boolean;
}

/** Where `needle` occurs in `haystack`, as "line N: …" (the secret itself masked). */
function occurrences(haystack: string | Buffer, needle: string): string[] {
  const text = typeof haystack === 'string' ? haystack : haystack.toString('latin1');
  const found: string[] = [];
  for (let i = text.indexOf(needle); i >= 0 && found.length < 3; i = text.indexOf(needle, i + 1)) {
    const line = text.slice(0, i).split('\n').length;
    found.push(`at ${i} (line ${line}): …${text.slice(Math.max(0, i - 60), i)}<SECRET>${text.slice(i + needle.length, i + needle.length + 20)}…`);
  }
  return found;
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

describe('secrets never leave their designated places', { timeout: 90_000 }, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cachier-secrets-'));
  const procs: Proc[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    if (!process.env.CACHIER_TEST_KEEP) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a full session: no password or token in any log line, listing or catalog file; only salted hashes stored', async () => {
    const secrets: Secret[] = [];
    /** Text the user asked to see: may hold secrets. */
    const designated: string[] = [];
    /** Every other byte written by our processes or answered by the API. */
    const undesignated: { where: string; text: string }[] = [];
    const keep = (what: string, username: string, password: string) => {
      secrets.push({ what: `${what} password`, value: password });
      // What an HTTP client sends: the Basic header's base64 of username:password.
      secrets.push({ what: `${what} Basic header`, value: Buffer.from(`${username}:${password}`).toString('base64') });
    };

    const ports = await freePorts(2, { consecutive: true });
    const httpPort = await freePort();
    const startArgs = ['start', '--data', dataDir, '--host', '127.0.0.1', '--port', String(ports[0]), '--nodes', '2', '--http-port', String(httpPort),
      '--log-level', 'trace', '--alert-allow-private-targets'];
    const server = await spawnCli(startArgs, 'cachier ready');
    procs.push(server);
    const first = {
      id: Number(/first cache \(id (\d+)\)/.exec(server.output())![1]),
      username: printed(server.output(), 'MEMCACHIER_USERNAME'),
      password: printed(server.output(), 'MEMCACHIER_PASSWORD'),
    };
    keep('first cache', first.username, first.password);
    const token = printedOperatorToken(server.output());
    assert.ok(token, 'the first start prints the operator token');
    secrets.push({ what: 'operator token', value: token });
    const bearer = { bearer: token };
    const basicOf = (c: { username: string; password: string }) => ({ basic: { username: c.username, password: c.password } });

    // --- the CLI, against the running server's catalog
    const createdJson = await runCli(['cache', 'create', '--data', dataDir, '--memory', '16mb', '--json']);
    designated.push(createdJson.stdout);
    undesignated.push({ where: 'cache create --json stderr', text: createdJson.stderr });
    const cliCache = JSON.parse(createdJson.stdout) as { id: number; username: string; password: string };
    keep('cache create --json', cliCache.username, cliCache.password);
    const createdText = await runCli(['cache', 'create', '--data', dataDir, '--memory', '16mb', '--name', 'plain']);
    designated.push(createdText.stdout);
    undesignated.push({ where: 'cache create stderr', text: createdText.stderr });
    const textCache = { username: printed(createdText.stdout, 'MEMCACHIER_USERNAME'), password: printed(createdText.stdout, 'MEMCACHIER_PASSWORD') };
    keep('cache create', textCache.username, textCache.password);

    // --- the API: operator and Analytics
    const opCache = await http(httpPort, 'POST', '/api/operator/caches', bearer, { memory: '8mb', name: 'opcache' });
    assert.equal(opCache.status, 200, opCache.text);
    designated.push(opCache.text);
    keep('operator-created cache', opCache.body.username, opCache.body.password);
    const creds: { id: number; username: string; password: string }[] = [];
    for (const caps of [{ flush_capability: false }, {}]) {
      const r = await http(httpPort, 'POST', `/api/v1/${first.id}/credentials`, basicOf(first), caps);
      assert.equal(r.status, 200, r.text);
      designated.push(r.text);
      creds.push({ id: r.body.id, username: r.body.sasl_username, password: r.body.sasl_password });
      keep('API credential', r.body.sasl_username, r.body.sasl_password);
    }
    const [limited, other] = creds as [typeof creds[0], typeof creds[0]];

    // --- a scoped API token: shown once when made, then only ever sent as a Bearer header
    const tokenMade = await http(httpPort, 'POST', `/api/v2/caches/${first.id}/tokens`, basicOf(first), { scopes: ['flush', 'stats'], description: 'ci' });
    assert.equal(tokenMade.status, 201, tokenMade.text);
    designated.push(tokenMade.text);
    const apiToken = (tokenMade.body as { token: string }).token;
    secrets.push({ what: 'API token', value: apiToken }, { what: 'API token secret', value: apiToken.split('_').slice(2).join('_') });
    const wrongToken = apiToken.slice(0, -1) + (apiToken.endsWith('A') ? 'B' : 'A');

    const answers: [string, Promise<{ status: number; text: string }>][] = [
      ['login', http(httpPort, 'GET', '/api/v1/login', basicOf(first))],
      ['list credentials', http(httpPort, 'GET', `/api/v1/${first.id}/credentials`, basicOf(first))],
      ['update credential', http(httpPort, 'PATCH', `/api/v1/${first.id}/credentials/${limited.username}`, basicOf(first), { write_capability: false })],
      ['stats', http(httpPort, 'GET', `/api/v1/${first.id}/stats`, basicOf(other))],
      ['flush', http(httpPort, 'POST', `/api/v1/${first.id}/flush`, basicOf(other))],
      ['operator list', http(httpPort, 'GET', '/api/operator/caches', bearer)],
      ['operator get', http(httpPort, 'GET', `/api/operator/caches/${first.id}`, bearer)],
      ['operator nodes', http(httpPort, 'GET', '/api/operator/nodes', bearer)],
      // Wrong secrets: another credential's password, a password as the bearer token.
      ['wrong Basic password', http(httpPort, 'GET', `/api/v1/${first.id}/stats`, { basic: { username: first.username, password: other.password } })],
      ['password as operator token', http(httpPort, 'GET', '/api/operator/caches', { bearer: cliCache.password })],
      ['token as Basic password', http(httpPort, 'GET', '/api/v1/login', { basic: { username: first.username, password: token } })],
      ['API token flush', http(httpPort, 'POST', `/api/v2/caches/${first.id}/flush`, { bearer: apiToken })],
      ['API token v1 stats', http(httpPort, 'GET', `/api/v1/${first.id}/stats`, { bearer: apiToken })],
      ['API token list', http(httpPort, 'GET', `/api/v2/caches/${first.id}/tokens`, basicOf(first))],
      ['API token outside its scopes', http(httpPort, 'GET', `/api/v2/caches/${first.id}/info`, { bearer: apiToken })],
      ['wrong API token', http(httpPort, 'GET', `/api/v2/caches/${first.id}/stats`, { bearer: wrongToken })],
      ['API token as Basic password', http(httpPort, 'GET', `/api/v2/caches/${first.id}/stats`, { basic: { username: first.username, password: apiToken } })],
      ['password as API token', http(httpPort, 'GET', `/api/v2/caches/${first.id}/stats`, { bearer: first.password })],
      ['API token as operator token', http(httpPort, 'GET', '/api/operator/caches', { bearer: apiToken })],
    ];
    for (const [where, pending] of answers) {
      const r = await pending;
      undesignated.push({ where: `API ${where} (${r.status})`, text: r.text });
    }
    const statuses = Object.fromEntries(undesignated.filter((u) => u.where.startsWith('API ')).map((u) => [u.where.replace(/ \(\d+\)$/, ''), Number(/\((\d+)\)$/.exec(u.where)![1])]));
    assert.deepEqual(statuses, {
      'API login': 200, 'API list credentials': 200, 'API update credential': 200, 'API stats': 200, 'API flush': 200,
      'API operator list': 200, 'API operator get': 200, 'API operator nodes': 200,
      'API wrong Basic password': 403, 'API password as operator token': 401, 'API token as Basic password': 403,
      'API API token flush': 204, 'API API token v1 stats': 200, 'API API token list': 200, 'API API token outside its scopes': 403,
      'API wrong API token': 401, 'API API token as Basic password': 401, 'API password as API token': 401,
      'API API token as operator token': 401,
    });
    const promoted = await http(httpPort, 'POST', `/api/v1/${first.id}/credentials/primary/${other.username}`, basicOf(first));
    assert.equal(promoted.status, 200, promoted.text);
    undesignated.push({ where: 'API promote', text: promoted.text });

    const shown = await runCli(['cache', 'show', String(first.id), '--data', dataDir, '--json']);
    const listed = await runCli(['cache', 'list', '--data', dataDir]);
    undesignated.push({ where: 'cache show --json', text: shown.stdout + shown.stderr }, { where: 'cache list', text: listed.stdout + listed.stderr });

    // --- memcache traffic on both nodes (once the CLI's cache and the API's credentials reached them)
    for (const port of ports) {
      for (const [cred, mode] of [[first, 'text'], [other, 'binary'], [cliCache, 'text'], [limited, 'binary']] as const) {
        const c = await until(`${cred.username} logs in on :${port}`, Date.now() + PROMPTLY_MS, () =>
          openSession(port, { mode, username: cred.username, password: cred.password }));
        if (mode === 'text') {
          assert.equal((await c.text('set k 0 0 5\r\nhello\r\n')).line, 'STORED');
          assert.equal((await c.text('get k\r\n')).values[0]?.data.toString(), 'hello');
          await c.text('flush_all\r\n');
        } else {
          await c.bin(req.set('k', 'v'));
          await c.bin(req.flush());
        }
        c.end();
      }
      // Failed logins, each sending another credential's password (so it crosses the wire).
      const a = await McConn.connect(port);
      const refused = await a.text(`set ${first.username} 0 0 ${other.password.length}\r\n${other.password}\r\n`);
      assert.match(refused.line, /^CLIENT_ERROR /, 'a wrong ASCII password is refused');
      a.end();
      const b = await McConn.connect(port, { mode: 'binary' });
      const r = await b.bin(saslPlain(other.username, cliCache.password));
      assert.equal(r?.status, 0x20, 'a wrong SASL password is refused');
      b.end();
      // Malformed logins carrying secrets: a bad data chunk, a SASL payload with no password field.
      const m = await McConn.connect(port);
      assert.match((await m.text(`set ${first.username} 0 0 3\r\n${first.password}\r\n`)).line, /^CLIENT_ERROR /, 'a bad data chunk');
      m.end();
      const n = await McConn.connect(port, { mode: 'binary' });
      for (const [mechanism, value] of [['PLAIN', `${token}\0${first.password}`], ['NOT-PLAIN', `\0${first.username}\0${first.password}`]]) {
        const refusedSasl = await n.bin(req.saslAuth(mechanism, value));
        assert.notEqual(refusedSasl?.status, 0, `malformed SASL (${mechanism}) is refused`);
      }
      n.end();
    }

    // --- alert targets (Slack and webhook URLs, the webhook's signing secret), a sign-in link, a credential by the operator API
    const receiver = nodeHttp.createServer((q, s) => {
      q.resume();
      q.on('end', () => s.writeHead(q.url?.includes('/fail/') ? 500 : 200).end('ok'));
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
      const targets = [
        { delivery_type: 'slack', slack_url: `${receiverUrl}/services/T0/B0/${randomBytes(12).toString('hex')}`, slack_channel: '#ops' },
        { delivery_type: 'webhook', url: `${receiverUrl}/hook/${randomBytes(12).toString('hex')}` },
        { delivery_type: 'webhook', url: `${receiverUrl}/fail/${randomBytes(12).toString('hex')}` },
      ];
      for (const target of targets) {
        const url = target.slack_url ?? target.url!;
        // Kept in the catalog in clear (they are needed to send): secrets of every output, not of the files.
        secrets.push({ what: `${target.delivery_type} URL`, value: url, inCatalog: true }, { what: `${target.delivery_type} URL path`, value: new URL(url).pathname, inCatalog: true });
        const made = await http(httpPort, 'POST', `/api/v2/caches/${first.id}/alerts/configs`, basicOf(first), target);
        assert.equal(made.status, 201, made.text);
        designated.push(made.text);
        if (made.body.secret) secrets.push({ what: 'webhook signing secret', value: made.body.secret, inCatalog: true });
        const sent = await http(httpPort, 'POST', `/api/v2/caches/${first.id}/alerts/configs/${made.body.id}/test`, basicOf(first));
        assert.equal(sent.status, 200, sent.text);
        assert.equal(sent.body.delivered, !url.includes('/fail/'), sent.text);
      }
    } finally {
      receiver.close();
    }
    const link = await http(httpPort, 'POST', `/api/v2/caches/${first.id}/rotate_sso`, basicOf(first));
    assert.equal(link.status, 200, link.text);
    designated.push(link.text);
    const ssoPath = new URL(link.body as string).pathname;
    secrets.push({ what: 'sign-in link', value: ssoPath }, { what: 'sign-in token', value: ssoPath.split('/').pop()! });
    const signedIn = await fetch(`http://127.0.0.1:${httpPort}${ssoPath}`, { redirect: 'manual' });
    assert.ok(signedIn.status < 400, `the sign-in link works (${signedIn.status})`);
    const byOperator = await http(httpPort, 'POST', `/api/operator/caches/${first.id}/credentials`, bearer, {});
    assert.equal(byOperator.status, 200, byOperator.text);
    designated.push(byOperator.text);
    keep('operator-made credential', byOperator.body.username ?? byOperator.body.sasl_username, byOperator.body.password ?? byOperator.body.sasl_password);
    const byCli = await runCli(['credentials', 'create', String(first.id), '--data', dataDir, '--json']);
    designated.push(byCli.stdout);
    undesignated.push({ where: 'credentials create stderr', text: byCli.stderr });
    const cliCredential = JSON.parse(byCli.stdout) as { username: string; password: string };
    keep('CLI-made credential', cliCredential.username, cliCredential.password);

    // --- the catalog files while the server runs (WAL included), then stop cleanly and restart
    const liveFiles = filesUnder(dataDir).map((f) => ({ where: `${path.relative(dataDir, f)} (running)`, bytes: fs.readFileSync(f) }));
    await server.stop();
    // Every log event type was driven: each appears (JSON on stderr), and below none holds a secret.
    const logged = server.stderr().split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { event?: string; status?: number });
    const kinds = new Set(logged.map((l) => l.event));
    for (const kind of ['node_start', 'catalog_snapshot', 'catalog_changes', 'control_start', 'http_request', 'login_failures', 'alert_test_notification', 'node_stop', 'control_stop']) {
      assert.ok(kinds.has(kind), `a ${kind} line was logged`);
    }
    for (const status of [200, 201, 204, 401, 403]) assert.ok(logged.some((l) => l.event === 'http_request' && l.status === status), `a request line with status ${status}`);
    const again = await spawnCli(startArgs, 'cachier ready');
    procs.push(again);
    (await openSession(ports[1]!, { mode: 'binary', username: other.username, password: other.password })).end();
    await again.stop();
    const stoppedFiles = filesUnder(dataDir).map((f) => ({ where: `${path.relative(dataDir, f)} (stopped)`, bytes: fs.readFileSync(f) }));

    // The designated lines are exactly where the first start printed secrets.
    const serverLines = server.output().split('\n');
    const allowed = (l: string) => /^MEMCACHIER_PASSWORD=/.test(l) || /^Operator API token/.test(l);
    assert.equal(serverLines.filter(allowed).length, 2, server.output());
    undesignated.push(
      { where: 'cachier start (first run) stdout+stderr, designated lines removed', text: serverLines.filter((l) => !allowed(l)).join('\n') },
      { where: 'cachier start (restart) stdout+stderr', text: again.output() },
    );
    for (const s of secrets.filter((x) => x.what.endsWith('password') || x.what === 'operator token' || x.what === 'API token')) {
      assert.ok(designated.some((d) => d.includes(s.value)) || server.output().includes(s.value), `${s.what} was shown to its user once`);
    }

    // The cluster secret (control plane -> nodes' admin endpoints) is kept in the catalog by
    // design, since every process must present it; it must not reach a log either.
    const meta = new Database(path.join(dataDir, 'catalog.sqlite'), { readonly: true });
    const cluster = (meta.prepare("SELECT value FROM meta WHERE key = 'cluster_secret'").get() as { value: string } | undefined)?.value;
    meta.close();
    assert.ok(cluster, 'the catalog has a cluster secret');
    const leaks: string[] = [];
    for (const u of undesignated) for (const o of occurrences(u.text, cluster)) leaks.push(`cluster secret in ${u.where} ${o}`);
    for (const s of secrets) {
      for (const u of undesignated) for (const o of occurrences(u.text, s.value)) leaks.push(`${s.what} in ${u.where} ${o}`);
      if (s.inCatalog) continue;
      for (const f of [...liveFiles, ...stoppedFiles]) for (const o of occurrences(f.bytes, s.value)) leaks.push(`${s.what} in ${f.where} ${o}`);
    }
    assert.deepEqual(leaks, [], 'secrets outside their designated places');
    assert.ok(liveFiles.some((f) => f.where.startsWith('catalog.sqlite')), 'the catalog file was checked');

    // --- stored as salted hashes
    const db = new Database(path.join(dataDir, 'catalog.sqlite'), { readonly: true });
    try {
      const rows = db.prepare('SELECT username, salt, hash FROM credentials').all() as { username: string; salt: string; hash: string }[];
      assert.ok(rows.length >= 6, `${rows.length} credentials`);
      for (const r of rows) {
        assert.match(r.salt, /^[0-9a-f]{32}$/, `credential ${r.username}: a 128-bit salt`);
        assert.match(r.hash, /^[0-9a-f]{64}$/, `credential ${r.username}: a SHA-256 hash`);
      }
      assert.equal(new Set(rows.map((r) => r.salt)).size, rows.length, 'every salt differs');
      assert.equal(new Set(rows.map((r) => r.hash)).size, rows.length, 'every hash differs');
      const byName = new Map(rows.map((r) => [r.username, r]));
      for (const c of [first, cliCache, textCache, limited, other, { username: opCache.body.username, password: opCache.body.password }]) {
        const row = byName.get(c.username);
        assert.ok(row, c.username);
        assert.ok(verifySecret(c.password, row), `${c.username}: the stored hash is of its password`);
        assert.equal(row.hash, hashSecret(c.password, row.salt).hash);
      }
      const op = db.prepare("SELECT value FROM meta WHERE key = 'operator_token'").get() as { value: string };
      const stored = JSON.parse(op.value) as { salt: string; hash: string };
      assert.deepEqual(Object.keys(stored).sort(), ['hash', 'salt']);
      assert.ok(verifySecret(token, stored), 'the operator token is stored as its salted hash');
    } finally {
      db.close();
    }
  });

  test('secrets are compared in constant time (source check)', () => {
    const srcDir = path.join(REPO_ROOT, 'src');
    const files = filesUnder(srcDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    // `a === b` where one side names a secret (password, token, secret, hash) and the other is
    // not a literal, undefined/null or a length: such a comparison leaks timing.
    // A quoted literal is a name (e.g. the `cluster-secret` subcommand), never a secret's value.
    const isSecret = (operand: string) =>
      !/^['"]/.test(operand) && /(password|passwd|token|secret|hash)/i.test(operand) && !/\.length$|\.size$/.test(operand);
    const isPlain = (operand: string) => /^(undefined|null|true|false|\d+|'[^']*'|"[^"]*")$/.test(operand) || /\.length$|\.size$/.test(operand);
    const comparison = /([\w$.]+)\s*(?:===|!==|==|!=)\s*([\w$.]+|'[^']*'|"[^"]*")/g;
    const offenders: string[] = [];
    for (const f of files) {
      fs.readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '');
        if (/^\s*\*/.test(code)) return;
        for (const [, left, right] of code.matchAll(comparison)) {
          if ((isSecret(left!) && !isPlain(right!)) || (isSecret(right!) && !isPlain(left!))) {
            offenders.push(`${path.relative(REPO_ROOT, f)}:${i + 1}: ${line.trim()}`);
          }
        }
      });
    }
    assert.deepEqual(offenders, [], 'secrets compared with === (use verifySecret / timingSafeEqual)');
    const secrets = fs.readFileSync(path.join(srcDir, 'shared', 'secrets.ts'), 'utf8');
    assert.match(secrets, /timingSafeEqual\(/, 'verifySecret compares with timingSafeEqual');
    const apiTokens = fs.readFileSync(path.join(srcDir, 'catalog', 'api-tokens.ts'), 'utf8');
    assert.match(apiTokens, /timingSafeEqual\(/, 'API tokens are checked with timingSafeEqual');
  });
});
