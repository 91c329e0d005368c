// TLS on a node's memcache port and HTTPS on the control plane, from certificate files,
// checked with real TLS clients: Node's tls.connect, `openssl s_client` and `curl`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { openSqliteCatalog, type SqliteCatalog } from '../src/catalog/sqlite.ts';
import { createCacheNode, type ListeningCacheNode } from '../src/node/cache-node.ts';
import type { NodeLimits } from '../src/node/limits.ts';
import { req, saslPlain } from '../src/protocol/binary/testing/frames.ts';
import { runCli } from './support/child-process.ts';
import { startCluster } from './support/cluster.ts';
import { startTestCluster } from './support/control.ts';
import { RawClient } from './support/raw-client.ts';
import { PROMPTLY_MS, until } from './support/wait.ts';

const run = promisify(execFile);

let dir: string;
let certFile: string;
let keyFile: string;
let cert: Buffer;
let key: Buffer;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cachier-tls-'));
  certFile = join(dir, 'c.pem');
  keyFile = join(dir, 'k.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
  ]);
  cert = readFileSync(certFile);
  key = readFileSync(keyFile);
});

after(async () => {
  for (const f of cleanups.reverse()) await f();
  rmSync(dir, { recursive: true, force: true });
});

async function startTlsNode(limits: Partial<NodeLimits> = {}): Promise<{ node: ListeningCacheNode; catalog: SqliteCatalog; username: string; password: string }> {
  const data = mkdtempSync(join(tmpdir(), 'cachier-tls-node-'));
  const catalog = openSqliteCatalog(data);
  const node = await createCacheNode({ catalog, limits }).listen({ host: '127.0.0.1', port: 0, tls: { cert, key } });
  const { credential, password } = await catalog.createCache({ memoryBytes: 16 << 20 });
  await node.sync.syncNow();
  cleanups.push(async () => {
    await node.close();
    await catalog.close();
    rmSync(data, { recursive: true, force: true });
  });
  return { node, catalog, username: credential.username, password };
}

/** A verified TLS connection (the test CA is the self-signed certificate). */
async function tlsClient(port: number) {
  const c = await RawClient.connectTls(port, cert);
  cleanups.push(async () => c.end());
  return c;
}

test('node over TLS: ASCII login, set and get with a verifying Node TLS client', async () => {
  const { node, username, password } = await startTlsNode();
  const c = await tlsClient(node.port);
  assert.equal(c.socket.authorized, true, 'certificate verified against the test CA');
  assert.equal(await c.text(`set ${username} 0 0 ${password.length}\r\n${password}\r\n`), 'STORED\r\n');
  assert.equal(await c.text('set greeting 7 0 5\r\nhello\r\n'), 'STORED\r\n');
  assert.equal(await c.text('get greeting\r\n', 'END\r\n'), 'VALUE greeting 7 5\r\nhello\r\nEND\r\n');
  assert.match(await c.text('stats\r\n', 'END\r\n'), /STAT curr_connections 1\r\n/);
});

test('node over TLS: binary SASL and commands (the first decrypted byte picks the protocol)', async () => {
  const { node, username, password } = await startTlsNode();
  const c = await tlsClient(node.port);
  c.send(saslPlain(username, password));
  const [auth] = await c.binary();
  assert.equal(auth!.status, 0);
  c.send(req.set('bk', 'bv'));
  const [set] = await c.binary();
  assert.equal(set!.status, 0);
  c.send(req.get('bk'));
  const [get] = await c.binary();
  assert.equal(get!.status, 0);
  assert.equal(get!.value.toString(), 'bv');
});

test('node over TLS: openssl s_client logs in, sets and gets', async () => {
  const { node, username, password } = await startTlsNode();
  const child = spawn('openssl', [
    's_client', '-connect', `127.0.0.1:${node.port}`, '-CAfile', certFile, '-verify_return_error', '-quiet',
  ], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('latin1').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('latin1').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stdin.write(`set ${username} 0 0 ${password.length}\r\n${password}\r\nset k 0 0 2\r\nhi\r\nget k\r\n`);
  const end = Date.now() + PROMPTLY_MS;
  while (!out.includes('END\r\n') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  child.stdin.write('quit\r\n'); // the node closes the connection, and s_client exits
  const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), PROMPTLY_MS))]);
  if (child.exitCode === null) child.kill();
  assert.equal(out, 'STORED\r\nSTORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n', `stderr: ${err}`);
  assert.equal(code, 0, `s_client exit; stderr: ${err}`);
  assert.doesNotMatch(err, /verify error/);
});

test('node over TLS: a client that half-closes after its requests gets every reply, then the node closes', async () => {
  const { node, username, password } = await startTlsNode({ replyQueueBytes: 64 * 1024 });
  // allowHalfOpen is honoured by tls.connect though its options type leaves it out.
  const options = { port: node.port, host: '127.0.0.1', ca: cert, allowHalfOpen: true };
  const s = tlsConnect(options);
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  s.on('end', () => s.end());
  const closed = new Promise((r) => s.once('close', r));
  await new Promise((r) => s.once('secureConnect', r));
  const value = 'v'.repeat(30 * 1024);
  // 300 gets of 30 KiB: the node stops at its reply cap many times after the FIN came.
  s.end(`set ${username} 0 0 ${password.length}\r\n${password}\r\nset v 0 0 ${value.length}\r\n${value}\r\n` + 'get v\r\n'.repeat(300));
  await closed;
  const got = Buffer.concat(parts).toString('latin1');
  assert.ok(got === 'STORED\r\nSTORED\r\n' + `VALUE v 0 ${value.length}\r\n${value}\r\nEND\r\n`.repeat(300), `got ${got.length} bytes`);
  await until(() => `${node.connectionCount} connections`, Date.now() + PROMPTLY_MS, () => node.connectionCount === 0);
});

test('node over TLS: a plaintext client is not served and the node goes on', async () => {
  const { node, username, password } = await startTlsNode();
  const plain = tcpConnect(node.port, '127.0.0.1');
  let got = '';
  plain.setEncoding('latin1').on('data', (d: string) => (got += d));
  plain.on('error', () => {});
  await new Promise<void>((resolve) => {
    plain.on('connect', () => plain.write(`set ${username} 0 0 ${password.length}\r\n${password}\r\nget k\r\n`));
    plain.on('close', () => resolve());
  });
  assert.doesNotMatch(got, /STORED|END/);
  const c = await tlsClient(node.port);
  assert.equal(await c.text(`set ${username} 0 0 ${password.length}\r\n${password}\r\n`), 'STORED\r\n');
});

test('node over TLS: the connection limit is told over TLS', async () => {
  const { node, username, password } = await startTlsNode({ maxConnections: 1 });
  const first = await tlsClient(node.port);
  assert.equal(await first.text(`set ${username} 0 0 ${password.length}\r\n${password}\r\n`), 'STORED\r\n');
  const second = await tlsClient(node.port);
  assert.equal(await second.text(`set ${username} 0 0 ${password.length}\r\n${password}\r\n`), 'SERVER_ERROR too many connections\r\n');
});

test('control plane over HTTPS: curl --cacert logs in to the API; plain HTTP is not served', async () => {
  const cluster = await startTestCluster({ control: { https: { cert, key } } });
  cleanups.push(() => cluster.close());
  assert.equal(cluster.control.scheme, 'https');
  const cache = await cluster.createCache();
  const base = `https://127.0.0.1:${cluster.control.port}`;
  const login = await run('curl', ['-sS', '--cacert', certFile, '-u', `${cache.username}:${cache.password}`, `${base}/api/v1/login`]);
  assert.deepEqual(JSON.parse(login.stdout), { cache_id: cache.id });
  const stats = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', certFile,
    '-u', `${cache.username}:${cache.password}`, `${base}/api/v1/${cache.id}/stats`]);
  assert.equal(stats.stdout, '200');
  // Without the CA, curl refuses the certificate; over plain HTTP there is no answer.
  await assert.rejects(run('curl', ['-sS', `${base}/healthz`]));
  const plain = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${cluster.control.port}/healthz`])
    .catch((e: { stdout: string }) => e);
  assert.notEqual(plain.stdout, '200');
});

test('cachier start --tls-cert/--tls-key --https-cert/--https-key: TLS memcache and HTTPS API', async () => {
  const cluster = await startCluster({
    extraArgs: ['--tls-cert', certFile, '--tls-key', keyFile, '--https-cert', certFile, '--https-key', keyFile],
  });
  cleanups.push(() => cluster.stop());
  const out = cluster.stdout();
  const username = /MEMCACHIER_USERNAME=(\S+)/.exec(out)![1]!;
  const password = /MEMCACHIER_PASSWORD=(\S+)/.exec(out)![1]!;
  assert.match(out, /Dashboard: https:\/\/127\.0\.0\.1:\d+\//);
  const c = await tlsClient(cluster.ports[0]!);
  assert.equal(await c.text(`set ${username} 0 0 ${password.length}\r\n${password}\r\n`), 'STORED\r\n');
  assert.equal(await c.text('set x 0 0 1\r\n1\r\nincr x 41\r\n'), 'STORED\r\n42\r\n');
  const login = await run('curl', ['-sS', '--cacert', certFile, '-u', `${username}:${password}`, `https://127.0.0.1:${cluster.httpPort}/api/v1/login`]);
  assert.match(login.stdout, /^\{"cache_id":\d+\}$/);
  // The password printed once at start is not logged anywhere else.
  assert.equal(cluster.stdout().split(password).length - 1, 1);
  assert.equal(cluster.stderr().includes(password), false);
});

test('cachier start refuses a half-given or unreadable certificate pair', async () => {
  await assert.rejects(runCli(['start', '--data', dir, '--tls-cert', certFile]), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /--tls-cert and --tls-key go together/);
    return true;
  });
  await assert.rejects(runCli(['start', '--data', dir, '--https-cert', join(dir, 'nope.pem'), '--https-key', keyFile]), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /--https-cert .*nope\.pem: ENOENT/);
    return true;
  });
});

test('node over TLS: silent connections that never start a handshake wait like any other and time out; TLS logins still get in', async () => {
  const { node, username, password } = await startTlsNode({ maxPendingConnections: 64, maxPendingPerSource: 16, authTimeoutMs: 1500 });
  const app = await tlsClient(node.port);
  assert.equal(await app.text(`set ${username} 0 0 ${password.length}\r\n${password}\r\n`), 'STORED\r\n');
  // 300 plain TCP connections from 20 addresses that never send a ClientHello.
  const silent: Socket[] = [];
  let closed = 0;
  for (let i = 0; i < 300; i++) {
    silent.push(await new Promise<Socket>((resolve) => {
      const s = tcpConnect({ port: node.port, host: '127.0.0.1', localAddress: `127.0.3.${(i % 20) + 1}` }, () => resolve(s));
      s.on('error', () => resolve(s));
      s.on('close', () => closed++);
    }));
  }
  cleanups.push(async () => silent.forEach((s) => s.destroy()));
  // The pool holds at most 64 of them; the rest were displaced.
  await until('the flood displaced down to the pool', Date.now() + PROMPTLY_MS, async () => (closed >= 300 - 64 ? true : undefined));
  // A new TLS login (from 127.0.0.1) still gets in, and the client logged in before is served.
  const fresh = await tlsClient(node.port);
  assert.equal(await fresh.text(`set ${username} 0 0 ${password.length}\r\n${password}\r\n`), 'STORED\r\n');
  assert.equal(await app.text('version\r\n'), 'VERSION 1.6.21-cachier\r\n');
  // Silent ones are closed at the auth timeout, like any connection that does not log in.
  await until('every silent connection closed', Date.now() + PROMPTLY_MS, async () => (closed === 300 ? true : undefined));
});
