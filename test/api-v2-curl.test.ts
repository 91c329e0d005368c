// MemCachier's v2 recipes run as written with the real `curl` (plus -sS and -w to read the
// status) against our host: --user U:P and -H 'Authorization: Basic <base64>' (built with
// the shell's base64, as the flush-on-deploy article does, including its trailing-newline
// pitfall: "Bad user"), flush on deploy, PATCH with a JSON body, and the other calls.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

let t: TestCluster;
let cache: ClusterCache;
let user: string;
before(async () => {
  t = await startTestCluster({ nodes: 2 });
  cache = await t.createCache();
  user = `${cache.username}:${cache.password}`;
});
after(() => t.close());

function run(file: string, args: string[], env: Record<string, string> = {}): Promise<{ status: number; body: string; headers: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 10_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`));
      const cut = stdout.lastIndexOf('\n');
      const raw = stdout.slice(0, cut);
      const split = raw.indexOf('\r\n\r\n');
      resolve({ status: Number(stdout.slice(cut + 1)), headers: split >= 0 ? raw.slice(0, split) : '', body: split >= 0 ? raw.slice(split + 4) : raw });
    });
  });
}
const curl = (...args: string[]) => run('curl', ['-sS', '-w', '\n%{http_code}', ...args]);
const v2 = (action: string) => `${t.url}/api/v2/caches/${cache.id}/${action}`;

test('flush on deploy: curl -X POST …/flush -u user:pass → 204, and with the Authorization header the shell built', async () => {
  const client = await t.textLogin(cache);
  assert.equal(await client.text('set deploy 0 0 1\r\nx\r\n'), 'STORED\r\n');
  const r = await curl('-X', 'POST', v2('flush'), '-u', user);
  assert.equal(r.status, 204, r.body);
  assert.equal(r.body, '');
  assert.equal(await client.text('get deploy\r\n', 'END\r\n'), 'END\r\n');

  // The webhook's header, made as the article makes it: printf (no newline) | base64.
  const ok = await run('bash', ['-c', 'curl -sS -w "\\n%{http_code}" -X POST "$URL" -H "Authorization: Basic $(printf %s "$CRED" | base64 -w0)"'],
    { URL: v2('flush'), CRED: user });
  assert.equal(ok.status, 204, ok.body);
  // The pitfall: echo adds a newline inside the base64 → 401 "Bad user", nothing flushed.
  assert.equal(await client.text('set deploy 0 0 1\r\nx\r\n'), 'STORED\r\n');
  const bad = await run('bash', ['-c', 'curl -sS -i -w "\\n%{http_code}" -X POST "$URL" -H "Authorization: Basic $(echo "$CRED" | base64 -w0)"'],
    { URL: v2('flush'), CRED: user });
  assert.equal(bad.status, 401);
  assert.deepEqual(JSON.parse(bad.body), { message: 'Bad user' });
  assert.match(bad.headers, /^www-authenticate: Basic realm="cachier"$/im);
  assert.match(await client.text('get deploy\r\n', 'END\r\n'), /^VALUE deploy/);
});

test('PATCH with JSON: -H "Content-Type: application/json" -d \'{"write_capability":true,"flush_capability":false,"api_capability":true}\'', async () => {
  const made = JSON.parse((await curl('-X', 'POST', v2('credentials'), '--user', user)).body);
  const r = await curl('-X', 'PATCH', v2(`credentials/${made.sasl_username}`), '--user', user,
    '-H', 'Content-Type: application/json', '-d', '{"write_capability":true,"flush_capability":false,"api_capability":true}');
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(JSON.parse(r.body), { flush_capability: false, write_capability: true, api_capability: true });
  // Left out = false.
  const partial = await curl('-X', 'PATCH', v2(`credentials/${made.sasl_username}`), '--user', user,
    '-H', 'Content-Type: application/json', '-d', '{"api_capability":true}');
  assert.deepEqual(JSON.parse(partial.body), { flush_capability: false, write_capability: false, api_capability: true });
});

test('info, stats, credentials (201 with the password), promote, delete, reset_stats, rotate_sso with curl', async () => {
  const info = await curl(v2('info'), '--user', user);
  assert.equal(info.status, 200);
  assert.equal(JSON.parse(info.body).id, cache.id);
  const stats = await curl(v2('stats'), '--user', user);
  assert.equal(stats.status, 200);
  assert.equal(JSON.parse(stats.body).limit_maxbytes, 64 << 20);

  const created = await curl('-X', 'POST', v2('credentials'), '--user', user);
  assert.equal(created.status, 201);
  const made = JSON.parse(created.body);
  assert.match(made.sasl_password, /^[0-9a-f]{32}$/);
  const listed = await curl(v2('credentials'), '--user', user);
  assert.ok(JSON.parse(listed.body).some((c: { sasl_username: string }) => c.sasl_username === made.sasl_username));
  assert.ok(!listed.body.includes(made.sasl_password));

  const promoted = await curl('-X', 'POST', v2(`credentials/primary/${made.sasl_username}`), '--user', user);
  assert.equal(promoted.status, 200);
  assert.equal(JSON.parse(promoted.body).primary, true);
  const newUser = `${made.sasl_username}:${made.sasl_password}`;
  const deleted = await curl('-X', 'DELETE', v2(`credentials/${cache.username}`), '--user', newUser);
  assert.equal(deleted.status, 200, deleted.body);
  const gone = await curl(v2('info'), '--user', user);
  assert.equal(gone.status, 401, 'the deleted credential no longer logs in');
  user = newUser;

  assert.equal((await curl('-X', 'POST', v2('reset_stats'), '--user', user)).status, 204);
  const link = await curl('-X', 'POST', v2('rotate_sso'), '--user', user);
  assert.equal(link.status, 200);
  assert.match(JSON.parse(link.body), /\/sso\/\d+\/[A-Za-z0-9_-]{43}$/);
  const opened = await curl('-o', '/dev/null', JSON.parse(link.body));
  assert.equal(opened.status, 303);
  assert.equal((await curl('-X', 'POST', v2('enable_cache'), '--user', user)).status, 200);
  assert.equal((await curl('-X', 'POST', v2('switch_cluster'), '--user', user)).status, 403);
  const badId = await curl(`${t.url}/api/v2/caches/abc/info`, '--user', user);
  assert.equal(badId.status, 400);
  assert.deepEqual(JSON.parse(badId.body), { message: 'The specified cache ID is invalid (not a number).' });
});
