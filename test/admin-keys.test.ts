// The node's live key listing, GET /caches/:id/introspection/keys, over real HTTP against a
// real node: pages and cursors, prefixes as base64, ttl, parameter checks, isolation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminJson } from './support/admin-client.ts';
import { startTestNode, type TestCache, type TestNode } from './support/test-node.ts';
import type { RawClient } from './support/raw-client.ts';

let t: TestNode;
let a: TestCache;
let b: TestCache;
before(async () => {
  t = await startTestNode();
  a = await t.createCache();
  b = await t.createCache();
});
after(() => t.close());

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

interface Page { keys: { key: string; size: number; ttl: number }[]; cursor: string | null }

const keys = (cacheId: number, query = '') => adminJson(t, `/caches/${cacheId}/introspection/keys${query}`);

/** Every page from the start; `between` runs after each. */
async function listAll(cacheId: number, params: Record<string, string>, between?: () => Promise<void>): Promise<Page['keys']> {
  const all: Page['keys'] = [];
  let cursor: string | null = null;
  for (let pages = 0; ; pages++) {
    const q = new URLSearchParams(params);
    if (cursor !== null) q.set('cursor', cursor);
    const r = await keys(cacheId, `?${q}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const page = r.body as Page;
    assert.deepEqual(Object.keys(page).sort(), ['cursor', 'keys']);
    all.push(...page.keys);
    cursor = page.cursor;
    if (cursor === null) return all;
    assert.equal(typeof cursor, 'string');
    assert.ok(pages < 10_000, 'the listing ends');
    await between?.();
  }
}

const names = (list: Page['keys']) => list.map((k) => Buffer.from(k.key, 'base64').toString('latin1')).sort();

async function fill(c: RawClient, keysToSet: string[], value = 'v', exptime = 0): Promise<void> {
  let s = '';
  for (const k of keysToSet) s += `set ${k} 0 ${exptime} ${value.length} noreply\r\n${value}\r\n`;
  assert.equal(await c.text(`${s}mn\r\n`), 'MN\r\n');
}

test('pages of a cache\'s live keys with size and ttl, each key once, never another cache\'s', async () => {
  const ca = await t.textLogin(a);
  const cb = await t.textLogin(b);
  const want = Array.from({ length: 250 }, (_, i) => `item:${i}`);
  await fill(ca, want);
  assert.equal(await ca.text('set sized 0 100 11\r\nhello world\r\n'), 'STORED\r\n');
  const setAt = Date.now();
  assert.equal(await ca.text('set gone 0 0 1\r\nx\r\ndelete gone\r\n'), 'STORED\r\nDELETED\r\n');
  await fill(cb, ['b:secret', 'item:b-only']);

  const first = await keys(a.id);
  assert.equal(first.status, 200);
  assert.equal(first.body.keys.length, 100, 'limit 100 by default');
  assert.equal(typeof first.body.cursor, 'string');

  for (const limit of ['1', '7', '1000']) {
    const all = await listAll(a.id, { limit });
    assert.deepEqual(names(all), [...want, 'sized'].sort(), `limit ${limit}`);
  }
  const all = await listAll(a.id, { limit: '50' });
  const sized = all.find((k) => k.key === b64('sized'))!;
  assert.equal(sized.size, 11);
  // Seconds left: 100 less the time since the set (whole seconds on both sides).
  const since = Math.ceil((Date.now() - setAt) / 1000);
  assert.ok(sized.ttl <= 100 && sized.ttl >= 100 - since - 1, `ttl ${sized.ttl}, ${since} s after the set`);
  assert.deepEqual(all.find((k) => k.key === b64('item:3')), { key: b64('item:3'), size: 1, ttl: -1 });
  assert.deepEqual(names(await listAll(b.id, {})), ['b:secret', 'item:b-only']);
});

test('a prefix selects keys by their bytes; binary and 250-byte keys travel as base64', async () => {
  const cache = await t.createCache();
  const c = await t.textLogin(cache);
  const binary = Buffer.from([0xff, 0x80, 0x01, 0x41]);
  const long = Buffer.concat([binary, Buffer.alloc(246, 0x7a)]);
  for (const key of [binary, long, Buffer.from('\xff\x80other', 'latin1')]) {
    assert.equal(await c.text(Buffer.concat([Buffer.from('set '), key, Buffer.from(' 0 0 1\r\nx\r\n')])), 'STORED\r\n');
  }
  await fill(c, Array.from({ length: 3000 }, (_, i) => `noise:${i}`));
  const under = await listAll(cache.id, { prefix: binary.toString('base64'), limit: '10' });
  assert.deepEqual(under.map((k) => Buffer.from(k.key, 'base64')).sort(Buffer.compare), [binary, long].sort(Buffer.compare));
  // URL-safe base64 without padding is taken too.
  const urlSafe = await listAll(cache.id, { prefix: Buffer.from([0xff, 0x80]).toString('base64url'), limit: '10' });
  assert.equal(urlSafe.length, 3);
  assert.equal((await listAll(cache.id, { prefix: b64('noise:29'), limit: '1000' })).length, 111);
  assert.deepEqual(await listAll(cache.id, { prefix: b64('absent') }), []);
});

test('a sparse cache gives short pages that go on, so one request never walks the whole cache', async () => {
  const cache = await t.createCache();
  const c = await t.textLogin(cache);
  const n = 20_000;
  await fill(c, Array.from({ length: n }, (_, i) => `k${i}`));
  let s = '';
  for (let i = 0; i < n - 1; i++) s += `delete k${i} noreply\r\n`;
  assert.equal(await c.text(`${s}mn\r\n`), 'MN\r\n');
  const r = await keys(cache.id, '?limit=1');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.keys, []);
  assert.equal(typeof r.body.cursor, 'string');
  assert.deepEqual(names(await listAll(cache.id, { limit: '1' })), [`k${n - 1}`]);
});

test('keys present throughout a listing are listed once while others are set and deleted between pages', async () => {
  const cache = await t.createCache();
  const c = await t.textLogin(cache);
  const stay = Array.from({ length: 400 }, (_, i) => `stay:${i}`);
  await fill(c, stay);
  let round = 0;
  const all = await listAll(cache.id, { limit: '13' }, async () => {
    round++;
    const churn = Array.from({ length: 30 }, (_, i) => `churn:${round}:${i}`);
    await fill(c, churn);
    let s = '';
    for (let i = 0; i < 30; i += 2) s += `delete churn:${round}:${i} noreply\r\n`;
    if (round > 1) for (let i = 1; i < 30; i += 2) s += `delete churn:${round - 1}:${i} noreply\r\n`;
    assert.equal(await c.text(`${s}mn\r\n`), 'MN\r\n');
  });
  const listed = names(all).filter((n) => n.startsWith('stay:'));
  assert.deepEqual(listed, [...stay].sort());
});

test('bad parameters are a 400; an unknown cache a 404; introspection off a 409', async () => {
  for (const q of ['?limit=0', '?limit=1001', '?limit=x', '?limit=-1', '?limit=', '?limit=1.5',
    '?prefix=%25%25', '?prefix=a', '?prefix=ab%3D%3D%3D', `?prefix=${encodeURIComponent(b64('x'.repeat(251)))}`,
    '?cursor=x', '?cursor=-1', '?cursor=', '?cursor=1.5', '?cursor=99999999999']) {
    const r = await keys(a.id, q);
    assert.equal(r.status, 400, q);
    assert.equal(typeof r.body.error, 'string');
  }
  const past = await keys(a.id, '?cursor=4000000000');
  assert.deepEqual(past, { status: 200, body: { keys: [], cursor: null } }, 'a cursor past the end ends the listing');
  assert.equal((await keys(999_999)).status, 404);
  await t.catalog.updateCache(b.id, { introspection: false });
  await t.node.sync.syncNow();
  assert.deepEqual(await keys(b.id), { status: 409, body: { error: 'introspection disabled' } });
  await t.catalog.updateCache(b.id, { introspection: true });
  await t.node.sync.syncNow();
  assert.equal((await keys(b.id)).status, 200);
  const secretless = await fetch(`http://${t.node.adminAddress}/caches/${a.id}/introspection/keys`);
  assert.equal(secretless.status, 401);
});
