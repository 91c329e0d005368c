// GET /api/v1/:id/history beyond what the sampler makes: `step` (the last sample of each
// bucket per server, exact) and its validation, `limit` (the newest n, oldest first), and
// a large history served whole as a stream: complete and in order, other requests
// answered while it streams, reading from the catalog only as fast as the client reads,
// and no more once the client has gone. Runs on SQLite, and on PostgreSQL with
// CACHIER_TEST_CATALOG=postgres (npm run test:api-postgres).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Catalog, HistorySample } from '../src/catalog/catalog.ts';
import { HISTORY_PAGE_ROWS } from '../src/catalog/history-pages.ts';
import { startControlPlane, type ControlPlane } from '../src/control/main.ts';
import { STAT_NAMES } from '../src/shared/stat-names.ts';
import { createLogger } from '../src/shared/logger.ts';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';
import { until } from './support/wait.ts';

interface Rec { memcachier_id: string; server: string; stats: Record<string, number>; timestamp: string }

const BIG_TIMESTAMPS = 12_000;
const BIG_SERVERS = ['10.0.0.1:11211', '10.0.0.2:11211', '10.0.0.3:11211', '10.0.0.4:11211'];
const BIG_ROWS = BIG_TIMESTAMPS * BIG_SERVERS.length;
const BIG_START = Date.UTC(2030, 0, 1);

let t: TestCluster;
/** A second control plane on the same catalog whose catalog counts history pages. */
let spied: ControlPlane;
/** The error lines `spied` logs. */
const spiedErrors: { event?: string }[] = [];
const spiedLogger = createLogger({ level: 'error', destination: { write: (l: string) => void spiedErrors.push(JSON.parse(l)) } });
let spy: PageSpy;
let small: ClusterCache;
let big: ClusterCache;

before(async () => {
  t = await startTestCluster({ nodes: 1 });
  spy = new PageSpy(t.catalog);
  spied = await startControlPlane({ catalog: spy.catalog, host: '127.0.0.1', port: 0, historyIntervalSeconds: 60, sampler: false, logger: spiedLogger });
  small = await t.createCache();
  big = await t.createCache();
  await insertBigHistory(big.id);
});
after(async () => {
  await spied.close();
  await t.close();
});

const get = async (qs: string, c = small): Promise<Rec[]> => {
  const r = await t.api(`/api/v1/${c.id}/history${qs}`, { auth: c });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  return r.json();
};
const show = (l: readonly Rec[]) => l.map((r) => `${r.timestamp} ${r.server} ${r.stats.cmd_get}`);

test('step: per server, the last sample of each bucket, with its exact stats', async () => {
  const at = (server: string, timestamp: number, cmd_get: number): HistorySample =>
    ({ cacheId: small.id, server, timestamp, stats: { ...zeroStats(), cmd_get } });
  await t.catalog.addHistory([
    at('a:1', 60_000, 1), at('a:1', 100_000, 2), at('b:1', 70_000, 10), at('b:1', 119_999, 11), // minute 1
    at('a:1', 120_000, 3), at('a:1', 150_000, 4), // minute 2: b has none
    at('a:1', 301_000, 5), at('b:1', 302_000, 12), // minute 5
  ]);
  assert.deepEqual(show(await get('?step=60000')), [
    '100000 a:1 2', '119999 b:1 11', '150000 a:1 4', '301000 a:1 5', '302000 b:1 12',
  ]);
  assert.deepEqual(show(await get('?step=300000')), ['119999 b:1 11', '150000 a:1 4', '301000 a:1 5', '302000 b:1 12']);
  // Every other field exactly as without step, in the document's shape.
  const all = await get('');
  const stepped = await get('?step=1000');
  assert.deepEqual(stepped, all, 'at most one sample per second here: step=1000 keeps them all');
  assert.deepEqual(Object.keys(stepped[0]!), ['memcachier_id', 'server', 'stats', 'timestamp']);
  assert.equal(stepped[0]!.memcachier_id, String(small.id));
  assert.equal(stepped[0]!.timestamp, '60000');
  assert.deepEqual(Object.keys(stepped[0]!.stats).sort(), [...STAT_NAMES].sort());
  // With a range and a limit: the buckets are cut by the range; limit takes the newest.
  assert.deepEqual(show(await get('?step=60000&since=110000&until=301000')), ['119999 b:1 11', '150000 a:1 4', '301000 a:1 5']);
  assert.deepEqual(show(await get('?step=60000&limit=2')), ['301000 a:1 5', '302000 b:1 12']);
});

test('limit: the newest n samples of the range, oldest first', async () => {
  const all = await get('');
  assert.ok(all.length >= 8);
  assert.deepEqual(await get('?limit=3'), all.slice(-3));
  assert.deepEqual(await get(`?limit=2&until=${all[4]!.timestamp}`), all.slice(3, 5));
  assert.deepEqual(await get(`?limit=${all.length + 5}`), all);
});

test('bad step values are 400 with the reason', async () => {
  for (const qs of ['step=999', 'step=0', 'step=-60000', 'step=abc', 'step=1.5', 'step=', `step=${400 * 86_400_000}`, 'step=60000&limit=0']) {
    const r = await t.api(`/api/v1/${small.id}/history?${qs}`, { auth: small });
    assert.equal(r.status, 400, qs);
    const message = r.json<string>();
    assert.equal(typeof message, 'string', qs);
    assert.match(message, /^Bad request: querystring\/(step|limit) /, qs);
  }
  const r = await t.api(`/api/v1/${small.id}/history?step=999`, { auth: small });
  assert.equal(r.json(), 'Bad request: querystring/step must be >= 1000');
});

test(`a large history (${BIG_ROWS} samples) is served whole, in order, exact`, async () => {
  const before = spy.opened;
  const r = await streamGet(spied.port, `/api/v1/${big.id}/history`, big);
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  const recs = JSON.parse(r.body) as Rec[];
  assert.equal(recs.length, BIG_ROWS);
  recs.forEach((rec, k) => {
    const i = Math.floor(k / BIG_SERVERS.length);
    const server = BIG_SERVERS[k % BIG_SERVERS.length]!;
    assert.equal(rec.timestamp, String(BIG_START + i * 60_000));
    assert.equal(rec.server, server);
    assert.equal(rec.memcachier_id, String(big.id));
    assert.deepEqual(rec.stats, bigStats(i, server));
  });
  assert.equal(spy.opened, before + 1);
  assert.equal(spy.last.rowsRead, BIG_ROWS);
  assert.ok(spy.last.pagesRead >= BIG_ROWS / HISTORY_PAGE_ROWS && spy.last.largestPage <= HISTORY_PAGE_ROWS, 'read a page at a time');
});

test('while a large history streams, other requests are answered', async (ctx) => {
  // The whole history at full speed; a login and a GET stats sent once its first bytes arrive.
  const events: string[] = [];
  let others: Promise<void> | undefined;
  const big$ = streamGet(spied.port, `/api/v1/${big.id}/history`, big, {
    onFirstChunk() {
      events.push(`first bytes after ${spy.last.rowsRead} rows read`);
      others = Promise.all([
        t.api('/api/v1/login', { auth: small }).then((r) => assert.equal(r.status, 200)),
        t.api(`/api/v1/${small.id}/stats`, { auth: small }).then((r) => assert.equal(r.status, 200)),
      ]).then(() => {
        events.push('others answered');
      });
    },
  }).then((r) => {
    events.push('history done');
    return r;
  });
  const r = await big$;
  await others;
  assert.equal(JSON.parse(r.body).length, BIG_ROWS);
  ctx.diagnostic(events.join('; '));
  assert.deepEqual(events.map((e) => e.replace(/\d+ rows/, 'N rows')), ['first bytes after N rows read', 'others answered', 'history done']);
  assert.notEqual(events[0], `first bytes after ${BIG_ROWS} rows read`, 'the answer started before every row was read');
});

test('a client that stops reading holds the server to a few pages; the rest follows when it reads', async (ctx) => {
  let paused: http.IncomingMessage | undefined;
  const whole = streamGet(spied.port, `/api/v1/${big.id}/history`, big, {
    onFirstChunk(res) {
      res.pause();
      paused = res;
    },
  });
  await until('the first bytes', Date.now() + 10_000, async () => paused);
  const held = await steadyRows();
  assert.ok(held < BIG_ROWS / 2, `${held} of ${BIG_ROWS} rows read while the client read nothing`);
  ctx.diagnostic(`${held} of ${BIG_ROWS} rows read while the client read nothing`);
  // Meanwhile the server answers others, and still reads nothing more.
  assert.equal((await t.api('/api/v1/login', { auth: small })).status, 200);
  assert.equal(spy.last.rowsRead, held);
  paused!.resume();
  const r = await whole;
  assert.equal(JSON.parse(r.body).length, BIG_ROWS);
  assert.equal(spy.last.rowsRead, BIG_ROWS);
  assert.equal(spy.last.finished, true);
});

test('a client that goes away stops the reading', async () => {
  await new Promise<void>((resolve, reject) => {
    const req = http.get({ port: spied.port, path: `/api/v1/${big.id}/history`, headers: { authorization: basic(big) } }, (res) => {
      res.on('error', () => {}); // "aborted": we cut it
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (e) => (/socket hang up|aborted/.test(e.message) ? undefined : reject(e)));
  });
  await until('the page reader closed', Date.now() + 10_000, async () => (spy.last.closed ? true : undefined));
  const reader = spy.last;
  const read = reader.rowsRead;
  assert.ok(read < BIG_ROWS, `${read} of ${BIG_ROWS} rows read`);
  assert.equal(reader.finished, false);
  // A request answered after that one: had the reading gone on, pages would show by now.
  assert.equal((await t.api('/api/v1/login', { auth: small })).status, 200);
  assert.equal(reader.rowsRead, read, 'no page read after the client left');
});

test('a catalog failure before the first page is the document\'s 500', async () => {
  spy.failNext = true;
  const before = spiedErrors.length;
  const r = await streamGet(spied.port, `/api/v1/${big.id}/history`, big);
  assert.equal(r.status, 500);
  assert.equal(JSON.parse(r.body), 'Server error');
  // Logged once (the error and its request line), never per retried page.
  await until('the error logged', Date.now() + 5000, () => spiedErrors.length >= before + 2);
  assert.deepEqual(spiedErrors.slice(before).map((l) => l.event), ['http_error', 'http_request']);
});

// ---------------------------------------------------------------- helpers

function zeroStats(): Record<string, number> {
  return Object.fromEntries(STAT_NAMES.map((n) => [n, 0]));
}

/** Distinct, growing values per sample and server, so any misplaced row shows. */
function bigStats(i: number, server: string): Record<string, number> {
  const s = BIG_SERVERS.indexOf(server);
  return { ...zeroStats(), cmd_get: i * 10 + s, get_hits: i * 7 + s, bytes: 1000 + s, limit_maxbytes: 16 << 20, time: 1_900_000_000 + i * 60 };
}

async function insertBigHistory(cacheId: number): Promise<void> {
  let batch: HistorySample[] = [];
  for (let i = 0; i < BIG_TIMESTAMPS; i++) {
    for (const server of BIG_SERVERS) batch.push({ cacheId, server, timestamp: BIG_START + i * 60_000, stats: bigStats(i, server) });
    if (batch.length >= 5000) {
      await t.catalog.addHistory(batch);
      batch = [];
    }
  }
  await t.catalog.addHistory(batch);
}

const basic = (c: { username: string; password: string }) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

interface StreamedResponse { status: number; headers: http.IncomingHttpHeaders; body: string }

/** A GET read as it arrives, over its own connection; `onFirstChunk` sees the response when the first body bytes come. */
function streamGet(port: number, path: string, auth: { username: string; password: string },
  opts: { onFirstChunk?: (res: http.IncomingMessage) => void } = {}): Promise<StreamedResponse> {
  return new Promise((resolve, reject) => {
    const req = http.get({ port, path, agent: false, headers: { authorization: basic(auth) }, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        if (chunks.length === 0) opts.onFirstChunk?.(res);
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

/** The rows read by the newest reader once that number has not moved for 300 ms. */
async function steadyRows(): Promise<number> {
  let seen = -1;
  let since = Date.now();
  return until('the page count to settle', Date.now() + 10_000, async () => {
    const now = spy.last.rowsRead;
    if (now !== seen) {
      seen = now;
      since = Date.now();
      return undefined;
    }
    return Date.now() - since >= 300 ? now : undefined;
  }, 50);
}

interface PageReader { pagesRead: number; rowsRead: number; largestPage: number; finished: boolean; closed: boolean }

/** The same catalog, with every historyPages reader counted (and the next one made to fail on request). */
class PageSpy {
  readonly catalog: Catalog;
  readonly readers: PageReader[] = [];
  failNext = false;

  constructor(inner: Catalog) {
    this.catalog = new Proxy(inner, {
      get: (target, prop) => {
        if (prop === 'historyPages') {
          return (...args: Parameters<Catalog['historyPages']>) => this.count(target.historyPages(...args));
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  get opened(): number {
    return this.readers.length;
  }

  get last(): PageReader {
    return this.readers.at(-1)!;
  }

  private async *count(pages: AsyncGenerator<HistorySample[], void, undefined>): AsyncGenerator<HistorySample[], void, undefined> {
    const reader: PageReader = { pagesRead: 0, rowsRead: 0, largestPage: 0, finished: false, closed: false };
    this.readers.push(reader);
    const fail = this.failNext;
    this.failNext = false;
    try {
      if (fail) throw new Error('catalog unavailable (test)');
      for await (const page of pages) {
        reader.pagesRead++;
        reader.rowsRead += page.length;
        reader.largestPage = Math.max(reader.largestPage, page.length);
        yield page;
      }
      reader.finished = true;
    } finally {
      reader.closed = true;
    }
  }
}
