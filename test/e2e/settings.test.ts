// The Settings screen in a real browser (headless Chromium, as dashboard.test.ts), against
// the real `cachier start` (2 nodes). At desktop and phone width, each with a cache of its
// own: the cache as the API v2's info has it (id, plan, cluster, servers, state); the
// sign-in link rotated behind a confirmation (cancel changes nothing; the new link is
// shown once, works, and the old one stops); credentials through v2 (the password shown
// once; a checkbox PATCHes all three capabilities; promote; delete) and cachier's rule
// seen from a credential without flush (the API's 403 message shown, nothing changed);
// a cache disabled for inactivity while signed in (banner, other screens give way,
// re-enabled from Settings) and signed into while disabled (the form asks for the cache
// ID); one an operator disabled (enable_cache's 403 shown); the old #/credentials address.
// Screenshots: test-output/screenshots/settings-*.png. Console errors fail it, except the
// browser's own "Failed to load resource" for refusals caused on purpose.
//
// Needs /usr/bin/chromium (scripts/install-test-deps.sh); CHROMIUM_PATH overrides it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Request } from 'playwright-core';
import { openCatalog } from '../../src/catalog/open.ts';
import { runCli } from '../support/child-process.ts';
import { createCache, makeDataDir, startCluster, type Cluster, type CreatedCache } from '../support/cluster.ts';
import { api, BrowserPage, launchBrowser, WIDTHS, type Auth } from './support.ts';

interface Credential {
  id: number;
  sasl_username: string;
  primary: boolean;
  write_capability: boolean;
  flush_capability: boolean;
  api_capability: boolean;
}
interface Info {
  id: number;
  plan: number;
  enabled: boolean;
  cluster_name: string;
  servers: string[];
}

let cluster: Cluster;
let dataDir: string;
let browser: Browser;

before(async () => {
  dataDir = makeDataDir();
  await createCache(dataDir, '8mb');
  cluster = await startCluster({ dataDir, nodes: 2, historyInterval: 1 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await cluster?.stop();
});

/** `cachier cache disable|enable ID`: what an operator does. */
async function operator(action: 'disable' | 'enable', id: number | string): Promise<void> {
  await runCli(['cache', action, String(id), '--data', dataDir]);
}

/** Disables a cache as --disable-idle-days would: its last traffic long ago. */
async function disableForInactivity(id: number): Promise<void> {
  const catalog = await openCatalog({ dataDir });
  try {
    await catalog.recordActivity([{ cacheId: id, marks: {}, trafficAt: Date.now() - 40 * 86_400_000 }]);
    const disabled = await catalog.disableIdleCaches(Date.now() + 60_000);
    assert.ok(disabled.includes(id), `cache ${id} disabled for inactivity (${JSON.stringify(disabled)})`);
  } finally {
    await catalog.close();
  }
}

/** Where a sign-in link leads: 303 while it works, 404 once rotated. */
async function linkStatus(link: string): Promise<number> {
  return (await fetch(link, { redirect: 'manual' })).status;
}

for (const spec of WIDTHS) {
  test(`settings at ${spec.width}px`, { timeout: 240_000 }, async () => {
    const cache: CreatedCache = await createCache(dataDir, '8mb');
    const id = Number(cache.id);
    const primary: Auth = { username: cache.username, password: cache.password };
    const v2 = (p: string) => `/api/v2/caches/${id}/${p}`;
    const credentials = async () => (await api<Credential[]>(cluster, v2('credentials'), primary)).body;
    const s = await BrowserPage.open(browser, spec, cluster);
    const { page } = s;
    try {
      await s.goto();
      await s.signInOk(primary);
      await s.tab('settings');

      // ---- the cache, as info has it
      const info = (await api<Info>(cluster, v2('info'), primary)).body;
      await page.waitForSelector('#cache-status[data-value="enabled"]');
      assert.equal(await page.textContent('#cache-id'), String(id));
      assert.equal(await page.getAttribute('#cache-plan', 'data-value'), String(8 * 1024 * 1024));
      assert.match((await page.textContent('#cache-plan')) ?? '', /8\.00\sMiB · 4\.00\sMiB on each of 2 servers/);
      assert.equal(await page.getAttribute('#cache-cluster', 'data-value'), info.cluster_name);
      assert.deepEqual(await page.$$eval('#cache-servers code', (els) => els.map((e) => e.textContent)), info.servers);
      assert.deepEqual([...info.servers].sort(), [...cluster.servers].sort());
      assert.equal(await page.textContent('#cache-api-url'), `${s.base}/api/v2/caches/${id}/`);
      await page.waitForSelector(`#credentials-table tr[data-username="${cache.username}"]`);
      await s.shot('settings');

      // ---- the sign-in link: cancel changes nothing; rotate shows the new link once
      const before = (await api<string>(cluster, v2('rotate_sso'), primary, { method: 'POST' })).body;
      assert.equal(await linkStatus(before), 303);
      await page.click('#rotate-sso');
      await page.waitForSelector('dialog[open]');
      assert.match((await page.textContent('dialog[open]')) ?? '', /stops working at once/);
      await s.shot('settings-rotate-confirm');
      await s.cancel();
      assert.equal(await linkStatus(before), 303, 'cancel rotates nothing');
      await page.click('#rotate-sso');
      await s.confirm();
      await page.waitForSelector('#new-sign-in-link:not([hidden]) #sign-in-link');
      const link = (await page.textContent('#sign-in-link'))!.trim();
      assert.match(link, new RegExp(`^${s.base}/sso/${id}/`));
      assert.ok(await page.isVisible('#new-sign-in-link button[aria-label="Copy the sign-in link"]'), 'with a copy button');
      assert.match((await page.textContent('#new-sign-in-link')) ?? '', /shown only this once.*old link no longer works/);
      assert.equal(await linkStatus(before), 404, 'the old link stopped');
      assert.equal(await linkStatus(link), 303, 'the new link works');
      await s.shot('settings-link');
      await page.click('#sign-in-link-done');
      await page.waitForSelector('#new-sign-in-link', { state: 'hidden' });
      await page.reload();
      await page.waitForSelector('#cache-status[data-value="enabled"]');
      assert.equal(await page.isVisible('#sign-in-link'), false, 'never shown again');

      // ---- credentials through v2
      const start = await credentials();
      await page.click('#create-credential');
      await page.waitForSelector('#new-credential:not([hidden])');
      const newUser = (await page.textContent('#new-credential-username'))!.trim();
      const newPass = (await page.textContent('#new-credential-password'))!.trim();
      assert.ok(newUser && newPass);
      assert.equal(await page.textContent('#new-credential-capabilities'), 'write, flush, api', 'the creator’s own capabilities');
      await page.waitForSelector('#credentials-panel:not(.is-busy)');
      await page.waitForSelector(`#credentials-table tr[data-username="${newUser}"]`);
      await s.shot('settings-credential-created');
      assert.equal((await credentials()).length, start.length + 1);
      assert.equal((await api(cluster, '/api/v1/login', { username: newUser, password: newPass })).status, 200, 'the shown password works');
      assert.equal(JSON.stringify((await api(cluster, v2('credentials'), primary)).body).includes(newPass), false, 'and is never listed');
      await page.reload();
      await page.waitForSelector(`#credentials-table tr[data-username="${newUser}"]`);
      assert.equal(await page.isVisible('#new-credential-password'), false, 'the password is gone after a reload');

      // A checkbox sends all three capabilities: v2's PATCH replaces them.
      const row = (u: string) => page.locator(`#credentials-table tr[data-username="${u}"]`);
      const patch = page.waitForRequest((r: Request) => r.method() === 'PATCH');
      await row(newUser).locator('label[for^="cap-flush-"]').click();
      const sent = await patch;
      assert.equal(new URL(sent.url()).pathname, v2(`credentials/${newUser}`));
      assert.deepEqual(JSON.parse(sent.postData()!), { write_capability: true, flush_capability: false, api_capability: true });
      await page.waitForSelector('#credentials-panel:not(.is-busy)');
      let mine = (await credentials()).find((c) => c.sasl_username === newUser)!;
      assert.deepEqual([mine.write_capability, mine.flush_capability, mine.api_capability], [true, false, true]);
      assert.equal(await row(newUser).locator('input[data-capability="flush_capability"]').isChecked(), false);

      // Promote it, then the original back.
      await row(newUser).locator('[data-action="promote"]').click();
      await row(newUser).locator('.chip-primary').waitFor();
      assert.equal((await credentials()).find((c) => c.primary)?.sasl_username, newUser);
      assert.ok(await row(newUser).locator('[data-action="delete"]').isDisabled(), 'the primary cannot be deleted');
      await row(cache.username).locator('[data-action="promote"]').click();
      await row(cache.username).locator('.chip-primary').waitFor();
      assert.equal((await credentials()).find((c) => c.primary)?.sasl_username, cache.username);
      await s.shot('settings-credentials');

      // ---- cachier's rule, from a credential without flush: the API's 403, shown; nothing changes
      await s.signOut();
      await s.signInOk({ username: newUser, password: newPass });
      await s.tab('settings');
      await page.waitForSelector('#capability-note:not([hidden])');
      assert.match((await page.textContent('#capability-note')) ?? '', /write, api only/);
      const forbidden = /You are not authorized to perform this action\./;
      // Raising its own flush.
      await s.expecting(/403/, async () => {
        await row(newUser).locator('label[for^="cap-flush-"]').click();
        await page.waitForSelector('#credentials-alert:not([hidden])');
      });
      assert.match((await page.textContent('#credentials-alert')) ?? '', forbidden);
      await page.waitForSelector('#credentials-panel:not(.is-busy)');
      assert.equal(await row(newUser).locator('input[data-capability="flush_capability"]').isChecked(), false, 'the box shows the API’s answer');
      assert.equal((await credentials()).find((c) => c.sasl_username === newUser)!.flush_capability, false);
      // A credential it creates has at most its own capabilities.
      await page.click('#create-credential');
      await page.waitForSelector('#new-credential:not([hidden])');
      const third = (await page.textContent('#new-credential-username'))!.trim();
      assert.equal(await page.textContent('#new-credential-capabilities'), 'write, api');
      await page.waitForSelector('#credentials-panel:not(.is-busy)');
      const made = (await credentials()).find((c) => c.sasl_username === third)!;
      assert.deepEqual([made.write_capability, made.flush_capability, made.api_capability], [true, false, true]);
      // Deleting and promoting need all three.
      await s.expecting(/403/, async () => {
        await row(third).locator('[data-action="delete"]').click();
        await s.confirm();
        await page.waitForFunction(() => /Deleting .* failed/.test(document.getElementById('credentials-alert')?.textContent ?? ''));
      });
      assert.match((await page.textContent('#credentials-alert')) ?? '', forbidden);
      assert.ok((await credentials()).some((c) => c.sasl_username === third), 'still there');
      await page.waitForSelector('#credentials-panel:not(.is-busy)');
      await s.expecting(/403/, async () => {
        await row(third).locator('[data-action="promote"]').click();
        await page.waitForFunction(() => /Promoting .* failed/.test(document.getElementById('credentials-alert')?.textContent ?? ''));
      });
      assert.match((await page.textContent('#credentials-alert')) ?? '', /all three capabilities/);
      // Rotating the link needs all three too.
      await page.click('#rotate-sso');
      await s.expecting(/403/, async () => {
        await s.confirm();
        await page.waitForSelector('#sign-in-link-alert:not([hidden])');
      });
      assert.match((await page.textContent('#sign-in-link-alert')) ?? '', forbidden);
      assert.equal(await linkStatus(link), 303, 'the link was not rotated');
      await page.evaluate(() => window.scrollTo(0, 0));
      await s.shot('settings-limited');
      await s.signOut();

      // ---- clean up as the primary: delete both
      await s.signInOk(primary);
      await s.tab('settings');
      for (const user of [third, newUser]) {
        await row(user).locator('[data-action="delete"]').click();
        await s.confirm();
        await row(user).waitFor({ state: 'detached' });
      }
      assert.equal((await credentials()).length, start.length);

      // ---- disabled for inactivity while signed in: banner, other screens give way, re-enable
      await s.expecting(/404/, async () => {
        await disableForInactivity(id);
        await page.waitForSelector('#disabled-banner:not([hidden])');
      }, { mustSee: false });
      await page.waitForSelector('#enable-panel:not([hidden])');
      await page.waitForSelector('#cache-status[data-value="disabled"]');
      assert.ok(await page.isDisabled('#rotate-sso'), 'no rotating while disabled');
      await s.shot('settings-disabled');
      await s.tab('overview');
      await page.waitForSelector('#disabled-screen');
      await s.tab('insight');
      await page.waitForSelector('#disabled-screen');
      await page.click('#disabled-screen a[href="#/settings"]');
      await page.click('#enable-cache');
      await page.waitForSelector('#disabled-banner', { state: 'hidden' });
      await page.waitForSelector('#cache-status[data-value="enabled"]');
      assert.equal((await api<Info>(cluster, v2('info'), primary)).body.enabled, true, 'enabled again');
      await s.tab('overview');
      await page.waitForSelector('#servers-table tbody tr[data-server]');

      // ---- signing in to a disabled cache: the form asks for its ID
      await s.signOut();
      await disableForInactivity(id);
      await s.expecting(/404/, async () => {
        await s.signIn(primary);
        await page.waitForSelector('#login-cache-field:not([hidden])');
      });
      assert.match((await page.textContent('#login-error')) ?? '', /No cache found\..*cache ID/);
      await s.shot('login-disabled');
      await page.fill('#login-cache-id', String(id));
      await s.expecting(/404/, async () => {
        await page.click('.login-form button[type="submit"]');
        await page.waitForSelector('#disabled-banner:not([hidden])');
      });
      await s.tab('settings');
      await page.click('#enable-cache');
      await page.waitForSelector('#disabled-banner', { state: 'hidden' });
      await s.tab('overview');
      await page.waitForSelector('#servers-table tbody tr[data-server]');

      // ---- disabled by an operator: enable_cache's 403, shown
      await s.expecting(/40[34]/, async () => {
        await operator('disable', id);
        await page.waitForSelector('#disabled-banner:not([hidden])');
        await s.tab('settings');
        await page.click('#enable-cache');
        await page.waitForSelector('#settings-alert:not([hidden])');
      });
      assert.match((await page.textContent('#settings-alert')) ?? '', /Not allowed to enable this cache\./);
      assert.equal((await api<Info>(cluster, v2('info'), primary)).body.enabled, false);
      await s.shot('settings-operator-disabled');
      await operator('enable', id);
      await page.reload();
      await page.waitForSelector('#cache-status[data-value="enabled"]');
      assert.equal(await page.isVisible('#disabled-banner'), false);

      // ---- the old address of the credentials screen
      await s.goto('#/credentials');
      await page.waitForSelector('#tab-settings[aria-current="page"]');
      await page.waitForSelector('#credentials-table');
      assert.match(page.url(), /#\/settings\?panel=credentials$/);

      assert.deepEqual(await s.unlabelledControls(), []);
      await s.signOut();
      assert.deepEqual(s.consoleErrors, [], 'no console errors');
    } finally {
      await s.close();
    }
  });
}
