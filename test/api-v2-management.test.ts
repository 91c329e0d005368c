// API v2 management over real HTTP: rotate_sso and the sign-in link /sso/<id>/<token>
// (cookie session acting as the primary credential, CSRF header rule, rotation ending old
// links and their sessions, sign-out), enable_cache (only for a cache disabled for
// inactivity), switch_cluster (403 while the cache's cluster is the only one; moves: api-clusters.test.ts);
// the operator API's link.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

let t: TestCluster;
let cache: ClusterCache;
before(async () => {
  t = await startTestCluster();
  cache = await t.createCache();
});
after(() => t.close());

const v2 = (action: string, c: { id: number } = cache) => `/api/v2/caches/${c.id}/${action}`;

async function rotate(c: ClusterCache = cache): Promise<string> {
  const r = await t.api(v2('rotate_sso', c), { auth: c, method: 'POST' });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  const link = r.json();
  assert.equal(typeof link, 'string');
  return link;
}

/** Opens a sign-in link as a browser would (not following the redirect): the session cookie. */
async function open(link: string): Promise<{ status: number; cookie?: string; res: Response }> {
  const res = await fetch(link, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  await res.text();
  const set = res.headers.getSetCookie();
  const session = set.find((c) => c.startsWith('cachier_session='));
  return { status: res.status, res, cookie: session?.split(';')[0] };
}

test('rotate_sso answers the sign-in link as a JSON string; opening it sets an HttpOnly SameSite=Strict session and goes to the dashboard', async () => {
  const link = await rotate();
  assert.match(link, new RegExp(`^${t.url}/sso/${cache.id}/[A-Za-z0-9_-]{43}$`));
  const { status, res, cookie } = await open(link);
  assert.equal(status, 303);
  assert.equal(res.headers.get('location'), '/');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  const set = res.headers.getSetCookie();
  const session = set.find((c) => c.startsWith('cachier_session='))!;
  assert.match(session, /; HttpOnly/);
  assert.match(session, /; SameSite=Strict/);
  assert.match(session, /; Path=\//);
  assert.match(session, /; Max-Age=43200/);
  assert.ok(set.some((c) => /^cachier_sso=1; Path=\/; SameSite=Strict/.test(c) && !/HttpOnly/.test(c)), 'the readable hint cookie');
  assert.ok(cookie);
  // The session id is not the token.
  assert.ok(!link.endsWith(cookie!.split('=')[1]!));
});

test('a session acts as the primary credential on v1 and v2; mutations need X-Requested-With', async () => {
  const { cookie } = await open(await rotate());
  const headers = { cookie: cookie! };
  const info = await t.api(v2('info'), { headers });
  assert.equal(info.status, 200, info.text);
  assert.equal(info.json().id, cache.id);
  assert.deepEqual((await t.api('/api/v1/login', { headers })).json(), { cache_id: cache.id });
  assert.equal((await t.api(`/api/v1/${cache.id}/stats`, { headers })).status, 200);

  // A mutation without the header: refused, nothing made.
  const count = (await t.catalog.listCredentials(cache.id)).length;
  const v2Post = await t.api(v2('credentials'), { method: 'POST', headers });
  assert.equal(v2Post.status, 403, v2Post.text);
  assert.match(v2Post.json().message, /X-Requested-With/);
  const v1Post = await t.api(`/api/v1/${cache.id}/credentials`, { method: 'POST', headers });
  assert.equal(v1Post.status, 403);
  assert.equal((await t.catalog.listCredentials(cache.id)).length, count);
  // With it: done, with the primary's capabilities.
  const made = await t.api(v2('credentials'), { method: 'POST', headers: { ...headers, 'x-requested-with': 'cachier-dashboard' } });
  assert.equal(made.status, 201, made.text);
  assert.ok(made.json().write_capability && made.json().flush_capability && made.json().api_capability);
  const v1Made = await t.api(`/api/v1/${cache.id}/credentials`, { method: 'POST', headers: { ...headers, 'x-requested-with': 'XMLHttpRequest' } });
  assert.equal(v1Made.status, 200, v1Made.text);

  // Only for its own cache.
  const other = await t.createCache();
  assert.equal((await t.api(v2('info', other), { headers })).status, 403);
  assert.equal((await t.api(`/api/v1/${other.id}/stats`, { headers })).status, 403);
  // A Basic header wins over the cookie: a wrong one is a 401, not the session.
  const wrong = await t.api(v2('info'), { headers: { ...headers, authorization: 'Basic AAAA' } });
  assert.equal(wrong.status, 401);
});

test('rotating ends the old link and every session it opened, at once; a bad session is a 401 (v2) / 403 (v1)', async () => {
  const oldLink = await rotate();
  const { cookie } = await open(oldLink);
  assert.equal((await t.api(v2('info'), { headers: { cookie: cookie! } })).status, 200);
  const newLink = await rotate();
  assert.notEqual(newLink, oldLink);
  const gone = await t.api(v2('info'), { headers: { cookie: cookie! } });
  assert.equal(gone.status, 401);
  assert.equal(gone.headers.get('www-authenticate'), 'Basic realm="cachier"');
  assert.match(gone.json().message, /session/);
  assert.equal((await t.api(`/api/v1/${cache.id}/stats`, { headers: { cookie: cookie! } })).status, 403);
  const again = await open(oldLink);
  assert.equal(again.status, 404);
  assert.equal(again.cookie, undefined);
  assert.equal((await open(newLink)).status, 303);
  for (const bad of [`${t.url}/sso/${cache.id}/short`, `${t.url}/sso/abc/${newLink.split('/').pop()}`, `${t.url}/sso/${cache.id + 1000}/${newLink.split('/').pop()}`]) {
    const r = await open(bad);
    assert.equal(r.status, 404, bad);
    assert.equal(r.cookie, undefined);
  }
  for (const junk of ['cachier_session=nonsense', 'cachier_session=' + 'A'.repeat(43)]) {
    assert.equal((await t.api(v2('info'), { headers: { cookie: junk } })).status, 401, junk);
  }
});

test('a session follows the primary: after a promotion it acts as the new one; sign-out ends it', async () => {
  const c = await t.createCache();
  const { cookie } = await open(await rotate(c));
  const headers = { cookie: cookie!, 'x-requested-with': 'cachier-dashboard' };
  const made = (await t.api(v2('credentials', c), { method: 'POST', headers })).json();
  assert.equal((await t.api(v2(`credentials/primary/${made.sasl_username}`, c), { method: 'POST', headers })).status, 200);
  // The new primary loses flush: the session can no longer flush.
  assert.equal((await t.api(v2(`credentials/${made.sasl_username}`, c), { method: 'PATCH', headers, json: { write_capability: true, api_capability: true } })).status, 200);
  assert.equal((await t.api(v2('flush', c), { method: 'POST', headers })).status, 403);

  const out = await t.api('/sso/sign-out', { method: 'POST', headers });
  assert.equal(out.status, 204);
  assert.ok(out.headers.getSetCookie().some((x) => /^cachier_session=; .*Max-Age=0/.test(x)));
  assert.equal((await t.api(v2('info', c), { headers: { cookie: cookie! } })).status, 401);
  assert.equal((await t.api('/sso/sign-out', { method: 'POST', headers: { cookie: cookie! } })).status, 403, 'sign-out needs the header too');
});

test('rotate_sso needs all three capabilities (the link signs in as the primary)', async () => {
  const c = await t.createCache();
  const link = await rotate(c);
  for (const caps of [{ write: false }, { flush: false }, { write: false, flush: false }]) {
    const weak = await t.addCredential(c.id, { ...caps, api: true });
    const r = await t.api(v2('rotate_sso', c), { auth: weak, method: 'POST' });
    assert.equal(r.status, 403, JSON.stringify(caps));
  }
  assert.equal((await open(link)).status, 303, 'the link still works');
  assert.equal((await t.api(v2('rotate_sso', c), { auth: c, method: 'POST', json: { x: 1 } })).status, 400);
  assert.equal((await open(link)).status, 303, 'a refused request changes nothing');
});

test('enable_cache: re-enables a cache disabled for inactivity; an operator-disabled one is 403; an enabled one 200', async () => {
  const c = await t.createCache();
  assert.equal((await t.api(v2('enable_cache', c), { auth: c, method: 'POST' })).status, 200);
  await t.catalog.recordActivity([{ cacheId: c.id, marks: {}, trafficAt: Date.now() - 10 * 86_400_000 }]);
  assert.deepEqual(await t.catalog.disableIdleCaches(Date.now() - 86_400_000), [c.id]);
  await t.syncNodes();
  assert.equal((await t.api(v2('stats', c), { auth: c })).status, 404);
  const info = (await t.api(v2('info', c), { auth: c })).json();
  assert.equal(info.enabled, false);
  // Disabled: memcache logins fail.
  await assert.rejects(t.textLogin(c));

  const r = await t.api(v2('enable_cache', c), { auth: c, method: 'POST' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.text, '');
  assert.equal((await t.api(v2('info', c), { auth: c })).json().enabled, true);
  assert.equal((await t.api(v2('stats', c), { auth: c })).status, 200);
  const client = await t.textLogin(c);
  assert.equal(await client.text('set k 0 0 1\r\nx\r\n'), 'STORED\r\n');

  await t.catalog.updateCache(c.id, { enabled: false });
  const refused = await t.api(v2('enable_cache', c), { auth: c, method: 'POST' });
  assert.equal(refused.status, 403);
  assert.deepEqual(refused.json(), { message: 'Not allowed to enable this cache.' });
  assert.equal((await t.catalog.getCache(c.id))!.enabled, false);
  // Deleted: 404.
  await t.catalog.deleteCache(c.id);
  assert.equal((await t.api(v2('enable_cache', c), { auth: c, method: 'POST' })).status, 404);
});

test('switch_cluster: 403 while can_switch is false', async () => {
  assert.equal((await t.api(v2('info'), { auth: cache })).json().can_switch, false);
  const r = await t.api(v2('switch_cluster'), { auth: cache, method: 'POST' });
  assert.equal(r.status, 403);
  assert.match(r.json().message, /Not allowed to switch/);
});

test('the operator API returns the sign-in link once on create, and rotates it', async () => {
  const token = t.control.operatorToken!;
  assert.ok(token, 'the first start made the operator token');
  const auth = { authorization: `Bearer ${token}` };
  const made = await t.api('/api/operator/caches', { method: 'POST', headers: auth, json: { memory: '8mb' } });
  assert.equal(made.status, 200, made.text);
  const body = made.json();
  assert.match(body.sso_url, new RegExp(`^${t.url}/sso/${body.id}/[A-Za-z0-9_-]{43}$`));
  const first = await open(body.sso_url);
  assert.equal(first.status, 303);
  assert.equal((await t.api(`/api/v2/caches/${body.id}/info`, { headers: { cookie: first.cookie! } })).status, 200);
  const shown = await t.api(`/api/operator/caches/${body.id}`, { headers: auth });
  assert.ok(!shown.text.includes(body.sso_url.split('/').pop()), 'never shown again');
  const rotated = await t.api(`/api/operator/caches/${body.id}/rotate_sso`, { method: 'POST', headers: auth });
  assert.equal(rotated.status, 200, rotated.text);
  assert.notEqual(rotated.json().sso_url, body.sso_url);
  assert.equal((await open(body.sso_url)).status, 404);
  assert.equal((await t.api(`/api/v2/caches/${body.id}/info`, { headers: { cookie: first.cookie! } })).status, 401);
  assert.equal((await t.api('/api/operator/caches/99999/rotate_sso', { method: 'POST', headers: auth })).status, 404);
  assert.equal((await t.api(`/api/operator/caches/${body.id}/rotate_sso`, { method: 'POST' })).status, 401);
});
