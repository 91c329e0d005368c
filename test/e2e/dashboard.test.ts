// The dashboard in a real browser: headless Chromium (Debian's, driven by playwright-core)
// against the real `cachier start` (2 nodes, history sampled every second). At desktop and
// at phone width it signs in, sends real memcache traffic with memjs and watches the
// numbers and charts follow, flushes, creates / updates / promotes / deletes a credential
// (the credentials panel of Settings),
// checks that a credential without flush_capability cannot flush and one without
// api_capability cannot sign in, and saves a screenshot of every screen to
// test-output/screenshots/<screen>-<width>.png. Any console error fails the test, except
// the browser's own "Failed to load resource: 403" while a refusal is what we expect.
//
// Needs /usr/bin/chromium (scripts/install-test-deps.sh); CHROMIUM_PATH overrides it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import memjs from 'memjs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../support/child-process.ts';
import { createCache, makeDataDir, startCluster, type Cluster, type CreatedCache } from '../support/cluster.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(REPO_ROOT, 'test-output', 'screenshots');
const WIDTHS = [
  { width: 1280, height: 900, isMobile: false },
  { width: 390, height: 844, isMobile: true },
] as const;

type Stats = Record<string, Record<string, number>>;
interface Credential {
  id: number;
  sasl_username: string;
  primary: boolean;
  write_capability: boolean;
  flush_capability: boolean;
  api_capability: boolean;
}

let cluster: Cluster;
let cache: CreatedCache;
let browser: Browser;
const primary = () => ({ username: cache.username, password: cache.password });

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-test-deps.sh (or set CHROMIUM_PATH)`);
  const dataDir = makeDataDir();
  // A small plan (2 MiB per node) so the traffic below also causes evictions.
  cache = await createCache(dataDir, '4mb');
  cluster = await startCluster({ dataDir, nodes: 2, historyInterval: 1 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await cluster?.stop();
});

// ---------------------------------------------------------------- the HTTP API, to check what the UI did

async function api<T>(apiPath: string, auth: { username: string; password: string }, method = 'GET'): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://${cluster.host}:${cluster.httpPort}${apiPath}`, {
    method,
    headers: { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` },
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const stats = async () => (await api<Stats>(`/api/v1/${cache.id}/stats`, primary())).body;
const credentials = async () => (await api<Credential[]>(`/api/v1/${cache.id}/credentials`, primary())).body;

function total(s: Stats, key: string): number {
  return Object.values(s).reduce((sum, server) => sum + (server[key] ?? 0), 0);
}

function band(hits: number, misses: number): string {
  if (hits + misses === 0) return 'none';
  const r = hits / (hits + misses);
  return r >= 0.8 ? 'good' : r >= 0.5 ? 'fair' : 'poor';
}

// ---------------------------------------------------------------- the browser side

class Session {
  readonly consoleErrors: string[] = [];
  /** Console errors matching this are expected right now (an intended 403). */
  allow: RegExp | undefined;
  /** How many expected console errors came so far. */
  allowed = 0;

  private constructor(readonly page: Page, readonly width: number) {
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      if (this.allow?.test(m.text())) {
        this.allowed++;
        return;
      }
      this.consoleErrors.push(`console.error: ${m.text()}`);
    });
    page.on('pageerror', (e) => this.consoleErrors.push(`uncaught: ${e.message}`));
  }

  static async open(spec: (typeof WIDTHS)[number]): Promise<Session> {
    const context = await browser.newContext({
      viewport: { width: spec.width, height: spec.height }, isMobile: spec.isMobile, hasTouch: spec.isMobile, deviceScaleFactor: 1,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    return new Session(page, spec.width);
  }

  async close(): Promise<void> {
    await this.page.context().close();
  }

  /** Saves the screen and checks the page does not scroll sideways. */
  async shot(screen: string): Promise<void> {
    // Transitions and animations finished: the layout measured is the one at rest.
    await this.page.evaluate(() => Promise.all(document.getAnimations()
      .filter((a) => a.effect?.getComputedTiming().endTime !== Infinity).map((a) => a.finished)));
    await this.page.screenshot({ path: path.join(SHOTS, `${screen}-${this.width}.png`), fullPage: true });
    const overflow = await this.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${screen} at ${this.width}px scrolls sideways by ${overflow}px`);
  }

  /** Runs `fn`, which makes the page get a 403, and waits for the browser to log it. */
  async expecting403<T>(fn: () => Promise<T>): Promise<T> {
    this.allow = /Failed to load resource: the server responded with a status of 403/;
    const before = this.allowed;
    try {
      const r = await fn();
      const deadline = Date.now() + 15_000;
      while (this.allowed === before) {
        if (Date.now() > deadline) throw new Error('the browser logged no 403');
        await this.page.waitForTimeout(20);
      }
      return r;
    } finally {
      this.allow = undefined;
    }
  }

  async signIn(username: string, password: string): Promise<void> {
    const { page } = this;
    await page.fill('#login-username', username);
    await page.fill('#login-password', password);
    await page.click('.login-form button[type="submit"]');
  }

  async signInOk(username: string, password: string): Promise<void> {
    await this.signIn(username, password);
    await this.page.waitForSelector('#tab-overview[aria-current="page"]');
    await this.page.waitForSelector('#servers-table tbody tr[data-server]');
  }

  async signOut(): Promise<void> {
    await this.page.click('#sign-out');
    await this.page.waitForSelector('#login-username');
    const stored = await this.page.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length, cookie: document.cookie }));
    assert.deepEqual(stored, { session: 0, local: 0, cookie: '' }, 'nothing of the credential is kept after sign-out');
  }

  async tab(name: 'overview' | 'insight' | 'history' | 'settings' | 'connect'): Promise<void> {
    await this.page.click(`#tab-${name}`);
    await this.page.waitForSelector(`#tab-${name}[aria-current="page"]`);
  }

  /** Waits until the data-value of `[data-stat=…]` equals `expected`. */
  async statIs(stat: string, expected: number | string): Promise<void> {
    await this.page.waitForFunction(
      ([s, v]) => document.querySelector(`[data-stat="${s}"]`)?.getAttribute('data-value') === v,
      [stat, String(expected)] as const,
    ).catch(async (e) => {
      const got = await this.page.getAttribute(`[data-stat="${stat}"]`, 'data-value', { timeout: 1000 }).catch((err: Error) => `unreadable (${err.message})`);
      throw new Error(`${stat}: expected ${expected}, the page shows ${got} (${(e as Error).message})`);
    });
  }

  async chart(id: string): Promise<{ points: number; last: number; max: number }> {
    const d = await this.page.$eval(`[data-chart="${id}"]`, (el) => ({ ...(el as HTMLElement).dataset }));
    return { points: Number(d.points ?? 0), last: Number(d.last || NaN), max: Number(d.max || NaN) };
  }

  async waitChart(id: string, ok: (c: { points: number; last: number; max: number }) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    let c = await this.chart(id);
    while (!ok(c)) {
      if (Date.now() > deadline) throw new Error(`chart ${id}: ${what}; it shows ${JSON.stringify(c)}`);
      await this.page.waitForTimeout(250);
      c = await this.chart(id);
    }
  }

  credRow(username: string) {
    return this.page.locator(`#credentials-table tr[data-username="${username}"]`);
  }

  /** Waits for the credentials table to be usable again after a change. */
  async credentialsIdle(): Promise<void> {
    await this.page.waitForSelector('#credentials-panel:not(.is-busy)');
    await this.page.waitForSelector('#create-credential:not([disabled])');
  }

  async confirm(): Promise<void> {
    await this.page.waitForSelector('dialog[open]');
    await this.page.click('dialog[open] .dialog-actions button[value="confirm"]');
    await this.page.waitForSelector('dialog[open]', { state: 'detached' });
  }
}

/** Sets, gets (hits and misses), deletes, incr/decr, touch: real traffic over both nodes. */
async function traffic(round: number): Promise<void> {
  const client = memjs.Client.create(cluster.servers.join(','), {
    username: cache.username, password: cache.password, timeout: 2, retries: 0, logger: { log: () => {} },
  });
  try {
    const value = 'x'.repeat(20_000);
    // ~6 MB into a 4 MiB cache: the oldest items are evicted.
    for (let i = 0; i < 300; i++) await client.set(`r${round}-big-${i}`, value, { expires: 0 });
    for (let i = 0; i < 100; i++) await client.set(`r${round}-k${i}`, `v${i}`, { expires: 0 });
    for (let i = 0; i < 100; i++) await client.get(`r${round}-k${i}`);
    for (let i = 0; i < 20; i++) await client.get(`r${round}-missing-${i}`);
    await client.delete(`r${round}-k0`);
    await client.delete(`r${round}-missing`);
    await client.set(`r${round}-n`, '10', {});
    await client.increment(`r${round}-n`, 5, {});
    await client.decrement(`r${round}-n`, 2, {});
    await client.touch(`r${round}-k1`, 300);
  } finally {
    client.close();
  }
}

for (const spec of WIDTHS) {
  test(`dashboard at ${spec.width}px`, { timeout: 180_000 }, async () => {
    const s = await Session.open(spec);
    const { page } = s;
    try {
      // ---- sign in
      await page.goto(`http://${cluster.host}:${cluster.httpPort}/`);
      await page.waitForSelector('#login-username');
      assert.equal(await page.getAttribute('label[for="login-username"]', 'for'), 'login-username');
      await s.shot('login');
      await s.signInOk(cache.username, cache.password);
      const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }));
      assert.ok(!(await page.evaluate(() => localStorage.length)), 'nothing in localStorage');
      assert.match(stored, /cachier/, 'the session lives in sessionStorage');
      assert.equal(await page.locator('#servers-table tbody tr[data-server]').count(), 2, 'one row per server');

      // ---- traffic: the overview follows by itself (auto-refresh)
      const flushesBefore = total(await stats(), 'cmd_flush');
      await traffic(spec.width);
      const after = await stats();
      assert.ok(total(after, 'evictions') > 0, 'the traffic evicted items');
      await s.statIs('curr_items', total(after, 'curr_items'));
      await s.statIs('bytes', total(after, 'bytes'));
      await s.statIs('limit_maxbytes', 4 * 1024 * 1024);
      await s.statIs('evictions', total(after, 'evictions'));
      await s.statIs('cmd_set', total(after, 'cmd_set'));
      await s.statIs('get_hits', total(after, 'get_hits'));
      await s.statIs('get_misses', total(after, 'get_misses'));
      for (const k of ['delete_hits', 'delete_misses', 'incr_hits', 'decr_hits', 'touch_hits']) await s.statIs(k, total(after, k));
      assert.ok(total(after, 'total_connections') > 0);
      await s.statIs('total_connections', total((await stats()), 'total_connections'));
      const expectedBand = band(total(after, 'get_hits'), total(after, 'get_misses'));
      await page.waitForSelector(`#card-hitrate[data-band="${expectedBand}"]`);
      assert.match(await page.textContent('#hit-band') ?? '', /good|fair|poor/i);
      const serverRows = await page.$$eval('#servers-table tbody tr[data-server]', (rows) => rows.map((r) => r.getAttribute('data-server')));
      assert.deepEqual(serverRows.sort(), Object.keys(after).sort(), 'the servers table names every server of the stats');
      await s.shot('overview');

      // ---- history: charts fill from the sampler
      await s.tab('history');
      await page.waitForSelector('[data-chart="memory"] canvas');
      await s.waitChart('items', (c) => c.last === total(after, 'curr_items') && c.points >= 2, 'the newest items sample matches the stats');
      await s.waitChart('memory', (c) => c.last === total(after, 'bytes'), 'the newest memory sample matches the stats');
      await s.waitChart('requests', (c) => c.max > 0, 'gets per second above zero');
      await s.waitChart('evictions', (c) => c.max > 0, 'evictions per second above zero');
      await s.waitChart('hit-rate', (c) => c.max > 0, 'a hit rate');
      await s.waitChart('connections', (c) => c.points >= 2, 'connection samples');
      const pointsBefore = (await s.chart('memory')).points;
      await s.waitChart('memory', (c) => c.points > pointsBefore, 'new samples arrive on their own');
      assert.equal(await page.isChecked('#range-1h'), true);
      assert.equal(await page.isChecked('#auto-refresh'), true);
      await s.shot('history');
      for (const r of ['24h', '7d', '30d', '1h']) {
        await page.click(`label[for="range-${r}"]`);
        await page.waitForFunction((id) => (document.getElementById(`range-${id}`) as HTMLInputElement).checked, r);
        await s.waitChart('memory', (c) => c.points >= 2, `samples in range ${r}`);
      }

      // ---- flush, with a confirmation step
      await s.tab('overview');
      await page.waitForSelector('#flush:not([disabled])');
      assert.equal(await page.isVisible('#flush-reason'), false, 'no reason shown when flush is allowed');
      await page.click('#flush');
      await page.waitForSelector('dialog[open]');
      await s.shot('flush-confirm');
      await page.click('dialog[open] button[value="cancel"]');
      await page.waitForSelector('dialog[open]', { state: 'detached' });
      assert.ok(total(await stats(), 'curr_items') > 0, 'cancel flushes nothing');
      await page.click('#flush');
      await s.confirm();
      await s.statIs('curr_items', 0);
      const flushed = await stats();
      assert.equal(total(flushed, 'curr_items'), 0);
      assert.ok(total(flushed, 'cmd_flush') > flushesBefore, 'the flush reached the servers');
      await s.statIs('cmd_flush', total(flushed, 'cmd_flush'));
      await page.waitForSelector('.toast-success');

      // ---- credentials: create, update, promote, delete
      await s.tab('settings');
      await page.waitForSelector(`#credentials-table tr[data-username="${cache.username}"]`);
      await s.shot('credentials');
      const before = await credentials();
      await page.click('#create-credential');
      await page.waitForSelector('#new-credential:not([hidden])');
      const newUser = (await page.textContent('#new-credential-username'))!.trim();
      const newPass = (await page.textContent('#new-credential-password'))!.trim();
      assert.ok(newUser && newPass, 'the new username and password are shown');
      assert.ok(await page.isVisible('#new-credential button[aria-label="Copy password"]'), 'with a copy button');
      await s.credentialsIdle();
      await s.shot('credential-created');
      let list = await credentials();
      assert.equal(list.length, before.length + 1);
      const created = list.find((c) => c.sasl_username === newUser);
      assert.ok(created, 'the API lists the new credential');
      assert.deepEqual([created.write_capability, created.flush_capability, created.api_capability, created.primary], [true, true, true, false]);
      assert.equal((await api(`/api/v1/login`, { username: newUser, password: newPass })).status, 200, 'the shown password works');

      // update: flush off for the new credential
      await s.credRow(newUser).locator('label[for^="cap-flush-"]').click();
      await s.credentialsIdle();
      list = await credentials();
      let mine = list.find((c) => c.sasl_username === newUser)!;
      assert.deepEqual([mine.write_capability, mine.flush_capability, mine.api_capability], [true, false, true]);
      assert.equal(await s.credRow(newUser).locator('input[data-capability="flush_capability"]').isChecked(), false);

      // promote the new one, then the original back
      await s.credRow(newUser).locator('[data-action="promote"]').click();
      await s.credentialsIdle();
      await s.credRow(newUser).locator('.chip-primary').waitFor();
      list = await credentials();
      assert.equal(list.find((c) => c.primary)?.sasl_username, newUser, 'the API has the new primary');
      assert.ok(await s.credRow(newUser).locator('[data-action="delete"]').isDisabled(), 'the primary cannot be deleted');
      await s.credRow(cache.username).locator('[data-action="promote"]').click();
      await s.credentialsIdle();
      await s.credRow(cache.username).locator('.chip-primary').waitFor();
      assert.equal((await credentials()).find((c) => c.primary)?.sasl_username, cache.username);

      // ---- a credential without flush_capability: Flush disabled, with the reason
      await s.signOut();
      await s.signInOk(newUser, newPass);
      await page.waitForSelector('#flush[disabled]');
      await page.waitForSelector('#flush-reason:not([hidden])');
      assert.match((await page.textContent('#flush-reason')) ?? '', /lacks the flush capability/);
      await s.shot('overview-no-flush');
      await s.signOut();

      // ---- a credential without api_capability is refused
      await s.signInOk(cache.username, cache.password);
      await s.tab('settings');
      await s.credRow(newUser).locator('label[for^="cap-api-"]').click();
      await s.credentialsIdle();
      mine = (await credentials()).find((c) => c.sasl_username === newUser)!;
      assert.equal(mine.api_capability, false);
      await s.signOut();
      await s.expecting403(async () => {
        await s.signIn(newUser, newPass);
        await page.waitForSelector('#login-error:not([hidden])');
      });
      assert.match((await page.textContent('#login-error')) ?? '', /not authorized/i);
      assert.equal(await page.isVisible('#tab-overview'), false, 'still on the sign-in screen');
      assert.equal(await page.evaluate(() => sessionStorage.length), 0);
      await s.shot('login-refused');

      // ---- delete it
      await s.signInOk(cache.username, cache.password);
      await s.tab('settings');
      await s.credRow(newUser).locator('[data-action="delete"]').click();
      await page.waitForSelector('dialog[open]');
      await s.shot('credential-delete-confirm');
      await s.confirm();
      await s.credentialsIdle();
      await s.credRow(newUser).waitFor({ state: 'detached' });
      list = await credentials();
      assert.equal(list.some((c) => c.sasl_username === newUser), false, 'the API no longer lists it');
      assert.equal(list.length, before.length);
      assert.equal((await api(`/api/v1/login`, { username: newUser, password: newPass })).status, 403);

      // ---- connect
      await s.tab('connect');
      const servers = [...cluster.servers].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).join(',');
      await page.waitForFunction((v) => document.getElementById('env-servers')?.textContent === v, servers);
      assert.equal(await page.textContent('#env-username'), cache.username);
      assert.notEqual(await page.textContent('#env-password'), cache.password, 'the password is masked');
      await page.click('#reveal-password');
      assert.equal(await page.textContent('#env-password'), cache.password, 'and revealed on request');
      assert.equal(await page.getAttribute('#reveal-password', 'aria-pressed'), 'true');
      for (const id of ['dalli', 'pylibmc', 'memjs', 'php']) {
        assert.match((await page.textContent(`#snippet-${id} pre`)) ?? '', /MEMCACHIER_SERVERS/, `${id} snippet`);
      }
      await s.shot('connect');

      // ---- every control has an accessible name
      for (const screen of ['overview', 'insight', 'history', 'settings', 'connect'] as const) {
        await s.tab(screen);
        const unlabelled = await page.$$eval('input, button, select, textarea', (els) =>
          els.filter((el) => {
            const e = el as HTMLInputElement;
            const byLabel = e.labels && e.labels.length > 0;
            return !byLabel && !e.getAttribute('aria-label') && !e.textContent?.trim();
          }).map((el) => el.outerHTML.slice(0, 80)));
        assert.deepEqual(unlabelled, [], `unlabelled controls on ${screen}`);
      }

      await s.signOut();
      assert.deepEqual(s.consoleErrors, [], 'no console errors');
    } finally {
      await s.close();
    }
  });
}
