// API v2 credentials over real HTTP: list, create (201, password once), PATCH (full
// replace: left out = false; answers the three flags), DELETE (200; primary 409), promote;
// cachier's capability rule (no credential grants what it lacks; promote and delete need
// all three); the 100-credential cap; bad input changes nothing; nodes apply changes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CREDENTIALS_PER_CACHE } from '../src/catalog/catalog.ts';
import { RawClient } from './support/raw-client.ts';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

let t: TestCluster;
let cache: ClusterCache;
before(async () => {
  t = await startTestCluster({ nodes: 2 });
  cache = await t.createCache();
});
after(() => t.close());

const v2 = (action: string, c: { id: number } = cache) => `/api/v2/caches/${c.id}/${action}`;
type Cred = { id: number; cache_id: number; sasl_username: string; sasl_password?: string; write_capability: boolean; flush_capability: boolean; api_capability: boolean; primary: boolean };

async function create(auth: { username: string; password: string } = cache, c: { id: number } = cache): Promise<Cred> {
  const r = await t.api(v2('credentials', c), { auth, method: 'POST' });
  assert.equal(r.status, 201, r.text);
  return r.json();
}
const asAuth = (c: Cred) => ({ username: c.sasl_username, password: c.sasl_password! });
async function stored(username: string) {
  return (await t.catalog.listCredentials(cache.id)).find((c) => c.username === username);
}

test('list: every credential of the cache, no password and no uuid', async () => {
  const r = await t.api(v2('credentials'), { auth: cache });
  assert.equal(r.status, 200);
  const list = r.json() as Cred[];
  assert.ok(list.length >= 1);
  assert.deepEqual(list[0], {
    id: cache.credentialId, cache_id: cache.id, sasl_username: cache.username,
    write_capability: true, flush_capability: true, api_capability: true, primary: true,
  });
  assert.ok(!r.text.includes(cache.password));
  assert.ok(!r.text.includes('sasl_password') && !r.text.includes('uuid'));
});

test('create: 201 with the whole credential and its password, shown once; it logs in on every node at once', async () => {
  const made = await create();
  assert.deepEqual(Object.keys(made).sort(), [
    'api_capability', 'cache_id', 'flush_capability', 'id', 'primary', 'sasl_password', 'sasl_username', 'write_capability',
  ]);
  assert.equal(made.cache_id, cache.id);
  assert.equal(made.primary, false);
  assert.ok(made.write_capability && made.flush_capability && made.api_capability);
  assert.match(made.sasl_password!, /^[0-9a-f]{32}$/);
  for (const port of t.nodes.map((n) => n!.port)) {
    const c = await RawClient.connect(port);
    try {
      assert.equal(await c.text(`set ${made.sasl_username} 0 0 32\r\n${made.sasl_password}\r\n`), 'STORED\r\n');
    } finally {
      c.end();
    }
  }
  const list = await t.api(v2('credentials'), { auth: cache });
  assert.ok(!list.text.includes(made.sasl_password!), 'never listed');
  const info = await t.api(v2('info'), { auth: cache });
  assert.ok(!info.text.includes(made.sasl_password!), 'never in info');
  assert.equal((await t.api(v2('info'), { auth: asAuth(made) })).status, 200, 'the new credential uses the API');
});

test('PATCH replaces all three: left out = false; the answer is the three flags; the node applies it', async () => {
  const made = await create();
  const cases: [Record<string, unknown>, [boolean, boolean, boolean]][] = [
    [{ write_capability: true, flush_capability: false, api_capability: true }, [true, false, true]],
    [{ api_capability: true }, [false, false, true]],
    [{}, [false, false, false]],
    [{ write_capability: true, flush_capability: true, api_capability: true }, [true, true, true]],
    [{ flush_capability: 'false', write_capability: 'true' }, [true, false, false]],
  ];
  for (const [body, [write, flush, api]] of cases) {
    const r = await t.api(v2(`credentials/${made.sasl_username}`), { auth: cache, method: 'PATCH', json: body });
    assert.equal(r.status, 200, `${JSON.stringify(body)}: ${r.text}`);
    assert.deepEqual(r.json(), { write_capability: write, flush_capability: flush, api_capability: api });
    const s = await stored(made.sasl_username);
    assert.deepEqual([s!.write, s!.flush, s!.api], [write, flush, api], JSON.stringify(body));
  }
  // No body at all (curl -X PATCH) is the empty replace: all false.
  const none = await t.api(v2(`credentials/${made.sasl_username}`), { auth: cache, method: 'PATCH' });
  assert.deepEqual(none.json(), { write_capability: false, flush_capability: false, api_capability: false });
  // A read-only credential's set is refused on the node from its next command.
  const c = await RawClient.connect(t.nodes[0]!.port);
  try {
    assert.equal(await c.text(`set ${made.sasl_username} 0 0 32\r\n${made.sasl_password}\r\n`), 'STORED\r\n');
    assert.match(await c.text('set k 0 0 1\r\nx\r\n'), /permission denied/);
  } finally {
    c.end();
  }
});

test('DELETE: 200, gone from the list and the nodes; the primary is 409 "Promote another credential first."', async () => {
  const made = await create();
  const r = await t.api(v2(`credentials/${made.sasl_username}`), { auth: cache, method: 'DELETE' });
  assert.equal(r.status, 200, r.text);
  assert.equal(await stored(made.sasl_username), undefined);
  const c = await RawClient.connect(t.nodes[1]!.port);
  try {
    assert.notEqual(await c.text(`set ${made.sasl_username} 0 0 32\r\n${made.sasl_password}\r\n`), 'STORED\r\n');
  } finally {
    c.end();
  }
  const again = await t.api(v2(`credentials/${made.sasl_username}`), { auth: cache, method: 'DELETE' });
  assert.equal(again.status, 404);
  assert.deepEqual(again.json(), { message: 'Credential not found.' });

  const primary = await t.api(v2(`credentials/${cache.username}`), { auth: cache, method: 'DELETE' });
  assert.equal(primary.status, 409);
  assert.deepEqual(primary.json(), { message: 'Promote another credential first.' });
  assert.ok(await stored(cache.username));
});

test('promote: 200 with the promoted credential; exactly one primary; then the old primary can be deleted', async () => {
  const c = await t.createCache();
  const made = await create(c, c);
  const r = await t.api(v2(`credentials/primary/${made.sasl_username}`, c), { auth: c, method: 'POST' });
  assert.equal(r.status, 200, r.text);
  const promoted = r.json();
  assert.equal(promoted.primary, true);
  assert.equal(promoted.sasl_username, made.sasl_username);
  assert.ok(!('sasl_password' in promoted));
  const list = (await t.api(v2('credentials', c), { auth: c })).json() as Cred[];
  assert.deepEqual(list.filter((x) => x.primary).map((x) => x.sasl_username), [made.sasl_username]);
  const del = await t.api(v2(`credentials/${c.username}`, c), { auth: asAuth(made), method: 'DELETE' });
  assert.equal(del.status, 200, del.text);
});

test("cachier's rule in v2: no credential grants a capability it lacks, to itself or another", async () => {
  const c = await t.createCache();
  const apiOnly = await t.addCredential(c.id, { write: false, flush: false, api: true });
  // It creates only what it has.
  const r = await t.api(v2('credentials', c), { auth: apiOnly, method: 'POST' });
  assert.equal(r.status, 201, r.text);
  const child = r.json() as Cred;
  assert.deepEqual([child.write_capability, child.flush_capability, child.api_capability], [false, false, true]);
  // It cannot PATCH itself or its child up: 403, nothing changes.
  for (const target of [apiOnly.username, child.sasl_username]) {
    const up = await t.api(v2(`credentials/${target}`, c), { auth: apiOnly, method: 'PATCH', json: { write_capability: true, api_capability: true } });
    assert.equal(up.status, 403, up.text);
    assert.deepEqual(up.json(), { message: 'You are not authorized to perform this action.' });
    const s = (await t.catalog.listCredentials(c.id)).find((x) => x.username === target)!;
    assert.deepEqual([s.write, s.flush, s.api], [false, false, true]);
  }
  // It cannot touch one with more than it (the primary), nor promote or delete anything.
  const down = await t.api(v2(`credentials/${c.username}`, c), { auth: apiOnly, method: 'PATCH', json: {} });
  assert.equal(down.status, 403);
  assert.equal((await t.api(v2(`credentials/primary/${child.sasl_username}`, c), { auth: apiOnly, method: 'POST' })).status, 403);
  assert.equal((await t.api(v2(`credentials/${child.sasl_username}`, c), { auth: apiOnly, method: 'DELETE' })).status, 403);
  assert.equal((await t.api(v2(`credentials/${c.username}`, c), { auth: apiOnly, method: 'DELETE' })).status, 403);
  assert.equal((await t.catalog.listCredentials(c.id)).length, 3);
  assert.ok((await t.catalog.listCredentials(c.id)).find((x) => x.username === c.username)!.primary);
  // It may lower its own (the api flag kept, so it can still call).
  const self = await t.api(v2(`credentials/${child.sasl_username}`, c), { auth: apiOnly, method: 'PATCH', json: { api_capability: true } });
  assert.equal(self.status, 200, self.text);
  // A credential of another cache cannot reach these credentials at all.
  assert.equal((await t.api(v2(`credentials/${child.sasl_username}`, c), { auth: cache, method: 'DELETE' })).status, 403);
});

test('a credential of another cache cannot be named through this cache (404, nothing changes)', async () => {
  const c = await t.createCache();
  for (const [method, path] of [['PATCH', `credentials/${c.username}`], ['DELETE', `credentials/${c.username}`], ['POST', `credentials/primary/${c.username}`]] as const) {
    const r = await t.api(v2(path), { auth: cache, method, ...(method === 'PATCH' ? { json: {} } : {}) });
    assert.equal(r.status, 404, `${method} ${path}: ${r.text}`);
  }
  const s = (await t.catalog.listCredentials(c.id))[0]!;
  assert.deepEqual([s.write, s.flush, s.api, s.primary], [true, true, true, true]);
});

test('bad input: unknown fields, wrong types, bodies on bodiless calls, bad usernames — 400 and nothing changes', async () => {
  const made = await create();
  const path = v2(`credentials/${made.sasl_username}`);
  const bad: [string, { json?: unknown; body?: string; contentType?: string }][] = [
    ['unknown field', { json: { write_capability: true, admin: true } }],
    ['not a boolean', { json: { write_capability: 'yes' } }],
    ['a number', { json: { write_capability: 2 } }],
    ['an array', { json: [true] }],
    ['a string', { json: 'write' }],
    ['null field', { json: { write_capability: null } }],
    ['not JSON', { body: '{"write_capability": tru', contentType: 'application/json' }],
  ];
  for (const [name, req] of bad) {
    const r = await t.api(path, { auth: cache, method: 'PATCH', ...req });
    assert.equal(r.status, 400, `${name}: ${r.text}`);
    assert.match(r.json().message, /^Bad request/, name);
  }
  const s = await stored(made.sasl_username);
  assert.deepEqual([s!.write, s!.flush, s!.api], [true, true, true]);

  const count = (await t.catalog.listCredentials(cache.id)).length;
  for (const json of [{ write_capability: false }, [1], 'x']) {
    const r = await t.api(v2('credentials'), { auth: cache, method: 'POST', json });
    assert.equal(r.status, 400, `${JSON.stringify(json)}: ${r.text}`);
  }
  assert.equal((await t.catalog.listCredentials(cache.id)).length, count);

  for (const name of ['a%20b', 'x'.repeat(65), '%E2%98%83']) {
    const r = await t.api(v2(`credentials/${name}`), { auth: cache, method: 'DELETE' });
    assert.equal(r.status, 400, `${name}: ${r.text}`);
  }
  // A huge body is refused before it is read whole: 413.
  const huge = await t.api(path, { auth: cache, method: 'PATCH', body: JSON.stringify({ write_capability: true, pad: 'x'.repeat(1 << 20) }), contentType: 'application/json' });
  assert.equal(huge.status, 413, huge.text);
  assert.deepEqual(huge.json(), { message: 'Request body is too large.' });
  assert.equal((await t.catalog.listCredentials(cache.id)).length, count);
});

test(`at most ${MAX_CREDENTIALS_PER_CACHE} credentials: the next POST is a 400 and creates nothing`, async () => {
  const c = await t.createCache();
  for (let i = 1; i < MAX_CREDENTIALS_PER_CACHE; i++) await t.catalog.createCredential(c.id);
  const r = await t.api(v2('credentials', c), { auth: c, method: 'POST' });
  assert.equal(r.status, 400, r.text);
  assert.deepEqual(r.json(), { message: 'A cache can have at most 100 credentials; delete one first.' });
  assert.equal((await t.catalog.listCredentials(c.id)).length, MAX_CREDENTIALS_PER_CACHE);
});
