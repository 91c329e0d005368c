import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifySecret } from '../shared/secrets.ts';
import { openSqliteCatalog } from './sqlite.ts';

function withCatalog(fn: (c: ReturnType<typeof openSqliteCatalog>, dir: string) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cachier-cat-'));
    const c = openSqliteCatalog(dir);
    try {
      await fn(c, dir);
    } finally {
      await c.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('createCache makes a primary credential with every capability, password stored only hashed', withCatalog(async (c, dir) => {
  const { cache, credential, password } = await c.createCache({ memoryBytes: 64 << 20 });
  assert.equal(cache.memoryBytes, 64 << 20);
  assert.equal(cache.name, `mc-${cache.id}`);
  assert.equal(credential.primary, true);
  assert.deepEqual([credential.write, credential.flush, credential.api], [true, true, true]);
  assert.match(password, /^[0-9a-f]{32}$/);
  assert.equal(verifySecret(password, credential), true);
  assert.equal(verifySecret(password + 'x', credential), false);
  const { readFileSync } = await import('node:fs');
  assert.equal(readFileSync(join(dir, 'catalog.sqlite')).includes(password), false, 'no clear password on disk');
}));

test('exactly one primary: promote moves it, deleting the primary is refused', withCatalog(async (c) => {
  const { cache, credential: first } = await c.createCache({ memoryBytes: 1 << 20 });
  const { credential: second } = await c.createCredential(cache.id, { flush: false });
  assert.equal(second.primary, false);
  assert.equal(second.flush, false);
  assert.equal(await c.deleteCredential(first.id), 'primary');
  await c.promoteCredential(second.id);
  const creds = await c.listCredentials(cache.id);
  assert.deepEqual(creds.map((x) => x.primary), [false, true]);
  assert.equal(await c.deleteCredential(first.id), 'deleted');
  assert.equal(await c.deleteCredential(first.id), 'not_found');
}));

test('revision moves on every change seen by another connection', withCatalog(async (c, dir) => {
  const other = openSqliteCatalog(dir);
  try {
    const r0 = await other.revision();
    const { cache } = await c.createCache({ memoryBytes: 1 << 20 });
    const r1 = await other.revision();
    assert.ok(r1 > r0);
    await c.updateCache(cache.id, { enabled: false });
    assert.ok((await other.revision()) > r1);
    const r2 = await other.revision();
    await c.registerNode('127.0.0.1:1', '127.0.0.1:2');
    const r3 = await other.revision();
    assert.ok(r3 > r2);
    await c.registerNode('127.0.0.1:1', '127.0.0.1:2'); // heartbeat: no change
    assert.equal(await other.revision(), r3);
  } finally {
    await other.close();
  }
}));

test('deleting a cache deletes its credentials', withCatalog(async (c) => {
  const { cache, credential } = await c.createCache({ memoryBytes: 1 << 20 });
  assert.equal(await c.deleteCache(cache.id), true);
  assert.equal(await c.findCredential(credential.username), undefined);
}));

test('history: oldest first, since/until/limit, thinning keeps one sample per hour', withCatalog(async (c) => {
  const base = Date.UTC(2026, 0, 1);
  const samples = [];
  for (let i = 0; i < 240; i++) samples.push({ cacheId: 1, server: 'h:1', timestamp: base + i * 60_000, stats: { cmd_get: i } });
  samples.push({ cacheId: 2, server: 'h:1', timestamp: base, stats: { cmd_get: 0 } });
  await c.addHistory(samples.reverse());
  const all = await c.history(1);
  assert.equal(all.length, 240);
  assert.equal(all[0]!.timestamp, base);
  assert.equal(all[239]!.stats.cmd_get, 239);
  assert.equal((await c.history(1, { since: base + 60_000 * 10, until: base + 60_000 * 19 })).length, 10);
  assert.equal((await c.history(1, { limit: 5 })).length, 5);
  // Raw for 1 hour, hourly for a day: the first 3 hours shrink to 3 samples.
  const now = base + 240 * 60_000;
  await c.thinHistory({ rawMs: 3_600_000, hourlyMs: 86_400_000 }, now);
  const left = await c.history(1);
  assert.equal(left.length, 3 + 60);
  assert.equal((await c.history(2)).length, 1);
}));

test('operator token: made once, shown once, verified in constant time', withCatalog(async (c) => {
  const token = await c.ensureOperatorToken();
  assert.ok(token && token.length >= 32);
  assert.equal(await c.ensureOperatorToken(), undefined);
  assert.equal(await c.verifyOperatorToken(token!), true);
  assert.equal(await c.verifyOperatorToken(token! + 'x'), false);
}));
