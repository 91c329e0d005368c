// The README's webhook receiver (Alerts: "Check the signature …") run as written, saved as
// an .mjs file, with only its port changed: a test notification from the dashboard's
// "Send test" (POST alerts/configs/<id>/test) is accepted (204) and logged, the receiver
// keeps running, and a config with another secret is refused (401). Over real HTTP, both
// catalogs. (The example read `n.alert.trigger_type`, which a test notification does not
// have: the first test a user sent crashed their receiver.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { startTestCluster, type ClusterCache, type TestCluster } from './support/control.ts';
import { until } from './support/wait.ts';

function readmeReceiver(): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const receiver = blocks.find((b) => b.includes('x-cachier-signature') && b.includes('timingSafeEqual'));
  assert.ok(receiver, 'the README has the webhook receiver example');
  assert.match(receiver, /\.listen\(9000\)/);
  return receiver;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

let t: TestCluster;
let cache: ClusterCache;
let child: ChildProcess | undefined;
before(async () => {
  t = await startTestCluster({ control: { alertAllowPrivateTargets: true } });
  cache = await t.createCache(1 << 20, 'shop');
});
after(async () => {
  if (child && child.exitCode === null) child.kill();
  await t.close();
});

const v2 = (path: string) => `/api/v2/caches/${cache.id}/${path}`;

test('the README\'s webhook receiver verifies a test notification, logs it and keeps running; another secret is a 401', async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cachier-readme-'));
  const file = join(dir, 'receiver.mjs');
  writeFileSync(file, readmeReceiver().replace('.listen(9000)', `.listen(${port}, '127.0.0.1')`));

  const made = await t.api(v2('alerts/configs'), { auth: cache, method: 'POST', json: { delivery_type: 'webhook', url: `http://127.0.0.1:${port}/cachier` } });
  assert.equal(made.status, 201, made.text);
  const { id, secret } = made.json() as { id: number; secret: string };
  const other = await t.api(v2('alerts/configs'), { auth: cache, method: 'POST', json: { delivery_type: 'webhook', url: `http://127.0.0.1:${port}/cachier` } });
  const otherId = (other.json() as { id: number }).id;

  let out = '';
  let err = '';
  child = spawn(process.execPath, [file], { env: { ...process.env, CACHIER_WEBHOOK_SECRET: secret }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => { out += c; });
  child.stderr!.on('data', (c: Buffer) => { err += c; });
  await until('the receiver listens', Date.now() + 10_000, () => new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  }));

  const sent = await t.api(v2(`alerts/configs/${id}/test`), { auth: cache, method: 'POST' });
  assert.equal(sent.status, 200, sent.text);
  assert.equal(sent.json().detail, 'HTTP 204', `${sent.text} ${err}`);
  assert.equal(sent.json().delivered, true);
  await until('the receiver logged it', Date.now() + 10_000, () => out.includes('test shop'));
  assert.equal(child.exitCode, null, `the receiver is still running (${err})`);

  const forged = await t.api(v2(`alerts/configs/${otherId}/test`), { auth: cache, method: 'POST' });
  assert.equal(forged.json().detail, 'HTTP 401', forged.text);
  assert.equal(child.exitCode, null, `the receiver is still running (${err})`);
});
