// Credentials over the API: list, create, update (POST and PATCH, by id or username,
// JSON / form / JSON-in-form / query string, booleans or "true"/"false", left out = true),
// promote, delete (both paths); changes reach the nodes at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';
import { PROMPTLY_MS } from './support/wait.ts';

let t: TestCluster;
let cache: ClusterCache;
before(async () => {
  t = await startTestCluster({ nodes: 2 });
  cache = await t.createCache();
});
after(() => t.close());

interface Cred {
  cache_id: number; id: number; sasl_username: string; uuid: null; primary: boolean;
  flush_capability: boolean; write_capability: boolean; api_capability: boolean;
}
const CRED_KEYS = ['api_capability', 'cache_id', 'flush_capability', 'id', 'primary', 'sasl_username', 'uuid', 'write_capability'];

const list = async (c = cache): Promise<Cred[]> => {
  const r = await t.api(`/api/v1/${c.id}/credentials`, { auth: c });
  assert.equal(r.status, 200, r.text);
  return r.json();
};
const find = async (username: string) => (await list()).find((c) => c.sasl_username === username);
const caps = (c: Cred | undefined) => c && { flush: c.flush_capability, write: c.write_capability, api: c.api_capability };

test('list: every credential of the cache in the document\'s fields, the primary marked, never a password', async () => {
  const extra = await t.addCredential(cache.id, { flush: false });
  const other = await t.createCache();
  const r = await t.api(`/api/v1/${cache.id}/credentials`, { auth: cache });
  assert.doesNotMatch(r.text, /password/);
  assert.ok(!r.text.includes(cache.password));
  const creds: Cred[] = r.json();
  for (const c of creds) {
    assert.deepEqual(Object.keys(c).sort(), CRED_KEYS);
    assert.equal(c.cache_id, cache.id);
    assert.equal(c.uuid, null);
    assert.equal(typeof c.id, 'number');
  }
  const primary = creds.find((c) => c.sasl_username === cache.username)!;
  assert.equal(primary.primary, true);
  assert.equal(primary.id, cache.credentialId);
  assert.deepEqual(caps(primary), { flush: true, write: true, api: true });
  const e = creds.find((c) => c.sasl_username === extra.username)!;
  assert.equal(e.primary, false);
  assert.deepEqual(caps(e), { flush: false, write: true, api: true });
  assert.ok(!creds.some((c) => c.sasl_username === other.username));
});

test('create: POST with no body makes a credential with every capability; its password shown once and working', async () => {
  const r = await t.api(`/api/v1/${cache.id}/credentials`, { method: 'POST', auth: cache });
  assert.equal(r.status, 200, r.text);
  const made = r.json();
  assert.deepEqual(Object.keys(made).sort(), [...CRED_KEYS, 'sasl_password'].sort());
  assert.equal(made.cache_id, cache.id);
  assert.equal(made.primary, false);
  assert.equal(made.uuid, null);
  assert.deepEqual([made.flush_capability, made.write_capability, made.api_capability], [true, true, true]);
  assert.match(made.sasl_password, /^\S{16,}$/);
  // Works on every node and on the API at once.
  for (const i of [0, 1]) {
    const c = await t.textLogin({ username: made.sasl_username, password: made.sasl_password }, i);
    assert.equal(await c.text('set x 0 0 1\r\n1\r\n'), 'STORED\r\n');
  }
  assert.deepEqual((await t.api('/api/v1/login', { auth: { username: made.sasl_username, password: made.sasl_password } })).json(), { cache_id: cache.id });
  assert.ok(!(await t.api(`/api/v1/${cache.id}/credentials`, { auth: cache })).text.includes(made.sasl_password));
});

test('create with capabilities from a JSON body, a form body, JSON in a form body, or the query string', async () => {
  const forms: [string, Parameters<TestCluster['api']>[1], string][] = [
    ['json', { json: { write_capability: false } }, ''],
    ['json strings', { json: { flush_capability: 'false', api_capability: 'true' } }, ''],
    ['form', { body: 'write_capability=false&flush_capability=true' }, ''],
    ['json in form', { body: '{"write_capability":"false"}' }, ''],
    ['query', {}, '?write_capability=false'],
  ];
  for (const [name, req, qs] of forms) {
    const r = await t.api(`/api/v1/${cache.id}/credentials${qs}`, { method: 'POST', auth: cache, ...req });
    assert.equal(r.status, 200, `${name}: ${r.text}`);
    const m = r.json();
    const expected = name === 'json strings' ? [false, true, true] : [true, false, true];
    assert.deepEqual([m.flush_capability, m.write_capability, m.api_capability], expected, name);
    assert.deepEqual(caps(await find(m.sasl_username)), { flush: expected[0], write: expected[1], api: expected[2] }, name);
  }
});

test('update by POST and PATCH, by numeric id and by sasl_username, in every accepted form', async () => {
  const cred = await t.addCredential(cache.id);
  type Req = Parameters<TestCluster['api']>[1];
  const cases: [string, string, string, Req, { flush: boolean; write: boolean; api: boolean }][] = [
    ['PATCH', cred.username, '', { json: { flush_capability: false } }, { flush: false, write: true, api: true }],
    ['POST', String(cred.credentialId), '', { json: { write_capability: false, flush_capability: false } }, { flush: false, write: false, api: true }],
    // Left out = true (the document's default), so this resets flush and write.
    ['POST', cred.username, '', { json: { api_capability: true } }, { flush: true, write: true, api: true }],
    ['PATCH', String(cred.credentialId), '', { json: { write_capability: 'false' } }, { flush: true, write: false, api: true }],
    ['POST', cred.username, '', { body: 'flush_capability=false&write_capability=true' }, { flush: false, write: true, api: true }],
    ['PATCH', cred.username, '', { body: '{"flush_capability":"false","write_capability":false}' }, { flush: false, write: false, api: true }],
    ['POST', cred.username, '?api_capability=false', {}, { flush: true, write: true, api: false }],
    ['PATCH', cred.username, '?flush_capability=false', { json: { flush_capability: true } }, { flush: true, write: true, api: true }],
    ['PATCH', cred.username, '', { body: '{"flush_capability":"false"}', contentType: 'text/plain' }, { flush: false, write: true, api: true }],
    ['POST', cred.username, '', {}, { flush: true, write: true, api: true }],
  ];
  for (const [method, ref, qs, req, want] of cases) {
    const r = await t.api(`/api/v1/${cache.id}/credentials/${ref}${qs}`, { method, auth: cache, ...req });
    const label = `${method} ${ref}${qs} ${JSON.stringify(req)}`;
    assert.equal(r.status, 200, `${label}: ${r.text}`);
    assert.deepEqual(r.json(), { flush_capability: want.flush, write_capability: want.write, api_capability: want.api }, label);
    assert.deepEqual(caps(await find(cred.username)), want, label);
  }
});

test('update: bad values, unknown fields and bad JSON are clear 400s that change nothing', async () => {
  const cred = await t.addCredential(cache.id, { flush: false });
  const bad: Parameters<TestCluster['api']>[1][] = [
    { json: { flush_capability: 'maybe' } },
    { json: { flush_capabilty: false } },
    { body: 'write_capability=perhaps' },
    { body: '{"flush_capability": ' },
    { json: [true] },
    { json: 'true' },
  ];
  for (const req of bad) {
    const r = await t.api(`/api/v1/${cache.id}/credentials/${cred.username}`, { method: 'PATCH', auth: cache, ...req });
    assert.equal(r.status, 400, `${JSON.stringify(req)}: ${r.text}`);
    assert.match(r.json(), /^Bad request: /);
  }
  const q = await t.api(`/api/v1/${cache.id}/credentials/${cred.username}?api_capability=nah`, { method: 'POST', auth: cache });
  assert.equal(q.status, 400);
  assert.deepEqual(caps(await find(cred.username)), { flush: false, write: true, api: true });
});

test('unknown credentials, and credentials of another cache, are 404', async () => {
  const other = await t.createCache();
  for (const ref of ['NOSUCHUS', '999999', other.username, String(other.credentialId)]) {
    for (const [method, path] of [['PATCH', ref], ['POST', ref], ['POST', `primary/${ref}`], ['DELETE', ref], ['DELETE', `primary/${ref}`]]) {
      const r = await t.api(`/api/v1/${cache.id}/credentials/${path}`, { method, auth: cache });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.json(), 'No credential found.');
    }
  }
  assert.equal((await list(other)).length, 1);
});

test('a capability change applies on open connections at once', async () => {
  const cred = await t.addCredential(cache.id);
  const conn = await t.textLogin(cred, 0);
  assert.equal(await conn.text('set w 0 0 1\r\n1\r\n'), 'STORED\r\n');
  const r = await t.api(`/api/v1/${cache.id}/credentials/${cred.username}`, { method: 'PATCH', auth: cache, json: { write_capability: false } });
  assert.equal(r.status, 200);
  assert.match(await conn.text('set w 0 0 1\r\n2\r\n'), /^CLIENT_ERROR permission denied/);
  assert.equal(await conn.text('get w\r\n', 'END\r\n'), 'VALUE w 0 1\r\n1\r\nEND\r\n');
});

test('promote by username or id: the document\'s fields, one primary at a time', async () => {
  const c = await t.createCache();
  const a = await t.addCredential(c.id, { flush: false });
  const r = await t.api(`/api/v1/${c.id}/credentials/primary/${a.username}`, { method: 'POST', auth: c });
  assert.equal(r.status, 200, r.text);
  const p = r.json();
  assert.deepEqual(Object.keys(p).sort(), CRED_KEYS);
  assert.equal(p.sasl_username, a.username);
  assert.equal(p.primary, true);
  assert.equal(p.flush_capability, false);
  assert.equal(p.cache_id, c.id);
  let creds = await list(c);
  assert.deepEqual(creds.filter((x) => x.primary).map((x) => x.sasl_username), [a.username]);
  const back = await t.api(`/api/v1/${c.id}/credentials/primary/${c.credentialId}`, { method: 'POST', auth: c });
  assert.equal(back.status, 200);
  assert.equal(back.json().sasl_username, c.username);
  creds = await list(c);
  assert.deepEqual(creds.filter((x) => x.primary).map((x) => x.sasl_username), [c.username]);
});

test('delete by either path, by id or username: 200 with an empty body; its connections close; the primary cannot go', async () => {
  const c = await t.createCache();
  const a = await t.addCredential(c.id);
  const b = await t.addCredential(c.id);
  const conn = await t.textLogin(a, 1);

  const ra = await t.api(`/api/v1/${c.id}/credentials/${a.username}`, { method: 'DELETE', auth: c });
  assert.equal(ra.status, 200);
  assert.equal(ra.text, '');
  assert.ok(await conn.waitClosed(PROMPTLY_MS), 'connection of the deleted credential closed');
  assert.equal((await t.api('/api/v1/login', { auth: a })).status, 403);

  const rb = await t.api(`/api/v1/${c.id}/credentials/primary/${b.credentialId}`, { method: 'DELETE', auth: c });
  assert.equal(rb.status, 200);
  assert.equal(rb.text, '');
  assert.deepEqual((await list(c)).map((x) => x.sasl_username), [c.username]);

  for (const path of [c.username, `primary/${c.username}`, String(c.credentialId)]) {
    const r = await t.api(`/api/v1/${c.id}/credentials/${path}`, { method: 'DELETE', auth: c });
    assert.equal(r.status, 409, path);
    assert.match(r.json(), /primary/);
  }
  assert.deepEqual((await list(c)).map((x) => x.sasl_username), [c.username]);
});

test('the calling credential may delete itself if it is not the primary', async () => {
  const self = await t.addCredential(cache.id);
  const r = await t.api(`/api/v1/${cache.id}/credentials/${self.username}`, { method: 'DELETE', auth: self });
  assert.equal(r.status, 200);
  assert.equal((await t.api(`/api/v1/${cache.id}/credentials`, { auth: self })).status, 403);
});
