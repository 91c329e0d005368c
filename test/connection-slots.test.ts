// Connections anyone can open without logging in cannot take the node's slots from its
// tenants: they wait in a pool of their own, 256 at most per source address, and a newcomer
// displaces a silent waiter at random. Against a node in its own process, with a flood of
// 4,200 idle connections from one address, logged-in clients and new logins (from that
// address and others) are still served.
// npm test runs this file alone: 4,200 connections at once, with deadlines for their displacement.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mib, MiB } from './support/child-process.ts';
import { asciiLogin, startNodeProcess, type NodeProcess } from './support/node-process.ts';
import { req, saslPlain } from '../src/protocol/binary/testing/frames.ts';
import { RawClient } from './support/raw-client.ts';
import { until } from './support/wait.ts';

const nodes: NodeProcess[] = [];
after(async () => {
  for (const n of nodes) await n.stop();
});

/**
 * A connection that never sends a byte. `onClose` is attached at once: the node may close
 * it (displace it) before the rest of its batch has connected, and a listener attached
 * after the batch would miss that close.
 */
function idle(port: number, localAddress: string, onClose?: () => void): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    if (onClose) s.on('close', onClose);
    s.on('error', () => resolve(s));
  });
}

async function loginFrom(port: number, localAddress: string, cache: { username: string; password: string }): Promise<string> {
  const s = await idle(port, localAddress);
  return new Promise((resolve) => {
    let got = '';
    const done = (what: string) => {
      s.destroy();
      resolve(what);
    };
    const timer = setTimeout(() => done(`timeout after ${JSON.stringify(got)}`), 5000);
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.endsWith('\r\n')) {
        clearTimeout(timer);
        done(got);
      }
    });
    s.on('close', () => {
      clearTimeout(timer);
      done(`closed after ${JSON.stringify(got)}`);
    });
    s.write(asciiLogin(cache));
  });
}

test('4,200 idle connections from one address: logged-in clients and new logins from anywhere are still served', { timeout: 120_000 }, async (t) => {
  // A long auth timeout, so only displacement closes the flood however slow the machine.
  const n = await startNodeProcess({ caches: 2, args: ['--auth-timeout', '120'] });
  nodes.push(n);
  const [victim, other] = n.caches as [typeof n.caches[0], typeof n.caches[0]];
  // A tenant logged in before the flood, in ASCII and binary.
  const app = await RawClient.connect(n.port);
  assert.equal(await app.text(asciiLogin(victim)), 'STORED\r\n');
  const bin = await RawClient.connect(n.port);
  bin.send(saslPlain(other.username, other.password, { opaque: 1 }));
  assert.equal((await bin.binary())[0]!.status, 0);
  const base = n.rss();

  // The flood: 4,200 connections from 127.0.0.1 that never send a byte, opened 200 at a time.
  const flood: Socket[] = [];
  let displaced = 0;
  for (let i = 0; i < 4200; i += 200) {
    const batch = await Promise.all(Array.from({ length: 200 }, () => idle(n.port, '127.0.0.1', () => displaced++)));
    flood.push(...batch);
  }
  // The node holds 256 of them and has closed the rest (silent waiters, chosen at random).
  await until(() => `${displaced} of the flood closed`, Date.now() + 20_000, () => displaced >= 4200 - 256);
  const stillOpen = flood.filter((s) => !s.destroyed && s.readyState === 'open');
  assert.equal(stillOpen.length, 256, 'one address holds 256 waiting slots');
  const growth = n.rss() - base;
  t.diagnostic(`4,200 idle connections from one address: ${displaced} displaced, node RSS grew ${mib(growth)}`);
  assert.ok(growth < 32 * MiB, `node RSS grew ${mib(growth)}`);

  // Logged-in clients are served, and new logins from other addresses and from the flooding one get in.
  assert.equal(await app.text('set k 0 0 1\r\nv\r\n'), 'STORED\r\n');
  bin.send(req.noop({ opaque: 7 }));
  assert.equal((await bin.binary())[0]!.opaque, 7);
  assert.equal(await loginFrom(n.port, '127.0.0.2', victim), 'STORED\r\n');
  assert.equal(await loginFrom(n.port, '127.0.0.3', other), 'STORED\r\n');
  assert.equal(await loginFrom(n.port, '127.0.0.1', victim), 'STORED\r\n');
  for (const s of flood) s.destroy();
});

test('a flood from many addresses fills the waiting pool, never the logged-in slots; new logins still get in', { timeout: 120_000 }, async () => {
  const n = await startNodeProcess({
    args: ['--max-pending-connections', '256', '--max-pending-per-source', '64', '--max-connections', '300', '--auth-timeout', '120'],
  });
  nodes.push(n);
  const cache = n.caches[0]!;
  const app = await RawClient.connect(n.port);
  assert.equal(await app.text(asciiLogin(cache)), 'STORED\r\n');
  // 64 idle connections from each of 10 addresses: 640 against a pool of 256.
  const flood: Socket[] = [];
  let displaced = 0;
  for (let a = 0; a < 10; a++) {
    const batch = await Promise.all(Array.from({ length: 64 }, () => idle(n.port, `127.0.1.${a + 1}`, () => displaced++)));
    flood.push(...batch);
  }
  await until(() => `${displaced} displaced`, Date.now() + 20_000, () => displaced >= 640 - 256);
  assert.equal(await app.text('get k\r\n'), 'END\r\n');
  for (let i = 0; i < 20; i++) assert.equal(await loginFrom(n.port, `127.0.2.${i + 1}`, cache), 'STORED\r\n');
  for (const s of flood) s.destroy();
});

test('a flood churning the waiting pool from 500 addresses does not displace a binary client between its mechanism list and its login', { timeout: 120_000 }, async () => {
  const n = await startNodeProcess({ args: ['--max-pending-connections', '64', '--auth-timeout', '120'] });
  nodes.push(n);
  const cache = n.caches[0]!;
  let stop = false;
  let opened = 0;
  const churn = (async () => {
    const live: Socket[] = [];
    for (let i = 0; !stop; i++) {
      live.push(await idle(n.port, `127.0.4.${(i % 250) + 1}`), await idle(n.port, `127.0.5.${(i % 250) + 1}`));
      opened += 2;
      if (live.length > 400) live.splice(0, 200).forEach((s) => s.destroy());
    }
    live.forEach((s) => s.destroy());
  })();
  // The churn stops whatever the assertions say: a failed one must not leave it running.
  try {
    await until(() => `${opened} opened`, Date.now() + 20_000, () => opened >= 400);
    // SASL as libmemcached does it: list the mechanisms, then (a round trip later) authenticate.
    // Until its first bytes arrive a new connection is as silent as the flood's, and may be
    // displaced like them (on a loaded machine that window is long): a client reconnects.
    const bin = await mechanismsListed(n.port);
    const before = opened;
    await until(() => `${opened - before} opened since`, Date.now() + 20_000, () => opened >= before + 300); // several pools' worth of churn
    bin.send(saslPlain(cache.username, cache.password, { opaque: 2 }));
    // When the node closes the connection, what it printed tells why.
    const [auth] = await bin.binary().catch((e: Error) => {
      throw new Error(`${e.message}; the node printed: ${n.proc.output().slice(-2000)}`);
    });
    assert.equal(auth!.status, 0);
  } finally {
    stop = true;
    await churn;
  }
});

/** Connects and lists the SASL mechanisms, reconnecting (up to 10 times) when displaced before the answer. */
async function mechanismsListed(port: number): Promise<RawClient> {
  for (let attempt = 1; ; attempt++) {
    const bin = await RawClient.connect(port);
    bin.send(req.saslList({ opaque: 1 }));
    try {
      assert.equal((await bin.binary())[0]!.status, 0);
      return bin;
    } catch (e) {
      if (attempt === 10) throw e;
    }
  }
}
