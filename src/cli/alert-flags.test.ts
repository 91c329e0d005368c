// The alert flags of `start` and `control`: defaults, and what they refuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertOptions } from './alert-flags.ts';
import { UsageError } from './args.ts';

test('--alert-interval defaults to 60 s; SMTP and dashboard URLs are taken as given', () => {
  assert.deepEqual(alertOptions({}), { alertIntervalSeconds: 60 });
  assert.deepEqual(alertOptions({
    'alert-interval': '1', 'smtp-url': 'smtp://u:p@127.0.0.1:2525', 'smtp-from': 'cachier@example.com', 'dashboard-url': 'https://cache.example.com/',
  }), { alertIntervalSeconds: 1, smtpUrl: 'smtp://u:p@127.0.0.1:2525', smtpFrom: 'cachier@example.com', dashboardUrl: 'https://cache.example.com/' });
  assert.equal(alertOptions({ 'smtp-url': 'smtps://mail.example.com' }).smtpUrl, 'smtps://mail.example.com');
});

test('an interval under 1 s or not a number, a URL of another scheme: usage errors', () => {
  for (const o of [{ 'alert-interval': '0' }, { 'alert-interval': 'often' }, { 'smtp-url': 'http://mail.example.com' }, { 'smtp-url': 'mail.example.com' }, { 'dashboard-url': 'ftp://x' }]) {
    assert.throws(() => alertOptions(o), UsageError, JSON.stringify(o));
  }
});

test('--alert-allow-private-targets is off unless given', () => {
  assert.equal(alertOptions({}).alertAllowPrivateTargets, undefined);
  assert.equal(alertOptions({ 'alert-allow-private-targets': true }).alertAllowPrivateTargets, true);
});
