// Analytics API v1 authentication: login, 403 for anything but an api-capable credential
// of the cache in the path, 404 "No cache found." for unknown, disabled or deleted caches.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { basic, NO_CACHE, NOT_AUTHORIZED, startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

let t: TestCluster;
let cache: ClusterCache;
let other: ClusterCache;
before(async () => {
  t = await startTestCluster();
  cache = await t.createCache();
  other = await t.createCache();
});
after(() => t.close());

test('GET /api/login and /api/v1/login answer {"cache_id": N} as JSON', async () => {
  for (const path of ['/api/login', '/api/v1/login']) {
    const r = await t.api(path, { auth: cache });
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(r.json(), { cache_id: cache.id });
  }
  assert.deepEqual((await t.api('/api/v1/login', { auth: other })).json(), { cache_id: other.id });
});

test('login: no, malformed, unknown or wrong credentials are 403 with the quoted message', async () => {
  const cases: [string, Record<string, string>][] = [
    ['none', {}],
    ['not basic', { authorization: 'Bearer abc' }],
    ['garbage', { authorization: 'Basic !!!' }],
    ['no colon', { authorization: `Basic ${Buffer.from(cache.username).toString('base64')}` }],
    ['wrong password', { authorization: basic(cache.username, 'nope') }],
    ['unknown user', { authorization: basic('NOBODY00', cache.password) }],
    ['empty', { authorization: basic('', '') }],
  ];
  for (const [name, headers] of cases) {
    for (const path of ['/api/login', '/api/v1/login', `/api/v1/${cache.id}/stats`, `/api/v1/${cache.id}/credentials`]) {
      const r = await t.api(path, { headers });
      assert.equal(r.status, 403, `${name} ${path}`);
      assert.equal(r.text, NOT_AUTHORIZED, `${name} ${path}`);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    }
  }
});

test('a credential without api_capability is 403 everywhere, with it 200', async () => {
  const noApi = await t.addCredential(cache.id, { api: false });
  assert.equal((await t.api('/api/v1/login', { auth: noApi })).status, 403);
  for (const path of ['stats', 'history', 'credentials']) {
    const r = await t.api(`/api/v1/${cache.id}/${path}`, { auth: noApi });
    assert.equal(r.status, 403, path);
    assert.equal(r.text, NOT_AUTHORIZED);
  }
  const r = await t.api(`/api/v1/${cache.id}/flush`, { method: 'POST', auth: noApi });
  assert.equal(r.status, 403);
  const withApi = await t.addCredential(cache.id, { api: true, write: false, flush: false });
  assert.deepEqual((await t.api('/api/v1/login', { auth: withApi })).json(), { cache_id: cache.id });
  assert.equal((await t.api(`/api/v1/${cache.id}/credentials`, { auth: withApi })).status, 200);
});

test("another cache's credential is 403 on this cache's paths", async () => {
  for (const [method, path] of [
    ['GET', 'stats'], ['GET', 'history'], ['GET', 'credentials'], ['POST', 'credentials'], ['POST', 'flush'],
    ['PATCH', `credentials/${cache.username}`], ['POST', `credentials/primary/${cache.username}`],
    ['DELETE', `credentials/${cache.username}`],
  ] as const) {
    const r = await t.api(`/api/v1/${cache.id}/${path}`, { method, auth: other });
    assert.equal(r.status, 403, `${method} ${path}`);
    assert.equal(r.text, NOT_AUTHORIZED);
  }
  // Nothing changed.
  const list = (await t.api(`/api/v1/${cache.id}/credentials`, { auth: cache })).json<{ sasl_username: string; primary: boolean }[]>();
  assert.ok(list.find((c) => c.sasl_username === cache.username)?.primary);
});

test('unknown or malformed cache ids are 404 "No cache found."', async () => {
  // 2147483648 and 999999999999999: past PostgreSQL's integer, which once failed the lookup (a 500, before any login).
  for (const id of ['999999', '0', 'abc', '-1', '1e3', '99999999999999999999', '2147483648', '999999999999999']) {
    const r = await t.api(`/api/v1/${id}/stats`, { auth: cache });
    assert.equal(r.status, 404, id);
    assert.equal(r.text, NO_CACHE, id);
  }
});

test('a disabled cache is 404 for its own valid credential, and comes back when enabled', async () => {
  const c = await t.createCache();
  await t.catalog.updateCache(c.id, { enabled: false });
  for (const path of ['/api/login', '/api/v1/login']) {
    const r = await t.api(path, { auth: c });
    assert.equal(r.status, 404, path);
    assert.equal(r.text, NO_CACHE);
  }
  for (const path of ['stats', 'history', 'credentials']) {
    const r = await t.api(`/api/v1/${c.id}/${path}`, { auth: c });
    assert.equal(r.status, 404, path);
    assert.equal(r.text, NO_CACHE);
  }
  await t.catalog.updateCache(c.id, { enabled: true });
  assert.deepEqual((await t.api('/api/v1/login', { auth: c })).json(), { cache_id: c.id });
});

test("a deleted cache's paths are 404 \"No cache found.\" for its old credential", async () => {
  const c = await t.createCache();
  assert.equal((await t.api(`/api/v1/${c.id}/stats`, { auth: c })).status, 200);
  await t.catalog.deleteCache(c.id);
  for (const path of ['stats', 'history', 'credentials']) {
    const r = await t.api(`/api/v1/${c.id}/${path}`, { auth: c });
    assert.equal(r.status, 404, path);
    assert.equal(r.text, NO_CACHE);
  }
  const r = await t.api(`/api/v1/${c.id}/flush`, { method: 'POST', auth: c });
  assert.equal(r.status, 404);
  const login = await t.api('/api/v1/login', { auth: c });
  assert.equal(login.status, 404, 'a valid credential of a deleted cache: No cache found.');
  assert.equal(login.text, NO_CACHE);
});

test('unknown routes are a JSON 404', async () => {
  const r = await t.api('/api/v2/whatever', { auth: cache });
  assert.equal(r.status, 404);
  assert.equal(typeof r.json(), 'string');
});
