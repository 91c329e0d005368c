// Alerts over real HTTP (both catalogs): the v2 endpoints (status codes, partial update,
// bad input changing nothing, configs in use, route order, the secret shown once, events,
// the operator's view), and end to end with real receivers on loopback — an SMTP server
// (smtp-server), an HTTP server for Slack and webhooks that checks the signature, one that
// fails twice, one that never answers, one that answers 10 MB, a port nobody listens on —
// and two control planes sampling and evaluating every second over one catalog: a cache
// filled past its memory threshold notifies each target exactly once, a restart of a
// plane while firing repeats nothing, and emptying the cache sends exactly one resolution
// each.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';
import { until } from './support/wait.ts';
import { openCatalog } from '../src/catalog/open.ts';
import type { Catalog } from '../src/catalog/catalog.ts';
import { startControlPlane, type ControlPlane } from '../src/control/main.ts';
import { signatureOf } from '../src/control/alerts/senders.ts';
import { createLogger } from '../src/shared/logger.ts';

const DEADLINE_MS = 60_000;

// ---------------------------------------------------------------- receivers

interface Mail { subject: string; to: string; text: string }
const mails: Mail[] = [];
let smtp: SMTPServer;
let smtpPort = 0;

interface Post { path: string; body: string; headers: http.IncomingHttpHeaders }
const posts: Post[] = [];
let receiver: http.Server;
let receiverUrl = '';
let failuresLeft = 2;
let slowOpen = 0;
const openSockets = new Set<import('node:net').Socket>();

async function startReceivers(): Promise<void> {
  smtp = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const subject = /^Subject: (.*(?:\r\n[ \t].*)*)/m.exec(raw)?.[1]?.replace(/\r\n[ \t]/g, ' ') ?? '';
        // The body is quoted-printable: join its soft line breaks.
        mails.push({ subject, to: session.envelope.rcptTo.map((r) => r.address).join(','), text: raw.replace(/=\r\n/g, '') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;

  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      if (path === '/slow') {
        slowOpen++;
        res.on('close', () => slowOpen--);
        return; // never answers
      }
      posts.push({ path, body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      if (path === '/fail' && failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(500).end('no');
        return;
      }
      if (path === '/big') {
        // 10 MB of answer, written as fast as the client reads it.
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(64 * 1024, 'x');
        let left = 160;
        const write = () => {
          while (left > 0) {
            left--;
            if (!res.write(chunk)) return void res.once('drain', write);
          }
          res.end();
        };
        write();
        return;
      }
      res.writeHead(200).end('ok');
    });
  });
  receiver.on('connection', (s) => {
    openSockets.add(s);
    s.on('close', () => openSockets.delete(s));
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
}

async function stopReceivers(): Promise<void> {
  for (const s of openSockets) s.destroy();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
}

// ---------------------------------------------------------------- cluster

let t: TestCluster;
let cache: ClusterCache;
let other: ClusterCache;
before(async () => {
  await startReceivers();
  // The cluster's own control plane serves the API; it neither samples nor evaluates:
  // the end-to-end test starts its planes itself. The receivers are on loopback, which
  // only --alert-allow-private-targets lets a target reach (api-alerts-ssrf.test.ts).
  t = await startTestCluster({ control: { alertAllowPrivateTargets: true } });
  cache = await t.createCache(1 << 20);
  other = await t.createCache();
});
after(async () => {
  await t.close();
  await stopReceivers();
});

const v2 = (path: string, c: { id: number } = cache) => `/api/v2/caches/${c.id}/${path}`;

async function newConfig(body: Record<string, unknown>, c: ClusterCache = cache): Promise<{ id: number; secret?: string }> {
  const r = await t.api(v2('alerts/configs', c), { auth: c, method: 'POST', json: body });
  assert.equal(r.status, 201, r.text);
  return r.json();
}

async function newAlert(body: Record<string, unknown>, c: ClusterCache = cache): Promise<{ id: number }> {
  const r = await t.api(v2('alerts', c), { auth: c, method: 'POST', json: body });
  assert.equal(r.status, 201, r.text);
  return r.json();
}

test('delivery configs: 201 with "" for fields that do not apply, a webhook secret shown once, list without it, delete 204', async () => {
  const email = await t.api(v2('alerts/configs'), { auth: cache, method: 'POST', json: { delivery_type: 'email', email: 'ops@example.com' } });
  assert.equal(email.status, 201);
  const e = email.json();
  assert.deepEqual(e, { id: e.id, delivery_type: 'email', email: 'ops@example.com', slack_url: '', slack_channel: '', url: '' });
  const slack = await newConfig({ delivery_type: 'slack', slack_url: 'https://hooks.slack.com/services/T/B/X', slack_channel: '#alerts' });
  const hook = await newConfig({ delivery_type: 'webhook', url: 'https://example.com/hook' });
  assert.match(hook.secret!, /^[0-9a-f]{64}$/);
  assert.equal((slack as { secret?: string }).secret, undefined);
  const list = await t.api(v2('alerts/configs'), { auth: cache });
  assert.equal(list.status, 200);
  assert.deepEqual(list.json().map((c: { id: number }) => c.id), [e.id, slack.id, hook.id]);
  assert.ok(!list.text.includes(hook.secret!), 'lists never show the secret');
  for (const id of [e.id, slack.id, hook.id]) {
    const d = await t.api(v2(`alerts/configs/${id}`), { auth: cache, method: 'DELETE' });
    assert.equal(d.status, 204);
    assert.equal(d.text, '');
  }
  assert.deepEqual((await t.api(v2('alerts/configs'), { auth: cache })).json(), []);
  assert.equal((await t.api(v2(`alerts/configs/${e.id}`), { auth: cache, method: 'DELETE' })).status, 404);
});

test('alerts: create 201, get, list, PUT is a partial update answering 201, DELETE 201; another cache sees none of it', async () => {
  const cfg = await newConfig({ delivery_type: 'email', email: 'ops@example.com' });
  const cfg2 = await newConfig({ delivery_type: 'email', email: 'dev@example.com' });
  const body = { trigger_type: 'hit_rate', trigger_threshold: 50, delivery_config_id: cfg.id, description: 'Hit rate dropped', enabled: true };
  const made = await newAlert(body);
  assert.deepEqual(made, { id: made.id, ...body });
  assert.deepEqual((await t.api(v2(`alerts/${made.id}`), { auth: cache })).json(), made);
  assert.deepEqual((await t.api(v2('alerts'), { auth: cache })).json(), [made]);
  const put = await t.api(v2(`alerts/${made.id}`), { auth: cache, method: 'PUT', json: { id: made.id, enabled: false } });
  assert.equal(put.status, 201, put.text);
  assert.deepEqual(put.json(), { ...made, enabled: false });
  const put2 = await t.api(v2(`alerts/${made.id}`), { auth: cache, method: 'PUT', json: { trigger_type: 'memory_usage', trigger_threshold: 90, delivery_config_id: cfg2.id } });
  assert.equal(put2.status, 201);
  assert.deepEqual(put2.json(), { ...made, enabled: false, trigger_type: 'memory_usage', trigger_threshold: 90, delivery_config_id: cfg2.id });
  // Defaults: description "" and enabled true.
  const minimal = await newAlert({ trigger_type: 'memory_usage', trigger_threshold: 0, delivery_config_id: cfg.id });
  assert.deepEqual(minimal, { id: minimal.id, trigger_type: 'memory_usage', trigger_threshold: 0, delivery_config_id: cfg.id, description: '', enabled: true });

  assert.equal((await t.api(v2(`alerts/${made.id}`, other), { auth: other })).status, 404);
  assert.equal((await t.api(v2(`alerts/${made.id}`, other), { auth: other, method: 'PUT', json: { enabled: true } })).status, 404);
  assert.equal((await t.api(v2(`alerts/${made.id}`, other), { auth: other, method: 'DELETE' })).status, 404);
  assert.deepEqual((await t.api(v2('alerts', other), { auth: other })).json(), []);
  assert.equal((await t.api(v2(`alerts/${made.id}`), { auth: other })).status, 403, "another cache's credential");

  // A config in use cannot go.
  const inUse = await t.api(v2(`alerts/configs/${cfg.id}`), { auth: cache, method: 'DELETE' });
  assert.equal(inUse.status, 400);
  assert.deepEqual(inUse.json(), { message: `The alert delivery config is used by alerts: ${minimal.id}.` });
  const inUse2 = await t.api(v2(`alerts/configs/${cfg2.id}`), { auth: cache, method: 'DELETE' });
  assert.deepEqual(inUse2.json(), { message: `The alert delivery config is used by alerts: ${made.id}.` });

  for (const id of [made.id, minimal.id]) {
    const d = await t.api(v2(`alerts/${id}`), { auth: cache, method: 'DELETE' });
    assert.equal(d.status, 201);
  }
  assert.equal((await t.api(v2(`alerts/${made.id}`), { auth: cache })).status, 404);
  assert.equal((await t.api(v2(`alerts/configs/${cfg.id}`), { auth: cache, method: 'DELETE' })).status, 204);
  assert.equal((await t.api(v2(`alerts/configs/${cfg2.id}`), { auth: cache, method: 'DELETE' })).status, 204);
});

test('route order: alerts/configs and alerts/events never reach alerts/<id>; a non-numeric id is a 400', async () => {
  assert.equal((await t.api(v2('alerts/configs'), { auth: cache })).status, 200);
  assert.equal((await t.api(v2('alerts/events'), { auth: cache })).status, 200);
  const bad = await t.api(v2('alerts/abc'), { auth: cache });
  assert.equal(bad.status, 400);
  assert.equal(typeof bad.json().message, 'string');
  assert.equal((await t.api(v2('alerts/configs'), { auth: cache, method: 'DELETE' })).status, 400);
  assert.equal((await t.api(v2('alerts/configs/xyz'), { auth: cache, method: 'DELETE' })).status, 400);
  assert.equal((await t.api(v2('alerts'), {})).status, 401, 'the guard holds');
});

test('bad input is a 400 {"message"} and creates nothing', async () => {
  const cfg = await newConfig({ delivery_type: 'email', email: 'ops@example.com' });
  const foreign = await newConfig({ delivery_type: 'email', email: 'x@example.com' }, other);
  const ok = { trigger_type: 'memory_usage', trigger_threshold: 50, delivery_config_id: cfg.id };
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['no type', { trigger_threshold: 50, delivery_config_id: cfg.id }, /^The alert could not be added\. An alert requires a type\.$/],
    ['unknown type', { ...ok, trigger_type: 'latency' }, /trigger_type/],
    ['threshold over 100', { ...ok, trigger_threshold: 101 }, /trigger_threshold/],
    ['threshold under 0', { ...ok, trigger_threshold: -1 }, /trigger_threshold/],
    ['threshold not a number', { ...ok, trigger_threshold: 'lots' }, /trigger_threshold/],
    ['threshold not an integer', { ...ok, trigger_threshold: 50.5 }, /trigger_threshold/],
    ['threshold null', { ...ok, trigger_threshold: null }, /null/],
    ['no threshold', { trigger_type: 'hit_rate', delivery_config_id: cfg.id }, /trigger_threshold/],
    ['config of another cache', { ...ok, delivery_config_id: foreign.id }, /delivery config/],
    ['missing config', { ...ok, delivery_config_id: 999999 }, /delivery config/],
    ['unknown field', { ...ok, severity: 'high' }, /severity/],
  ];
  for (const [what, body, message] of cases) {
    const r = await t.api(v2('alerts'), { auth: cache, method: 'POST', json: body });
    assert.equal(r.status, 400, `${what}: ${r.text}`);
    assert.match(r.json().message, message, what);
  }
  assert.deepEqual((await t.api(v2('alerts'), { auth: cache })).json(), [], 'nothing created');

  const alert = await newAlert(ok);
  for (const [what, body] of [['foreign config', { delivery_config_id: foreign.id }], ['threshold', { trigger_threshold: 200 }], ['type', { trigger_type: 'x' }], ['other id', { id: alert.id + 1 }]] as const) {
    const r = await t.api(v2(`alerts/${alert.id}`), { auth: cache, method: 'PUT', json: body });
    assert.equal(r.status, 400, `PUT ${what}: ${r.text}`);
  }
  assert.deepEqual((await t.api(v2(`alerts/${alert.id}`), { auth: cache })).json(), { id: alert.id, ...ok, description: '', enabled: true }, 'unchanged');

  const configCases: [string, Record<string, unknown>, RegExp][] = [
    ['no type', { email: 'a@example.com' }, /^The alert delivery config could not be added\. An alert delivery config requires a type\.$/],
    ['unknown type', { delivery_type: 'pager' }, /delivery_type/],
    ['bad email', { delivery_type: 'email', email: 'not an address' }, /email/],
    ['email without domain', { delivery_type: 'email', email: 'ops@' }, /email/],
    ['no email', { delivery_type: 'email' }, /email/],
    ['slack_url not http(s)', { delivery_type: 'slack', slack_url: 'ftp://hooks.slack.com/x' }, /slack_url/],
    ['slack_url javascript', { delivery_type: 'slack', slack_url: 'javascript:alert(1)' }, /slack_url/],
    ['slack_url not a URL', { delivery_type: 'slack', slack_url: 'hooks.slack.com' }, /slack_url/],
    ['webhook url not http(s)', { delivery_type: 'webhook', url: 'file:///etc/passwd' }, /url/],
    ['webhook without url', { delivery_type: 'webhook' }, /url/],
  ];
  const before = (await t.api(v2('alerts/configs'), { auth: cache })).json().length;
  for (const [what, body, message] of configCases) {
    const r = await t.api(v2('alerts/configs'), { auth: cache, method: 'POST', json: body });
    assert.equal(r.status, 400, `config ${what}: ${r.text}`);
    assert.match(r.json().message, message, what);
  }
  assert.equal((await t.api(v2('alerts/configs'), { auth: cache })).json().length, before, 'no config created');
  await t.api(v2(`alerts/${alert.id}`), { auth: cache, method: 'DELETE' });
  await t.api(v2(`alerts/configs/${cfg.id}`), { auth: cache, method: 'DELETE' });
  await t.api(v2(`alerts/configs/${foreign.id}`, other), { auth: other, method: 'DELETE' });
});

// ---------------------------------------------------------------- end to end

interface Plane { catalog: Catalog; control: ControlPlane; own: boolean }

/** What the planes logged (alert_delivery lines among them). */
const logged: Record<string, any>[] = [];
const planeLogger = createLogger({ level: 'debug', destination: { write: (l: string) => void logged.push(JSON.parse(l)) } });

async function startPlane(catalog: Catalog, own: boolean): Promise<Plane> {
  const control = await startControlPlane({
    logger: planeLogger,
    catalog, host: '127.0.0.1', port: 0, historyIntervalSeconds: 1, latencyProbes: false, sampler: true, alerts: true,
    alertIntervalSeconds: 1, smtpUrl: `smtp://127.0.0.1:${smtpPort}`, smtpFrom: 'cachier@example.com',
    dashboardUrl: 'http://dashboard.example/', alertAllowPrivateTargets: true,
    // A 3 s deadline: a send the receiver got must not time out (and be sent again) on a loaded machine.
    alertDelivery: { timeoutMs: 3000, retryBaseMs: 200, retryMaxMs: 1000, pollMs: 100 },
  });
  return { catalog, control, own };
}

async function stopPlane(p: Plane): Promise<void> {
  await p.control.close();
  if (p.own) await p.catalog.close();
}

/** Waits until every plane has finished `n` more evaluation rounds. */
async function rounds(planes: Plane[], n: number): Promise<void> {
  const start = planes.map((p) => p.control.alertEvaluator.rounds);
  await until(`${n} more alert rounds`, Date.now() + DEADLINE_MS, () => planes.every((p, i) => p.control.alertEvaluator.rounds >= start[i]! + n));
}

test('end to end: one firing per target, no repeat across planes or a restart, one resolution each; retries, slow and 10 MB receivers', async () => {
  const email = await newConfig({ delivery_type: 'email', email: 'ops@example.com' });
  const slack = await newConfig({ delivery_type: 'slack', slack_url: `${receiverUrl}/slack`, slack_channel: '#alerts' });
  const hook = await newConfig({ delivery_type: 'webhook', url: `${receiverUrl}/hook` });
  const failing = await newConfig({ delivery_type: 'webhook', url: `${receiverUrl}/fail` });
  const slow = await newConfig({ delivery_type: 'webhook', url: `${receiverUrl}/slow` });
  const big = await newConfig({ delivery_type: 'webhook', url: `${receiverUrl}/big` });
  // Nothing listens on port 1: every attempt is refused at once.
  const dead = await newConfig({ delivery_type: 'webhook', url: 'http://127.0.0.1:1/dead' });
  const alertOf = new Map<number, number>();
  // The slow receiver's alert first: its delivery is leased first and holds its slot while the others go out.
  for (const cfg of [slow, email, slack, hook, failing, big, dead]) {
    const a = await newAlert({ trigger_type: 'memory_usage', trigger_threshold: 50, delivery_config_id: cfg.id, description: 'cache filling up' });
    alertOf.set(cfg.id, a.id);
  }
  // A disabled alert never notifies.
  await newAlert({ trigger_type: 'memory_usage', trigger_threshold: 10, delivery_config_id: hook.id, enabled: false });

  const second = await openCatalog(t.cliArgs[0] === '--data' ? { dataDir: t.cliArgs[1] } : { databaseUrl: t.cliArgs[1] });
  let a = await startPlane(t.catalog, false);
  let claimedByStopped = 0;
  const b = await startPlane(second, true);
  try {
    const posted = (path: string, kind: string) => posts.filter((p) => p.path === path && JSON.parse(p.body).event === kind);
    const slackPosted = (word: string) => posts.filter((p) => p.path === '/slack' && JSON.parse(p.body).text.includes(word));
    const mailed = (word: string) => mails.filter((m) => m.subject.includes(word));

    // Fill the 1 MB cache to well over half.
    const client = await t.textLogin(cache);
    const value = 'v'.repeat(10_000);
    for (let i = 0; i < 90; i++) assert.equal(await client.text(`set k${i} 0 0 ${value.length}\r\n${value}\r\n`), 'STORED\r\n');

    await until(() => `one firing per target (mails ${mails.length}, posts ${posts.map((p) => p.path)})`, Date.now() + DEADLINE_MS,
      () => mailed('FIRING').length === 1 && slackPosted('FIRING').length === 1 && posted('/hook', 'firing').length === 1
        && posted('/big', 'firing').length === 1);
    // The failing receiver: two 500s, then delivered.
    await until('the failing receiver retried, then delivered', Date.now() + DEADLINE_MS,
      () => posts.filter((p) => p.path === '/fail').length === 3);
    const events = async () => (await t.api(v2('alerts/events'), { auth: cache })).json() as { kind: string; alert_id: number; attempt: number | null; detail: string; delivery_type: string | null }[];
    await until('the failing receiver\'s success recorded', Date.now() + DEADLINE_MS,
      async () => (await events()).some((e) => e.alert_id === alertOf.get(failing.id) && e.kind === 'delivered' && e.attempt === 3));
    const failedAttempts = (await events()).filter((e) => e.alert_id === alertOf.get(failing.id) && e.kind === 'delivery_failed');
    assert.deepEqual(failedAttempts.map((e) => [e.attempt, e.detail, e.delivery_type]), [[2, 'HTTP 500', 'webhook'], [1, 'HTTP 500', 'webhook']]);
    // The never-answering receiver: attempts time out and are recorded, while the others went through beside it.
    await until('the slow receiver\'s timeout recorded', Date.now() + DEADLINE_MS,
      async () => (await events()).some((e) => e.alert_id === alertOf.get(slow.id) && e.kind === 'delivery_failed' && /timed out/.test(e.detail)));
    // Claimed in the same round, the webhook went out while the slow receiver held its request (a 3 s deadline).
    const timeOf = (e: { time?: string }) => Date.parse(e.time!);
    const all = (await events()) as unknown as { kind: string; alert_id: number; time: string }[];
    const hookDelivered = all.find((e) => e.alert_id === alertOf.get(hook.id) && e.kind === 'delivered')!;
    const slowFailures = all.filter((e) => e.alert_id === alertOf.get(slow.id) && e.kind === 'delivery_failed');
    assert.ok(timeOf(hookDelivered) < timeOf(slowFailures[slowFailures.length - 1]!), 'not queued behind the slow receiver');
    assert.ok((await events()).some((e) => e.alert_id === alertOf.get(big.id) && e.kind === 'delivered' && e.detail === 'HTTP 200'), '10 MB answer: delivered');
    await until('the dead receiver\'s refusals recorded', Date.now() + DEADLINE_MS,
      async () => (await events()).filter((e) => e.alert_id === alertOf.get(dead.id) && e.kind === 'delivery_failed' && /ECONNREFUSED/.test(e.detail)).length >= 2);

    // What each target received.
    const mail = mailed('FIRING')[0]!;
    assert.equal(mail.to, 'ops@example.com');
    assert.match(mail.subject, new RegExp(`^\\[cachier\\] FIRING: memory usage \\d+(\\.\\d)?% > 50% on cache mc-${cache.id} \\(id ${cache.id}\\)$`));
    assert.match(mail.text, /Description: cache filling up/);
    assert.match(mail.text, /Dashboard: http:\/\/dashboard\.example\//);
    const slackBody = JSON.parse(slackPosted('FIRING')[0]!.body);
    assert.equal(slackBody.channel, '#alerts');
    assert.match(slackBody.text, new RegExp(`Alert ${alertOf.get(slack.id)} \\(memory_usage above 50%\\) on cache mc-${cache.id}`));
    const hookPost = posted('/hook', 'firing')[0]!;
    assert.equal(hookPost.headers['x-cachier-signature'], signatureOf(hookPost.body, hook.secret!), 'signed with the secret shown once');
    assert.notEqual(hookPost.headers['x-cachier-signature'], signatureOf(hookPost.body, failing.secret!));
    const payload = JSON.parse(hookPost.body);
    assert.equal(payload.state, 'firing');
    assert.deepEqual(payload.cache, { id: cache.id, name: `mc-${cache.id}` });
    assert.equal(payload.alert.id, alertOf.get(hook.id));
    assert.equal(payload.threshold, 50);
    assert.ok(payload.value > 50 && payload.value <= 100, String(payload.value));

    // Both planes keep evaluating; one of them restarts while the alerts fire: nothing repeats.
    await rounds([a, b], 3);
    claimedByStopped = a.control.alertEvaluator.claimed;
    await stopPlane(a);
    a = await startPlane(t.catalog, false);
    await rounds([a, b], 3);
    assert.equal(mailed('FIRING').length, 1);
    assert.equal(slackPosted('FIRING').length, 1);
    assert.equal(posted('/hook', 'firing').length, 1);
    assert.equal(posted('/big', 'firing').length, 1);
    assert.equal(posts.filter((p) => p.path === '/fail').length, 3);
    // The planes' counters (what a metrics endpoint exports): their claims together are the 7 notifications.
    assert.equal(claimedByStopped + a.control.alertEvaluator.claimed + b.control.alertEvaluator.claimed, 7);
    for (const p of [a, b]) {
      const n = p.control.alertDeliverer.counts;
      assert.equal(n.attempts, n.delivered + n.failed + n.abandoned);
    }
    const firings = (await events()).filter((e) => e.kind === 'firing');
    assert.equal(firings.length, 7, 'one firing per enabled alert');

    // Back under the threshold: exactly one resolution each.
    assert.equal(await client.text('flush_all\r\n'), 'OK\r\n');
    await until(() => `one resolution per target (mails ${mails.map((m) => m.subject)})`, Date.now() + DEADLINE_MS,
      () => mailed('RESOLVED').length === 1 && slackPosted('RESOLVED').length === 1 && posted('/hook', 'resolved').length === 1
        && posted('/big', 'resolved').length === 1 && posted('/fail', 'resolved').length === 1);
    await rounds([a, b], 3);
    assert.equal(mailed('RESOLVED').length, 1);
    assert.equal(slackPosted('RESOLVED').length, 1);
    assert.equal(posted('/hook', 'resolved').length, 1);
    assert.equal(mailed('FIRING').length, 1);
    const resolvedHook = posted('/hook', 'resolved')[0]!;
    assert.equal(resolvedHook.headers['x-cachier-signature'], signatureOf(resolvedHook.body, hook.secret!));
    assert.equal(JSON.parse(resolvedHook.body).state, 'ok');

    // Events, newest first, and the operator's view across caches.
    const list = await events();
    assert.ok(list.length <= 100);
    const ids = list.map((e) => (e as unknown as { id: number }).id);
    assert.deepEqual(ids, [...ids].sort((x, y) => y - x), 'newest first');
    assert.equal(list.filter((e) => e.kind === 'resolved').length, 7);
    const opToken = t.control.operatorToken;
    assert.ok(opToken, 'the operator token of the first start');
    const op = await t.api('/api/operator/alerts/events', { headers: { authorization: `Bearer ${opToken}` } });
    assert.equal(op.status, 200, op.text);
    assert.ok(op.json().every((e: { cache_id: number }) => e.cache_id === cache.id));
    assert.ok(op.json().length >= 12);
    assert.equal((await t.api('/api/operator/alerts/events', {})).status, 401);
    // Each attempt is a log line (ids, type, outcome), never a target's URL or the signing secret.
    const attempts = logged.filter((l) => l.event === 'alert_delivery');
    for (const type of ['email', 'slack', 'webhook']) assert.ok(attempts.some((l) => l.type === type && l.outcome === 'delivered'), `a delivered ${type} line`);
    assert.ok(attempts.some((l) => l.outcome === 'retry' && l.config === failing.id), 'a failed attempt to be retried');
    assert.ok(attempts.every((l) => l.part === 'alerts' && typeof l.delivery === 'number' && l.cache === cache.id), JSON.stringify(attempts[0]));
    const text = logged.map((l) => JSON.stringify(l)).join('\n');
    assert.ok(!text.includes(receiverUrl) && !text.includes(hook.secret!), 'no target URL or secret in the log');
    client.end();
  } finally {
    await stopPlane(a);
    await stopPlane(b);
  }
});

test('an id past PostgreSQL\'s integer (2147483648) is a 400, never a 500: alerts, configs, a delivery_config_id', async () => {
  const big = '2147483648';
  for (const [method, path, json] of [
    ['GET', `alerts/${big}`], ['PUT', `alerts/${big}`, {}], ['DELETE', `alerts/${big}`],
    ['DELETE', `alerts/configs/${big}`], ['POST', `alerts/configs/${big}/test`],
    ['POST', 'alerts', { trigger_type: 'memory_usage', trigger_threshold: 50, delivery_config_id: Number(big) }],
  ] as [string, string, unknown?][]) {
    const r = await t.api(v2(path), { auth: cache, method, ...(json === undefined ? {} : { json }) });
    assert.equal(r.status, 400, `${method} ${path}: ${r.text}`);
  }
});
