// No credential can grant a capability it does not hold, act on a credential
// holding one it lacks, or promote/delete without all three; at most 100 credentials a
// cache. Every refusal is checked to change nothing (in the catalog, on the API and, for
// writes, on a node). The rule is written at the top of src/control/routes/credentials.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CREDENTIALS_PER_CACHE } from '../src/catalog/catalog.ts';
import { NOT_AUTHORIZED, startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

let t: TestCluster;
before(async () => {
  t = await startTestCluster({ nodes: 1 });
});
after(() => t.close());

interface Cred {
  id: number; sasl_username: string; primary: boolean;
  flush_capability: boolean; write_capability: boolean; api_capability: boolean;
}
type Caps = { flush: boolean; write: boolean; api: boolean };
type Req = NonNullable<Parameters<TestCluster['api']>[1]>;
const ALL: Caps = { flush: true, write: true, api: true };
const API_ONLY: Caps = { flush: false, write: false, api: true };
const API_WRITE: Caps = { flush: false, write: true, api: true };

const capsOf = (c: Cred) => ({ flush: c.flush_capability, write: c.write_capability, api: c.api_capability });
/** The cache's credentials, as its primary sees them. */
const list = async (c: ClusterCache): Promise<Cred[]> => {
  const r = await t.api(`/api/v1/${c.id}/credentials`, { auth: c });
  assert.equal(r.status, 200, r.text);
  return r.json();
};
/** username → capabilities and primary flag: the whole state a refusal must leave alone. */
const state = async (c: ClusterCache) =>
  Object.fromEntries((await list(c)).map((x) => [x.sasl_username, { ...capsOf(x), primary: x.primary }]));
const call = (c: ClusterCache, as: ClusterCache, method: string, path: string, req: Req = {}) =>
  t.api(`/api/v1/${c.id}/credentials${path}`, { method, auth: as, ...req });

/** Sends `req` and asserts a 403 that changed no credential of the cache. */
async function refused(c: ClusterCache, as: ClusterCache, method: string, path: string, req: Req = {}): Promise<void> {
  const before = await state(c);
  const r = await call(c, as, method, path, req);
  const label = `${method} ${path} ${JSON.stringify(req)}`;
  assert.equal(r.status, 403, `${label}: ${r.text}`);
  assert.equal(r.text, NOT_AUTHORIZED, label);
  assert.deepEqual(await state(c), before, `${label} changed nothing`);
}

async function writeRefused(cred: ClusterCache): Promise<void> {
  const conn = await t.textLogin(cred);
  assert.match(await conn.text('set esc 0 0 1\r\n1\r\n'), /^CLIENT_ERROR permission denied/);
  assert.match(await conn.text('flush_all\r\n'), /^CLIENT_ERROR permission denied/);
}

test('an api-only credential cannot raise its own capabilities, in any form', async () => {
  const c = await t.createCache();
  const me = await t.addCredential(c.id, API_ONLY);
  for (const method of ['PATCH', 'POST']) {
    for (const ref of [me.username, String(me.credentialId)]) {
      await refused(c, me, method, `/${ref}`, { json: { flush_capability: true, write_capability: true, api_capability: true } });
      await refused(c, me, method, `/${ref}`, { json: { write_capability: 'true' } });
      await refused(c, me, method, `/${ref}`, { body: 'flush_capability=true&write_capability=false' });
      await refused(c, me, method, `/${ref}?write_capability=true`);
      await refused(c, me, method, `/${ref}`, { body: '{"flush_capability":"true"}' });
    }
  }
  // Left out = "true if you hold it": an empty update is a 200 that grants nothing.
  for (const req of [{}, { json: {} }, { json: { api_capability: true } }] as Req[]) {
    const r = await call(c, me, 'PATCH', `/${me.username}`, req);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { flush_capability: false, write_capability: false, api_capability: true });
  }
  assert.deepEqual(capsOf((await list(c)).find((x) => x.sasl_username === me.username)!), API_ONLY);
  await writeRefused(me);
});

test('a limited credential may lower its own capabilities, and say false for ones it lacks', async () => {
  const c = await t.createCache();
  const me = await t.addCredential(c.id, API_WRITE);
  const r = await call(c, me, 'PATCH', `/${me.username}`, { json: { write_capability: false, flush_capability: false } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json(), { flush_capability: false, write_capability: false, api_capability: true });
  await writeRefused(me);
  const off = await call(c, me, 'PATCH', `/${me.username}`, { json: { api_capability: false } });
  assert.equal(off.status, 200, off.text);
  assert.equal((await t.api(`/api/v1/${c.id}/credentials`, { auth: me })).status, 403, 'no api any more');
});

test('an api-only credential creates at most api-only credentials; asking for more is a 403 that creates nothing', async () => {
  const c = await t.createCache();
  const me = await t.addCredential(c.id, API_ONLY);
  for (const req of [{}, { json: {} }, { json: { flush_capability: false } }, { body: 'api_capability=true' }] as Req[]) {
    const r = await call(c, me, 'POST', '', req);
    assert.equal(r.status, 200, `${JSON.stringify(req)}: ${r.text}`);
    const made = r.json();
    assert.deepEqual([made.flush_capability, made.write_capability, made.api_capability], [false, false, true]);
    assert.deepEqual(capsOf((await list(c)).find((x) => x.sasl_username === made.sasl_username)!), API_ONLY);
    await writeRefused({ ...c, username: made.sasl_username, password: made.sasl_password });
  }
  for (const req of [
    { json: { flush_capability: true, write_capability: true, api_capability: true } },
    { json: { write_capability: true } },
    { body: 'flush_capability=true' },
    { body: '{"write_capability":"true"}' },
  ] as Req[]) {
    await refused(c, me, 'POST', '', req);
  }
  await refused(c, me, 'POST', '?write_capability=true');
  const off = await call(c, me, 'POST', '', { json: { api_capability: false } });
  assert.equal(off.status, 200);
  assert.equal(off.json().api_capability, false);
});

test('an api-only credential cannot promote or delete anything, itself included', async () => {
  const c = await t.createCache();
  const me = await t.addCredential(c.id, API_ONLY);
  const peer = await t.addCredential(c.id, API_ONLY);
  const full = await t.addCredential(c.id, ALL);
  for (const target of [me, peer, full, c]) {
    for (const ref of [target.username, String(target.credentialId)]) {
      await refused(c, me, 'POST', `/primary/${ref}`);
      await refused(c, me, 'DELETE', `/${ref}`);
      await refused(c, me, 'DELETE', `/primary/${ref}`);
    }
  }
  // The primary still works as before.
  const conn = await t.textLogin(c);
  assert.equal(await conn.text('set p 0 0 1\r\n1\r\n'), 'STORED\r\n');
  const primary = (await list(c)).filter((x) => x.primary).map((x) => x.sasl_username);
  assert.deepEqual(primary, [c.username]);
});

test('a credential cannot change one that holds a capability it lacks: not even to take it away', async () => {
  const c = await t.createCache();
  const me = await t.addCredential(c.id, API_ONLY);
  const apiWrite = await t.addCredential(c.id, API_WRITE);
  for (const target of [c, apiWrite]) {
    await refused(c, me, 'PATCH', `/${target.username}`, { json: { write_capability: false, flush_capability: false } });
    await refused(c, me, 'POST', `/${target.credentialId}`, { json: { api_capability: false, write_capability: false, flush_capability: false } });
    await refused(c, me, 'PATCH', `/${target.username}`, {});
  }
  // api+write against the full primary: it lacks flush.
  await refused(c, apiWrite, 'PATCH', `/${c.username}`, { json: { write_capability: false } });
  // An equal (or lesser) credential is fair game.
  const peer = await t.addCredential(c.id, API_ONLY);
  const r = await call(c, me, 'PATCH', `/${peer.username}`, { json: { api_capability: false } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json(), { flush_capability: false, write_capability: false, api_capability: false });
});

test('api+write: creates and grants api+write, never flush; cannot promote or delete', async () => {
  const c = await t.createCache();
  const me = await t.addCredential(c.id, API_WRITE);
  for (const req of [{}, { json: { write_capability: true, api_capability: true } }, { json: { flush_capability: false } }] as Req[]) {
    const r = await call(c, me, 'POST', '', req);
    assert.equal(r.status, 200, r.text);
    const made = r.json();
    assert.deepEqual([made.flush_capability, made.write_capability, made.api_capability], [false, true, true], JSON.stringify(req));
    const conn = await t.textLogin({ username: made.sasl_username, password: made.sasl_password });
    assert.equal(await conn.text('set aw 0 0 1\r\n1\r\n'), 'STORED\r\n');
    assert.match(await conn.text('flush_all\r\n'), /^CLIENT_ERROR permission denied/);
  }
  await refused(c, me, 'POST', '', { json: { flush_capability: true } });
  await refused(c, me, 'POST', '', { json: { flush_capability: true, write_capability: false } });

  // Raising an api-only credential to api+write: allowed (explicitly, or by leaving write out).
  const low = await t.addCredential(c.id, API_ONLY);
  await refused(c, me, 'PATCH', `/${low.username}`, { json: { flush_capability: true } });
  const r = await call(c, me, 'PATCH', `/${low.username}`, { json: { write_capability: true } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json(), { flush_capability: false, write_capability: true, api_capability: true });
  const low2 = await t.addCredential(c.id, API_ONLY);
  const r2 = await call(c, me, 'PATCH', `/${low2.username}`, {});
  assert.deepEqual(r2.json(), { flush_capability: false, write_capability: true, api_capability: true });

  await refused(c, me, 'PATCH', `/${me.username}`, { json: { flush_capability: true } });
  await refused(c, me, 'POST', `/primary/${me.username}`);
  await refused(c, me, 'DELETE', `/${low.username}`);
});

test('a credential with all three capabilities can still do all of it', async () => {
  const c = await t.createCache();
  const low = await t.addCredential(c.id, API_ONLY);
  const full = await t.addCredential(c.id, ALL);
  // Raise another, create full ones, promote, delete: the document's behaviour.
  const up = await call(c, full, 'PATCH', `/${low.username}`, {});
  assert.deepEqual(up.json(), { flush_capability: true, write_capability: true, api_capability: true });
  const made = await call(c, full, 'POST', '', { json: { flush_capability: true, write_capability: true, api_capability: true } });
  assert.equal(made.status, 200, made.text);
  assert.deepEqual([made.json().flush_capability, made.json().write_capability], [true, true]);
  const p = await call(c, full, 'POST', `/primary/${full.username}`);
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json().primary, true);
  const d = await call(c, full, 'DELETE', `/${c.username}`);
  assert.equal(d.status, 200, d.text);
  assert.deepEqual((await list(full)).map((x) => x.sasl_username).sort(), [low.username, full.username, made.json().sasl_username].sort());
  // Lowering someone else, and lowering itself, as before.
  const down = await call(c, full, 'PATCH', `/${low.username}`, { json: { flush_capability: false, write_capability: false } });
  assert.deepEqual(down.json(), { flush_capability: false, write_capability: false, api_capability: true });
  await writeRefused(low);
});

test(`at most ${MAX_CREDENTIALS_PER_CACHE} credentials a cache: the next is a 400 that creates nothing`, async () => {
  assert.equal(MAX_CREDENTIALS_PER_CACHE, 100);
  const c = await t.createCache();
  // The primary plus 98 through the catalog, the 100th through the API.
  for (let i = 0; i < MAX_CREDENTIALS_PER_CACHE - 2; i++) await t.catalog.createCredential(c.id, { flush: false });
  const last = await call(c, c, 'POST', '');
  assert.equal(last.status, 200, last.text);
  assert.equal((await list(c)).length, MAX_CREDENTIALS_PER_CACHE);

  const over = await call(c, c, 'POST', '');
  assert.equal(over.status, 400);
  assert.equal(over.json(), `A cache can have at most ${MAX_CREDENTIALS_PER_CACHE} credentials; delete one first.`);
  assert.equal((await list(c)).length, MAX_CREDENTIALS_PER_CACHE);
  // The catalog itself refuses too (the path the operator API and CLI would take).
  await assert.rejects(t.catalog.createCredential(c.id), /at most 100 credentials/);
  assert.equal((await list(c)).length, MAX_CREDENTIALS_PER_CACHE);
  // Another cache is not affected; deleting one makes room again.
  const other = await t.createCache();
  assert.equal((await call(other, other, 'POST', '')).status, 200);
  assert.equal((await call(c, c, 'DELETE', `/${last.json().id}`)).status, 200);
  assert.equal((await call(c, c, 'POST', '')).status, 200);
  assert.equal((await call(c, c, 'POST', '')).status, 400);
});
