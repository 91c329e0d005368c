import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideMetricsAccess, isLoopbackHost } from './metrics-access.ts';

const TOKEN = 'metrics-token-0123456789abcdef';

test('loopback hosts', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1']) assert.ok(!isLoopbackHost(h), h);
});

test('with a metrics token: only it (or another accepted credential) opens /metrics, on any host', async () => {
  for (const host of ['127.0.0.1', '0.0.0.0']) {
    const opts = { token: TOKEN, host };
    assert.equal(await decideMetricsAccess(opts, `Bearer ${TOKEN}`), 'allow');
    assert.equal(await decideMetricsAccess(opts, undefined), 'unauthorized');
    assert.equal(await decideMetricsAccess(opts, `Bearer ${TOKEN}x`), 'unauthorized');
    assert.equal(await decideMetricsAccess(opts, `Basic ${TOKEN}`), 'unauthorized');
    assert.equal(await decideMetricsAccess(opts, 'Bearer operator', (b) => b === 'operator'), 'allow');
  }
});

test('without a token: open on a loopback host, off (404) elsewhere unless another credential is shown', async () => {
  assert.equal(await decideMetricsAccess({ token: undefined, host: '127.0.0.1' }, undefined), 'allow');
  assert.equal(await decideMetricsAccess({ token: undefined, host: '0.0.0.0' }, undefined), 'off');
  assert.equal(await decideMetricsAccess({ token: undefined, host: '10.1.2.3' }, 'Bearer guess'), 'off');
  assert.equal(await decideMetricsAccess({ token: undefined, host: '0.0.0.0' }, 'Bearer operator', (b) => b === 'operator'), 'allow');
});
