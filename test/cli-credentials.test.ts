// Lost credentials, the way back: `cachier credentials list|create|delete CACHE_ID` through
// the real CLI against a catalog a running cluster serves (SQLite --data, or PostgreSQL
// --database-url with CACHIER_TEST_CATALOG=postgres), the operator API's
// `POST /api/operator/caches/ID/credentials`, and the start banner of a non-empty catalog
// (how to get a credential, never a password).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';
import { freePort, freePorts } from './support/ports.ts';
import { PROMPTLY_MS, until } from './support/wait.ts';

const CLI = fileURLToPath(new URL('../bin/cachier.js', import.meta.url));

interface Run { code: number; stdout: string; stderr: string }

function cachier(args: readonly string[]): Promise<Run> {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 60_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let t: TestCluster;
let cache: ClusterCache;
before(async () => {
  t = await startTestCluster();
  cache = await t.createCache();
});
after(() => t.close());

const credentials = (...args: string[]) => cachier(['credentials', ...args, ...t.cliArgs]);

test('credentials create prints a working credential with every capability, once; list never shows a password', async () => {
  const made = await credentials('create', String(cache.id), '--json');
  assert.equal(made.code, 0, made.stderr);
  const c = JSON.parse(made.stdout);
  assert.equal(c.cache_id, cache.id);
  assert.equal(c.username, c.sasl_username);
  assert.match(c.password, /^[0-9a-f]{32}$/);
  assert.deepEqual([c.write_capability, c.flush_capability, c.api_capability, c.primary], [true, true, true, false]);
  assert.deepEqual(c.servers, t.addresses);
  // It logs in on the running node (within a second) and on the API.
  const client = await until('the new credential logs in', Date.now() + PROMPTLY_MS, () => t.textLogin(c));
  assert.equal(await client.text('set k 0 0 1\r\n1\r\n'), 'STORED\r\n');
  assert.equal((await t.api(`/api/v2/caches/${cache.id}/info`, { auth: c })).status, 200);

  const text = await credentials('create', String(cache.id));
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Created credential \d+ of cache \d+ with every capability\. Its password is shown only this once:$/m);
  const password = /^MEMCACHIER_PASSWORD=(\S+)$/m.exec(text.stdout)?.[1];
  const username = /^MEMCACHIER_USERNAME=(\S+)$/m.exec(text.stdout)?.[1];
  assert.ok(password && username);
  assert.match(text.stdout, new RegExp(`^MEMCACHIER_SERVERS=${t.addresses.join(',')}$`, 'm'));

  const listed: Run[] = [];
  for (const args of [['list', String(cache.id)], ['list', String(cache.id), '--json']]) {
    const one = await credentials(...args);
    assert.equal(one.code, 0, one.stderr);
    for (const secret of [c.password, password!, cache.password]) assert.ok(!one.stdout.includes(secret), `${args.join(' ')} shows no password`);
    assert.ok(one.stdout.includes(c.username) && one.stdout.includes(username!) && one.stdout.includes(cache.username));
    listed.push(one);
  }
  // The same two runs' output, read closer (nothing changed the catalog since).
  const list = JSON.parse(listed[1]!.stdout);
  assert.deepEqual(list.map((x: any) => x.sasl_username), [cache.username, c.username, username]);
  assert.ok(list.every((x: any) => !('password' in x) && !('sasl_password' in x)));
  assert.match(listed[0]!.stdout, /^id\tusername\tprimary\twrite\tflush\tapi$/m);
});

test('credentials create --primary: the way back when the only password is lost; delete refuses the primary', async () => {
  const lost = await t.createCache();
  const made = await credentials('create', String(lost.id), '--primary', '--json');
  assert.equal(made.code, 0, made.stderr);
  const c = JSON.parse(made.stdout);
  assert.equal(c.primary, true);
  const listed = JSON.parse((await credentials('list', String(lost.id), '--json')).stdout);
  assert.deepEqual(listed.filter((x: any) => x.primary).map((x: any) => x.sasl_username), [c.username]);
  // The new primary manages the cache over the API: it can delete the lost one.
  const refused = await credentials('delete', String(lost.id), c.username);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /is the primary of cache \d+: promote another first/);
  const gone = await credentials('delete', String(lost.id), lost.username);
  assert.equal(gone.code, 0, gone.stderr);
  assert.match(gone.stdout, new RegExp(`^Deleted credential ${lost.credentialId} \\(${lost.username}\\) of cache ${lost.id}`));
  assert.equal((await t.api(`/api/v2/caches/${lost.id}/info`, { auth: lost })).status, 401, 'the lost password no longer works');
  assert.equal((await t.api(`/api/v2/caches/${lost.id}/info`, { auth: c })).status, 200);
  // By id too, and --json.
  const extra = JSON.parse((await credentials('create', String(lost.id), '--json')).stdout);
  const byId = await credentials('delete', String(lost.id), String(extra.id), '--json');
  assert.deepEqual(JSON.parse(byId.stdout), { id: extra.id, cache_id: lost.id, sasl_username: extra.username, deleted: true });
});

test('credentials: unknown caches and credentials fail (exit 1), bad usage exits 2', async () => {
  for (const args of [['list', '99999'], ['create', '99999'], ['delete', String(cache.id), 'NOBODY00'], ['delete', '99999', 'X']]) {
    const r = await credentials(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /no cache|no credential/);
  }
  for (const args of [[], ['rotate', '1'], ['list'], ['list', 'abc'], ['delete', String(cache.id)], ['list', String(cache.id), '--primary'], ['create', String(cache.id), 'extra']]) {
    const r = await cachier(['credentials', ...args, ...t.cliArgs]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
});

test('operator API: POST /api/operator/caches/ID/credentials makes a credential with every capability (primary on request); DELETE …/credentials/CRED', async () => {
  const token = t.control.operatorToken!;
  assert.ok(token);
  const headers = { authorization: `Bearer ${token}` };
  const r = await t.api(`/api/operator/caches/${cache.id}/credentials`, { method: 'POST', headers });
  assert.equal(r.status, 200, r.text);
  const c = r.json();
  assert.equal(c.cache_id, cache.id);
  assert.match(c.password, /^[0-9a-f]{32}$/);
  assert.deepEqual([c.write_capability, c.flush_capability, c.api_capability, c.primary], [true, true, true, false]);
  assert.deepEqual(c.servers, t.addresses);
  assert.equal((await t.api(`/api/v1/${cache.id}/stats`, { auth: c })).status, 200);

  const own = await t.createCache();
  const p = await t.api(`/api/operator/caches/${own.id}/credentials`, { method: 'POST', headers, json: { primary: true } });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json().primary, true);
  const detail = (await t.api(`/api/operator/caches/${own.id}`, { headers })).json();
  assert.deepEqual(detail.credentials.filter((x: any) => x.primary).map((x: any) => x.sasl_username), [p.json().username]);
  assert.ok(!JSON.stringify(detail).includes(p.json().password));

  const del = await t.api(`/api/operator/caches/${own.id}/credentials/${own.username}`, { method: 'DELETE', headers });
  assert.equal(del.status, 200, del.text);
  assert.equal((await t.api(`/api/operator/caches/${own.id}/credentials/${p.json().id}`, { method: 'DELETE', headers })).status, 409, 'the primary stays');
  assert.equal((await t.api(`/api/operator/caches/${own.id}/credentials/NOBODY00`, { method: 'DELETE', headers })).status, 404);

  assert.equal((await t.api('/api/operator/caches/99999/credentials', { method: 'POST', headers })).status, 404);
  assert.equal((await t.api(`/api/operator/caches/${cache.id}/credentials`, { method: 'POST', headers, json: { primary: true, write_capability: false } })).status, 400);
  const before = (await t.catalog.listCredentials(cache.id)).length;
  for (const auth of [{} as Record<string, string>, { authorization: `Bearer ${c.password}` }, { authorization: `Basic ${Buffer.from(`${cache.username}:${cache.password}`).toString('base64')}` }]) {
    assert.equal((await t.api(`/api/operator/caches/${cache.id}/credentials`, { method: 'POST', headers: auth })).status, 401);
  }
  assert.equal((await t.catalog.listCredentials(cache.id)).length, before, 'nothing made without the operator token');
});

test('start on a non-empty catalog says how to get a credential, and prints no password', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cachier-banner-'));
  try {
    const made = await cachier(['cache', 'create', '--data', dir, '--json']);
    const first = JSON.parse(made.stdout);
    const [port] = await freePorts(1);
    const httpPort = await freePort();
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, [CLI, 'start', '--data', dir, '--host', '127.0.0.1', '--port', String(port), '--http-port', String(httpPort)],
      { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await until('cachier ready', Date.now() + 30_000, async () => {
        if (!out.includes('cachier ready')) throw new Error(out);
        return true;
      });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    assert.match(out, new RegExp(`^This catalog has 1 cache \\(cachier cache list --data ${dir}\\); passwords are shown only when made\\.$`, 'm'));
    assert.match(out, new RegExp(`^A new credential for a cache: npx cachier credentials create CACHE_ID --data ${dir} \\[--primary\\] \\(e\\.g\\. CACHE_ID ${first.id}\\), or POST /api/operator/caches/CACHE_ID/credentials with the operator token\\.$`, 'm'));
    assert.doesNotMatch(out, /MEMCACHIER_PASSWORD|MEMCACHIER_USERNAME/);
    assert.ok(!out.includes(first.password));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
