// cachier's POST /api/v2/caches/<id>/alerts/configs/<config_id>/test over real HTTP (both
// catalogs), with real receivers on loopback (so the control plane runs with
// --alert-allow-private-targets): a signed webhook post, a Slack post, an email through
// smtp-server; each answered 200 {"delivered","detail","event"} and recorded in
// alerts/events (test_delivered, alert_id 0); a receiver answering 500 → delivered false,
// test_failed, no retry; another cache's config or an unknown one → 404; more than 10 a
// minute for one cache → 429 and nothing sent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';
import { signatureOf } from '../src/control/alerts/senders.ts';

interface Post { path: string; body: string; headers: http.IncomingHttpHeaders }
const posts: Post[] = [];
const mails: { to: string; raw: string }[] = [];
let receiver: http.Server;
let receiverUrl = '';
let smtp: SMTPServer;

let t: TestCluster;
let cache: ClusterCache;
let other: ClusterCache;
before(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      res.writeHead(req.url === '/broken' ? 500 : 200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  smtp = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), raw: Buffer.concat(chunks).toString('utf8').replace(/=\r\n/g, '') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as AddressInfo).port;
  t = await startTestCluster({
    control: { alertAllowPrivateTargets: true, smtpUrl: `smtp://127.0.0.1:${smtpPort}`, smtpFrom: 'cachier@example.com', dashboardUrl: 'http://dashboard.example/' },
  });
  cache = await t.createCache(1 << 20, 'shop');
  other = await t.createCache();
});
after(async () => {
  await t.close();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

const v2 = (path: string, c: { id: number } = cache) => `/api/v2/caches/${c.id}/${path}`;

async function newConfig(body: Record<string, unknown>, c: ClusterCache = cache): Promise<{ id: number; secret?: string }> {
  const r = await t.api(v2('alerts/configs', c), { auth: c, method: 'POST', json: body });
  assert.equal(r.status, 201, r.text);
  return r.json();
}

async function sendTest(id: number, c: ClusterCache = cache) {
  return t.api(v2(`alerts/configs/${id}/test`, c), { auth: c, method: 'POST' });
}

test('webhook: a signed test notification arrives; 200 with the outcome; recorded in alerts/events', async () => {
  const hook = await newConfig({ delivery_type: 'webhook', url: `${receiverUrl}/hook` });
  const r = await sendTest(hook.id);
  assert.equal(r.status, 200, r.text);
  const out = r.json();
  assert.equal(out.delivered, true);
  assert.equal(out.detail, 'HTTP 200');
  assert.equal(out.event.kind, 'test_delivered');
  const post = posts.find((p) => p.path === '/hook')!;
  assert.ok(post, 'the receiver got it');
  assert.equal(post.headers['x-cachier-signature'], signatureOf(post.body, hook.secret!));
  assert.match(String(post.headers['x-cachier-delivery']), /^test-\d+$/);
  const body = JSON.parse(post.body);
  assert.equal(body.event, 'test');
  assert.deepEqual(body.cache, { id: cache.id, name: 'shop' });
  assert.equal(body.config_id, hook.id);
  assert.equal(body.dashboard_url, 'http://dashboard.example/');
  assert.match(body.text, /^\[cachier\] TEST: notification from cache shop/);
  const events = (await t.api(v2('alerts/events'), { auth: cache })).json();
  assert.deepEqual(events[0], out.event);
  assert.deepEqual(
    { kind: events[0].kind, alert_id: events[0].alert_id, delivery_type: events[0].delivery_type, attempt: events[0].attempt, detail: events[0].detail },
    { kind: 'test_delivered', alert_id: 0, delivery_type: 'webhook', attempt: 1, detail: 'HTTP 200' },
  );
});

test('slack and email test notifications arrive', async () => {
  const slack = await newConfig({ delivery_type: 'slack', slack_url: `${receiverUrl}/slack`, slack_channel: '#ops' });
  const sr = (await sendTest(slack.id)).json();
  assert.equal(sr.delivered, true, sr.detail);
  const post = posts.find((p) => p.path === '/slack')!;
  const body = JSON.parse(post.body);
  assert.equal(body.channel, '#ops');
  assert.match(body.text, /TEST: notification from cache shop/);
  const email = await newConfig({ delivery_type: 'email', email: 'ops@example.com' });
  const er = (await sendTest(email.id)).json();
  assert.equal(er.delivered, true, er.detail);
  assert.equal(er.event.delivery_type, 'email');
  const mail = mails.find((m) => m.to === 'ops@example.com')!;
  assert.ok(mail, 'the email arrived');
  assert.match(mail.raw, /Subject: \[cachier\] TEST: notification from cache shop/);
  assert.match(mail.raw, /Dashboard: http:\/\/dashboard\.example\//);
});

test('a receiver that fails: delivered false with its answer, test_failed, not retried', async () => {
  const hook = await newConfig({ delivery_type: 'webhook', url: `${receiverUrl}/broken` });
  const out = (await sendTest(hook.id)).json();
  assert.deepEqual([out.delivered, out.detail, out.event.kind], [false, 'HTTP 500', 'test_failed']);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(posts.filter((p) => p.path === '/broken').length, 1);
});

test("another cache's config, an unknown one: 404; a non-numeric id: 400; a body: 400", async () => {
  const theirs = await newConfig({ delivery_type: 'webhook', url: `${receiverUrl}/theirs` }, other);
  const before = posts.length;
  for (const id of [theirs.id, 999999]) {
    const r = await sendTest(id);
    assert.equal(r.status, 404, r.text);
    assert.deepEqual(r.json(), { message: 'Alert delivery config not found.' });
  }
  assert.equal((await t.api(v2('alerts/configs/x/test'), { auth: cache, method: 'POST' })).status, 400);
  assert.equal((await t.api(v2(`alerts/configs/${theirs.id}/test`, other), { auth: other, method: 'POST', json: { to: 'x' } })).status, 400);
  assert.equal(posts.length, before, 'nothing sent');
  assert.equal((await t.api(v2(`alerts/configs/${theirs.id}/test`, cache), { auth: null, method: 'POST' })).status, 401);
});

test('at most 10 test notifications a minute per cache: the 11th is a 429 and sends nothing; other caches are not held back', async () => {
  const third = await t.createCache();
  const hook = await newConfig({ delivery_type: 'webhook', url: `${receiverUrl}/limited` }, third);
  for (let i = 0; i < 10; i++) assert.equal((await sendTest(hook.id, third)).json().delivered, true, `test ${i + 1}`);
  const r = await sendTest(hook.id, third);
  assert.equal(r.status, 429, r.text);
  assert.deepEqual(r.json(), { message: 'Too many test notifications: at most 10 a minute per cache.' });
  assert.equal(posts.filter((p) => p.path === '/limited').length, 10);
  const events = (await t.api(v2('alerts/events', third), { auth: third })).json();
  assert.equal(events.length, 10, 'the refused one is not recorded');
  const mine = await newConfig({ delivery_type: 'webhook', url: `${receiverUrl}/not-limited` });
  assert.equal((await sendTest(mine.id)).json().delivered, true);
});
