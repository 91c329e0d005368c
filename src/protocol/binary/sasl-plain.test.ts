import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSaslPlain } from './sasl-plain.ts';

const b = (s: string) => Buffer.from(s);

test('PLAIN without authzid', () => {
  assert.deepEqual(parseSaslPlain(b('\0user\0secret')), { authzid: '', username: 'user', password: 'secret' });
});

test('PLAIN with authzid, and UTF-8 parts', () => {
  assert.deepEqual(parseSaslPlain(b('admin\0jörg\0pässwörd')), { authzid: 'admin', username: 'jörg', password: 'pässwörd' });
});

test('refuses missing separators, empty username or password, and NUL inside a part', () => {
  for (const bad of ['', 'user', 'user\0secret', '\0\0secret', '\0user\0', '\0user\0sec\0ret', '\0\0']) {
    assert.equal(parseSaslPlain(b(bad)), null, JSON.stringify(bad));
  }
});

test('refuses parts over 255 bytes and over-long messages', () => {
  const max = 'x'.repeat(255);
  assert.notEqual(parseSaslPlain(b(`${max}\0${max}\0${max}`)), null);
  assert.equal(parseSaslPlain(b(`\0${max}x\0p`)), null);
  assert.equal(parseSaslPlain(b(`\0u\0${max}x`)), null);
  assert.equal(parseSaslPlain(b(`${max}x\0u\0p`)), null);
  assert.equal(parseSaslPlain(Buffer.alloc(100_000, 0x61)), null);
});

test('refuses invalid UTF-8 rather than decoding it to replacement characters', () => {
  assert.equal(parseSaslPlain(Buffer.from([0, 0x75, 0, 0xff, 0xfe])), null);
});
