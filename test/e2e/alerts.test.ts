// The Alerts screen in a real browser (headless Chromium, as settings.test.ts), against the
// real `cachier start` with --alert-allow-private-targets (its receivers are on loopback:
// an SMTP server from smtp-server and an HTTP server that checks webhook signatures). At
// desktop and phone width, each with a cache of its own: webhook, email and Slack targets
// added (the webhook's secret shown once); a test notification sent from each target's
// button arrives — signed with that secret, the email with its subject — and shows in the
// events list; an alert created, edited, disabled with its switch and deleted (after a
// cancelled confirmation), each checked through the API; a target still in use cannot be
// deleted (the API's message shown), then can. Screenshots:
// test-output/screenshots/alerts-*.png. Console errors fail it, except the browser's own
// "Failed to load resource" for the refusal caused on purpose.
//
// Needs /usr/bin/chromium (scripts/install-test-deps.sh); CHROMIUM_PATH overrides it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { createCache, makeDataDir, startCluster, type Cluster, type CreatedCache } from '../support/cluster.ts';
import { until } from '../support/wait.ts';
import { signatureOf } from '../../src/control/alerts/senders.ts';
import { api, BrowserPage, launchBrowser, WIDTHS, type Auth } from './support.ts';

interface Post { path: string; body: string; headers: http.IncomingHttpHeaders }
const posts: Post[] = [];
const mails: { to: string; raw: string }[] = [];
let receiver: http.Server;
let receiverUrl = '';
let smtp: SMTPServer;

let cluster: Cluster;
let browser: Browser;

before(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      res.writeHead(200).end('ok');
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
  const dataDir = makeDataDir();
  cluster = await startCluster({
    dataDir, nodes: 1,
    extraArgs: ['--alert-allow-private-targets', '--smtp-url', `smtp://127.0.0.1:${smtpPort}`, '--smtp-from', 'cachier@example.com'],
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await cluster?.stop();
  receiver?.closeAllConnections();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

interface Config { id: number; delivery_type: string; url: string; email: string; slack_url: string }
interface Alert { id: number; trigger_type: string; trigger_threshold: number; delivery_config_id: number; description: string; enabled: boolean }

for (const spec of WIDTHS) {
  test(`alerts at ${spec.width}px`, { timeout: 240_000 }, async () => {
    const cache: CreatedCache = await createCache(cluster.dataDir, '8mb');
    const id = Number(cache.id);
    const auth: Auth = { username: cache.username, password: cache.password };
    const v2 = (p: string) => `/api/v2/caches/${id}/${p}`;
    const configs = async () => (await api<Config[]>(cluster, v2('alerts/configs'), auth)).body;
    const alerts = async () => (await api<Alert[]>(cluster, v2('alerts'), auth)).body;
    const s = await BrowserPage.open(browser, spec, cluster);
    const { page } = s;
    // The screen as it stands, without the confirmations that fade out after 4 s on top of it.
    const shot = async (name: string) => {
      await page.evaluate(() => document.querySelectorAll('.toast').forEach((t) => t.remove()));
      await s.shot(name);
    };
    try {
      await s.goto();
      await s.signInOk(auth);
      await s.tab('alerts');
      await page.waitForSelector('#targets-panel[data-count="0"]');
      await page.waitForSelector('#events-table td.empty');
      const tabs = await page.$eval('.tabs', (el) => el.scrollWidth - el.clientWidth);
      assert.ok(tabs <= 0, `every tab fits at ${spec.width}px (${tabs}px over)`);
      await shot('alerts-empty');

      // ---- targets: a webhook (its secret shown once), an email, a Slack channel
      const hookPath = `/hook-${spec.width}`;
      await page.selectOption('#target-type', 'webhook');
      await page.fill('#target-url', `${receiverUrl}${hookPath}`);
      await page.click('#add-target');
      await page.waitForSelector('#new-target:not([hidden]) #new-target-secret');
      const secret = (await page.textContent('#new-target-secret'))!.trim();
      assert.match(secret, /^[0-9a-f]{64}$/);
      assert.ok(await page.isVisible('#new-target button[aria-label="Copy the signing secret"]'));
      await page.waitForSelector('#targets-panel[data-count="1"]');
      await shot('alerts-webhook-secret');
      const hook = (await configs()).find((c) => c.delivery_type === 'webhook')!;
      assert.equal(hook.url, `${receiverUrl}${hookPath}`);
      await page.click('#new-target-done');
      assert.equal(await page.isVisible('#new-target-secret'), false, 'the secret is gone once dismissed');

      const to = `ops-${spec.width}@example.com`;
      await page.selectOption('#target-type', 'email');
      await page.fill('#target-email', to);
      await page.click('#add-target');
      await page.waitForSelector('#targets-panel[data-count="2"]');
      await page.selectOption('#target-type', 'slack');
      await page.fill('#target-slack-url', `${receiverUrl}/slack-${spec.width}`);
      await page.fill('#target-slack-channel', '#ops');
      await page.click('#add-target');
      await page.waitForSelector('#targets-panel[data-count="3"]');
      assert.equal(await page.isVisible('#new-target-secret'), false, 'only a webhook has a secret');
      const all = await configs();
      assert.deepEqual(all.map((c) => c.delivery_type), ['webhook', 'email', 'slack']);
      const email = all[1]!;
      const slack = all[2]!;

      // ---- a test notification per target: it arrives and shows in the events list
      await page.click(`#targets-table tr[data-config-id="${hook.id}"] button[data-action="test"]`);
      await page.waitForSelector('#targets-alert.alert-success');
      assert.match((await page.textContent('#targets-alert')) ?? '', /Test notification delivered .*HTTP 200/);
      const post = posts.find((p) => p.path === hookPath)!;
      assert.ok(post, 'the webhook receiver got the test');
      assert.equal(post.headers['x-cachier-signature'], signatureOf(post.body, secret), 'signed with the secret the screen showed');
      assert.equal(JSON.parse(post.body).event, 'test');
      await page.waitForSelector('#events-table tr[data-kind="test_delivered"]');

      await page.click(`#targets-table tr[data-config-id="${email.id}"] button[data-action="test"]`);
      await until('the test email', Date.now() + 15_000, () => mails.some((m) => m.to === to));
      assert.match(mails.find((m) => m.to === to)!.raw, /Subject: \[cachier\] TEST: notification from cache/);
      await page.click(`#targets-table tr[data-config-id="${slack.id}"] button[data-action="test"]`);
      await until('the Slack post', Date.now() + 15_000, () => posts.some((p) => p.path === `/slack-${spec.width}`));
      assert.equal(JSON.parse(posts.find((p) => p.path === `/slack-${spec.width}`)!.body).channel, '#ops');
      await until('three test events listed', Date.now() + 20_000,
        async () => (await page.$$('#events-table tr[data-kind="test_delivered"]')).length === 3);
      assert.match((await page.textContent('#events-table tbody')) ?? '', /Test delivered.*Email/s);
      await shot('alerts-tested');

      // ---- an alert: create, edit, disable, delete
      await page.selectOption('#alert-type', 'memory_usage');
      await page.fill('#alert-threshold', '80');
      await page.selectOption('#alert-target', String(hook.id));
      await page.fill('#alert-description', 'nearly full');
      await page.click('#save-alert');
      await page.waitForSelector('#alerts-panel[data-count="1"]');
      let [a] = await alerts();
      assert.deepEqual({ ...a, id: 0 }, { id: 0, trigger_type: 'memory_usage', trigger_threshold: 80, delivery_config_id: hook.id, description: 'nearly full', enabled: true });
      const row = `#alerts-table tr[data-alert-id="${a!.id}"]`;
      assert.match((await page.textContent(row)) ?? '', /Memory usage.*above 80%.*nearly full/s);

      // A bad threshold is refused on the page and nothing is sent.
      await page.click(`${row} button[data-action="edit"]`);
      assert.equal(await page.inputValue('#alert-threshold'), '80');
      await page.fill('#alert-threshold', '150');
      await page.click('#save-alert');
      await page.waitForSelector('#alert-list-alert:not([hidden])');
      assert.match((await page.textContent('#alert-list-alert')) ?? '', /from 0 to 100/);
      await page.fill('#alert-threshold', '90');
      await page.fill('#alert-description', 'almost full');
      await page.selectOption('#alert-target', String(email.id));
      await shot('alerts-edit');
      await page.click('#save-alert');
      await until('the edit saved', Date.now() + 10_000, async () => (await alerts())[0]?.trigger_threshold === 90);
      [a] = await alerts();
      assert.deepEqual([a!.trigger_threshold, a!.description, a!.delivery_config_id, a!.enabled], [90, 'almost full', email.id, true]);
      await page.waitForFunction((sel) => /above 90%/.test(document.querySelector(sel)?.textContent ?? ''), row);

      await page.click(`${row} label.switch`);
      await until('the alert disabled', Date.now() + 10_000, async () => (await alerts())[0]?.enabled === false);
      await page.waitForSelector(`${row}.is-off`);
      await shot('alerts');

      // A target in use cannot be deleted: the API's message is shown.
      await s.expecting(/400/, async () => {
        await page.click(`#targets-table tr[data-config-id="${email.id}"] button[data-action="delete"]`);
        await page.waitForSelector('dialog[open]');
        assert.match((await page.textContent('dialog[open]')) ?? '', /1 alert uses it/);
        await s.confirm();
        await page.waitForSelector('#targets-alert.alert-error');
      });
      assert.match((await page.textContent('#targets-alert')) ?? '', new RegExp(`used by alerts: ${a!.id}\\.`));
      assert.equal((await configs()).length, 3);

      await page.click(`${row} button[data-action="delete"]`);
      await page.waitForSelector('dialog[open]');
      await shot('alerts-delete-confirm');
      await s.cancel();
      assert.equal((await alerts()).length, 1, 'cancel deletes nothing');
      await page.click(`${row} button[data-action="delete"]`);
      await s.confirm();
      await page.waitForSelector('#alerts-panel[data-count="0"]');
      assert.deepEqual(await alerts(), []);

      await page.click(`#targets-table tr[data-config-id="${email.id}"] button[data-action="delete"]`);
      await s.confirm();
      await page.waitForSelector('#targets-panel[data-count="2"]');
      assert.deepEqual((await configs()).map((c) => c.id), [hook.id, slack.id]);

      // The address keeps the screen.
      await page.reload();
      await page.waitForSelector('#tab-alerts[aria-current="page"]');
      await page.waitForSelector('#targets-panel[data-count="2"]');

      assert.deepEqual(await s.unlabelledControls(), []);
      assert.deepEqual(s.consoleErrors, [], 'no console errors');
    } finally {
      await s.close();
    }
  });
}
