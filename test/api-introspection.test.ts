// API v2 introspection over real HTTP on a two-node cluster, traffic through real memcache
// sockets: hot keys in popular_items (summed over both nodes), key_stats, recent_logs
// lines for get/set/delete/stats, compound and watched-prefix stats over two sampler
// rounds, watching (400s, the 51st, duplicates, 404s), the key listing paged across nodes
// with a strict cursor, who may call, two caches that never see each other's keys, the
// operator's introspection switch and a node's 409 (403), and a silent node (500 naming it).
// Every answer is also checked against the OpenAPI document (test/support/control.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';
import { PROMPTLY_MS } from './support/wait.ts';
import type { RawClient } from './support/raw-client.ts';
import { NodeClient } from '../src/control/node-client.ts';
import { ITEM_OVERHEAD } from '../src/store/item-cost.ts';

const MIN = 60_000;

let t: TestCluster;
let cache: ClusterCache;
let clients: RawClient[];
before(async () => {
  t = await startTestCluster({ nodes: 2 });
  cache = await t.createCache();
  clients = [await t.textLogin(cache, 0), await t.textLogin(cache, 1)];
});
after(() => t.close());

const v2 = (c: { id: number }, path: string) => `/api/v2/caches/${c.id}/${path}`;
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

async function getJson(c: ClusterCache, path: string): Promise<any> {
  const r = await t.api(v2(c, path), { auth: c });
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.json();
}

async function set(c: RawClient, key: string, value = 'v'): Promise<void> {
  assert.equal(await c.text(`set ${key} 0 0 ${value.length}\r\n${value}\r\n`), 'STORED\r\n');
}
async function get(c: RawClient, key: string): Promise<void> {
  await c.text(`get ${key}\r\n`, 'END\r\n');
}

/** Every introspection endpoint a cache's caller may hit (GET), for the refusal tests. */
function everyEndpoint(prefixId: number): [string, string, unknown?][] {
  return [
    ['GET', 'introspection/popular_items'],
    ['GET', 'introspection/key_stats?key=a'],
    ['GET', 'introspection/recent_logs'],
    ['GET', 'introspection/compound_stats'],
    ['GET', 'introspection/prefixes'],
    ['POST', 'introspection/prefixes', { name: 'zz:' }],
    ['DELETE', `introspection/prefixes/${prefixId}`],
    ['GET', `introspection/prefixes/${prefixId}/stats`],
    ['GET', `introspection/prefixes/${prefixId}/popular_items`],
    ['GET', 'introspection/keys'],
  ];
}

test('popular_items: hot, missed and mutated keys summed over both nodes, prefixes, the 3-minute window', async () => {
  const [c0, c1] = clients as [RawClient, RawClient];
  await set(c0, 'hot:one');
  await set(c1, 'hot:one');
  for (let i = 0; i < 30; i++) await get(c0, 'hot:one');
  for (let i = 0; i < 20; i++) await get(c1, 'hot:one');
  for (let i = 0; i < 12; i++) await get(c1, 'cold:nokey');
  assert.equal(await c0.text('set ctr 0 0 1\r\n0\r\n'), 'STORED\r\n');
  for (let i = 0; i < 15; i++) await c0.text('incr ctr 1\r\n');
  const p = await getJson(cache, 'introspection/popular_items');
  assert.equal(p.time_slice, 180_000_000_000);
  const entry = (list: any[], name: string) => list.find((e) => e.name === name);
  assert.equal(p.most_hit_keys[0].name, 'hot:one');
  assert.equal(p.most_hit_keys[0].key_base64, b64('hot:one'));
  assert.equal(p.most_hit_keys[0].popularity, 50, 'both nodes summed');
  assert.equal(entry(p.most_missed_keys, 'cold:nokey')?.popularity, 12);
  assert.equal(entry(p.most_mutated_keys, 'ctr')?.popularity, 16, 'the set and 15 incr');
  assert.equal(entry(p.most_mutated_keys, 'hot:one')?.popularity, 2);
  assert.ok(entry(p.popular_prefixes, 'hot')?.popularity >= 50, JSON.stringify(p.popular_prefixes));
  for (const list of ['most_hit_keys', 'most_missed_keys', 'most_mutated_keys', 'popular_prefixes']) {
    assert.ok(p[list].length <= 20, list);
    for (let i = 1; i < p[list].length; i++) assert.ok(p[list][i - 1].popularity >= p[list][i].popularity, `${list} sorted`);
  }
});

test('key_stats: a row per node that knows the key; key or key_base64 (any bytes); a missing key is a 400', async () => {
  const [c0, c1] = clients as [RawClient, RawClient];
  await set(c0, 'ks:a', 'hello');
  await get(c0, 'ks:a');
  await get(c1, 'ks:a'); // a miss on node 1: it knows the key too
  const before = Date.now();
  const rows = await getJson(cache, 'introspection/key_stats?key=ks%3Aa');
  assert.deepEqual(rows.map((r: any) => r.server), t.addresses);
  const [r0, r1] = rows;
  assert.deepEqual({ ...r0, timestamp: undefined }, {
    timestamp: undefined, name: 'ks:a', key_base64: b64('ks:a'), size: 5, hit_count: 1, miss_count: 0, mutation_count: 1, in_cache: true, server: t.addresses[0],
  });
  assert.ok(Date.parse(r0.timestamp) >= Math.floor(before / 1000) * 1000 && Date.parse(r0.timestamp) <= Date.now());
  assert.equal(r1.in_cache, false);
  assert.equal(r1.size, 0);
  assert.equal(r1.miss_count, 1);
  // A key no node knows: no row.
  assert.deepEqual(await getJson(cache, 'introspection/key_stats?key=never-seen'), []);
  // Bytes that are not UTF-8 (the binary protocol takes any): named with \xNN, found by key_base64.
  const odd = Buffer.from([0x6f, 0x64, 0x64, 0xff, 0x5c]);
  assert.equal((await c0.text(Buffer.concat([Buffer.from('set '), odd, Buffer.from(' 0 0 1\r\nx\r\n')]))), 'STORED\r\n');
  const oddRows = await getJson(cache, `introspection/key_stats?key_base64=${encodeURIComponent(b64(odd))}`);
  assert.equal(oddRows.length, 1);
  assert.equal(oddRows[0].name, 'odd\\xff\\\\');
  assert.equal(oddRows[0].key_base64, b64(odd));
  for (const q of ['', '?key=', `?key=${'k'.repeat(251)}`,  '?key_base64=%%%', '?key_base64=YQ%3D', '?key_base64=YR%3D%3D', '?key=a&key_base64=YQ==', '?other=1']) {
    const r = await t.api(v2(cache, `introspection/key_stats${q}`), { auth: cache });
    assert.equal(r.status, 400, `${q}: ${r.text}`);
  }
  const missing = await t.api(v2(cache, 'introspection/key_stats'), { auth: cache });
  assert.deepEqual(missing.json(), { message: 'query parameter key is required' });
});

test('recent_logs: keyed by host:port, lines of get, set, delete and stats, oldest first; limit 1 to 1000', async () => {
  const [c0] = clients as [RawClient];
  await set(c0, 'rl:x', 'abc');
  await c0.text('get rl:x rl:missing\r\n', 'END\r\n');
  assert.equal(await c0.text('delete rl:x\r\n'), 'DELETED\r\n');
  await c0.text('stats\r\n', 'END\r\n');
  const logs = await getJson(cache, 'introspection/recent_logs');
  assert.deepEqual(Object.keys(logs).sort(), [...t.addresses].sort());
  const lines = logs[t.addresses[0]!];
  assert.ok(lines.length <= 100);
  const tail = lines.slice(-5).map((l: any) => [l.command, l.status, l.key, l.size]);
  assert.deepEqual(tail, [
    ['SET', 'STORED', 'rl:x', 3],
    ['GET', 'HIT', 'rl:x', 3],
    ['GET', 'MISS', 'rl:missing', 0],
    ['DELETE', 'DELETED', 'rl:x', 0],
    ['STATS', 'OK', '', 0],
  ]);
  for (const l of lines) assert.match(l.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  for (let i = 1; i < lines.length; i++) assert.ok(lines[i - 1].timestamp <= lines[i].timestamp, 'oldest first');
  assert.equal(lines.at(-1).key_base64, '');
  const two = await getJson(cache, 'introspection/recent_logs?limit=2');
  assert.deepEqual(two[t.addresses[0]!].map((l: any) => l.command), ['DELETE', 'STATS']);
  const more = (await getJson(cache, 'introspection/recent_logs?limit=1000'))[t.addresses[0]!];
  assert.ok(more.length >= lines.length && more.length <= 1000);
  assert.deepEqual(more.slice(-lines.length), lines);
  for (const q of ['0', '1001', 'x', '-1']) {
    assert.equal((await t.api(v2(cache, `introspection/recent_logs?limit=${q}`), { auth: cache })).status, 400, q);
  }
});

test('watched prefixes: watch, list, duplicate, 400s (empty, 251 bytes, the 51st), unwatch 204, unknown 404', async () => {
  const other = await t.createCache();
  const watch = (name: unknown, c: ClusterCache = other) => t.api(v2(c, 'introspection/prefixes'), { auth: c, method: 'POST', json: { name } });
  const first = await watch('user:');
  assert.equal(first.status, 200, first.text);
  const p = first.json();
  assert.equal(p.name, 'user:');
  assert.ok(Number.isInteger(p.id) && p.id > 0);
  assert.deepEqual((await watch('user:')).json(), p, 'a duplicate answers the existing one');
  const list = await getJson(other, 'introspection/prefixes');
  assert.deepEqual(list, [p]);

  const longest = 'é'.repeat(125); // 250 bytes
  assert.equal((await watch(longest)).status, 200);
  for (const bad of ['', 'é'.repeat(125) + 'x', 'x'.repeat(251), 5, null]) {
    const r = await watch(bad);
    assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
  }
  assert.equal((await t.api(v2(other, 'introspection/prefixes'), { auth: other, method: 'POST', json: {} })).status, 400);
  assert.equal((await t.api(v2(other, 'introspection/prefixes'), { auth: other, method: 'POST', json: { name: 'a', x: 1 } })).status, 400);
  assert.equal(((await watch('')).json()).message.startsWith('The prefix name must be 1 to 250 bytes of UTF-8.'), true);
  for (let i = 2; i < 50; i++) assert.equal((await watch(`p${i}:`)).status, 200, `prefix ${i + 1}`);
  assert.equal((await getJson(other, 'introspection/prefixes')).length, 50);
  const fiftyFirst = await watch('one-too-many:');
  assert.equal(fiftyFirst.status, 400);
  assert.deepEqual(fiftyFirst.json(), { message: 'A cache can watch at most 50 prefixes; unwatch one first.' });
  assert.equal((await watch('user:')).status, 200, 'a duplicate is no 51st');

  const del = await t.api(v2(other, `introspection/prefixes/${p.id}`), { auth: other, method: 'DELETE' });
  assert.equal(del.status, 204);
  assert.equal(del.text, '');
  assert.equal((await getJson(other, 'introspection/prefixes')).length, 49);
  for (const [method, path] of [['DELETE', `${p.id}`], ['GET', `${p.id}/stats`], ['GET', `${p.id}/popular_items`], ['DELETE', '999999']]) {
    const r = await t.api(v2(other, `introspection/prefixes/${path}`), { auth: other, method });
    assert.equal(r.status, 404, `${method} ${path}: ${r.text}`);
    assert.deepEqual(r.json(), { message: 'Prefix not found.' });
  }
  for (const id of ['x', '0', '2147483648']) {
    assert.equal((await t.api(v2(other, `introspection/prefixes/${id}`), { auth: other, method: 'DELETE' })).status, 400, id);
  }
  assert.equal((await watch('one-too-many:')).status, 200, 'room again');
});

test('watched prefixes: a name with NUL or a lone surrogate is a 400 from the route and refused by the catalog', async () => {
  const c = await t.createCache();
  const watch = (name: string) => t.api(v2(c, 'introspection/prefixes'), { auth: c, method: 'POST', json: { name } });
  // U+FFFD is a real character: watched. A lone surrogate would be stored as its bytes (a
  // second watch of the same prefix) or refused by jsonb; NUL too.
  const replacement = await watch('\ufffd');
  assert.equal(replacement.status, 200, replacement.text);
  for (const [bad, why] of [['a\u0000b', 'U+0000'], ['\u0000', 'U+0000'], ['\ud800', 'well-formed'], ['x\udc00', 'well-formed'], ['\udbff\ud800', 'well-formed']]) {
    const r = await watch(bad!);
    assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
    const { message } = r.json();
    assert.ok(message.startsWith('The prefix name must be') && message.includes(why!), message);
    await assert.rejects(t.catalog.watchPrefix(c.id, bad!), RangeError, `the catalog refuses ${JSON.stringify(bad)} too`);
  }
  assert.deepEqual((await getJson(c, 'introspection/prefixes')).map((p: { name: string }) => p.name), ['\ufffd']);
  assert.equal((await watch('\ud83d\ude00:')).status, 200, 'a surrogate pair is a character');
});

test('compound_stats and a watched prefix\'s stats and popular_items over two sampler rounds', async () => {
  const c = await t.createCache();
  const [c0, c1] = [await t.textLogin(c, 0), await t.textLogin(c, 1)];
  await set(c0, 'pre:old', 'xx'); // before watching: counted in by the node's scan
  const r = await t.api(v2(c, 'introspection/prefixes'), { auth: c, method: 'POST', json: { name: 'pre:' } });
  assert.equal(r.status, 200, r.text);
  const prefix = r.json();
  const slot = Math.floor(Date.now() / MIN) * MIN;
  const round1 = slot - 2 * MIN;
  const round2 = slot - MIN;
  // Both rounds' times are chosen (one minute apart, in the last 24 h) so the rates are exact.
  // The first round (the slot keeps only its first sample, so wait for the scan first).
  await waitScanned(c, prefix.id);
  await t.control.sampler.sampleOnce(round1);
  await set(c0, 'pre:a', 'aaaa');
  await set(c1, 'pre:b', 'bb');
  await set(c1, 'other', 'zzz');
  for (let i = 0; i < 6; i++) await get(c0, 'pre:a');
  for (let i = 0; i < 3; i++) await get(c1, 'pre:none');
  await get(c1, 'other');
  assert.equal(await c0.text('delete pre:old\r\n'), 'DELETED\r\n');
  await t.control.sampler.sampleOnce(round2);
  const now = (await getJson(c, 'stats')) as Record<string, number>;

  const stats = await getJson(c, `introspection/prefixes/${prefix.id}/stats`);
  assert.deepEqual(stats.map((s: any) => [s.name, s.columns]), [[
    'prefix_stats', ['time', 'num_keys', 'total_size', 'total_hits_rate', 'total_misses_rate', 'total_mutations_rate'],
  ]]);
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
  // Sizes are what items cost against the plan, as the `bytes` stat.
  const cost = (key: string, valueBytes: number) => key.length + valueBytes + ITEM_OVERHEAD;
  assert.deepEqual(stats[0].values, [
    [iso(round1), 1, cost('pre:old', 2), null, null, null],
    // pre:a and pre:b; 6 hits, 3 misses, 3 mutations (two sets and a delete) over 60 s.
    [iso(round2), 2, cost('pre:a', 4) + cost('pre:b', 2), 6 / 60, 3 / 60, 3 / 60],
  ]);

  const compound = await getJson(c, 'introspection/compound_stats');
  assert.equal(compound[0].name, 'compound_stats');
  assert.deepEqual(compound[0].columns, stats[0].columns);
  const rows = compound[0].values;
  assert.deepEqual(rows.map((x: any) => x[0]), [iso(round1), iso(round2)]);
  // The whole cache: `other` too; 7 hits, 3 misses, 4 mutations in the minute.
  assert.deepEqual(rows[1], [iso(round2), 3, now.bytes, 7 / 60, 3 / 60, 4 / 60]);
  assert.equal(now.curr_items, 3);
  assert.equal(rows[0][3], null, 'a first sample has no rate');
  const ranged = await getJson(c, `introspection/compound_stats?startTime=${iso(round2)}&endTime=${iso(round2 + 1000)}`);
  assert.deepEqual(ranged[0].values.map((x: any) => x[0]), [iso(round2)]);
  const rangedPrefix = await getJson(c, `introspection/prefixes/${prefix.id}/stats?startTime=${iso(round2)}&endTime=${iso(round2 + 1000)}`);
  assert.deepEqual(rangedPrefix[0].values, [stats[0].values[1]], 'the step from before the range still counts');
  for (const q of ['startTime=yesterday', `startTime=${iso(round2)}&endTime=${iso(round1)}`, 'x=1']) {
    assert.equal((await t.api(v2(c, `introspection/compound_stats?${q}`), { auth: c })).status, 400, q);
    assert.equal((await t.api(v2(c, `introspection/prefixes/${prefix.id}/stats?${q}`), { auth: c })).status, 400, q);
  }

  const popular = await getJson(c, `introspection/prefixes/${prefix.id}/popular_items`);
  assert.deepEqual(popular.most_hit_keys.map((e: any) => [e.name, e.popularity]), [['pre:a', 6]]);
  assert.deepEqual(popular.most_missed_keys.map((e: any) => e.name), ['pre:none']);
  assert.ok(popular.most_mutated_keys.every((e: any) => e.name.startsWith('pre:')));
  assert.ok(![...popular.most_hit_keys, ...popular.most_missed_keys].some((e: any) => e.name === 'other'));
});

/** Until every node has counted in the keys that existed when the prefix was watched. */
async function waitScanned(c: ClusterCache, prefixId: number): Promise<void> {
  const deadline = Date.now() + PROMPTLY_MS;
  for (;;) {
    const fan = await new NodeClient({ catalog: t.catalog }).prefixCounters(c.id);
    const all = [...fan.ok.values()].flat().filter((p) => p.id === prefixId);
    if (all.length === t.addresses.length && all.every((p) => !p.scanning)) return;
    if (Date.now() > deadline) throw new Error(`prefix ${prefixId} still scanning: ${JSON.stringify(all)}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

test('keys: every key of the cache once, paged across both nodes; a prefix; a strict cursor', async () => {
  const c = await t.createCache();
  const [c0, c1] = [await t.textLogin(c, 0), await t.textLogin(c, 1)];
  const made = new Set<string>();
  for (let i = 0; i < 25; i++) {
    await set(i % 2 ? c1 : c0, `k:${i}`, 'v'.repeat(i));
    made.add(`k:${i}`);
  }
  await set(c0, 'j:1');
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: any = await getJson(c, `introspection/keys?prefix=k%3A&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    assert.ok(page.keys.length <= 7, `page of ${page.keys.length}`);
    for (const k of page.keys) {
      seen.push(k.name);
      assert.equal(k.size, Number(k.name.slice(2)));
      assert.equal(k.ttl, -1);
      assert.equal(k.key_base64, b64(k.name));
      assert.ok(t.addresses.includes(k.server));
    }
    cursor = page.cursor;
    assert.ok(++pages < 200, 'the walk ends');
  } while (cursor !== null);
  assert.deepEqual([...seen].sort(), [...made].sort(), 'every key once');
  const all = await getJson(c, 'introspection/keys?limit=1000');
  assert.equal(all.cursor, null);
  assert.equal(all.keys.length, 26);

  const first = await getJson(c, 'introspection/keys?prefix=k%3A&limit=2');
  assert.ok(first.cursor);
  const bad = [
    'not-a-cursor!', 'abc', first.cursor.slice(0, -3), Buffer.from('{"v":1}').toString('base64url'),
  ];
  for (const cur of bad) {
    const r = await t.api(v2(c, `introspection/keys?prefix=k%3A&cursor=${encodeURIComponent(cur)}`), { auth: c });
    assert.equal(r.status, 400, `${cur}: ${r.text}`);
  }
  // Well formed, but a node's part is not one that node gave: the node refuses it, so do we.
  const forged = Buffer.from(JSON.stringify({ v: 1, c: c.id, p: b64('k:'), n: { [t.addresses[0]!]: 'nope' } })).toString('base64url');
  const refused = await t.api(v2(c, `introspection/keys?prefix=k%3A&cursor=${forged}`), { auth: c });
  assert.equal(refused.status, 400, refused.text);
  assert.match(refused.json().message, /^Invalid cursor/);
  // A cursor of another prefix or another cache.
  assert.equal((await t.api(v2(c, `introspection/keys?prefix=j%3A&cursor=${first.cursor}`), { auth: c })).status, 400);
  assert.equal((await t.api(v2(cache, `introspection/keys?prefix=k%3A&cursor=${first.cursor}`), { auth: cache })).status, 400);
  for (const q of ['limit=0', 'limit=1001', 'prefix_base64=!!', 'prefix=a&prefix_base64=YQ==']) {
    assert.equal((await t.api(v2(c, `introspection/keys?${q}`), { auth: c })).status, 400, q);
  }
});

test('two caches never see each other\'s keys, on any endpoint', async () => {
  const a = await t.createCache();
  const b = await t.createCache();
  const [a0, a1, b0] = [await t.textLogin(a, 0), await t.textLogin(a, 1), await t.textLogin(b, 0)];
  for (const c of [a0, a1]) {
    await set(c, 'secret:a', 'private');
    for (let i = 0; i < 3; i++) await get(c, 'secret:a');
    await get(c, 'secret:miss');
  }
  await set(b0, 'mine:b');
  await get(b0, 'mine:b');
  const prefixA = (await t.api(v2(a, 'introspection/prefixes'), { auth: a, method: 'POST', json: { name: 'secret:' } })).json();
  const leaks = (x: unknown) => /secret/.test(JSON.stringify(x)) || JSON.stringify(x).includes(b64('secret:a'));

  assert.ok(leaks(await getJson(a, 'introspection/popular_items')), 'a sees its own');
  assert.ok(!leaks(await getJson(b, 'introspection/popular_items')));
  assert.deepEqual(await getJson(b, 'introspection/key_stats?key=secret%3Aa'), []);
  assert.ok(!leaks(await getJson(b, 'introspection/recent_logs?limit=1000')));
  assert.ok(!leaks(await getJson(b, 'introspection/keys?limit=1000')));
  assert.ok(!leaks(await getJson(b, 'introspection/prefixes')));
  assert.deepEqual((await getJson(b, 'introspection/keys?prefix=secret%3A')).keys, []);
  for (const [method, path] of [['GET', 'stats'], ['GET', 'popular_items'], ['DELETE', '']] as const) {
    const r = await t.api(v2(b, `introspection/prefixes/${prefixA.id}${path ? `/${path}` : ''}`), { auth: b, method });
    assert.equal(r.status, 404, `${method} ${path}`);
  }
  assert.equal((await getJson(a, 'introspection/prefixes')).length, 1, 'still watched');
  // A's credential on B's cache: 403 before anything is read.
  const r = await t.api(v2(b, 'introspection/popular_items'), { auth: a });
  assert.equal(r.status, 403);
});

test('who may call: a credential without api_capability is refused everywhere, no login is a 401, a stats token reads only the series', async () => {
  const noApi = await t.addCredential(cache.id, { write: true, flush: true, api: false });
  for (const [method, path, json] of everyEndpoint(1)) {
    const r = await t.api(v2(cache, path), { auth: noApi, method, json });
    assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
    assert.deepEqual(r.json(), { message: 'You are not authorized to perform this action.' });
    assert.equal((await t.api(v2(cache, path), { method, json })).status, 401, `${method} ${path} without login`);
  }
  assert.deepEqual(await getJson(cache, 'introspection/prefixes').then((l: any[]) => l.filter((p) => p.name === 'zz:')), [], 'nothing watched');
  // A token with the stats scope reads the series (no key in them), not the keys.
  const made = await t.api(v2(cache, 'tokens'), { method: 'POST', auth: cache, json: { scopes: ['stats'] } });
  assert.equal(made.status, 201, made.text);
  const headers = { authorization: `Bearer ${made.json().token}` };
  assert.equal((await t.api(v2(cache, 'introspection/compound_stats'), { headers })).status, 200);
  for (const path of ['introspection/popular_items', 'introspection/keys', 'introspection/recent_logs', 'introspection/prefixes']) {
    const r = await t.api(v2(cache, path), { headers });
    assert.equal(r.status, 403, `${path}: ${r.text}`);
    assert.deepEqual(r.json(), { message: "This API token's scopes do not allow this call." });
  }
});

test('introspection off for the cache (operator) or on a node (409): 403 "Introspection is disabled for this cache."', async () => {
  const c = await t.createCache();
  const watched = (await t.api(v2(c, 'introspection/prefixes'), { auth: c, method: 'POST', json: { name: 'w:' } })).json();
  await t.catalog.updateCache(c.id, { introspection: false });
  await t.syncNodes();
  for (const [method, path, json] of everyEndpoint(watched.id)) {
    const r = await t.api(v2(c, path), { auth: c, method, json });
    assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
    assert.deepEqual(r.json(), { message: 'Introspection is disabled for this cache.' });
  }
  await t.catalog.updateCache(c.id, { introspection: true });
  await t.syncNodes();
  assert.equal((await getJson(c, 'introspection/prefixes')).length, 1, 'the watch outlived the switch');
  assert.equal((await t.api(v2(c, 'introspection/popular_items'), { auth: c })).status, 200);

  // A node started with --no-introspection answers 409: the whole answer is the 403.
  const off: Server = createServer((_req, res) => {
    res.writeHead(409, { 'content-type': 'application/json' });
    res.end('{"error":"introspection disabled"}');
  });
  await new Promise<void>((resolve) => off.listen(0, '127.0.0.1', resolve));
  await t.catalog.registerNode('127.0.0.1:3', `127.0.0.1:${(off.address() as AddressInfo).port}`);
  try {
    for (const path of ['introspection/popular_items', 'introspection/key_stats?key=a', 'introspection/recent_logs', 'introspection/keys',
      `introspection/prefixes/${watched.id}/popular_items`]) {
      const r = await t.api(v2(c, path), { auth: c });
      assert.equal(r.status, 403, `${path}: ${r.text}`);
      assert.deepEqual(r.json(), { message: 'Introspection is disabled for this cache.' });
    }
  } finally {
    await t.catalog.removeNode('127.0.0.1:3');
    off.close();
  }
});

test('a node that hangs or is gone: every endpoint that asks nodes answers 500 naming them, within the deadline', async () => {
  const c = await t.createCache();
  const watched = (await t.api(v2(c, 'introspection/prefixes'), { auth: c, method: 'POST', json: { name: 'w:' } })).json();
  const hung: Server = createServer(() => {});
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  await t.catalog.registerNode('127.0.0.1:1', `127.0.0.1:${(hung.address() as AddressInfo).port}`);
  await t.catalog.registerNode('127.0.0.1:2', '127.0.0.1:9');
  try {
    const started = Date.now();
    const paths = ['introspection/popular_items', 'introspection/key_stats?key=a', 'introspection/recent_logs', 'introspection/keys',
      `introspection/prefixes/${watched.id}/popular_items`];
    // In parallel: each waits for the same 1.5 s deadline.
    const answers = await Promise.all(paths.map((p) => t.api(v2(c, p), { auth: c })));
    const took = Date.now() - started;
    answers.forEach((r, i) => {
      assert.equal(r.status, 500, `${paths[i]}: ${r.text}`);
      assert.deepEqual(r.json(), { message: 'Server error: 127.0.0.1:1,127.0.0.1:2' });
    });
    assert.ok(took >= 1000 && took < PROMPTLY_MS, `took ${took} ms`);
    // What the catalog answers alone does not wait for nodes.
    assert.equal((await t.api(v2(c, 'introspection/prefixes'), { auth: c })).status, 200);
    assert.equal((await t.api(v2(c, 'introspection/compound_stats'), { auth: c })).status, 200);
  } finally {
    await t.catalog.removeNode('127.0.0.1:1');
    await t.catalog.removeNode('127.0.0.1:2');
    hung.closeAllConnections();
    hung.close();
  }
  assert.equal((await t.api(v2(c, 'introspection/popular_items'), { auth: c })).status, 200);
});
