// API v2 requests that must be refused and change nothing, found by the hostile review of
// issue 13 (each answered 200 and changed something before): a JSON null or a number or
// array where a capability goes (the validator coerced null to {}, 1 to true, [true] to
// true, so a PATCH of `null` took every capability away); a body on DELETE; capabilities
// in the query string, v1's form, which v2 ignored (PATCH then set all three to false,
// POST made a credential with all of the caller's); other unknown query parameters. And a
// bound on `names` (the answer grows with it: 682 repeated names made a 17 MB answer and
// 130 MB of server memory for one day of 4 servers), which the OpenAPI document states as
// it states that `names` is required.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PROCESSED_STAT_NAMES } from '../src/api/insight-formulas.ts';
import type { RawClient } from './support/raw-client.ts';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

let t: TestCluster;
let cache: ClusterCache;
let client: RawClient;
before(async () => {
  t = await startTestCluster({ nodes: 2 });
  cache = await t.createCache();
  client = await t.textLogin(cache);
});
after(() => t.close());

const v2 = (action: string) => `/api/v2/caches/${cache.id}/${action}`;

async function newCredential(): Promise<string> {
  const r = await t.api(v2('credentials'), { auth: cache, method: 'POST' });
  assert.equal(r.status, 201, r.text);
  return r.json().sasl_username;
}

async function capabilities(username: string): Promise<[boolean, boolean, boolean] | undefined> {
  const c = (await t.catalog.listCredentials(cache.id)).find((x) => x.username === username);
  return c && [c.write, c.flush, c.api];
}

function assertBadRequest(r: { status: number; text: string; json: () => any }, what: string): void {
  assert.equal(r.status, 400, `${what}: ${r.text}`);
  assert.match(r.json().message, /^Bad request/, what);
}

test('PATCH credentials: a JSON null body, numbers and arrays for capabilities are 400, and nothing changes', async () => {
  const username = await newCredential();
  const path = v2(`credentials/${username}`);
  const bad: [string, string][] = [
    ['null body', 'null'],
    ['1 for true', '{"write_capability":1,"flush_capability":1,"api_capability":1}'],
    ['0 for false', '{"write_capability":0}'],
    ['an array for a capability', '{"write_capability":[true]}'],
    ['an empty array for a capability', '{"api_capability":[]}'],
  ];
  for (const [what, body] of bad) {
    const r = await t.api(path, { auth: cache, method: 'PATCH', body, contentType: 'application/json' });
    assertBadRequest(r, what);
    assert.deepEqual(await capabilities(username), [true, true, true], what);
  }
  // What the documents send still works: JSON booleans, and v1's "true"/"false" strings.
  const ok = await t.api(path, { auth: cache, method: 'PATCH', json: { write_capability: 'false', flush_capability: true, api_capability: true } });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(await capabilities(username), [false, true, true]);
});

test('a call that takes no body refuses a JSON null or a non-empty body, DELETE included, and nothing changes', async () => {
  const username = await newCredential();
  for (const body of ['{"sasl_username":"x"}', 'null']) {
    const r = await t.api(v2(`credentials/${username}`), { auth: cache, method: 'DELETE', body, contentType: 'application/json' });
    assertBadRequest(r, `DELETE with ${body}`);
    assert.deepEqual(await capabilities(username), [true, true, true], 'not deleted');
  }
  assert.equal(await client.text('set kept 0 0 1\r\nx\r\n'), 'STORED\r\n');
  const r = await t.api(v2('flush'), { auth: cache, method: 'POST', body: 'null', contentType: 'application/json' });
  assertBadRequest(r, 'flush with null');
  assert.match(await client.text('get kept\r\n', 'END\r\n'), /^VALUE kept/, 'not flushed');
  // No body, or an empty object, is still no body.
  assert.equal((await t.api(v2(`credentials/${username}`), { auth: cache, method: 'DELETE', json: {} })).status, 200);
  assert.equal(await capabilities(username), undefined);
});

test('capabilities in the query string (v1\'s form) and other unknown query parameters are 400, and nothing changes', async () => {
  const username = await newCredential();
  const all = 'write_capability=true&flush_capability=true&api_capability=true';
  const patch = await t.api(v2(`credentials/${username}?${all}`), { auth: cache, method: 'PATCH' });
  assertBadRequest(patch, 'PATCH with query capabilities');
  assert.match(patch.json().message, /querystring has unknown field "write_capability"/);
  assert.deepEqual(await capabilities(username), [true, true, true], 'not set to false');

  const count = (await t.catalog.listCredentials(cache.id)).length;
  const create = await t.api(v2('credentials?write_capability=false'), { auth: cache, method: 'POST' });
  assertBadRequest(create, 'POST credentials with a query capability');
  assert.equal((await t.catalog.listCredentials(cache.id)).length, count, 'nothing made');

  const remove = await t.api(v2(`credentials/${username}?force=1`), { auth: cache, method: 'DELETE' });
  assertBadRequest(remove, 'DELETE with a query parameter');
  assert.deepEqual(await capabilities(username), [true, true, true], 'not deleted');

  assert.equal(await client.text('set kept 0 0 1\r\nx\r\n'), 'STORED\r\n');
  assertBadRequest(await t.api(v2('flush?all=1'), { auth: cache, method: 'POST' }), 'flush with a query parameter');
  assert.match(await client.text('get kept\r\n', 'END\r\n'), /^VALUE kept/, 'not flushed');

  for (const path of ['info?x=1', 'stats?x=1', 'credentials?x=1']) assertBadRequest(await t.api(v2(path), { auth: cache }), path);
  assert.equal((await t.api(v2('info'), { auth: cache })).status, 200);
});

test(`insight: at most 100 names a request (repeats count), 400 past it; the OpenAPI document says names is required and bounded`, async () => {
  const names = (n: number) => Array.from({ length: n }, (_, i) => PROCESSED_STAT_NAMES[i % PROCESSED_STAT_NAMES.length]).join(',');
  for (const path of ['insight/processed_stats', 'insight/processed_stats/per_server']) {
    const ok = await t.api(v2(`${path}?names=${names(100)}`), { auth: cache });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json()[0].columns.length, 101);
    const over = await t.api(v2(`${path}?names=${names(101)}`), { auth: cache });
    assert.equal(over.status, 400, over.text);
    assert.deepEqual(over.json(), { message: 'Too many processed stat names: 101 (at most 100 a request)' });
    // Missing names keep the documented text.
    const missing = await t.api(v2(path), { auth: cache });
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.json(), { message: 'query parameter names is required' });
  }
  const doc = await (await fetch(`${t.url}/api/openapi.json`)).json() as any;
  const param = doc.paths['/api/v2/caches/{cache_id}/insight/processed_stats'].get.parameters.find((p: any) => p.name === 'names');
  assert.equal(param.required, true);
  assert.match(param.description, /at most 100/);
});
