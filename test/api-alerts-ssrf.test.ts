// SSRF: a tenant's Slack or webhook URL must not make the control plane request an address
// inside the operator's network. Over real HTTP (both catalogs), against a control plane
// started WITHOUT --alert-allow-private-targets and a loopback receiver that counts every
// request it gets: each literal address form (loopback, private, link-local — the cloud
// metadata endpoint —, unique-local, multicast, unspecified, IPv4-mapped, and IPv4 written
// as one decimal number, in octal or hex) is a 400 at creation that names the flag and
// creates nothing; a hostname that resolves to loopback ("localhost") is accepted but its
// test notification is refused at send time and recorded as a failed delivery event with
// the reason, and so is a real firing's delivery (evaluator and deliverer on, a cache filled
// past its threshold): given up at once ("delivery_abandoned", attempt 1, the reason), not
// retried. The receiver must see no request at all. Then the same receiver, with the flag,
// does get the test notification (the flag is what allows it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';
import { until } from './support/wait.ts';

let receiver: http.Server;
let port = 0;
const hits: string[] = [];

let t: TestCluster;
let cache: ClusterCache;
before(async () => {
  receiver = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(200).end('ok');
  });
  // On every loopback address the tests name: 127.0.0.1 (IPv4 forms) and ::1 if there is one.
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as AddressInfo).port;
  t = await startTestCluster();
  cache = await t.createCache();
});
after(async () => {
  await t.close();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

const v2 = (path: string) => `/api/v2/caches/${cache.id}/${path}`;

const LITERAL_TARGETS: readonly (readonly [string, RegExp])[] = [
  [`http://127.0.0.1:${0}/hook`, /127\.0\.0\.1 is not a public address \(loopback\)/],
  [`http://127.0.0.2:${0}/hook`, /loopback/],
  [`http://2130706433:${0}/hook`, /127\.0\.0\.1 .*loopback/], // one decimal number
  [`http://0x7f.1:${0}/hook`, /127\.0\.0\.1 .*loopback/], // hex, short form
  [`http://0x7f000001:${0}/hook`, /127\.0\.0\.1 .*loopback/],
  [`http://0177.0.0.1:${0}/hook`, /127\.0\.0\.1 .*loopback/], // octal
  [`http://127.1:${0}/hook`, /127\.0\.0\.1 .*loopback/],
  [`http://[::1]:${0}/hook`, /::1 .*loopback/],
  [`http://[::ffff:127.0.0.1]:${0}/hook`, /IPv4-mapped loopback/],
  [`http://[::ffff:7f00:1]:${0}/hook`, /IPv4-mapped loopback/],
  [`http://[::ffff:169.254.169.254]/latest/meta-data/`, /IPv4-mapped link-local/],
  [`http://0.0.0.0:${0}/hook`, /unspecified/],
  [`http://0:${0}/hook`, /unspecified/],
  [`http://[::]:${0}/hook`, /unspecified/],
  [`http://10.0.0.1/hook`, /private/],
  [`http://172.16.5.4/hook`, /private/],
  [`http://192.168.1.1/hook`, /private/],
  [`http://169.254.169.254/latest/meta-data/`, /link-local/],
  [`http://[fe80::1]/hook`, /link-local/],
  [`http://[fc00::1]/hook`, /unique-local/],
  [`http://[fd12:3456::1]/hook`, /unique-local/],
  [`http://224.0.0.1/hook`, /multicast/],
  [`http://[ff02::1]/hook`, /multicast/],
  [`https://[::127.0.0.1]/hook`, /loopback/],
];

test('a literal private address in any spelling is a 400 at creation, for webhook url and slack_url; nothing created, nothing sent', async () => {
  for (const [template, reason] of LITERAL_TARGETS) {
    const url = template.replace(':0/', `:${port}/`);
    for (const body of [{ delivery_type: 'webhook', url }, { delivery_type: 'slack', slack_url: url, slack_channel: '#ops' }]) {
      const r = await t.api(v2('alerts/configs'), { auth: cache, method: 'POST', json: body });
      assert.equal(r.status, 400, `${url}: ${r.text}`);
      const { message } = r.json();
      assert.match(message, /^The alert delivery config could not be added: (url|slack_url) refused: /, url);
      assert.match(message, reason, url);
      assert.match(message, /--alert-allow-private-targets/, url);
    }
  }
  assert.deepEqual((await t.api(v2('alerts/configs'), { auth: cache })).json(), []);
  assert.deepEqual(hits, []);
});

test('a hostname that resolves to loopback ("localhost") is refused at send time: a failed event with the reason, no request', async () => {
  for (const body of [
    { delivery_type: 'webhook', url: `http://localhost:${port}/hook` },
    { delivery_type: 'slack', slack_url: `http://LocalHost:${port}/slack` },
  ]) {
    const made = await t.api(v2('alerts/configs'), { auth: cache, method: 'POST', json: body });
    assert.equal(made.status, 201, made.text);
    const { id, delivery_type } = made.json();
    const r = await t.api(v2(`alerts/configs/${id}/test`), { auth: cache, method: 'POST' });
    assert.equal(r.status, 200, r.text);
    const out = r.json();
    assert.equal(out.delivered, false);
    assert.match(out.detail, /^refused: localhost\.? resolves to (127\.0\.0\.1|::1) is not a public address \(loopback\)/i);
    assert.equal(out.event.kind, 'test_failed');
    const events = (await t.api(v2('alerts/events'), { auth: cache })).json();
    assert.deepEqual(
      { kind: events[0].kind, alert_id: events[0].alert_id, delivery_type: events[0].delivery_type, detail: events[0].detail },
      { kind: 'test_failed', alert_id: 0, delivery_type, detail: out.detail },
    );
  }
  assert.deepEqual(hits, [], 'no request reached the loopback receiver');
});

test('a firing alert whose webhook resolves to loopback: the delivery is refused with the reason, given up at once, nothing sent', async () => {
  const planes = await startTestCluster({
    historyIntervalSeconds: 1, sampler: true,
    control: { alerts: true, alertIntervalSeconds: 1, latencyProbes: false, alertDelivery: { timeoutMs: 1000, retryBaseMs: 100, retryMaxMs: 200, pollMs: 100 } },
  });
  try {
    const c = await planes.createCache(1 << 20);
    const api = (path: string, req: Parameters<TestCluster['api']>[1] = {}) => planes.api(`/api/v2/caches/${c.id}/${path}`, { auth: c, ...req });
    const cfg = (await api('alerts/configs', { method: 'POST', json: { delivery_type: 'webhook', url: `http://localhost:${port}/fired` } })).json();
    const made = await api('alerts', { method: 'POST', json: { trigger_type: 'memory_usage', trigger_threshold: 1, delivery_config_id: cfg.id } });
    assert.equal(made.status, 201, made.text);
    const client = await planes.textLogin(c);
    const value = 'v'.repeat(10_000);
    for (let i = 0; i < 10; i++) assert.equal(await client.text(`set k${i} 0 0 ${value.length}\r\n${value}\r\n`), 'STORED\r\n');
    type Ev = { kind: string; attempt: number | null; detail: string };
    const events = async () => (await api('alerts/events')).json() as Ev[];
    const abandoned = await until('the refused delivery recorded', Date.now() + 60_000,
      async () => (await events()).find((e) => e.kind === 'delivery_abandoned'));
    assert.equal(abandoned.attempt, 1, 'given up at the first attempt, not retried');
    assert.match(abandoned.detail, /^refused: localhost resolves to (127\.0\.0\.1|::1) is not a public address \(loopback\)/);
    assert.ok((await events()).some((e) => e.kind === 'firing'));
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual((await events()).filter((e) => e.kind.startsWith('deliver')).map((e) => e.kind), ['delivery_abandoned']);
    client.end();
  } finally {
    await planes.close();
  }
  assert.deepEqual(hits, [], 'no request reached the loopback receiver');
});

test('with --alert-allow-private-targets the same loopback targets are accepted and reached', async () => {
  const open = await startTestCluster({ control: { alertAllowPrivateTargets: true } });
  try {
    const c = await open.createCache();
    for (const url of [`http://2130706433:${port}/decimal`, `http://localhost:${port}/name`]) {
      const made = await open.api(`/api/v2/caches/${c.id}/alerts/configs`, { auth: c, method: 'POST', json: { delivery_type: 'webhook', url } });
      assert.equal(made.status, 201, made.text);
      const r = await open.api(`/api/v2/caches/${c.id}/alerts/configs/${made.json().id}/test`, { auth: c, method: 'POST' });
      // localhost may resolve to ::1 first, where nothing listens: then it is refused by the OS, not by cachier.
      if (url.includes('localhost') && !r.json().delivered) assert.match(r.json().detail, /ECONNREFUSED/);
      else assert.equal(r.json().delivered, true, r.text);
    }
    assert.ok(hits.includes('POST /decimal'), hits.join());
  } finally {
    await open.close();
  }
});
