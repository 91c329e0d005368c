// Alert and delivery config bodies are taken as the JSON they are, over real HTTP (both
// catalogs): a threshold sent as a string ("50", "0x10"), a boolean or an array, an
// `enabled` sent as "false", a description sent as a number, a config id sent as a string
// — each is a 400 naming the field, and nothing is created or changed. (The framework's
// validator would otherwise coerce them: "0x10" became a threshold of 16, "false" false.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';

let t: TestCluster;
let cache: ClusterCache;
before(async () => {
  t = await startTestCluster();
  cache = await t.createCache();
});
after(async () => {
  await t.close();
});

const v2 = (path: string) => `/api/v2/caches/${cache.id}/${path}`;

test('a field of the wrong JSON type is a 400 naming it, not coerced; nothing created or changed', async () => {
  const made = await t.api(v2('alerts/configs'), { auth: cache, method: 'POST', json: { delivery_type: 'email', email: 'ops@example.com' } });
  assert.equal(made.status, 201, made.text);
  const cfg = made.json() as { id: number };
  const ok = { trigger_type: 'memory_usage', trigger_threshold: 50, delivery_config_id: cfg.id, description: 'full', enabled: true };
  const wrong: [string, Record<string, unknown>][] = [
    ['trigger_threshold', { trigger_threshold: '50' }],
    ['trigger_threshold', { trigger_threshold: '0x10' }],
    ['trigger_threshold', { trigger_threshold: true }],
    ['trigger_threshold', { trigger_threshold: [50] }],
    ['delivery_config_id', { delivery_config_id: String(cfg.id) }],
    ['enabled', { enabled: 'false' }],
    ['enabled', { enabled: 0 }],
    ['description', { description: 12345 }],
    ['trigger_type', { trigger_type: ['memory_usage'] }],
  ];
  for (const [field, change] of wrong) {
    const r = await t.api(v2('alerts'), { auth: cache, method: 'POST', json: { ...ok, ...change } });
    assert.equal(r.status, 400, `POST ${JSON.stringify(change)}: ${r.text}`);
    assert.match(r.json().message, new RegExp(field), JSON.stringify(change));
  }
  assert.deepEqual((await t.api(v2('alerts'), { auth: cache })).json(), [], 'nothing created');

  const created = await t.api(v2('alerts'), { auth: cache, method: 'POST', json: ok });
  assert.equal(created.status, 201, created.text);
  const alert = created.json() as { id: number };
  for (const [field, change] of [...wrong, ['id', { id: String(alert.id) }] as [string, Record<string, unknown>]]) {
    const r = await t.api(v2(`alerts/${alert.id}`), { auth: cache, method: 'PUT', json: { id: alert.id, ...change } });
    assert.equal(r.status, 400, `PUT ${JSON.stringify(change)}: ${r.text}`);
    assert.match(r.json().message, new RegExp(field), JSON.stringify(change));
  }
  assert.deepEqual((await t.api(v2(`alerts/${alert.id}`), { auth: cache })).json(), { id: alert.id, ...ok }, 'unchanged');

  // The spec's own partial update still works.
  const off = await t.api(v2(`alerts/${alert.id}`), { auth: cache, method: 'PUT', json: { id: alert.id, enabled: false } });
  assert.equal(off.status, 201, off.text);
  assert.equal(off.json().enabled, false);

  const configsBefore = (await t.api(v2('alerts/configs'), { auth: cache })).json().length;
  for (const [field, body] of [
    ['email', { delivery_type: 'email', email: ['ops@example.com'] }],
    ['slack_channel', { delivery_type: 'slack', slack_url: 'https://hooks.slack.com/services/T/B/X', slack_channel: 7 }],
    ['delivery_type', { delivery_type: ['email'], email: 'ops@example.com' }],
  ] as const) {
    const r = await t.api(v2('alerts/configs'), { auth: cache, method: 'POST', json: body });
    assert.equal(r.status, 400, `config ${JSON.stringify(body)}: ${r.text}`);
    assert.match(r.json().message, new RegExp(field));
  }
  assert.equal((await t.api(v2('alerts/configs'), { auth: cache })).json().length, configsBefore, 'no config created');
});
