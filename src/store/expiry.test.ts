import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALREADY_EXPIRED, MAX_RELATIVE_EXPTIME, isExpired, toAbsoluteExptime } from './expiry.ts';

const NOW = 1_700_000_000;

test('0 never expires', () => {
  assert.equal(toAbsoluteExptime(0, NOW), 0);
  assert.equal(isExpired(0, NOW), false);
  assert.equal(isExpired(0, Number.MAX_SAFE_INTEGER), false);
});

test('up to 30 days is relative to now', () => {
  assert.equal(MAX_RELATIVE_EXPTIME, 2_592_000);
  assert.equal(toAbsoluteExptime(1, NOW), NOW + 1);
  assert.equal(toAbsoluteExptime(MAX_RELATIVE_EXPTIME, NOW), NOW + MAX_RELATIVE_EXPTIME);
});

test('over 30 days is an absolute unix time', () => {
  assert.equal(toAbsoluteExptime(MAX_RELATIVE_EXPTIME + 1, NOW), MAX_RELATIVE_EXPTIME + 1);
  assert.equal(toAbsoluteExptime(NOW + 500, NOW), NOW + 500);
  // An absolute time in the past is already expired.
  assert.equal(isExpired(toAbsoluteExptime(NOW - 10, NOW), NOW), true);
});

test('negative is already expired', () => {
  assert.equal(toAbsoluteExptime(-1, NOW), ALREADY_EXPIRED);
  assert.equal(toAbsoluteExptime(-999_999_999, NOW), ALREADY_EXPIRED);
  assert.equal(isExpired(toAbsoluteExptime(-1, NOW), NOW), true);
});

test('an item is expired from its exptime second on', () => {
  const abs = toAbsoluteExptime(10, NOW);
  assert.equal(isExpired(abs, NOW + 9), false);
  assert.equal(isExpired(abs, NOW + 10), true);
  assert.equal(isExpired(abs, NOW + 11), true);
});
