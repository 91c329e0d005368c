// Shared by the browser tests of Insight and Settings (insight.test.ts, settings.test.ts):
// Debian's Chromium through playwright-core, a page wrapper that fails on console errors
// (except refusals a test causes on purpose), saves screenshots to
// test-output/screenshots/<name>-<width>.png and checks the page never scrolls sideways,
// the HTTP API to check what the page did, and a background memcache workload (memjs)
// so charts have real data.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import memjs from 'memjs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../support/child-process.ts';
import type { Cluster, CreatedCache } from '../support/cluster.ts';
import { sleep } from '../support/wait.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SHOTS = path.join(REPO_ROOT, 'test-output', 'screenshots');
export const WIDTHS = [
  { width: 1280, height: 900, isMobile: false },
  { width: 390, height: 844, isMobile: true },
] as const;
export type Width = (typeof WIDTHS)[number];

export async function launchBrowser(): Promise<Browser> {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-test-deps.sh (or set CHROMIUM_PATH)`);
  fs.mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

export interface Auth {
  readonly username: string;
  readonly password: string;
}

export const basic = (a: Auth) => `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;

/** One API call with HTTP Basic; the body parsed as JSON when there is one. */
export async function api<T = unknown>(
  cluster: Cluster, apiPath: string, auth: Auth, opts: { method?: string; json?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { authorization: basic(auth) };
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`http://${cluster.host}:${cluster.httpPort}${apiPath}`, {
    method: opts.method ?? 'GET', headers, body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export interface ChartData {
  points: number;
  last: number;
  max: number;
  series: string[];
  lasts: (number | null)[];
}

export class BrowserPage {
  readonly consoleErrors: string[] = [];
  /** Console errors matching this are expected right now (a refusal the test causes). */
  allow: RegExp | undefined;
  allowed = 0;

  private constructor(readonly page: Page, readonly width: number, readonly base: string) {
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

  static async open(browser: Browser, spec: Width, cluster: Cluster): Promise<BrowserPage> {
    const context = await browser.newContext({
      viewport: { width: spec.width, height: spec.height }, isMobile: spec.isMobile, hasTouch: spec.isMobile, deviceScaleFactor: 1,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    return new BrowserPage(page, spec.width, `http://${cluster.host}:${cluster.httpPort}`);
  }

  async close(): Promise<void> {
    await this.page.context().close();
  }

  /** Saves the page and checks it does not scroll sideways. */
  async shot(name: string): Promise<void> {
    // From the top: a full-page capture of a scrolled page draws the sticky header mid-page.
    await this.page.evaluate(() => window.scrollTo(0, 0));
    // (A transition cut short by a newer one rejects its `finished`: that one is over too.)
    await this.page.evaluate(() => Promise.all(document.getAnimations()
      .filter((a) => a.effect?.getComputedTiming().endTime !== Infinity).map((a) => a.finished.catch(() => undefined))));
    await this.page.screenshot({ path: path.join(SHOTS, `${name}-${this.width}.png`), fullPage: true });
    const overflow = await this.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${name} at ${this.width}px scrolls sideways by ${overflow}px`);
  }

  /** Runs `fn` while the browser's "Failed to load resource: … <status>" lines are expected. */
  async expecting<T>(statuses: RegExp, fn: () => Promise<T>, opts: { mustSee?: boolean } = {}): Promise<T> {
    this.allow = new RegExp(`Failed to load resource: the server responded with a status of (${statuses.source})`);
    const before = this.allowed;
    try {
      const r = await fn();
      if (opts.mustSee !== false) {
        const deadline = Date.now() + 15_000;
        while (this.allowed === before) {
          if (Date.now() > deadline) throw new Error(`the browser logged no ${statuses.source}`);
          await this.page.waitForTimeout(20);
        }
      }
      return r;
    } finally {
      this.allow = undefined;
    }
  }

  async goto(hash = ''): Promise<void> {
    await this.page.goto(`${this.base}/${hash}`);
  }

  async signIn(auth: Auth): Promise<void> {
    await this.page.waitForSelector('#login-username');
    await this.page.fill('#login-username', auth.username);
    await this.page.fill('#login-password', auth.password);
    await this.page.click('.login-form button[type="submit"]');
  }

  async signInOk(auth: Auth): Promise<void> {
    await this.signIn(auth);
    await this.page.waitForSelector('#tab-overview[aria-current="page"]');
  }

  async signOut(): Promise<void> {
    await this.page.click('#sign-out');
    await this.page.waitForSelector('#login-username');
  }

  async tab(name: 'overview' | 'insight' | 'history' | 'alerts' | 'settings' | 'connect'): Promise<void> {
    await this.page.click(`#tab-${name}`);
    await this.page.waitForSelector(`#tab-${name}[aria-current="page"]`);
  }

  async chart(id: string): Promise<ChartData> {
    const d = await this.page.$eval(`[data-chart="${id}"]`, (el) => ({ ...(el as HTMLElement).dataset }));
    return {
      points: Number(d.points ?? 0), last: Number(d.last || NaN), max: Number(d.max || NaN),
      series: JSON.parse(d.series ?? '[]') as string[], lasts: JSON.parse(d.lasts ?? '[]') as (number | null)[],
    };
  }

  async waitChart(id: string, ok: (c: ChartData) => boolean, what: string): Promise<ChartData> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const c = await this.chart(id).catch(() => undefined);
      if (c && ok(c)) return c;
      if (Date.now() > deadline) throw new Error(`chart ${id}: ${what}; it shows ${JSON.stringify(c)}`);
      await this.page.waitForTimeout(200);
    }
  }

  /** Points at the plot of a chart `fraction` of the way across; returns the tooltip's text (and saves the chart as `shot`). */
  async hover(id: string, fraction = 0.98, shot?: string): Promise<string> {
    const over = this.page.locator(`[data-chart="${id}"] .u-over`);
    await over.scrollIntoViewIfNeeded();
    const box = (await over.boundingBox())!;
    await this.page.mouse.move(box.x + box.width * fraction, box.y + box.height / 2);
    const tip = this.page.locator(`[data-chart="${id}"] .chart-tip`);
    await tip.waitFor({ state: 'visible' });
    const text = (await tip.textContent()) ?? '';
    if (shot) await this.page.locator(`[data-chart="${id}"]`).screenshot({ path: path.join(SHOTS, `${shot}-${this.width}.png`) });
    await this.page.mouse.move(0, 0);
    return text;
  }

  async confirm(): Promise<void> {
    await this.page.waitForSelector('dialog[open]');
    await this.page.click('dialog[open] .dialog-actions button[value="confirm"]');
    await this.page.waitForSelector('dialog[open]', { state: 'detached' });
  }

  async cancel(): Promise<void> {
    await this.page.waitForSelector('dialog[open]');
    await this.page.click('dialog[open] .dialog-actions button[value="cancel"]');
    await this.page.waitForSelector('dialog[open]', { state: 'detached' });
  }

  /** Every input, button, select and textarea has an accessible name. */
  async unlabelledControls(): Promise<string[]> {
    return this.page.$$eval('input, button, select, textarea, summary', (els) =>
      els.filter((el) => {
        const e = el as HTMLInputElement;
        const byLabel = e.labels && e.labels.length > 0;
        return !byLabel && !e.getAttribute('aria-label') && !e.textContent?.trim();
      }).map((el) => el.outerHTML.slice(0, 80)));
  }
}

/**
 * Memcache traffic until stopped, over every server: sets of various sizes, gets (about
 * three in four hit), deletes, incr and touch — and no decr or cas, so their hit rates
 * have nothing to divide by (null: gaps).
 */
export function startWorkload(cluster: Cluster, cache: CreatedCache): { stop(): Promise<void>; readonly rounds: number } {
  const client = memjs.Client.create(cluster.servers.join(','), {
    username: cache.username, password: cache.password, timeout: 2, retries: 0, logger: { log: () => {} },
  });
  let running = true;
  let rounds = 0;
  const done = (async () => {
    await client.set('counter', '0', {});
    while (running) {
      const base = (rounds * 17) % 150;
      for (let i = 0; i < 30; i++) await client.set(`item-${base + i}`, 'v'.repeat(200 + ((base + i) * 97) % 4000), { expires: 0 });
      for (let i = 0; i < 40; i++) await client.get(i % 4 === 3 ? `missing-${rounds}-${i}` : `item-${base + (i % 30)}`);
      await client.delete(`item-${base}`);
      await client.delete(`missing-${rounds}`);
      await client.increment('counter', 1, {});
      await client.touch(`item-${base + 1}`, 600);
      rounds++;
      await sleep(150);
    }
  })().catch((e: unknown) => {
    if (running) throw e;
  });
  return {
    get rounds() {
      return rounds;
    },
    async stop() {
      running = false;
      await done;
      client.close();
    },
  };
}

/** A series as the API v2 answers it (InfluxDB 1). */
export interface Series {
  name: string;
  tags?: { server: string };
  columns: string[];
  values: (string | number | null)[][];
}

/** The newest non-null value of a column of a series. */
export function lastOf(series: Series | undefined, column: string): number | null {
  if (!series) return null;
  const i = series.columns.indexOf(column);
  for (let r = series.values.length - 1; r >= 0; r--) {
    const v = series.values[r]![i];
    if (typeof v === 'number') return v;
  }
  return null;
}
