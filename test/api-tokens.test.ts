// Scoped API tokens over real HTTP, as an attacker would try them: made by a credential with
// all three capabilities only (never by a token), shown once, listed without the secret,
// used as `Authorization: Bearer` on v1 and v2 within their scopes and nowhere else (403),
// never on another cache, dead once expired or revoked (401, slowed like a wrong password),
// alive across credential rotation; a token in Basic's place, or a password as a token, is
// no login. Runs on both catalogs (npm run test:api-postgres).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RouteOptions } from 'fastify';
import { buildApp } from '../src/control/app.ts';
import { CREDENTIAL_ONLY, ROUTE_SCOPES, scopeNeeded, scopesAllow } from '../src/control/token-scopes.ts';
import { basic, startTestCluster, NOT_AUTHORIZED, type ClusterCache, type TestCluster } from './support/control.ts';
import { sleep } from './support/wait.ts';

let t: TestCluster;
let cache: ClusterCache;
let other: ClusterCache;
before(async () => {
  t = await startTestCluster();
  cache = await t.createCache();
  other = await t.createCache();
});
after(() => t.close());

const v2 = (c: { id: number }, action: string) => `/api/v2/caches/${c.id}/${action}`;
const v1 = (c: { id: number }, action: string) => `/api/v1/${c.id}/${action}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

interface Made { id: number; token: string; body: any }

async function makeToken(body: unknown, c: ClusterCache = cache): Promise<Made> {
  const r = await t.api(v2(c, 'tokens'), { method: 'POST', auth: c, json: body });
  assert.equal(r.status, 201, r.text);
  const made = r.json();
  return { id: made.id, token: made.token, body: made };
}

/** Status of one call made with a token (v1 answers errors as strings, v2 as {"message"}). */
async function call(token: string, method: string, path: string, json?: unknown): Promise<number> {
  const r = await t.api(path, { method, headers: bearer(token), ...(json === undefined ? {} : { json }) });
  return r.status;
}

test('POST tokens: 201 with the token once (no-store); GET tokens lists it without the secret', async () => {
  const r = await t.api(v2(cache, 'tokens'), { method: 'POST', auth: cache, json: { scopes: ['flush'], expires_in: 3600, description: 'CI deploy' } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const made = r.json();
  assert.deepEqual(Object.keys(made).sort(), ['cache_id', 'created_at', 'description', 'expires_at', 'id', 'last_used_at', 'scopes', 'token']);
  assert.match(made.token, new RegExp(`^ctk_${made.id}_[A-Za-z0-9_-]{43}$`));
  assert.equal(made.cache_id, cache.id);
  assert.deepEqual(made.scopes, ['flush']);
  assert.equal(made.description, 'CI deploy');
  assert.match(made.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const lifetime = Date.parse(made.expires_at) - Date.parse(made.created_at);
  assert.ok(lifetime >= 3599_000 && lifetime <= 3601_000, `${lifetime}`);
  assert.equal(made.last_used_at, null);

  assert.equal(await call(made.token, 'POST', v2(cache, 'flush')), 204);
  const list = await t.api(v2(cache, 'tokens'), { auth: cache });
  assert.equal(list.status, 200, list.text);
  const mine = list.json().find((x: any) => x.id === made.id);
  const { token: _secret, ...listed } = made;
  assert.deepEqual({ ...mine, last_used_at: null }, listed);
  assert.match(mine.last_used_at, /Z$/, 'last use is recorded');
  const secret = made.token.split('_').slice(2).join('_');
  assert.ok(!list.text.includes(secret), 'a list never carries the secret');
  assert.ok(!(await t.api(v2(cache, 'info'), { auth: cache })).text.includes(secret));
});

test('each scope opens its calls on v1 and v2 and nothing else (403)', async () => {
  const flush = await makeToken({ scopes: ['flush'] });
  const stats = await makeToken({ scopes: ['stats'] });
  const read = await makeToken({ scopes: ['read'] });
  const creds = await makeToken({ scopes: ['credentials'] });
  const all = await makeToken({ scopes: ['all'] });
  const statsAndFlush = await makeToken({ scopes: ['stats', 'flush'] });
  const insight = `insight/processed_stats?names=get_rate&startTime=2026-01-01T00:00:00Z&endTime=2026-01-01T01:00:00Z`;
  // [method, path, scope it needs, status when allowed]
  const calls: [string, string, string, number][] = [
    ['POST', v2(cache, 'flush'), 'flush', 204],
    ['POST', v2(cache, 'reset_stats'), 'flush', 204],
    ['POST', v1(cache, 'flush'), 'flush', 200],
    ['GET', v2(cache, 'stats'), 'stats', 200],
    ['GET', v2(cache, insight), 'stats', 200],
    ['GET', v2(cache, 'insight/latency'), 'stats', 200],
    ['GET', v1(cache, 'stats'), 'stats', 200],
    ['GET', v1(cache, 'history?limit=1'), 'stats', 200],
    ['GET', v2(cache, 'info'), 'read', 200],
    ['GET', v2(cache, 'credentials'), 'read', 200],
    ['GET', v1(cache, 'credentials'), 'read', 200],
    ['POST', v2(cache, 'rotate_sso'), 'all', 200],
    ['POST', v2(cache, 'enable_cache'), 'all', 200],
  ];
  for (const [method, path, needs, ok] of calls) {
    for (const [scope, made] of [['flush', flush], ['stats', stats], ['read', read], ['credentials', creds], ['all', all]] as const) {
      const allowed = scope === needs || scope === 'all';
      const status = await call(made.token, method, path);
      assert.equal(status, allowed ? ok : 403, `${scope} token: ${method} ${path}`);
    }
    const both = await call(statsAndFlush.token, method, path);
    assert.equal(both, needs === 'stats' || needs === 'flush' ? ok : 403, `stats+flush token: ${method} ${path}`);
  }
  const outside = await t.api(v2(cache, 'info'), { headers: bearer(flush.token) });
  assert.equal(outside.json().message, "This API token's scopes do not allow this call.");
  assert.equal((await t.api(v1(cache, 'stats'), { headers: bearer(flush.token) })).text, NOT_AUTHORIZED);

  // Credential management: only "credentials" (and "all"); a refused call makes nothing.
  const count = async () => (await t.catalog.listCredentials(cache.id)).length;
  const before = await count();
  for (const made of [flush, stats, read]) {
    assert.equal(await call(made.token, 'POST', v2(cache, 'credentials')), 403);
    assert.equal(await call(made.token, 'POST', v1(cache, 'credentials')), 403);
  }
  assert.equal(await count(), before, 'nothing made by a token without the scope');
  const r = await t.api(v2(cache, 'credentials'), { method: 'POST', headers: bearer(creds.token) });
  assert.equal(r.status, 201, r.text);
  const made = r.json();
  assert.deepEqual([made.write_capability, made.flush_capability, made.api_capability], [true, true, true]);
  assert.equal(await call(creds.token, 'PATCH', v2(cache, `credentials/${made.sasl_username}`), { api_capability: true }), 200);
  assert.equal(await call(creds.token, 'DELETE', v1(cache, `credentials/${made.sasl_username}`)), 200);
  assert.equal(await count(), before);
});

test('a flush token empties the cache on every server (the deploy recipe)', async () => {
  const { token } = await makeToken({ scopes: ['flush'], description: 'deploy' });
  const c = await t.textLogin(cache);
  assert.equal(await c.text('set greeting 0 0 5\r\nhello\r\n'), 'STORED\r\n');
  const res = await fetch(`${t.url}${v2(cache, 'flush')}`, { method: 'POST', headers: bearer(token) });
  assert.equal(res.status, 204);
  assert.equal(await c.text('get greeting\r\n', 'END\r\n'), 'END\r\n');
  assert.equal(await c.text('set greeting 0 0 5\r\nhello\r\n'), 'STORED\r\n');
  assert.equal((await fetch(`${t.url}${v1(cache, 'flush')}`, { method: 'POST', headers: bearer(token) })).status, 200);
  assert.equal(await c.text('get greeting\r\n', 'END\r\n'), 'END\r\n');
});

test('a token never works on another cache, and another cache cannot see or revoke it', async () => {
  const mine = await makeToken({ scopes: ['all'] });
  const theirs = await makeToken({ scopes: ['all'] }, other);
  for (const [method, path] of [['GET', v2(other, 'info')], ['POST', v2(other, 'flush')], ['GET', v2(other, 'stats')], ['POST', v2(other, 'credentials')]]) {
    const r = await t.api(path!, { method, headers: bearer(mine.token) });
    assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
    assert.equal(r.json().message, 'You are not authorized to perform this action.');
  }
  for (const [method, path] of [['GET', v1(other, 'stats')], ['POST', v1(other, 'flush')], ['GET', v1(other, 'credentials')]]) {
    const r = await t.api(path!, { method, headers: bearer(mine.token) });
    assert.equal(r.status, 403, `${method} ${path}`);
  }
  assert.equal((await t.api('/api/v1/login', { headers: bearer(mine.token) })).json().cache_id, cache.id, 'login names its own cache');
  // The other cache's owner cannot list or revoke it; its own id there is unknown.
  assert.ok(!(await t.api(v2(other, 'tokens'), { auth: other })).json().some((x: any) => x.id === mine.id));
  assert.equal((await t.api(v2(other, `tokens/${mine.id}`), { method: 'DELETE', auth: other })).status, 404);
  assert.equal((await t.api(v2(cache, `tokens/${theirs.id}`), { method: 'DELETE', auth: cache })).status, 404);
  assert.equal(await call(mine.token, 'GET', v2(cache, 'info')), 200, 'still alive');
  assert.equal(await call(theirs.token, 'GET', v2(other, 'info')), 200, 'still alive');
});

test('tokens are managed by a credential with all three capabilities only: no token, whatever its scope, mints or revokes one', async () => {
  const all = await makeToken({ scopes: ['all'] });
  const creds = await makeToken({ scopes: ['credentials'] });
  const before = (await t.catalog.listApiTokens(cache.id)).length;
  for (const made of [all, creds]) {
    for (const [method, path, json] of [
      ['POST', v2(cache, 'tokens'), { scopes: ['all'] }],
      ['POST', v2(cache, 'tokens'), { scopes: ['flush'], expires_in: 60 }],
      ['GET', v2(cache, 'tokens'), undefined],
      ['DELETE', v2(cache, `tokens/${made.id}`), undefined],
      ['DELETE', v2(cache, `tokens/${all.id}`), undefined],
    ] as const) {
      const r = await t.api(path, { method, headers: bearer(made.token), ...(json ? { json } : {}) });
      assert.equal(r.status, 403, `${made.body.scopes} token: ${method} ${path}: ${r.text}`);
      assert.equal(r.json().message, 'API tokens are managed with a credential that has all three capabilities.');
    }
  }
  assert.equal((await t.catalog.listApiTokens(cache.id)).length, before, 'nothing made or revoked');

  // A credential without every capability cannot manage tokens either.
  const noFlush = await t.addCredential(cache.id, { flush: false });
  const noApi = await t.addCredential(cache.id, { api: false });
  const r = await t.api(v2(cache, 'tokens'), { method: 'POST', auth: noFlush, json: { scopes: ['stats'] } });
  assert.equal(r.status, 403, r.text);
  assert.equal((await t.api(v2(cache, 'tokens'), { auth: noFlush })).status, 403);
  assert.equal((await t.api(v2(cache, `tokens/${all.id}`), { method: 'DELETE', auth: noFlush })).status, 403);
  assert.equal((await t.api(v2(cache, 'tokens'), { method: 'POST', auth: noApi, json: { scopes: ['stats'] } })).status, 403);
  assert.equal((await t.catalog.listApiTokens(cache.id)).length, before);
  // Nor can a token pass itself off as a credential in a credential's call of the other routes:
  // acting as one with all three capabilities, a "credentials" token still cannot rotate_sso.
  assert.equal(await call(creds.token, 'POST', v2(cache, 'rotate_sso')), 403);
});

test('an expired token is dead (401 on v2, 403 on v1), and is no longer listed', async () => {
  const { id, token } = await makeToken({ scopes: ['stats'], expires_in: 1 });
  assert.equal(await call(token, 'GET', v2(cache, 'stats')), 200);
  await sleep(1100);
  const r = await t.api(v2(cache, 'stats'), { headers: bearer(token) });
  assert.equal(r.status, 401, r.text);
  assert.equal(r.json().message, 'Invalid API token (unknown, expired or revoked).');
  assert.equal(r.headers.get('www-authenticate'), 'Basic realm="cachier"');
  assert.equal((await t.api(v1(cache, 'stats'), { headers: bearer(token) })).status, 403);
  assert.ok(!(await t.api(v2(cache, 'tokens'), { auth: cache })).json().some((x: any) => x.id === id));
});

test('a revoked token is dead at once; revoking again is 404', async () => {
  const { id, token } = await makeToken({ scopes: ['flush'] });
  assert.equal(await call(token, 'POST', v2(cache, 'flush')), 204);
  const r = await t.api(v2(cache, `tokens/${id}`), { method: 'DELETE', auth: cache });
  assert.equal(r.status, 204, r.text);
  assert.equal(await call(token, 'POST', v2(cache, 'flush')), 401);
  assert.equal(await call(token, 'POST', v1(cache, 'flush')), 403);
  const again = await t.api(v2(cache, `tokens/${id}`), { method: 'DELETE', auth: cache });
  assert.equal(again.status, 404);
  assert.equal(again.json().message, 'API token not found.');
});

test('a token survives credential rotation: new primary, old one deleted', async () => {
  const own = await t.createCache();
  const { token } = await makeToken({ scopes: ['flush', 'read'] }, own);
  const next = await t.api(v2(own, 'credentials'), { method: 'POST', auth: own });
  const fresh = next.json();
  assert.equal((await t.api(v2(own, `credentials/primary/${fresh.sasl_username}`), { method: 'POST', auth: own })).status, 200);
  const successor = { username: fresh.sasl_username, password: fresh.sasl_password };
  assert.equal((await t.api(v2(own, `credentials/${own.username}`), { method: 'DELETE', auth: successor })).status, 200);
  assert.equal((await t.api(v2(own, 'info'), { auth: own })).status, 401, 'the old password is gone');
  assert.equal(await call(token, 'POST', v2(own, 'flush')), 204);
  assert.equal((await t.api(v2(own, 'info'), { headers: bearer(token) })).json().credentials[0].sasl_username, successor.username);
});

test('disabled and deleted caches: 404 for a disabled cache (but info), 401 once deleted', async () => {
  const own = await t.createCache();
  const { token } = await makeToken({ scopes: ['all'] }, own);
  await t.catalog.updateCache(own.id, { enabled: false });
  assert.equal(await call(token, 'POST', v2(own, 'flush')), 404);
  assert.equal(await call(token, 'GET', v2(own, 'info')), 200);
  assert.equal(await call(token, 'GET', v1(own, 'stats')), 404);
  await t.catalog.updateCache(own.id, { enabled: true });
  await t.catalog.deleteCache(own.id);
  assert.equal(await call(token, 'GET', v2(own, 'info')), 401);
  assert.equal(await call(token, 'GET', v1(own, 'stats')), 404);
});

test('a token is no password and a password no token: Basic with a token, Bearer with a password or the operator token', async () => {
  const { token } = await makeToken({ scopes: ['all'] });
  const cases: [string, Record<string, string>][] = [
    ['token as Basic password', { authorization: basic(cache.username, token) }],
    ['token as Basic username', { authorization: basic(token, '') }],
    ['token as username and password', { authorization: basic(token, token) }],
    ['password as Bearer', bearer(cache.password)],
    ['username:password as Bearer', bearer(`${cache.username}:${cache.password}`)],
    ['Basic credentials base64 as Bearer', bearer(Buffer.from(`${cache.username}:${cache.password}`).toString('base64'))],
    ['another id with the secret', bearer(token.replace(/^ctk_(\d+)_/, (_m, id) => `ctk_${Number(id) + 1000}_`))],
    ['the secret without its id', bearer(token.split('_').slice(2).join('_'))],
    ['a flipped last character', bearer(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))],
    ['lower-cased', bearer(token.toLowerCase())],
    ['a suffix', bearer(`${token}x`)],
    ['two tokens', { authorization: `Bearer ${token} ${token}` }],
  ];
  for (const [what, headers] of cases) {
    const r2 = await t.api(v2(cache, 'info'), { headers });
    assert.equal(r2.status, 401, `v2 ${what}: ${r2.text}`);
    const r1 = await t.api(v1(cache, 'stats'), { headers });
    assert.equal(r1.status, 403, `v1 ${what}: ${r1.text}`);
  }
  // The operator API takes no API token.
  const op = await t.api('/api/operator/caches', { headers: bearer(token) });
  assert.equal(op.status, 401);
  // A token beside a session cookie: the header decides (the token's scopes, not the session's).
  const flushOnly = await makeToken({ scopes: ['flush'] });
  assert.equal((await t.api(v2(cache, 'info'), { headers: { ...bearer(flushOnly.token), cookie: 'cachier_session=x' } })).status, 403);
});

test('bad input to POST tokens is a 400 and makes nothing', async () => {
  const before = (await t.catalog.listApiTokens(cache.id)).length;
  for (const body of [
    {}, { scopes: [] }, { scopes: ['admin'] }, { scopes: 'admin' }, { scopes: ['flush', 'flush'] }, { scopes: ['flush'], expires_in: 0 },
    { scopes: ['flush'], expires_in: -5 }, { scopes: ['flush'], expires_in: 1.5 }, { scopes: ['flush'], expires_in: 10 ** 12 },
    { scopes: ['flush'], description: 'x'.repeat(201) }, { scopes: ['flush'], owner: 'me' },
  ]) {
    const r = await t.api(v2(cache, 'tokens'), { method: 'POST', auth: cache, json: body });
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
  }
  assert.equal((await t.api(v2(cache, 'tokens/abc'), { method: 'DELETE', auth: cache })).status, 400);
  assert.equal((await t.catalog.listApiTokens(cache.id)).length, before);
});

test('failed tokens go through the login throttle: delayed, and 429 when too many wait; a right token is not held up', async () => {
  const { token } = await makeToken({ scopes: ['stats'] });
  const wrong = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
  const statuses = await Promise.all(Array.from({ length: 40 }, () => call(wrong, 'GET', v2(cache, 'stats'))));
  assert.ok(statuses.every((s) => s === 401 || s === 429), statuses.join(','));
  assert.ok(statuses.includes(429), `some are refused at once: ${statuses.join(',')}`);
  const r = await t.api(v2(cache, 'stats'), { headers: bearer(wrong) });
  assert.ok(r.status === 401 || r.status === 429);
  const started = Date.now();
  assert.equal(await call(token, 'GET', v2(cache, 'stats')), 200);
  // 40 failures put a held-up answer at the throttle's cap (2 s): under that is not held up, on a busy machine too.
  assert.ok(Date.now() - started < 1900, 'the right token answers at once');
});

test("the README's token recipe runs as written with curl: make a flush token, flush on deploy, list, revoke", async () => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  const section = readme.slice(readme.indexOf('### API tokens'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  const commands = block.replace(/\\\n\s*/g, ' ').split('\n').filter((l) => l.startsWith('curl ')).map((l) => l.replace(/\s+#\s.*$/, ''));
  assert.equal(commands.length, 4, block);
  const own = await t.createCache();
  const env = {
    ...process.env, CACHE_ID: String(own.id), MEMCACHIER_USERNAME: own.username, MEMCACHIER_PASSWORD: own.password,
  } as Record<string, string>;
  const sh = (command: string, extra: Record<string, string> = {}) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const line = `${command.replaceAll('http://127.0.0.1:8080', t.url).replaceAll('"U:P"', '"$MEMCACHIER_USERNAME:$MEMCACHIER_PASSWORD"')} -sS -w '\\n%{http_code}'`;
    execFile('bash', ['-c', line], { env: { ...env, ...extra }, timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${line}: ${err.message}\n${stderr}`));
      const cut = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) });
    });
  });
  const made = await sh(commands[0]!);
  assert.equal(made.status, 201, made.body);
  const { id, token, scopes } = JSON.parse(made.body);
  assert.deepEqual(scopes, ['flush']);
  const client = await t.textLogin(own);
  assert.equal(await client.text('set deploy 0 0 1\r\nx\r\n'), 'STORED\r\n');
  const flushed = await sh(commands[1]!, { CACHIER_TOKEN: token });
  assert.equal(flushed.status, 204, flushed.body);
  assert.equal(await client.text('get deploy\r\n', 'END\r\n'), 'END\r\n');
  const listed = await sh(commands[2]!);
  assert.equal(listed.status, 200);
  assert.deepEqual(JSON.parse(listed.body).map((x: any) => x.id), [id]);
  const revoked = await sh(commands[3]!.replace('/tokens/3', `/tokens/${id}`));
  assert.equal(revoked.status, 204, revoked.body);
  assert.equal((await sh(commands[1]!, { CACHIER_TOKEN: token }).catch((e: Error) => ({ status: -1, body: e.message }))).status, -1, 'curl -f fails once revoked');
});

test('the scope table names only real routes, and every cache route not in it needs "all"', async () => {
  const app = buildApp({ catalog: t.catalog });
  const routes = new Set<string>();
  app.addHook('onRoute', (r: RouteOptions) => {
    for (const method of [r.method].flat()) routes.add(`${method} ${r.url}`);
  });
  await app.ready();
  await app.close();
  for (const key of Object.keys(ROUTE_SCOPES)) assert.ok(routes.has(key), `${key} is a registered route`);
  const cacheRoutes = [...routes].filter((r) => /^(GET|POST|PATCH|DELETE|PUT) \/api\/(v1\/:id|v2\/caches\/:cache_id)\//.test(r));
  assert.ok(cacheRoutes.length >= 25, cacheRoutes.join('\n'));
  for (const r of cacheRoutes) {
    const [method, url] = r.split(' ') as [string, string];
    assert.equal(scopeNeeded(method, url), ROUTE_SCOPES[r] ?? 'all', r);
    assert.ok(scopesAllow(['all'], method, url) || ROUTE_SCOPES[r] === CREDENTIAL_ONLY, `${r}: an "all" token reaches it`);
  }
  for (const r of cacheRoutes.filter((x) => x.includes('/tokens'))) assert.equal(ROUTE_SCOPES[r], CREDENTIAL_ONLY, `${r} takes no token`);
});

test('a token or token id past the catalog\'s integer range is no token (401/403, 400 to revoke), never a 500', async () => {
  const { token } = await makeToken({ scopes: ['all'] });
  const secret = token.split('_').slice(2).join('_');
  for (const id of ['2147483648', '999999999999999']) {
    const forged = `ctk_${id}_${secret}`;
    const r2 = await t.api(v2(cache, 'stats'), { headers: bearer(forged) });
    assert.equal(r2.status, 401, `v2 id ${id}: ${r2.text}`);
    const r1 = await t.api(v1(cache, 'stats'), { headers: bearer(forged) });
    assert.equal(r1.status, 403, `v1 id ${id}: ${r1.text}`);
    const revoke = await t.api(v2(cache, `tokens/${id}`), { method: 'DELETE', auth: cache });
    assert.equal(revoke.status, 400, `revoke id ${id}: ${revoke.text}`);
  }
});
