// target-guard.ts: which addresses a notification may go to, the literal check at
// creation, and the send-time check — one lookup, every address checked, the connection
// pinned to the checked address (DNS rebinding finds no second lookup to answer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertSenders, postJson } from './senders.ts';
import { blockedAddressKind, checkedTarget, literalTargetRefusal, pinnedLookup, TargetRefused } from './target-guard.ts';
import type { DeliveryConfigRecord } from '../../catalog/alerts.ts';

test('blocked address kinds; public addresses pass', () => {
  const table: Record<string, string | undefined> = {
    '127.0.0.1': 'loopback', '127.255.0.9': 'loopback', '10.1.2.3': 'private', '172.16.0.1': 'private', '172.31.255.255': 'private',
    '192.168.0.1': 'private', '100.64.0.1': 'private (shared, carrier-grade NAT)', '169.254.169.254': 'link-local', '0.0.0.0': 'unspecified',
    '224.0.0.1': 'multicast', '239.255.255.250': 'multicast', '255.255.255.255': 'reserved', '::1': 'loopback', '::': 'unspecified',
    '0:0:0:0:0:0:0:1': 'loopback', 'fc00::1': 'unique-local', 'fdff::1': 'unique-local', 'fe80::1': 'link-local', 'febf::1': 'link-local',
    'fec0::1': 'unique-local (site-local)', 'ff02::1': 'multicast', '::ffff:127.0.0.1': 'IPv4-mapped loopback',
    '::ffff:7f00:1': 'IPv4-mapped loopback', '::ffff:a9fe:a9fe': 'IPv4-mapped link-local', '::ffff:10.0.0.1': 'IPv4-mapped private',
    '::127.0.0.1': 'IPv4-compatible loopback', '64:ff9b::7f00:1': 'NAT64 loopback', '2002:a00:1::1': '6to4 private',
    '8.8.8.8': undefined, '1.1.1.1': undefined, '172.32.0.1': undefined, '2606:4700::1111': undefined, '::ffff:8.8.8.8': undefined,
    'example.com': 'not an IP address',
  };
  for (const [address, kind] of Object.entries(table)) assert.equal(blockedAddressKind(address), kind, address);
});

test('at creation: literal addresses in every spelling the URL parser accepts; names are left to send time', () => {
  for (const url of ['http://2130706433/', 'http://0x7f.1/', 'http://0177.0.0.1/', 'http://127.1/', 'http://[::ffff:127.0.0.1]/', 'http://[::1]:80/', 'http://0/']) {
    assert.match(literalTargetRefusal(url) ?? '', /^refused: .* is not a public address/, url);
  }
  for (const url of ['https://hooks.slack.com/services/T/B/X', 'http://localhost/', 'http://8.8.8.8/', 'http://[2606:4700::1111]/']) {
    assert.equal(literalTargetRefusal(url), undefined, url);
  }
});

test('at send time: one lookup, any blocked address refuses, the connection is pinned to the checked address', async () => {
  let asked = 0;
  const mixed = async () => {
    asked++;
    return [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }];
  };
  await assert.rejects(checkedTarget(new URL('http://rebind.example/'), mixed), (e: Error) => e instanceof TargetRefused && /rebind\.example resolves to 10\.0\.0\.5 .*private/.test(e.message));
  assert.equal(asked, 1);
  const target = await checkedTarget(new URL('http://ok.example/'), async () => [{ address: '192.0.2.10', family: 4 }]);
  assert.deepEqual(target, { address: '192.0.2.10', family: 4 });
  const lookup = pinnedLookup(target) as unknown as (h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) => void;
  lookup('ok.example', { all: true }, (err, list) => assert.deepEqual([err, list], [null, [{ address: '192.0.2.10', family: 4 }]]));
  lookup('ok.example', {}, (...args) => assert.deepEqual(args, [null, '192.0.2.10', 4]));
});

test('DNS rebinding: the sender asks its resolver once and never the system again (a name only the fake resolver knows)', async () => {
  let asked = 0;
  // First answer: a public (TEST-NET, unroutable) address; any later one: loopback.
  const rebinding = async () => (asked++ === 0 ? [{ address: '192.0.2.10', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]);
  const r = await postJson('http://rebind.invalid/hook', '{}', {}, { timeoutMs: 300, resolve: rebinding });
  assert.equal(asked, 1);
  // Connected to 192.0.2.10 (which never answers): no ENOTFOUND from a second, system lookup of rebind.invalid.
  assert.equal(r.ok, false);
  assert.match(r.detail, /timed out|EHOSTUNREACH|ENETUNREACH/);
});

test('a refused target is marked refused (not retried); allowPrivateTargets skips the check', async () => {
  const config: DeliveryConfigRecord = { id: 1, cacheId: 1, type: 'webhook', email: '', slackUrl: '', slackChannel: '', url: 'http://127.0.0.1:9/x', secret: 's' };
  const message = { subject: 's', text: 't', payload: {} };
  const refused = await new AlertSenders({ timeoutMs: 500 }).send(config, message, 1);
  assert.deepEqual(refused, { ok: false, refused: true, detail: refused.detail });
  assert.match(refused.detail, /^refused: 127\.0\.0\.1 is not a public address \(loopback\)/);
  const allowed = await new AlertSenders({ timeoutMs: 500, allowPrivateTargets: true }).send(config, message, 1);
  assert.equal(allowed.refused, undefined);
  assert.match(allowed.detail, /ECONNREFUSED/);
});
