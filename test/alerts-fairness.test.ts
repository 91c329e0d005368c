// One tenant's dead receivers cannot hold up another tenant's notifications (both
// catalogs, real HTTP receivers on loopback, a control plane sampling and evaluating every
// second). A "noisy" cache has 8 alerts whose webhook never answers; once they fire, a
// "victim" cache fires one alert to a receiver that answers at once. The plane sends at
// most 8 at once; without a per-cache share the noisy cache's 8 deliveries (all due
// first) took every slot, and the victim's waited a full send deadline (3 s) or more
// behind them. With at most a quarter of the slots per cache (2 of 8), the victim's goes
// out at once, and the noisy cache's 8 time out two at a time (12 s; with 4 slots and a
// share of 1 they took 24 s, one at a time, for the same finding).
// npm test runs this file alone: it times deliveries against 3 s send deadlines.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';
import { until } from './support/wait.ts';
import { startControlPlane, type ControlPlane } from '../src/control/main.ts';

const DEADLINE_MS = 60_000;
const SEND_TIMEOUT_MS = 3000;

let receiver: http.Server;
let receiverUrl = '';
const goodPosts: { at: number; body: string }[] = [];
const hanging = new Set<Socket>();

let t: TestCluster;
let noisy: ClusterCache;
let victim: ClusterCache;
before(async () => {
  receiver = http.createServer((req, res) => {
    if (req.url === '/hang') {
      hanging.add(req.socket);
      return; // never answers
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      goodPosts.push({ at: Date.now(), body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  t = await startTestCluster({ control: { alertAllowPrivateTargets: true } });
  noisy = await t.createCache(1 << 20);
  victim = await t.createCache(1 << 20);
});
after(async () => {
  await t.close();
  for (const s of hanging) s.destroy();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

const v2 = (c: ClusterCache, path: string) => `/api/v2/caches/${c.id}/${path}`;

async function post(c: ClusterCache, path: string, json: Record<string, unknown>): Promise<{ id: number }> {
  const r = await t.api(v2(c, path), { auth: c, method: 'POST', json });
  assert.equal(r.status, 201, r.text);
  return r.json();
}

async function fill(c: ClusterCache): Promise<void> {
  const client = await t.textLogin(c);
  const value = 'v'.repeat(10_000);
  for (let i = 0; i < 90; i++) assert.equal(await client.text(`set k${i} 0 0 ${value.length}\r\n${value}\r\n`), 'STORED\r\n');
}

type Event = { kind: string; alert_id: number; time: string; detail: string };
const events = async (c: ClusterCache) => (await t.api(v2(c, 'alerts/events'), { auth: c })).json() as Event[];

test('a cache whose receivers hang holds at most its share of the delivery slots; another cache\'s notification is not delayed', async () => {
  for (let i = 0; i < 8; i++) {
    const cfg = await post(noisy, 'alerts/configs', { delivery_type: 'webhook', url: `${receiverUrl}/hang` });
    await post(noisy, 'alerts', { trigger_type: 'memory_usage', trigger_threshold: 50, delivery_config_id: cfg.id });
  }
  const good = await post(victim, 'alerts/configs', { delivery_type: 'webhook', url: `${receiverUrl}/good` });
  const victimAlert = await post(victim, 'alerts', { trigger_type: 'memory_usage', trigger_threshold: 50, delivery_config_id: good.id });

  let plane: ControlPlane | undefined = await startControlPlane({
    catalog: t.catalog, host: '127.0.0.1', port: 0, historyIntervalSeconds: 1, latencyProbes: false, sampler: true, alerts: true,
    alertIntervalSeconds: 1, dashboardUrl: 'http://dashboard.example/', alertAllowPrivateTargets: true,
    alertDelivery: { timeoutMs: SEND_TIMEOUT_MS, retryBaseMs: 60_000, retryMaxMs: 60_000, pollMs: 100, concurrency: 8 },
  });
  try {
    await fill(noisy);
    await until('the noisy cache\'s 8 alerts fired', Date.now() + DEADLINE_MS,
      async () => (await events(noisy)).filter((e) => e.kind === 'firing').length === 8);
    // Its deliveries are now hanging on the receiver (or waiting for a slot).
    await until('the noisy cache\'s receiver holds requests', Date.now() + DEADLINE_MS, () => hanging.size > 0);

    await fill(victim);
    await until('the victim\'s alert fired', Date.now() + DEADLINE_MS,
      async () => (await events(victim)).some((e) => e.kind === 'firing' && e.alert_id === victimAlert.id));
    const firedAt = Date.parse((await events(victim)).find((e) => e.kind === 'firing')!.time);
    await until('the victim\'s notification delivered', Date.now() + DEADLINE_MS, () => goodPosts.length === 1);
    const delay = goodPosts[0]!.at - firedAt;
    assert.ok(delay < SEND_TIMEOUT_MS / 2, `the victim's notification waited ${delay} ms behind another cache's hanging receivers`);
    assert.equal(JSON.parse(goodPosts[0]!.body).alert.id, victimAlert.id);
    // The noisy cache's deliveries still go out, a share at a time: none is lost.
    await until('every noisy delivery attempted', Date.now() + DEADLINE_MS,
      async () => (await events(noisy)).filter((e) => e.kind === 'delivery_failed' && /timed out/.test(e.detail)).length === 8);
  } finally {
    await plane.close();
    plane = undefined;
  }
});
