// API v2 authentication and the status rules of cachier's decisions, over real HTTP:
// 400 for a non-numeric id, 401 + WWW-Authenticate for no/malformed/wrong Basic, 403 for
// a valid credential of another cache or without api_capability, 404 "Cache not found."
// for a deleted or (but for info and enable_cache) disabled cache; errors as {"message"}.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { basic, startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

let t: TestCluster;
let cache: ClusterCache;
let other: ClusterCache;
before(async () => {
  t = await startTestCluster();
  cache = await t.createCache();
  other = await t.createCache();
});
after(() => t.close());

const v2 = (id: number | string, action: string) => `/api/v2/caches/${id}/${action}`;

function assertMessage(r: { status: number; headers: Headers; text: string }, status: number, message: string | RegExp, what: string): void {
  assert.equal(r.status, status, `${what}: ${r.text}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/, what);
  const body = JSON.parse(r.text);
  assert.deepEqual(Object.keys(body), ['message'], what);
  if (typeof message === 'string') assert.equal(body.message, message, what);
  else assert.match(body.message, message, what);
}

test('info with a credential of the cache: the fields of the decisions, no password', async () => {
  const r = await t.api(v2(cache.id, 'info'), { auth: cache });
  assert.equal(r.status, 200, r.text);
  const info = r.json();
  assert.deepEqual(Object.keys(info).sort(), [
    'cache_type', 'can_manage_credentials', 'can_switch', 'can_update_capabilities', 'cluster_name', 'credentials',
    'enabled', 'id', 'label', 'name', 'plan', 'provider', 'servers',
  ]);
  assert.equal(info.id, cache.id);
  assert.equal(info.cache_type, 'memcache');
  assert.equal(info.provider, 'self-hosted');
  assert.equal(info.plan, 64 << 20);
  assert.equal(info.enabled, true);
  assert.equal(info.cluster_name, 'default');
  assert.equal(info.label, info.name);
  assert.deepEqual(info.servers, t.addresses);
  assert.equal(info.can_switch, false);
  assert.equal(info.can_manage_credentials, true);
  assert.equal(info.can_update_capabilities, true);
  assert.equal(info.credentials.length, 1);
  assert.deepEqual(info.credentials[0], {
    id: cache.credentialId, cache_id: cache.id, sasl_username: cache.username,
    write_capability: true, flush_capability: true, api_capability: true, primary: true,
  });
  assert.ok(!r.text.includes(cache.password));
});

test('no, malformed, unknown or wrong Basic credentials: 401 with WWW-Authenticate: Basic realm="cachier"', async () => {
  const cases: [string, Record<string, string>][] = [
    ['none', {}],
    ['not basic', { authorization: 'Bearer abc' }],
    ['garbage', { authorization: 'Basic !!!' }],
    ['no colon', { authorization: `Basic ${Buffer.from(cache.username).toString('base64')}` }],
    ['trailing newline in the base64 (the flush article)', { authorization: `Basic ${Buffer.from(`${cache.username}:${cache.password}\n`).toString('base64')}` }],
    ['wrong password', { authorization: basic(cache.username, 'nope') }],
    ['unknown user', { authorization: basic('NOBODY00', cache.password) }],
    ['empty', { authorization: basic('', '') }],
  ];
  for (const [name, headers] of cases) {
    for (const action of ['info', 'credentials']) {
      const r = await t.api(v2(cache.id, action), { headers });
      assertMessage(r, 401, /./, `${name} ${action}`);
      assert.equal(r.headers.get('www-authenticate'), 'Basic realm="cachier"', `${name} ${action}`);
    }
  }
  // A POST that would change something changes nothing.
  const before = (await t.catalog.listCredentials(cache.id)).length;
  const r = await t.api(v2(cache.id, 'credentials'), { method: 'POST', headers: { authorization: basic(cache.username, 'nope') } });
  assert.equal(r.status, 401);
  assert.equal((await t.catalog.listCredentials(cache.id)).length, before);
});

test('a valid credential of another cache, or without api_capability: 403', async () => {
  const r = await t.api(v2(cache.id, 'info'), { auth: other });
  assertMessage(r, 403, 'You are not authorized to perform this action.', 'other cache');
  assert.equal(r.headers.get('www-authenticate'), null);
  const noApi = await t.addCredential(cache.id, { api: false });
  for (const action of ['info', 'credentials']) {
    assertMessage(await t.api(v2(cache.id, action), { auth: noApi }), 403, /not authorized/, `no api ${action}`);
  }
  // Of another cache that does not exist: still 403, not 404 (no oracle for other ids).
  assertMessage(await t.api(v2(999_999, 'info'), { auth: cache }), 403, /not authorized/, 'missing other id');
});

test('a non-numeric cache id is 400 "The specified cache ID is invalid (not a number)."', async () => {
  for (const id of ['abc', '1x', '-1', '1.5', '%20', 'NaN']) {
    for (const auth of [cache, null]) {
      assertMessage(await t.api(v2(id, 'info'), { auth }), 400, 'The specified cache ID is invalid (not a number).', `${id}`);
    }
  }
});

test('a disabled cache: info answers (enabled false), the rest 404 "Cache not found."; deleted: 404 everywhere', async () => {
  const c = await t.createCache();
  await t.catalog.updateCache(c.id, { enabled: false });
  const info = await t.api(v2(c.id, 'info'), { auth: c });
  assert.equal(info.status, 200, info.text);
  assert.equal(info.json().enabled, false);
  for (const action of ['credentials']) {
    assertMessage(await t.api(v2(c.id, action), { auth: c }), 404, 'Cache not found.', `disabled ${action}`);
  }

  const d = await t.createCache();
  await t.catalog.deleteCache(d.id);
  for (const action of ['info', 'credentials']) {
    assertMessage(await t.api(v2(d.id, action), { auth: d }), 404, 'Cache not found.', `deleted ${action}`);
  }
});

test('an unknown path inside a cache is a 404 {"message"}; errors are never v1 strings', async () => {
  assertMessage(await t.api(v2(cache.id, 'nope'), { auth: cache }), 404, 'Not found.', 'unknown action');
  assertMessage(await t.api(v2(cache.id, 'info'), { auth: cache, method: 'DELETE' }), 404, /./, 'wrong method');
});

test('failed Basic logins go through the login throttle; a right password still passes at once', async () => {
  for (let i = 0; i < 6; i++) {
    assert.equal((await t.api(v2(cache.id, 'info'), { auth: { username: cache.username, password: `wrong${i}` } })).status, 401);
  }
  const started = Date.now();
  const r = await t.api(v2(cache.id, 'info'), { auth: cache });
  assert.equal(r.status, 200);
  assert.ok(Date.now() - started < 1000, 'the right password is not delayed');
});
