// The API document's curl examples, run as written with the real `curl` against our
// host and real credentials (plus -sS and -w to read the status).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { NOT_AUTHORIZED, startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

let t: TestCluster;
let cache: ClusterCache;
let user: string;
before(async () => {
  t = await startTestCluster({ nodes: 2 });
  cache = await t.createCache();
  user = `${cache.username}:${cache.password}`;
});
after(() => t.close());

function curl(...args: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-w', '\n%{http_code}', ...args], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl ${args.join(' ')}: ${err.message}\n${stderr}`));
      const cut = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) });
    });
  });
}

test('login: curl "…/api/v1/login" --user U:P, and /api/login', async () => {
  for (const path of ['/api/v1/login', '/api/login']) {
    const r = await curl(`${t.url}${path}`, '--user', user);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { cache_id: cache.id });
  }
  const bad = await curl(`${t.url}/api/v1/login`, '--user', `${cache.username}:wrong`);
  assert.equal(bad.status, 403);
  assert.equal(bad.body, NOT_AUTHORIZED);
});

test('stats: curl "…/api/v1/<memcachier_id>/stats" --user "U:P"', async () => {
  const r = await curl(`${t.url}/api/v1/${cache.id}/stats`, '--user', user);
  assert.equal(r.status, 200);
  const s = JSON.parse(r.body);
  assert.deepEqual(Object.keys(s).sort(), [...t.addresses].sort());
  assert.equal(Object.keys(s[t.addresses[0]!]).length, 31);
});

test('history: curl "…/api/v1/<memcachier_id>/history" --user "U:P"', async () => {
  await t.control.sampler.sampleOnce();
  const r = await curl(`${t.url}/api/v1/${cache.id}/history`, '--user', user);
  assert.equal(r.status, 200);
  const h = JSON.parse(r.body);
  assert.ok(Array.isArray(h) && h.length >= 2);
  assert.equal(h[0].memcachier_id, String(cache.id));
});

test('flush: curl "…/flush" -X POST --user "U:P"', async () => {
  const r = await curl(`${t.url}/api/v1/${cache.id}/flush`, '-X', 'POST', '--user', user);
  assert.equal(r.status, 200);
  assert.equal(r.body, '');
});

test('credentials: list, create -X POST, update -X PATCH -d \'{"flush_capability":"false"}\', promote, delete', async () => {
  const listed = await curl(`${t.url}/api/v1/${cache.id}/credentials`, '--user', user);
  assert.equal(listed.status, 200);
  assert.equal(JSON.parse(listed.body)[0].sasl_username, cache.username);

  const created = await curl(`${t.url}/api/v1/${cache.id}/credentials`, '-X', 'POST', '--user', user);
  assert.equal(created.status, 200);
  const made = JSON.parse(created.body);
  assert.ok(made.sasl_username && made.sasl_password);
  assert.equal(made.primary, false);

  const updated = await curl(
    `${t.url}/api/v1/${cache.id}/credentials/${made.sasl_username}`, '-X', 'PATCH',
    '-d', '{"flush_capability":"false"}',
    '--user', user,
  );
  assert.equal(updated.status, 200, updated.body);
  assert.deepEqual(JSON.parse(updated.body), { flush_capability: false, write_capability: true, api_capability: true });

  // The parameter table's query-parameter form, by numeric id.
  const byQuery = await curl(`${t.url}/api/v1/${cache.id}/credentials/${made.id}?write_capability=false`, '-X', 'POST', '--user', user);
  assert.equal(byQuery.status, 200, byQuery.body);
  assert.deepEqual(JSON.parse(byQuery.body), { flush_capability: true, write_capability: false, api_capability: true });

  // An empty update sets every capability (the document's default) when the caller holds
  // them all: the new credential needs all three to delete the old primary below.
  const reset = await curl(`${t.url}/api/v1/${cache.id}/credentials/${made.id}`, '-X', 'PATCH', '--user', user);
  assert.equal(reset.status, 200, reset.body);
  assert.deepEqual(JSON.parse(reset.body), { flush_capability: true, write_capability: true, api_capability: true });

  const promoted = await curl(`${t.url}/api/v1/${cache.id}/credentials/primary/${made.sasl_username}`, '-X', 'POST', '--user', user);
  assert.equal(promoted.status, 200, promoted.body);
  assert.equal(JSON.parse(promoted.body).primary, true);

  // The old primary is an ordinary credential now, so it can be deleted with the document's example.
  const newUser = `${made.sasl_username}:${made.sasl_password}`;
  const deleted = await curl(`${t.url}/api/v1/${cache.id}/credentials/primary/${cache.username}`, '-X', 'DELETE', '--user', newUser);
  assert.equal(deleted.status, 200, deleted.body);
  assert.equal(deleted.body, '');
  const after = JSON.parse((await curl(`${t.url}/api/v1/${cache.id}/credentials`, '--user', newUser)).body);
  assert.deepEqual(after.map((c: { sasl_username: string }) => c.sasl_username), [made.sasl_username]);

  const primaryGone = await curl(`${t.url}/api/v1/${cache.id}/credentials/primary/${made.sasl_username}`, '-X', 'DELETE', '--user', newUser);
  assert.equal(primaryGone.status, 409);
});
