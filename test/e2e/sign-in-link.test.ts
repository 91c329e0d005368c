// The dashboard sign-in link in a real browser (headless Chromium, as dashboard.test.ts):
// against the real `cachier start`, a link made with the API v2's rotate_sso opens the
// dashboard with no password prompt, stays signed in across reloads and new tabs of the
// browser, changes things through the session (the flush button: a POST that must carry
// X-Requested-With), signs out for good, and stops working when rotated. Screenshots in
// test-output/screenshots/sign-in-link-*.png. Any console error fails it, except the
// browser's own "Failed to load resource" for the refusals we cause on purpose.
//
// Needs /usr/bin/chromium (scripts/install-test-deps.sh); CHROMIUM_PATH overrides it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '../support/child-process.ts';
import { createCache, makeDataDir, startCluster, type Cluster, type CreatedCache } from '../support/cluster.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(REPO_ROOT, 'test-output', 'screenshots');

let cluster: Cluster;
let cache: CreatedCache;
let browser: Browser;

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-test-deps.sh (or set CHROMIUM_PATH)`);
  const dataDir = makeDataDir();
  cache = await createCache(dataDir, '8mb');
  cluster = await startCluster({ dataDir, nodes: 1 });
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

const base = () => `http://${cluster.host}:${cluster.httpPort}`;

async function rotate(): Promise<string> {
  const res = await fetch(`${base()}/api/v2/caches/${cache.id}/rotate_sso`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${cache.username}:${cache.password}`).toString('base64')}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()) as string;
}

function watch(page: Page, errors: string[], allowed: RegExp): void {
  page.on('console', (m) => {
    if (m.type() === 'error' && !allowed.test(m.text())) errors.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
}

async function signedIn(page: Page): Promise<void> {
  await page.waitForSelector('#tab-overview[aria-current="page"]');
  await page.waitForSelector('#servers-table tbody tr[data-server]');
  assert.equal(await page.locator('#login-username').count(), 0, 'no password prompt');
}

test('a sign-in link opens the dashboard without a password, survives reloads and new tabs, signs out, and dies when rotated', async () => {
  for (const spec of [{ width: 1280, height: 900, isMobile: false }, { width: 390, height: 844, isMobile: true }]) {
    const errors: string[] = [];
    const context: BrowserContext = await browser.newContext({
      viewport: { width: spec.width, height: spec.height }, isMobile: spec.isMobile, hasTouch: spec.isMobile,
    });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      watch(page, errors, /Failed to load resource: the server responded with a status of 40[34]/);
      const link = await rotate();

      await page.goto(link);
      await signedIn(page);
      assert.equal(new URL(page.url()).pathname, '/', 'the token is not left in the address bar');
      await page.screenshot({ path: path.join(SHOTS, `sign-in-link-overview-${spec.width}.png`), fullPage: true });
      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === 'cachier_session')!;
      assert.ok(session.httpOnly && session.sameSite === 'Strict', JSON.stringify(session));
      assert.equal(await page.evaluate(() => document.cookie.includes('cachier_session')), false, 'the session is not readable by scripts');

      // The Connect screen has no password to show.
      await page.click('#tab-connect');
      await page.waitForSelector('#env-password');
      assert.match((await page.textContent('#env-password'))!, /signed in with a link/);
      assert.equal(await page.isVisible('#reveal-password'), false);

      // A change through the session: flush (POST with X-Requested-With).
      await page.click('#tab-overview');
      await page.waitForSelector('#flush:not([disabled])');
      await page.click('#flush');
      await page.waitForSelector('dialog[open]');
      await page.click('dialog[open] .dialog-actions button[value="confirm"]');
      await page.waitForSelector('.toast-success');

      await page.reload();
      await signedIn(page);
      const tab = await context.newPage();
      watch(tab, errors, /Failed to load resource: the server responded with a status of 40[34]/);
      await tab.goto(base());
      await signedIn(tab);
      await tab.close();

      await page.click('#sign-out');
      await page.waitForSelector('#login-username');
      await page.waitForFunction(() => !document.cookie.includes('cachier_sso'));
      await page.reload();
      await page.waitForSelector('#login-username');
      const after = await context.cookies();
      assert.equal(after.find((c) => c.name === 'cachier_session' && c.value !== ''), undefined, 'the session cookie is gone');

      // Signed in again by the same link, then the link is rotated: the page loses access.
      await page.goto(link);
      await signedIn(page);
      await rotate();
      await page.goto(link);
      assert.match((await page.textContent('body'))!, /not valid/);
      await page.goto(base());
      await page.waitForSelector('#login-username');
      await page.screenshot({ path: path.join(SHOTS, `sign-in-link-rotated-${spec.width}.png`), fullPage: true });
    } finally {
      await context.close();
    }
    assert.deepEqual(errors, [], `console errors at ${spec.width}px`);
  }
});
