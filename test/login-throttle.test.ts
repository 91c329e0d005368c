// Failed logins are slowed, right passwords never refused: the policy itself (with a fake
// clock), then on a cache node (ASCII login, binary SASL) and the control plane (HTTP
// Basic), from several loopback source addresses (127.0.0.2, 127.0.0.3 … all reach a
// server on 127.0.0.1).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteCatalog, type SqliteCatalog } from '../src/catalog/sqlite.ts';
import { createCacheNode, type ListeningCacheNode } from '../src/node/cache-node.ts';
import { saslPlain } from '../src/protocol/binary/testing/frames.ts';
import { DEFAULT_LOGIN_THROTTLE, LoginThrottle, sourceKey } from '../src/shared/login-throttle.ts';
import { basic, startTestCluster } from './support/control.ts';
import { RawClient } from './support/raw-client.ts';

// ------------------------------------------------------------------ the policy

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

test('a failure is answered after a delay that doubles with the pair\'s recent failures, up to 2 s', () => {
  const t = new LoginThrottle({ now: clock().now });
  const delays: number[] = [];
  for (let i = 0; i < 12; i++) {
    const f = t.fail('10.0.0.1', 'alice')!;
    delays.push(f.delayMs);
    f.release();
  }
  assert.deepEqual(delays, [10, 20, 40, 80, 160, 320, 640, 1280, 2000, 2000, 2000, 2000]);
  // Another source failing for the same username is not slowed by it.
  assert.equal(t.fail('10.0.0.2', 'alice')!.delayMs, 10);
});

test('failures for many usernames from one source slow that source for every username', () => {
  const t = new LoginThrottle({ now: clock().now });
  for (let i = 0; i < 31; i++) t.fail('192.0.2.7', `user${i}`)!.release();
  // The 32nd failure of the source weighs as a pair's 8th: 1280 ms; by the 36th, the cap.
  assert.equal(t.fail('192.0.2.7', 'someone-else')!.delayMs, 1280);
  for (let i = 0; i < 3; i++) t.fail('192.0.2.7', `more${i}`)!.release();
  assert.equal(t.fail('192.0.2.7', 'and-another')!.delayMs, DEFAULT_LOGIN_THROTTLE.maxDelayMs);
  assert.equal(t.fail('192.0.2.8', 'someone-else')!.delayMs, 10);
});

test('failures fade: a minute of quiet halves their weight', () => {
  const c = clock();
  const t = new LoginThrottle({ now: c.now });
  for (let i = 0; i < 6; i++) t.fail('10.0.0.1', 'alice')!.release(); // 6 failures: the 7th would wait 640 ms
  c.advance(60_000);
  // 3 left, so this one is the 4th: 80 ms.
  assert.equal(t.fail('10.0.0.1', 'alice')!.delayMs, 80);
  c.advance(3_600_000);
  assert.equal(t.fail('10.0.0.1', 'alice')!.delayMs, 10);
});

test('a source may have 16 failures waiting for their answer; the 17th is dropped until one is answered', () => {
  const t = new LoginThrottle({ now: clock().now });
  const held = Array.from({ length: 16 }, (_, i) => t.fail('10.0.0.1', `u${i}`));
  assert.ok(held.every((f) => f !== undefined));
  assert.equal(t.fail('10.0.0.1', 'u16'), undefined);
  assert.equal(t.inFlightOf('10.0.0.1'), 16);
  // Other sources are not held by it.
  assert.ok(t.fail('10.0.0.2', 'u0'));
  held[0]!.release();
  held[0]!.release(); // twice is once
  assert.equal(t.inFlightOf('10.0.0.1'), 15);
  assert.ok(t.fail('10.0.0.1', 'u17'));
  for (const f of held) f!.release();
  assert.equal(t.inFlightOf('10.0.0.1'), 1);
});

test('memory stays bounded however many sources fail, and churning it never refuses anyone', () => {
  const c = clock();
  const t = new LoginThrottle({ now: c.now, maxEntries: 1000 });
  for (let i = 0; i < 100_000; i++) t.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `u${i}`)!.release();
  assert.ok(t.size <= 1000, `size ${t.size}`);
  // After a quiet spell, new failures prune faded scores as they go.
  c.advance(3_600_000);
  for (let i = 0; i < 400; i++) t.fail('198.51.100.1', 'target')!.release();
  assert.ok(t.size < 1000, `size ${t.size}`);
});

test('sources: IPv4-mapped addresses are IPv4; IPv6 counts by /64', () => {
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
  node: ListeningCacheNode;
  catalog: SqliteCatalog;
  cache: { username: string; password: string };
}

async function startNode(throttle: LoginThrottle): Promise<NodeHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'cachier-throttle-'));
  const catalog = openSqliteCatalog(dir);
  const node = await createCacheNode({ catalog, loginThrottle: throttle }).listen({ host: '127.0.0.1', port: 0 });
  const { credential, password } = await catalog.createCache({ memoryBytes: 16 << 20 });
  await node.sync.syncNow();
  cleanups.push(async () => {
    await node.close();
    await catalog.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { node, catalog, cache: { username: credential.username, password } };
}

/** A connection from a chosen loopback address. */
async function from(localAddress: string, port: number): Promise<RawClient> {
  const c = await RawClient.connect(port, '127.0.0.1', localAddress);
  cleanups.push(async () => c.end());
  return c;
}

/** A SASL PLAIN login's status. */
async function sasl(c: RawClient, username: string, password: string): Promise<number> {
  c.send(saslPlain(username, password));
  return (await c.binary())[0]!.status;
}

const asciiLogin = (u: string, p: string) => `set ${u} 0 0 ${p.length}\r\n${p}\r\n`;
const FAILED = 'CLIENT_ERROR authentication failed\r\n';

/** Small delays, so a dozen failures in a row take well under a second. */
const quick = () => new LoginThrottle({ baseDelayMs: 1, maxDelayMs: 20 });

test('node: a dozen wrong passwords, then the right one logs in at once (ASCII and SASL, same address)', async () => {
  const { node, cache } = await startNode(quick());
  const c = await from('127.0.0.2', node.port);
  for (let i = 0; i < 12; i++) assert.equal(await c.text(asciiLogin(cache.username, `wrong${i}`)), FAILED);
  assert.equal(await c.text(asciiLogin(cache.username, cache.password)), 'STORED\r\n');
  assert.equal(await c.text('set k 0 0 1\r\nv\r\n'), 'STORED\r\n');

  const b = await from('127.0.0.2', node.port);
  for (let i = 0; i < 12; i++) assert.equal(await sasl(b, cache.username, `wrong${i}`), 0x20);
  assert.equal(await sasl(b, cache.username, cache.password), 0);

  // Failures show in the cache's auth stats; the right logins count as commands too.
  const stats = await c.text('stats\r\n');
  assert.match(stats, /STAT auth_errors 24\r\n/);
  assert.match(stats, /STAT auth_cmds 26\r\n/);
});

test('node: with the default delays, failures are answered later and later, the right password at once', async () => {
  const { node, cache } = await startNode(new LoginThrottle());
  const c = await from('127.0.0.3', node.port);
  const took: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t0 = performance.now();
    assert.equal(await c.text(asciiLogin(cache.username, `wrong${i}`)), FAILED);
    took.push(performance.now() - t0);
  }
  // Lower bounds only: a slow machine can only add time. 8th: 1280 ms, 9th: 2000 ms.
  assert.ok(took[7]! >= 1200, `8th failure answered after ${took[7]} ms`);
  assert.ok(took[8]! >= 1900, `9th failure answered after ${took[8]} ms`);
  assert.equal(await c.text(asciiLogin(cache.username, cache.password)), 'STORED\r\n');
});

test('node: 31 failures for another username from the same address never lock out the right password', async () => {
  const { node, catalog, cache } = await startNode(quick());
  const other = await catalog.createCache({ memoryBytes: 16 << 20 });
  await node.sync.syncNow();
  // At once, on 31 connections: 16 are answered after their delay, the rest closed unanswered.
  const peers = await Promise.all(Array.from({ length: 31 }, () => from('127.0.0.4', node.port)));
  // No answer at all (a timeout) is not a drop: it throws.
  const outcomes = await Promise.all(peers.map((p) => p.textOrClosed(asciiLogin(other.credential.username, 'not-the-password'))));
  assert.ok(outcomes.every((o) => o === FAILED || o === 'closed'), JSON.stringify(outcomes));
  assert.ok(outcomes.filter((o) => o === FAILED).length >= 16, JSON.stringify(outcomes));
  assert.ok(outcomes.includes('closed'), 'past 16 waiting failures, attempts are dropped');
  const app = await from('127.0.0.4', node.port);
  assert.equal(await app.text(asciiLogin(cache.username, cache.password)), 'STORED\r\n');
  const bin = await from('127.0.0.4', node.port);
  assert.equal(await sasl(bin, other.credential.username, other.password), 0);
});

test('node: unknown usernames fail like wrong passwords (slowed alike), and a credential still propagating gets in once it arrives', async () => {
  const throttle = quick();
  const { node, catalog } = await startNode(throttle);
  const c = await from('127.0.0.5', node.port);
  for (let i = 0; i < 20; i++) assert.equal(await c.text(asciiLogin('NOSUCHUSER', 'x')), FAILED);
  node.sync.stop(); // hold the new credential back from the node, as a slow propagation would
  const { credential, password } = await catalog.createCache({ memoryBytes: 16 << 20 });
  for (let i = 0; i < 20; i++) assert.equal(await c.text(asciiLogin(credential.username, password)), FAILED);
  // The unknown username weighed on the source like any failure: the next one waits the longest.
  assert.equal(throttle.fail('127.0.0.5', 'probe')!.delayMs, 20);
  await node.sync.syncNow();
  assert.equal(await c.text(asciiLogin(credential.username, password)), 'STORED\r\n');
});

test('node: logins of its own cache from 2,000 addresses, then one wrong password, never lock a working client out', async () => {
  // The attack on any map of trusted (source, username) pairs: flood it, then fail once for the victim.
  const throttle = new LoginThrottle({ baseDelayMs: 1, maxDelayMs: 20, maxEntries: 500 });
  const { node, catalog, cache } = await startNode(throttle);
  const attacker = await catalog.createCache({ memoryBytes: 16 << 20 });
  await node.sync.syncNow();
  for (let i = 0; i < 2000; i += 50) {
    await Promise.all(Array.from({ length: 50 }, async (_, j) => {
      const n = i + j;
      const p = await from(`127.1.${n >> 8}.${n & 255}`, node.port);
      assert.equal(await p.text(asciiLogin(attacker.credential.username, `wrong${n}`)), FAILED);
      assert.equal(await p.text(asciiLogin(attacker.credential.username, attacker.password)), 'STORED\r\n');
      p.end();
    }));
  }
  assert.ok(throttle.size <= 500);
  const victim = await from('127.0.0.6', node.port);
  assert.equal(await victim.text(asciiLogin(cache.username, 'typo')), FAILED);
  assert.equal(await victim.text(asciiLogin(cache.username, cache.password)), 'STORED\r\n');
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

test('control plane: a dozen wrong Basic passwords, then the right one is 200; right-but-forbidden is no failure', async () => {
  const throttle = quick();
  const cluster = await startTestCluster({ control: { loginThrottle: throttle } });
  cleanups.push(() => cluster.close());
  const cache = await cluster.createCache();
  const noApi = await cluster.addCredential(cache.id, { api: false });
  const other = await cluster.createCache();

  for (let i = 0; i < 12; i++) {
    assert.equal((await getFrom('127.0.0.2', `${cluster.url}/api/v1/login`, basic(cache.username, `wrong${i}`))).status, 403);
  }
  for (const path of ['/api/v1/login', '/api/login', `/api/v1/${cache.id}/stats`]) {
    assert.equal((await getFrom('127.0.0.2', cluster.url + path, basic(cache.username, cache.password))).status, 200, path);
  }
  // Right passwords refused for other reasons (no api capability, another cache) are 403s, not failures.
  const before = throttle.fail('127.0.0.9', 'probe')!;
  before.release();
  for (let i = 0; i < 10; i++) {
    assert.equal((await getFrom('127.0.0.9', `${cluster.url}/api/v1/login`, basic(noApi.username, noApi.password))).status, 403);
    assert.equal((await getFrom('127.0.0.9', `${cluster.url}/api/v1/${cache.id}/stats`, basic(other.username, other.password))).status, 403);
  }
  assert.equal(throttle.fail('127.0.0.9', 'probe')!.delayMs, before.delayMs * 2, 'only the probe itself counted');
});

test('control plane: a source with 16 failures waiting gets 429 with Retry-After; the right password still gets 200', async () => {
  // Each failure holds its slot for 2 s: all 24 requests reach the throttle within that even
  // on a loaded machine (at 300 ms a slow 17th found a slot freed, and the split read 17/7).
  const throttle = new LoginThrottle({ baseDelayMs: 2000, maxDelayMs: 2000 });
  const cluster = await startTestCluster({ control: { loginThrottle: throttle } });
  cleanups.push(() => cluster.close());
  const cache = await cluster.createCache();
  const attempts = await Promise.all(Array.from({ length: 24 }, (_, i) =>
    getFrom('127.0.0.3', `${cluster.url}/api/v1/login`, basic(i % 2 ? cache.username : 'NOSUCHUSER', `wrong${i}`))));
  const statuses = attempts.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 403).length, 16, JSON.stringify(statuses));
  assert.equal(statuses.filter((s) => s === 429).length, 8, JSON.stringify(statuses));
  const throttled = attempts.find((r) => r.status === 429)!;
  assert.equal(throttled.body, '"Too many failed logins; try again later."');
  assert.match(String(throttled.headers['retry-after']), /^[1-9]\d*$/);
  assert.equal((await getFrom('127.0.0.3', `${cluster.url}/api/v1/login`, basic(cache.username, cache.password))).status, 200);
});
