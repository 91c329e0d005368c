// GET /api/openapi.json: an OpenAPI 3.1 document generated from the route schemas. Every
// route the app registers (Fastify's onRoute hook lists them) is in it; its schemas
// compile; and answers of the API validate against it — here a tour of v1, v2 and the
// operator API, and in every API test, since test/support/control.ts checks each api()
// answer against the document (test/support/openapi-check.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { RouteOptions } from 'fastify';
import { buildApp } from '../src/control/app.ts';
import { checkedResponses, OpenApiChecker } from './support/openapi-check.ts';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

let t: TestCluster;
let cache: ClusterCache;
let doc: any;
before(async () => {
  t = await startTestCluster({ nodes: 2 });
  cache = await t.createCache();
  const r = await fetch(`${t.url}/api/openapi.json`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  doc = await r.json();
});
after(() => t.close());

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

test('an OpenAPI 3.1 document with the v1, v2, operator and dashboard areas and how each authenticates', () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(typeof doc.info.title, 'string');
  assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['basic', 'operator', 'session', 'token']);
  const tagsOf = (p: string, m: string) => doc.paths[p][m].tags as string[];
  assert.deepEqual(tagsOf('/api/v1/{id}/stats', 'get'), ['v1']);
  assert.deepEqual(tagsOf('/api/v2/caches/{cache_id}/stats', 'get'), ['v2']);
  assert.deepEqual(tagsOf('/api/operator/caches', 'post'), ['operator']);
  assert.deepEqual(doc.paths['/api/operator/caches'].post.security, [{ operator: [] }]);
  assert.deepEqual(doc.paths['/api/v2/caches/{cache_id}/info'].get.security, [{ basic: [] }, { session: [] }, { token: [] }]);
  assert.deepEqual(doc.paths['/api/v2/caches/{cache_id}/tokens'].post.security, [{ basic: [] }, { session: [] }], 'tokens are made by credentials only');
  // v2 errors are {"message"}, v1's a JSON string.
  const v2Error = doc.paths['/api/v2/caches/{cache_id}/flush'].post.responses['4XX'].content['application/json'].schema;
  assert.deepEqual(v2Error.required, ['message']);
  assert.equal(doc.paths['/api/v1/{id}/flush'].post.responses['4XX'].content['application/json'].schema.type, 'string');
  assert.ok(doc.paths['/api/v2/caches/{cache_id}/flush'].post.responses['204']);
  assert.ok(doc.paths['/api/v2/caches/{cache_id}/credentials'].post.responses['201']);
  // Bodies are optional everywhere (none validates as {}).
  for (const [p, ops] of Object.entries<any>(doc.paths)) {
    for (const [m, op] of Object.entries<any>(ops)) if (op.requestBody) assert.equal(op.requestBody.required, false, `${m} ${p}`);
  }
});

test('every route the app registers is in the document, with its method', async () => {
  const { catalog } = t;
  const app = buildApp({ catalog });
  const routes: { method: string; url: string }[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    for (const method of [r.method].flat()) routes.push({ method: method.toLowerCase(), url: r.url });
  });
  await app.ready();
  try {
    const generated = app.swagger() as any;
    assert.deepEqual(Object.keys(generated.paths).sort(), Object.keys(doc.paths).sort(), 'the served document is the app\'s');
    assert.ok(routes.length >= 40, `${routes.length} routes`);
    const missing: string[] = [];
    for (const { method, url } of routes) {
      const path = url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const ops = doc.paths[path];
      // Fastify adds a HEAD route for every GET: documented through its GET.
      const documented = ops && (ops[method] || (method === 'head' && ops.get));
      if (!documented) missing.push(`${method.toUpperCase()} ${url}`);
    }
    assert.deepEqual(missing, [], 'routes missing from the document');
    for (const area of ['/api/v1/', '/api/v2/', '/api/operator/', '/sso/']) {
      assert.ok(routes.some((r) => r.url.startsWith(area)), area);
    }
  } finally {
    await app.close();
  }
});

test("the document's schemas compile as JSON Schema 2020-12", () => {
  const ajv = new Ajv2020({ strict: false });
  let n = 0;
  for (const ops of Object.values<any>(doc.paths)) {
    for (const m of METHODS) {
      const op = ops[m];
      if (!op) continue;
      for (const r of Object.values<any>(op.responses ?? {})) {
        for (const c of Object.values<any>(r.content ?? {})) {
          if (c.schema) {
            ajv.compile(c.schema);
            n++;
          }
        }
      }
      for (const c of Object.values<any>(op.requestBody?.content ?? {})) if (c.schema) ajv.compile(c.schema);
    }
  }
  assert.ok(n > 50, `${n} response schemas`);
});

test('recorded answers of v1, v2 and the operator API validate against the document', async () => {
  const before = checkedResponses.length;
  const auth = cache;
  const operator = { authorization: `Bearer ${t.control.operatorToken}` };
  const client = await t.textLogin(cache, 0);
  await client.text('set a 0 0 1\r\nx\r\n');
  await t.control.sampler.sampleOnce();
  const tour: [string, Parameters<TestCluster['api']>[1]][] = [
    ['/api/v1/login', { auth }],
    [`/api/v1/${cache.id}/stats`, { auth }],
    [`/api/v1/${cache.id}/history`, { auth }],
    [`/api/v1/${cache.id}/credentials`, { auth }],
    [`/api/v1/${cache.id}/credentials`, { auth, method: 'POST' }],
    [`/api/v1/${cache.id}/stats`, {}],
    [`/api/v1/${cache.id}/flush`, { auth, method: 'POST' }],
    [`/api/v2/caches/${cache.id}/info`, { auth }],
    [`/api/v2/caches/${cache.id}/stats`, { auth }],
    [`/api/v2/caches/${cache.id}/credentials`, { auth }],
    [`/api/v2/caches/${cache.id}/credentials`, { auth, method: 'POST' }],
    [`/api/v2/caches/${cache.id}/credentials/${cache.username}`, { auth, method: 'PATCH', json: { write_capability: 'x' } }],
    [`/api/v2/caches/${cache.id}/credentials/${cache.username}`, { auth, method: 'DELETE' }],
    [`/api/v2/caches/${cache.id}/credentials/primary/${cache.username}`, { auth, method: 'POST' }],
    [`/api/v2/caches/${cache.id}/reset_stats`, { auth, method: 'POST' }],
    [`/api/v2/caches/${cache.id}/flush`, { auth, method: 'POST' }],
    [`/api/v2/caches/${cache.id}/rotate_sso`, { auth, method: 'POST' }],
    [`/api/v2/caches/${cache.id}/enable_cache`, { auth, method: 'POST' }],
    [`/api/v2/caches/${cache.id}/switch_cluster`, { auth, method: 'POST' }],
    [`/api/v2/caches/${cache.id}/info`, {}],
    [`/api/v2/caches/abc/info`, { auth }],
    ['/api/operator/caches', { headers: operator }],
    ['/api/operator/caches', { headers: operator, method: 'POST', json: { memory: '1mb' } }],
    [`/api/operator/caches/${cache.id}`, { headers: operator }],
    ['/api/operator/nodes', { headers: operator }],
    ['/api/operator/caches/999999', { headers: operator }],
    ['/api/operator/caches', {}],
    ['/healthz', {}],
    ['/api/openapi.json', {}],
  ];
  for (const [path, req] of tour) await t.api(path, req);
  const checked = checkedResponses.slice(before);
  assert.equal(checked.length, tour.length, 'every answer of the tour was checked');
  for (const status of [200, 201, 204, 400, 401, 403, 409]) assert.ok(checked.some((c) => c.status === status), `a ${status} was checked`);
});

test('the check is not vacuous: answers that differ from the document are refused', () => {
  const checker = new OpenApiChecker(doc);
  const ok = JSON.stringify({ message: 'x' });
  checker.check('GET', `/api/v2/caches/${cache.id}/info`, 404, 'application/json', ok);
  assert.throws(() => checker.check('GET', `/api/v2/caches/${cache.id}/info`, 404, 'application/json', '"a v1 string"'), /does not match/);
  assert.throws(() => checker.check('GET', `/api/v2/caches/${cache.id}/info`, 200, 'application/json', '{"id":1}'), /does not match/);
  assert.throws(() => checker.check('GET', `/api/v2/caches/${cache.id}/info`, 302, 'application/json', ''), /lists no 302/);
  assert.throws(() => checker.check('POST', `/api/v2/caches/${cache.id}/flush`, 204, null, 'body'), /lists no body/);
  assert.equal(checker.templateOf(`/api/v2/caches/${cache.id}/credentials/primary/ABC`), '/api/v2/caches/{cache_id}/credentials/primary/{username}');
  assert.equal(checker.templateOf(`/api/v2/caches/${cache.id}/credentials/ABC`), '/api/v2/caches/{cache_id}/credentials/{username}');
});
