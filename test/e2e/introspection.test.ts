// The Introspection screen in a real browser (headless Chromium, as insight.test.ts),
// against the real `cachier start` (2 nodes, history sampled every second) with real
// memcache traffic (memjs, binary protocol) on a cache of its own at each width. Hot keys
// show what the API's popular_items counts, and a key first requested after the screen
// opened appears without a click (live); a key looked up by name, and one clicked, by its
// bytes (one of them not UTF-8, shown escaped); a prefix watched shows in the list and through the API, its five charts show the
// API's series (120 keys under it) and its own hot keys; recent requests filtered by
// command and status; the key browser lists exactly the 130 keys under a prefix, a page at
// a time through the cursor; a prefix unwatched by another client leaves the screen (a 404
// that is not a sign-out); a prefix unwatched after a confirmation; an operator switching
// introspection off shows the API's 403 as a notice (still signed in), and on again comes
// back. A key `<img src=x onerror=alert(1)>` is shown as text everywhere: no img element,
// no dialog. Screenshots: test-output/screenshots/introspection-*.png. Console errors fail
// it, except the browser's own "Failed to load resource" for the 403 caused on purpose.
//
// Needs /usr/bin/chromium (scripts/install-test-deps.sh); CHROMIUM_PATH overrides it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import memjs from 'memjs';
import type { Browser, Response } from 'playwright-core';
import { createCache, makeDataDir, startCluster, type Cluster, type CreatedCache } from '../support/cluster.ts';
import { api, BrowserPage, lastOf, launchBrowser, WIDTHS, type Auth, type Series } from './support.ts';

const XSS = '<img src=x onerror=alert(1)>';
const USERS = 120;
const PAGES = 130;
const HOT_GETS = 60;
const MISSES = 25;
const INCRS = 40;

let cluster: Cluster;
let browser: Browser;
let operatorToken = '';

before(async () => {
  const dataDir = makeDataDir();
  cluster = await startCluster({ dataDir, nodes: 2, historyInterval: 1 });
  // Printed on a data directory's first start only.
  operatorToken = /Operator API token[^:]*: (\S+)/.exec(cluster.stdout())?.[1] ?? '';
  assert.ok(operatorToken, `no operator token in ${cluster.stdout()}`);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await cluster?.stop();
});

type Client = ReturnType<typeof memjs.Client.create>;

function client(cache: CreatedCache): Client {
  return memjs.Client.create(cluster.servers.join(','), {
    username: cache.username, password: cache.password, timeout: 2, retries: 0, logger: { log: () => {} },
  });
}

const pageKey = (i: number) => `page:${String(i).padStart(3, '0')}`;

/** A key that is not UTF-8 (memjs takes only strings): `bin:` and the bytes FF FE. Named `bin:\xff\xfe`. */
const BIN_KEY = Buffer.from([0x62, 0x69, 0x6e, 0x3a, 0xff, 0xfe]);
const BIN_NAME = 'bin:\\xff\\xfe';

/** Over ASCII on one server, as its bytes: log in (cachier's set of the credentials), set the key, get it `gets` times. */
async function binaryKeyTraffic(server: string, cache: CreatedCache, gets: number): Promise<void> {
  const [host, port] = [server.slice(0, server.lastIndexOf(':')), Number(server.slice(server.lastIndexOf(':') + 1))];
  const socket = net.connect({ host, port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let got = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  const ask = async (request: Buffer, until: string) => {
    got = Buffer.alloc(0);
    socket.write(request);
    const deadline = Date.now() + 5_000;
    while (!got.toString('latin1').endsWith(until)) {
      assert.ok(Date.now() < deadline, `no ${JSON.stringify(until)} for ${JSON.stringify(request.toString('latin1'))}: ${JSON.stringify(got.toString('latin1'))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const line = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
  await ask(line(`set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\n`), 'STORED\r\n');
  await ask(line('set ', BIN_KEY, ' 0 0 5\r\nbytes\r\n'), 'STORED\r\n');
  for (let i = 0; i < gets; i++) await ask(line('get ', BIN_KEY, '\r\n'), 'END\r\n');
  socket.destroy();
}

/** Traffic with a known shape: one most hit, most missed and most mutated key; two big prefixes; the XSS key. */
async function traffic(c: Client): Promise<void> {
  await c.set(XSS, 'tenant data', {});
  await c.get(XSS);
  for (let i = 0; i < USERS; i++) await c.set(`user:${i}`, 'u'.repeat(50 + i), {});
  for (let i = 0; i < PAGES; i++) await c.set(pageKey(i), 'p'.repeat(10), {});
  await c.set('hot:key', 'hot value', {});
  for (let i = 0; i < HOT_GETS; i++) await c.get('hot:key');
  for (let i = 0; i < MISSES; i++) await c.get('absent:key');
  await c.set('counter:likes', '0', {});
  for (let i = 0; i < INCRS; i++) await c.increment('counter:likes', 1, {});
}

interface Popular { name: string; key_base64: string; popularity: number }
interface PopularItems { time_slice: number; most_hit_keys: Popular[]; most_missed_keys: Popular[]; most_mutated_keys: Popular[]; popular_prefixes: Popular[] }
interface RecentLine { timestamp: string; key: string; command: string; status: string; size: number }
interface KeyStatsRow { name: string; server: string; in_cache: boolean; size: number; hit_count: number; miss_count: number; mutation_count: number }

/** What a hot-key list shows: name (as text) and the count, in order. */
async function hotList(page: BrowserPage['page'], id: string): Promise<{ name: string; text: string; popularity: number }[]> {
  return page.$$eval(`#${id} li.hot-item`, (els) => els.map((li) => ({
    name: (li as HTMLElement).dataset.name ?? '',
    text: li.querySelector('.key-link, .hot-name')?.textContent ?? '',
    popularity: Number((li as HTMLElement).dataset.popularity),
  })));
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const isPath = (suffix: RegExp) => (r: Response) => suffix.test(new URL(r.url()).pathname);

for (const spec of WIDTHS) {
  test(`introspection at ${spec.width}px`, { timeout: 300_000 }, async () => {
    const cache = await createCache(cluster.dataDir, '8mb');
    const auth: Auth = { username: cache.username, password: cache.password };
    const v2 = (p: string) => `/api/v2/caches/${cache.id}/introspection/${p}`;
    const mc = client(cache);
    const s = await BrowserPage.open(browser, spec, cluster);
    const { page } = s;
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    // The newest answers the page itself received, to compare with what it shows.
    let prefixStats: Series[] = [];
    let recent: Record<string, RecentLine[]> = {};
    page.on('response', (r) => {
      if (r.status() !== 200) return;
      if (isPath(/\/introspection\/prefixes\/\d+\/stats$/)(r)) void r.json().then((b: Series[]) => (prefixStats = b), () => undefined);
      if (isPath(/\/introspection\/recent_logs$/)(r)) void r.json().then((b: Record<string, RecentLine[]>) => (recent = b), () => undefined);
    });
    const shot = async (name: string) => {
      await page.evaluate(() => document.querySelectorAll('.toast').forEach((t) => t.remove()));
      await s.shot(name);
    };
    try {
      await traffic(mc);
      await s.goto();
      await s.signInOk(auth);
      const tabs = await page.$eval('.tabs', (el) => el.scrollWidth - el.clientWidth);
      assert.ok(tabs <= 0, `every tab fits at ${spec.width}px (${tabs}px over)`);
      await page.click('#tab-introspection');
      await page.waitForSelector('#tab-introspection[aria-current="page"]');

      // ---- hot keys: what popular_items counts
      await page.waitForSelector('#hot-hit li.hot-item[data-name="hot:key"]');
      const popular = (await api<PopularItems>(cluster, v2('popular_items'), auth)).body;
      assert.equal(popular.time_slice, 180_000_000_000);
      const hit = await hotList(page, 'hot-hit');
      // The page shows the API's counts; those are estimates under load (sampled), so near the truth.
      const near = (count: number, truth: number) => Math.abs(count - truth) <= truth * 0.15;
      const top = async (list: string, field: keyof PopularItems, name: string, truth: number) => {
        const shownTop = (await hotList(page, list))[0];
        const api = (popular[field] as Popular[])[0];
        assert.deepEqual(shownTop, { name, text: name, popularity: api?.popularity }, `${list}: the API's first, as the API counts it`);
        assert.equal(api?.name, name);
        assert.ok(near(api.popularity, truth), `${name}: ${api.popularity} requests counted of ${truth}`);
      };
      await top('hot-hit', 'most_hit_keys', 'hot:key', HOT_GETS);
      await top('hot-missed', 'most_missed_keys', 'absent:key', MISSES);
      await top('hot-mutated', 'most_mutated_keys', 'counter:likes', INCRS + 1);
      const prefixes = await hotList(page, 'hot-prefixes');
      assert.deepEqual(prefixes.map((p) => p.name), popular.popular_prefixes.map((p) => p.name), 'popular prefixes as the API lists them');
      assert.deepEqual(prefixes.slice(0, 2).map((p) => p.name), ['page', 'user']);
      assert.match((await page.textContent('#introspection-status')) ?? '', /last 3\u00a0min.*live, every 5\u00a0s/);
      // The XSS key: a list item whose text is the key, and no element made of it.
      const xssHot = hit.find((k) => k.name === XSS);
      assert.ok(xssHot, `the XSS key is among the hot keys: ${JSON.stringify(hit)}`);
      assert.equal(xssHot.text, XSS, 'shown as text');
      assert.equal(await page.locator('img').count(), 0, 'no img element');
      // A list of 20 (every set is a mutation) shows its top 10 until asked for all.
      const visibleRows = () => page.locator('#hot-mutated li.hot-item:visible').count();
      assert.equal(await page.textContent('#hot-mutated .hot-toggle'), 'Show all 20');
      assert.equal(await visibleRows(), 10);
      await shot('introspection');
      await page.click('#hot-mutated .hot-toggle');
      assert.equal(await visibleRows(), 20);
      assert.equal(await page.getAttribute('#hot-mutated .hot-toggle', 'aria-expanded'), 'true');

      // Live: a key first read now shows up without a click.
      for (let i = 0; i < 30; i++) await mc.get('fresh:key');
      await page.waitForSelector('#hot-missed li.hot-item[data-name="fresh:key"]', { timeout: 15_000 });

      // A key that is not UTF-8: its escaped name shown, looked up (clicked) by its exact bytes.
      await binaryKeyTraffic(cluster.servers[0]!, cache, 5);
      await until('the binary key among the hot keys', async () => (await hotList(page, 'hot-hit')).some((k) => k.name === BIN_NAME && k.text === BIN_NAME));
      const binAsk = page.waitForResponse(isPath(/\/introspection\/key_stats$/));
      await page.locator('#hot-hit .key-link', { hasText: BIN_NAME }).click();
      assert.deepEqual(Buffer.from(new URL((await binAsk).url()).searchParams.get('key_base64') ?? '', 'base64'), BIN_KEY);
      await page.waitForFunction((k) => document.getElementById('lookup-name')?.textContent === k, BIN_NAME);
      assert.equal(await page.getAttribute('#lookup-result', 'data-in-cache'), 'true', 'found by its bytes');

      // ---- key lookup: by name, then a clicked key by its bytes
      await page.fill('#lookup-key', 'hot:key');
      const stats = page.waitForResponse(isPath(/\/introspection\/key_stats$/));
      await page.click('#lookup-submit');
      const asked = await stats;
      assert.equal(new URL(asked.url()).searchParams.get('key'), 'hot:key');
      const rows = (await asked.json()) as KeyStatsRow[];
      await page.waitForSelector('#lookup-table');
      assert.equal(await page.textContent('#lookup-name'), 'hot:key');
      const shown = await page.$$eval('#lookup-table tbody tr', (trs) => trs.map((tr) => ({
        server: (tr as HTMLElement).dataset.server, hits: tr.querySelector('[data-field="hits"]')?.textContent,
      })));
      assert.deepEqual(shown, rows.map((r) => ({ server: r.server, hits: String(r.hit_count) })));
      const hits = rows.reduce((n, r) => n + r.hit_count, 0);
      assert.ok(Math.abs(hits - HOT_GETS) <= HOT_GETS * 0.15, `${hits} hits counted of ${HOT_GETS}`);
      assert.equal(rows.filter((r) => r.in_cache).length, 1, 'one server holds it');
      assert.equal(await page.getAttribute('#lookup-result', 'data-in-cache'), 'true');

      const byBytes = page.waitForResponse(isPath(/\/introspection\/key_stats$/));
      await page.locator('#hot-hit .key-link', { hasText: XSS }).click();
      const xssAsk = new URL((await byBytes).url()).searchParams;
      assert.equal(Buffer.from(xssAsk.get('key_base64') ?? '', 'base64').toString(), XSS, 'looked up by its bytes');
      await page.waitForFunction((k) => document.getElementById('lookup-name')?.textContent === k, XSS);
      assert.equal(await page.locator('img').count(), 0);
      await shot('introspection-lookup');

      // ---- watch a prefix: listed, charted, its own hot keys
      await page.fill('#prefix-name', 'user:');
      await page.click('#add-prefix');
      await page.waitForSelector('#prefixes-table tr[data-name="user:"]');
      const watched = (await api<{ id: number; name: string }[]>(cluster, v2('prefixes'), auth)).body;
      assert.deepEqual(watched.map((p) => p.name), ['user:']);
      const prefixId = watched[0]!.id;
      await page.waitForSelector(`#prefix-detail[data-prefix-id="${prefixId}"]:not([hidden])`);
      assert.match(page.url(), new RegExp(`#/introspection\\?prefix=${prefixId}`), 'the prefix is in the address');
      // The existing keys are counted in by the background scan, and sampled every second.
      await until('120 keys under user: on the chart', async () => (await s.chart('prefix-num_keys')).lasts[0] === USERS, 45_000);
      for (let i = 0; i < 5; i++) await mc.get(`user:missing-${i}`);
      // Gets on every attempt: the chart's last point is the bucket running now, and a bucket
      // that began just after a single burst of gets would show no hits however long we waited.
      await until('hits under the prefix on the chart', async () => {
        for (let i = 0; i < 10; i++) await mc.get(`user:${i}`);
        return ((await s.chart('prefix-total_hits_rate')).lasts[0] ?? 0) > 0;
      }, 45_000);
      // Each chart shows the last value of its column in the page's own answer.
      await until('the five charts as the API answered', async () => {
        const series = prefixStats[0];
        if (!series) return false;
        for (const col of ['num_keys', 'total_size', 'total_hits_rate', 'total_misses_rate', 'total_mutations_rate']) {
          if ((await s.chart(`prefix-${col}`)).lasts[0] !== lastOf(series, col)) return false;
        }
        return true;
      });
      assert.equal(lastOf(prefixStats[0], 'num_keys'), USERS);
      assert.ok((lastOf(prefixStats[0], 'total_size') ?? 0) > 0);
      await page.waitForSelector('#prefix-hot-hit li.hot-item[data-name^="user:"]');
      const prefixHot = await hotList(page, 'prefix-hot-hit');
      assert.ok(prefixHot.every((k) => k.name.startsWith('user:')), `only keys under the prefix: ${JSON.stringify(prefixHot)}`);
      assert.ok((await hotList(page, 'prefix-hot-missed')).some((k) => k.name.startsWith('user:missing-')));
      // A range asks the API for its span.
      const dayAsk = page.waitForResponse(isPath(/\/introspection\/prefixes\/\d+\/stats$/));
      await page.click('label[for="prefix-range-24h"]');
      const span = new URL((await dayAsk).url()).searchParams;
      assert.equal(Date.parse(span.get('endTime')!) - Date.parse(span.get('startTime')!), 24 * 3_600_000);
      await until('24 h chart', async () => (await s.chart('prefix-num_keys')).lasts[0] === USERS);
      await page.click('label[for="prefix-range-1h"]');
      await shot('introspection-prefix');
      if (spec.width === 1280) assert.match(await s.hover('prefix-num_keys'), /keys\s*120/);

      // ---- recent requests, filtered
      await page.selectOption('#recent-command', 'INCR');
      await until('only INCR lines', async () => {
        const cmds = await page.$$eval('#recent-table tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.command));
        return cmds.length > 0 && cmds.every((c) => c === 'INCR');
      });
      await until('as many INCR lines as the answer has', async () => {
        const incrs = Object.values(recent).flat().filter((l) => l.command === 'INCR').length;
        return incrs === INCRS && Number(await page.getAttribute('#recent', 'data-matching')) === incrs;
      });
      await page.selectOption('#recent-command', 'GET');
      await page.selectOption('#recent-status', 'MISS');
      assert.match(page.url(), /command=GET&status=MISS/);
      const misses = await page.$$eval('#recent-table tbody tr', (trs) => trs.map((tr) => ({
        command: (tr as HTMLElement).dataset.command, status: (tr as HTMLElement).dataset.status,
        key: tr.querySelector('[data-field="key"]')?.textContent,
      })));
      assert.ok(misses.length >= MISSES, `${misses.length} misses shown`);
      assert.ok(misses.every((m) => m.command === 'GET' && m.status === 'MISS'));
      assert.ok(misses.some((m) => m.key === 'absent:key'));
      await page.selectOption('#recent-status', '');
      await page.fill('#recent-key', '<img');
      await until('the XSS key in the log, as text', async () => {
        const keys = await page.$$eval('#recent-table tbody [data-field="key"]', (tds) => tds.map((td) => td.textContent));
        return keys.length > 0 && keys.every((k) => k === XSS);
      });
      assert.equal(await page.locator('img').count(), 0);
      await shot('introspection-recent');
      await page.fill('#recent-key', '');
      await page.selectOption('#recent-command', '');

      // ---- key browser: a prefix, a page at a time
      await page.fill('#browse-prefix', 'page:');
      await page.selectOption('#browse-limit', '50');
      const first = page.waitForResponse(isPath(/\/introspection\/keys$/));
      await page.click('#browse-submit');
      const firstUrl = new URL((await first).url()).searchParams;
      assert.equal(firstUrl.get('prefix'), 'page:');
      assert.equal(firstUrl.get('limit'), '50');
      // (The screen opened with a listing of every key: wait for this one.)
      await page.waitForFunction(() => document.getElementById('browse-count')?.textContent?.includes('under the prefix'));
      let pages = 1;
      while (await page.isVisible('#browse-more')) {
        const before = Number(await page.getAttribute('#key-browser', 'data-count'));
        const next = page.waitForResponse(isPath(/\/introspection\/keys$/));
        await page.click('#browse-more');
        const nextUrl = new URL((await next).url()).searchParams;
        assert.ok(nextUrl.get('cursor'), 'the next page follows the cursor');
        assert.equal(nextUrl.get('prefix'), 'page:');
        await page.waitForFunction((n) => Number(document.getElementById('key-browser')?.dataset.count) > n
          || document.getElementById('key-browser')?.dataset.done === 'true', before);
        pages++;
        assert.ok(pages < 20, 'the walk ends');
      }
      assert.equal(await page.getAttribute('#key-browser', 'data-done'), 'true');
      const listed = await page.$$eval('#keys-table tbody .key-link', (els) => els.map((e) => e.textContent ?? ''));
      assert.equal(new Set(listed).size, listed.length, 'no key twice');
      assert.deepEqual([...listed].sort(), Array.from({ length: PAGES }, (_, i) => pageKey(i)), 'every key under page:, and only those');
      assert.ok(pages >= 3, `${PAGES} keys in pages of 50: ${pages} pages`);
      assert.match((await page.textContent('#browse-count')) ?? '', new RegExp(`All ${PAGES} keys under the prefix listed`));
      await shot('introspection-keys');
      await page.fill('#browse-prefix', '<img');
      await page.click('#browse-submit');
      await page.waitForFunction(() => document.getElementById('key-browser')?.dataset.count === '1');
      assert.equal(await page.textContent('#keys-table tbody .key-link'), XSS);
      assert.equal(await page.locator('img').count(), 0);

      // ---- a prefix unwatched elsewhere (another tab, a script): it leaves the screen, which stays signed in
      await page.fill('#prefix-name', 'page:');
      await page.click('#add-prefix');
      await page.waitForSelector('#prefixes-table tr[data-name="page:"]');
      const pagePrefix = (await api<{ id: number; name: string }[]>(cluster, v2('prefixes'), auth)).body.find((p) => p.name === 'page:')!;
      await page.waitForSelector(`#prefix-detail[data-prefix-id="${pagePrefix.id}"]:not([hidden])`);
      assert.equal((await api(cluster, v2(`prefixes/${pagePrefix.id}`), auth, { method: 'DELETE' })).status, 204);
      await s.expecting(/404/, async () => {
        await page.waitForSelector('#prefixes-table tr[data-name="page:"]', { state: 'detached' });
        await page.waitForSelector('#prefix-detail', { state: 'hidden' });
      });
      assert.equal(await page.isVisible('#tab-introspection[aria-current="page"]'), true, 'still signed in');
      assert.doesNotMatch(page.url(), /prefix=/);

      // ---- stop watching (a cancelled confirmation first)
      const unwatch = `#prefixes-table tr[data-name="user:"] [data-action="unwatch"]`;
      await page.click(unwatch);
      await s.cancel();
      assert.equal((await api<unknown[]>(cluster, v2('prefixes'), auth)).body.length, 1);
      await page.click(unwatch);
      await s.confirm();
      await page.waitForSelector('#prefixes-panel[data-count="0"]');
      assert.deepEqual((await api<unknown[]>(cluster, v2('prefixes'), auth)).body, []);
      assert.equal(await page.isHidden('#prefix-detail'), true);

      // ---- introspection switched off by an operator: a notice, still signed in
      const operator = (introspection: boolean) => fetch(`http://${cluster.host}:${cluster.httpPort}/api/operator/caches/${cache.id}`, {
        method: 'PATCH', headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ introspection }),
      });
      assert.equal((await operator(false)).status, 200);
      const off = await api<{ message: string }>(cluster, v2('popular_items'), auth);
      assert.deepEqual([off.status, off.body.message], [403, 'Introspection is disabled for this cache.']);
      // Refresh reads four things at once (hot keys, recent requests, prefixes, keys): all four are refused.
      let refusals = 0;
      const count403 = (r: Response) => {
        if (r.status() === 403 && r.url().includes('/introspection/')) refusals++;
      };
      page.on('response', count403);
      await s.expecting(/403/, async () => {
        await page.click('#introspection-refresh');
        await page.waitForSelector('#introspection-disabled:not([hidden])');
        await until('the four refusals', async () => refusals >= 4);
        await page.waitForTimeout(300); // their console lines follow the responses
      });
      page.off('response', count403);
      assert.equal(await page.textContent('#introspection-disabled-text'), 'Introspection is disabled for this cache.');
      assert.equal(await page.isHidden('#introspection-body'), true);
      assert.equal(await page.isVisible('#tab-introspection[aria-current="page"]'), true, 'still signed in');
      await shot('introspection-disabled');
      assert.equal((await operator(true)).status, 200);
      await page.click('#introspection-retry');
      await page.waitForSelector('#introspection-body:not([hidden])');
      assert.equal(await page.isHidden('#introspection-disabled'), true);
      // Live again: traffic from now on shows (the nodes may have dropped what they counted while it was off).
      for (let i = 0; i < 10; i++) await mc.get('hot:key');
      await page.waitForSelector('#hot-hit li.hot-item[data-name="hot:key"]', { timeout: 15_000 });

      // ---- every control has a name; no markup from keys; nothing went wrong
      assert.deepEqual(await s.unlabelledControls(), []);
      assert.equal(await page.locator('img').count(), 0);
      assert.deepEqual(dialogs, [], 'no dialog opened by a key');
      await s.signOut();
      assert.deepEqual(s.consoleErrors, [], 'no console errors');
    } finally {
      mc.close();
      await s.close();
    }
  });
}
