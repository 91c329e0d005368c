// The dashboard bundle as the control plane serves it (src/control/dashboard.ts), with
// inject(): index.html at / naming content-hashed assets that exist, strict headers,
// revalidation by ETag, and the API's 404 for anything else.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { buildDashboard, registerDashboard } from '../src/control/dashboard.ts';

const app = Fastify();
await app.register(registerDashboard);
after(() => app.close());

test('GET / is the page, and every asset it names is served', async () => {
  const res = await app.inject({ method: 'GET', url: '/' });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^text\/html/);
  assert.equal(res.headers['cache-control'], 'no-cache');
  assert.match(res.headers['content-security-policy'] as string, /default-src 'self'/);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  const assets = [...res.body.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]!);
  assert.ok(assets.some((a) => /^\/assets\/app-[A-Z0-9]+\.js$/.test(a)), `a hashed script in ${assets}`);
  assert.ok(assets.some((a) => /^\/assets\/app-[A-Z0-9]+\.css$/.test(a)), `a hashed stylesheet in ${assets}`);
  for (const asset of assets) {
    const a = await app.inject({ method: 'GET', url: asset });
    assert.equal(a.statusCode, 200, asset);
    assert.ok(a.body.length > 0, asset);
    if (asset.startsWith('/assets/')) assert.match(a.headers['cache-control'] as string, /immutable/);
  }
});

test('a matching ETag gets 304', async () => {
  const first = await app.inject({ method: 'GET', url: '/' });
  const again = await app.inject({ method: 'GET', url: '/', headers: { 'if-none-match': first.headers.etag as string } });
  assert.equal(again.statusCode, 304);
  assert.equal(again.body, '');
});

test('an unknown asset is a 404', async () => {
  const res = await app.inject({ method: 'GET', url: '/assets/app-NOPE.js' });
  assert.equal(res.statusCode, 404);
});

test('the build is reproducible: same sources, same bytes', async () => {
  const [a, b] = [await buildDashboard(), await buildDashboard()];
  assert.deepEqual([...a.files.keys()], [...b.files.keys()]);
  assert.equal(a.index.etag, b.index.etag);
});
