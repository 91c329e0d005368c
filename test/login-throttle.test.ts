// Throttling of repeated failed logins: the policy itself (with a fake clock), then on a
// cache node (ASCII login, binary SASL) and the control plane (HTTP Basic), from several
// loopback source addresses (127.0.0.2, 127.0.0.3 … all reach a server on 127.0.0.1).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteCatalog, type SqliteCatalog } from '../src/catalog/sqlite.ts';
import { createCacheNode, type CacheNode } from '../src/node/cache-node.ts';
import { LoginThrottle, sourceKey } from '../src/shared/login-throttle.ts';
import { basic, startTestCluster } from './support/control.ts';

// ------------------------------------------------------------------ the policy

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

test('10 failures in a minute for a username throttle it from anywhere, without a password check', () => {
  const c = clock();
  const t = new LoginThrottle({ now: c.now });
  for (let i = 0; i < 10; i++) {
    assert.equal(t.check(`10.0.0.${i}`, 'alice').throttled, false);
    t.recordFailure(`10.0.0.${i}`, 'alice');
  }
  const v = t.check('10.0.0.99', 'alice');
  assert.equal(v.throttled, true);
  assert.ok(v.throttled && v.retryAfterMs > 0 && v.retryAfterMs <= 6000, JSON.stringify(v));
  // Other usernames are not affected.
  assert.equal(t.check('10.0.0.99', 'bob').throttled, false);
  // One token back every 6 s.
  c.advance(6000);
  assert.equal(t.check('10.0.0.99', 'alice').throttled, false);
  t.recordFailure('10.0.0.99', 'alice');
  assert.equal(t.check('10.0.0.98', 'alice').throttled, true);
  // A full minute refills the bucket.
  c.advance(60_000);
  assert.equal(t.check('10.0.0.98', 'alice').throttled, false);
});

test('30 failures in a minute from one source throttle that source for every username', () => {
  const c = clock();
  const t = new LoginThrottle({ now: c.now });
  for (let i = 0; i < 30; i++) t.recordFailure('192.0.2.7', `user${i}`);
  const v = t.check('192.0.2.7', 'someone-else');
  assert.equal(v.throttled, true);
  assert.ok(v.throttled && v.retryAfterMs <= 2000);
  assert.equal(t.check('192.0.2.8', 'someone-else').throttled, false);
  c.advance(2000);
  assert.equal(t.check('192.0.2.7', 'someone-else').throttled, false);
});

test('successful logins do not count', () => {
  const t = new LoginThrottle({ now: clock().now });
  for (let i = 0; i < 1000; i++) t.recordSuccess('10.1.1.1', 'alice');
  assert.equal(t.check('10.1.1.1', 'alice').throttled, false);
  assert.equal(t.check('10.1.1.2', 'alice').throttled, false);
});

test('a pair that logged in recently is not locked out by others failing for its username or source', () => {
  const c = clock();
  const t = new LoginThrottle({ now: c.now });
  t.recordSuccess('10.0.0.1', 'alice');
  // An attacker elsewhere drains alice's bucket, a broken neighbour drains the source's.
  for (let i = 0; i < 20; i++) t.recordFailure('203.0.113.5', 'alice');
  for (let i = 0; i < 40; i++) t.recordFailure('10.0.0.1', `stale${i}`);
  assert.equal(t.check('203.0.113.6', 'alice').throttled, true, 'alice is throttled for strangers');
  assert.equal(t.check('10.0.0.1', 'bob').throttled, true, 'the source is throttled for other usernames');
  assert.equal(t.check('10.0.0.1', 'alice').throttled, false, 'the trusted pair still gets in');
  // …but a trusted pair still gets no more than its own bucket of guesses.
  for (let i = 0; i < 10; i++) t.recordFailure('10.0.0.1', 'alice');
  assert.equal(t.check('10.0.0.1', 'alice').throttled, true);
  // Trust ends after an hour.
  c.advance(3_600_001);
  for (let i = 0; i < 10; i++) t.recordFailure('203.0.113.5', 'alice');
  assert.equal(t.check('10.0.0.1', 'alice').throttled, true);
});

test('memory stays bounded: entries expire, and the map is capped', () => {
  const c = clock();
  const t = new LoginThrottle({ now: c.now, maxEntries: 1000 });
  for (let i = 0; i < 100_000; i++) {
    t.recordFailure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `u${i}`);
    if (i % 7 === 0) t.recordSuccess(`10.9.9.${i & 255}`, `u${i}`);
  }
  assert.ok(t.size <= 1000, `size ${t.size}`);
  // After a quiet spell, new failures prune refilled entries as they go.
  c.advance(120_000);
  for (let i = 0; i < 400; i++) t.recordFailure('198.51.100.1', 'target');
  assert.ok(t.size < 1000, `size ${t.size}`);
});

test('sources: IPv4-mapped addresses are IPv4; IPv6 is throttled by /64', () => {
  assert.equal(sourceKey('127.0.0.1'), '127.0.0.1');
  assert.equal(sourceKey('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:DB8:0001:0002::5'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('::1'), '0:0:0:0::/64');
  assert.equal(sourceKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
});

// ------------------------------------------------------------------ on a cache node

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const f of cleanups.reverse()) await f();
});

interface NodeHarness {
  node: CacheNode;
  catalog: SqliteCatalog;
  cache: { username: string; password: string };
}

async function startNode(throttle: LoginThrottle): Promise<NodeHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'cachier-throttle-'));
  const catalog = openSqliteCatalog(dir);
  const node = await createCacheNode({ catalog, host: '127.0.0.1', port: 0, loginThrottle: throttle });
  const { credential, password } = await catalog.createCache({ memoryBytes: 16 << 20 });
  await node.sync.syncNow();
  cleanups.push(async () => {
    await node.close();
    await catalog.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { node, catalog, cache: { username: credential.username, password } };
}

/** A connection from a chosen loopback address, with a helper to send and read one reply. */
async function from(localAddress: string, port: number) {
  const s: Socket = await new Promise((resolve, reject) => {
    const sock = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(sock));
    sock.once('error', reject);
  });
  cleanups.push(async () => void s.destroy());
  let buf = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
  });
  const read = async (done: (b: Buffer) => boolean): Promise<Buffer> => {
    const end = Date.now() + 3000;
    while (!done(buf)) {
      if (Date.now() > end) throw new Error(`timed out: ${JSON.stringify(buf.toString('latin1'))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const out = buf;
    buf = Buffer.alloc(0);
    return out;
  };
  return {
    async text(line: string): Promise<string> {
      s.write(line);
      return (await read((b) => b.includes('\r\n'))).toString('latin1');
    },
    async sasl(username: string, password: string): Promise<number> {
      s.write(saslFrame(username, password));
      return (await read((b) => b.length >= 24 && b.length >= 24 + b.readUInt32BE(8))).readUInt16BE(6);
    },
  };
}

function saslFrame(username: string, password: string): Buffer {
  const key = Buffer.from('PLAIN');
  const value = Buffer.from(`\0${username}\0${password}`);
  const h = Buffer.alloc(24);
  h[0] = 0x80;
  h[1] = 0x21;
  h.writeUInt16BE(key.length, 2);
  h.writeUInt32BE(key.length + value.length, 8);
  return Buffer.concat([h, key, value]);
}

const asciiLogin = (u: string, p: string) => `set ${u} 0 0 ${p.length}\r\n${p}\r\n`;

test('node: after too many wrong passwords, ASCII and SASL logins are refused unchecked; a trusted client still gets in', async () => {
  const throttle = new LoginThrottle({ perUsername: { failures: 3, windowMs: 60_000 } });
  const { node, cache } = await startNode(throttle);
  // The application logs in from 127.0.0.3 before the attack.
  const app = await from('127.0.0.3', node.port);
  assert.equal(await app.text(asciiLogin(cache.username, cache.password)), 'STORED\r\n');

  const attacker = await from('127.0.0.2', node.port);
  for (let i = 0; i < 3; i++) {
    assert.equal(await attacker.text(asciiLogin(cache.username, `guess${i}`)), 'CLIENT_ERROR authentication failed\r\n');
  }
  // Now even the right password is not checked.
  assert.equal(await attacker.text(asciiLogin(cache.username, cache.password)), 'CLIENT_ERROR authentication throttled\r\n');
  assert.equal(await attacker.text('get k\r\n'), 'CLIENT_ERROR authentication required\r\n');
  const binAttacker = await from('127.0.0.2', node.port);
  assert.equal(await binAttacker.sasl(cache.username, cache.password), 0x20);
  // A new client elsewhere is held to the username's bucket too…
  const stranger = await from('127.0.0.4', node.port);
  assert.equal(await stranger.text(asciiLogin(cache.username, cache.password)), 'CLIENT_ERROR authentication throttled\r\n');
  // …but the application's address, which proved the password, still logs in (ASCII and SASL).
  const app2 = await from('127.0.0.3', node.port);
  assert.equal(await app2.text(asciiLogin(cache.username, cache.password)), 'STORED\r\n');
  const app3 = await from('127.0.0.3', node.port);
  assert.equal(await app3.sasl(cache.username, cache.password), 0);

  // Throttled attempts show in the cache's auth stats like failed ones.
  const stats = await app2.text('stats\r\n');
  assert.match(stats, /STAT auth_errors 6\r\n/);
});

test('node: failures for unknown usernames do not throttle, so retrying a credential still propagating works', async () => {
  const throttle = new LoginThrottle({ perSource: { failures: 2, windowMs: 60_000 }, perUsername: { failures: 2, windowMs: 60_000 } });
  const { node, catalog } = await startNode(throttle);
  const c = await from('127.0.0.5', node.port);
  for (let i = 0; i < 20; i++) assert.equal(await c.text(asciiLogin('NOSUCHUSER', 'x')), 'CLIENT_ERROR authentication failed\r\n');
  node.sync.stop(); // hold the new credential back from the node, as a slow propagation would
  const { credential, password } = await catalog.createCache({ memoryBytes: 16 << 20 });
  for (let i = 0; i < 20; i++) assert.equal(await c.text(asciiLogin(credential.username, password)), 'CLIENT_ERROR authentication failed\r\n');
  await node.sync.syncNow();
  assert.equal(await c.text(asciiLogin(credential.username, password)), 'STORED\r\n');
});

// ------------------------------------------------------------------ on the control plane

function getFrom(localAddress: string, url: string, auth: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, headers: { authorization: auth } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('control plane: HTTP Basic failures are throttled with 429 and Retry-After; right-but-forbidden does not count', async () => {
  const throttle = new LoginThrottle({ perUsername: { failures: 3, windowMs: 60_000 }, perSource: { failures: 5, windowMs: 60_000 } });
  const cluster = await startTestCluster({ control: { loginThrottle: throttle } });
  cleanups.push(() => cluster.close());
  const cache = await cluster.createCache();
  const noApi = await cluster.addCredential(cache.id, { api: false });
  const other = await cluster.createCache();

  // The app's address logs in first; it stays trusted.
  assert.equal((await getFrom('127.0.0.3', `${cluster.url}/api/v1/login`, basic(cache.username, cache.password))).status, 200);

  // Right passwords refused for other reasons (no api capability, another cache) are 403s and no failures.
  for (let i = 0; i < 10; i++) {
    assert.equal((await getFrom('127.0.0.2', `${cluster.url}/api/v1/login`, basic(noApi.username, noApi.password))).status, 403);
    assert.equal((await getFrom('127.0.0.2', `${cluster.url}/api/v1/${cache.id}/stats`, basic(other.username, other.password))).status, 403);
  }
  for (let i = 0; i < 3; i++) {
    assert.equal((await getFrom('127.0.0.2', `${cluster.url}/api/v1/login`, basic(cache.username, `wrong${i}`))).status, 403);
  }
  for (const path of ['/api/v1/login', '/api/login', `/api/v1/${cache.id}/stats`]) {
    const r = await getFrom('127.0.0.2', cluster.url + path, basic(cache.username, cache.password));
    assert.equal(r.status, 429, path);
    assert.equal(r.body, '"Too many failed logins; try again later."');
    assert.match(String(r.headers['retry-after']), /^\d+$/);
    assert.ok(Number(r.headers['retry-after']) >= 1 && Number(r.headers['retry-after']) <= 20);
  }
  // The trusted address still reaches the API; the 403 credentials were not throttled.
  assert.equal((await getFrom('127.0.0.3', `${cluster.url}/api/v1/${cache.id}/stats`, basic(cache.username, cache.password))).status, 200);
  assert.equal((await getFrom('127.0.0.4', `${cluster.url}/api/v1/${other.id}/stats`, basic(other.username, other.password))).status, 200);
});
