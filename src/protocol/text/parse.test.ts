import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, type Command, type ProtocolLimits } from '../command.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import type { MetaFrame, TextFrame } from './frame.ts';
import { parseText } from './parse.ts';

const SMALL: ProtocolLimits = { maxKeyLength: 250, maxItemSize: 1024, maxLineLength: 2048 };
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
/** One request line: tokens joined by spaces, CRLF terminated. */
const line = (...tokens: (string | number)[]): Buffer => b(`${tokens.join(' ')}\r\n`);
/** A storage line plus its data block. */
const withData = (head: Buffer, data: string | Buffer): Buffer => Buffer.concat([head, asBuffer(data), b('\r\n')]);
const asBuffer = (data: string | Buffer): Buffer => (typeof data === 'string' ? b(data) : data);

const wire = {
  set: (key: string, value: string, o: { flags?: number; exptime?: number; noreply?: boolean; verb?: string } = {}) =>
    withData(line(o.verb ?? 'set', key, o.flags ?? 0, o.exptime ?? 0, Buffer.byteLength(value), ...(o.noreply ? ['noreply'] : [])), value),
  cas: (key: string, value: string, cas: number | string) => withData(line('cas', key, 0, 0, Buffer.byteLength(value), cas), value),
  ms: (key: string, value: string, ...flags: string[]) => withData(line('ms', key, Buffer.byteLength(value), ...flags), value),
};

function parseOne(buf: Buffer, limits = DEFAULT_LIMITS): { command: Command; frame: TextFrame } {
  const r = parseText(buf, limits);
  assert.equal(r.type, 'request', r.type === 'error' ? `error ${r.code}` : r.type);
  if (r.type !== 'request') throw new Error('unreachable');
  assert.equal(r.consumed, buf.length);
  return { command: r.command, frame: r.frame };
}

function parseError(buf: Buffer, limits = DEFAULT_LIMITS): { code: ErrorCode; consumed: number; skip?: number; close?: boolean } {
  const r = parseText(buf, limits);
  assert.equal(r.type, 'error', r.type === 'request' ? `parsed as ${r.command.kind}` : r.type);
  if (r.type !== 'error') throw new Error('unreachable');
  assert.equal(r.frame, undefined, 'parse errors carry no frame, so they are always written');
  const { code, consumed, skip, close } = r;
  return { code, consumed, ...(skip !== undefined ? { skip } : {}), ...(close !== undefined ? { close } : {}) };
}

const classic = (verb: string, noreply = false) => ({ kind: 'classic', verb, noreply });
const meta = (verb: string, o: Partial<MetaFrame> = {}) =>
  ({ kind: 'meta', verb, quiet: false, base64: false, value: false, returns: '', opaque: '', ...o });

/** Valid requests with the command and frame each must parse to. */
const CASES: [string, Buffer, Command, object][] = [
  ['get', line('get', 'k1'), { kind: 'get', keys: [b('k1')], span: undefined }, classic('get')],
  ['get many', line('get', 'a', 'b', 'c'), { kind: 'get', keys: [b('a'), b('b'), b('c')], span: b('a b c') }, classic('get')],
  ['get noreply is a key', line('get', 'noreply'), { kind: 'get', keys: [b('noreply')], span: undefined }, classic('get')],
  ['gets', line('gets', 'a', 'b'), { kind: 'get', keys: [b('a'), b('b')], span: b('a b') }, classic('gets')],
  ['gat', line('gat', 100, 'a'), { kind: 'get', keys: [b('a')], touchExptime: 100, span: undefined }, classic('gat')],
  ['gats', line('gats', -1, 'a', 'b'), { kind: 'get', keys: [b('a'), b('b')], touchExptime: -1, span: b('a b') }, classic('gats')],
  ['set', wire.set('k', 'hello', { flags: 5, exptime: 60 }),
    { kind: 'store', mode: 'set', key: b('k'), value: b('hello'), flags: 5, exptime: 60 }, classic('set')],
  ['set noreply', wire.set('k', 'v', { noreply: true }),
    { kind: 'store', mode: 'set', key: b('k'), value: b('v'), flags: 0, exptime: 0 }, classic('set', true)],
  ['set empty value', wire.set('k', ''), { kind: 'store', mode: 'set', key: b('k'), value: b(''), flags: 0, exptime: 0 }, classic('set')],
  ['set value with CRLF inside', wire.set('k', 'a\r\nb\nc'),
    { kind: 'store', mode: 'set', key: b('k'), value: b('a\r\nb\nc'), flags: 0, exptime: 0 }, classic('set')],
  ['set max flags, negative exptime', wire.set('k', 'v', { flags: 4294967295, exptime: -1 }),
    { kind: 'store', mode: 'set', key: b('k'), value: b('v'), flags: 4294967295, exptime: -1 }, classic('set')],
  ['set ignores an unknown trailing token', withData(line('set', 'k', 0, 0, 1, 'junk'), 'v'),
    { kind: 'store', mode: 'set', key: b('k'), value: b('v'), flags: 0, exptime: 0 }, classic('set')],
  ['add', wire.set('k', 'v', { verb: 'add' }), { kind: 'store', mode: 'add', key: b('k'), value: b('v'), flags: 0, exptime: 0 }, classic('add')],
  ['replace', wire.set('k', 'v', { verb: 'replace', noreply: true }),
    { kind: 'store', mode: 'replace', key: b('k'), value: b('v'), flags: 0, exptime: 0 }, classic('replace', true)],
  ['append', wire.set('k', 'v', { verb: 'append' }), { kind: 'store', mode: 'append', key: b('k'), value: b('v'), flags: 0, exptime: 0 }, classic('append')],
  ['prepend', wire.set('k', 'v', { verb: 'prepend' }), { kind: 'store', mode: 'prepend', key: b('k'), value: b('v'), flags: 0, exptime: 0 }, classic('prepend')],
  ['cas', wire.cas('k', 'v', 42), { kind: 'store', mode: 'set', key: b('k'), value: b('v'), flags: 0, exptime: 0, cas: 42 }, classic('cas')],
  ['cas noreply', withData(line('cas', 'k', 1, 2, 1, 7, 'noreply'), 'v'),
    { kind: 'store', mode: 'set', key: b('k'), value: b('v'), flags: 1, exptime: 2, cas: 7 }, classic('cas', true)],
  ['cas zero', wire.cas('k', 'v', 0), { kind: 'store', mode: 'set', key: b('k'), value: b('v'), flags: 0, exptime: 0, cas: 0 }, classic('cas')],
  ['delete', line('delete', 'k'), { kind: 'delete', key: b('k') }, classic('delete')],
  ['delete 0', line('delete', 'k', 0), { kind: 'delete', key: b('k') }, classic('delete')],
  ['delete noreply', line('delete', 'k', 'noreply'), { kind: 'delete', key: b('k') }, classic('delete', true)],
  ['delete 0 noreply', line('delete', 'k', 0, 'noreply'), { kind: 'delete', key: b('k') }, classic('delete', true)],
  ['incr', line('incr', 'n', 5), { kind: 'arith', key: b('n'), incr: true, delta: 5n, exptime: 0 }, classic('incr')],
  ['incr max delta', line('incr', 'n', '18446744073709551615'),
    { kind: 'arith', key: b('n'), incr: true, delta: 2n ** 64n - 1n, exptime: 0 }, classic('incr')],
  ['incr delta with leading zeros', line('incr', 'n', '000000000000000000000007'),
    { kind: 'arith', key: b('n'), incr: true, delta: 7n, exptime: 0 }, classic('incr')],
  ['decr noreply', line('decr', 'n', 1, 'noreply'), { kind: 'arith', key: b('n'), incr: false, delta: 1n, exptime: 0 }, classic('decr', true)],
  ['touch', line('touch', 'k', 30), { kind: 'touch', key: b('k'), exptime: 30 }, classic('touch')],
  ['touch noreply', line('touch', 'k', -1, 'noreply'), { kind: 'touch', key: b('k'), exptime: -1 }, classic('touch', true)],
  ['flush_all', line('flush_all'), { kind: 'flush', delay: 0 }, classic('flush_all')],
  ['flush_all delay', line('flush_all', 10), { kind: 'flush', delay: 10 }, classic('flush_all')],
  ['flush_all noreply', line('flush_all', 'noreply'), { kind: 'flush', delay: 0 }, classic('flush_all', true)],
  ['flush_all delay noreply', line('flush_all', 5, 'noreply'), { kind: 'flush', delay: 5 }, classic('flush_all', true)],
  ['flush_all negative delay is now', line('flush_all', -5), { kind: 'flush', delay: 0 }, classic('flush_all')],
  ['stats', line('stats'), { kind: 'stats', group: '' }, classic('stats')],
  ['stats settings', line('stats', 'settings'), { kind: 'stats', group: 'settings' }, classic('stats')],
  ['stats reset', line('stats', 'reset'), { kind: 'stats', group: 'reset' }, classic('stats')],
  ['stats cachedump', line('stats', 'cachedump', 1, 2), { kind: 'stats', group: 'cachedump 1 2' }, classic('stats')],
  ['version', line('version'), { kind: 'version' }, classic('version')],
  ['verbosity', line('verbosity', 1), { kind: 'verbosity' }, classic('verbosity')],
  ['verbosity noreply', line('verbosity', 1, 'noreply'), { kind: 'verbosity' }, classic('verbosity', true)],
  ['quit', line('quit'), { kind: 'quit' }, classic('quit')],
  // meta
  ['mn', line('mn'), { kind: 'noop' }, meta('mn')],
  ['mg bare', line('mg', 'k'), { kind: 'get', keys: [b('k')] }, meta('mg')],
  ['mg v', line('mg', 'k', 'v'), { kind: 'get', keys: [b('k')] }, meta('mg', { value: true })],
  ['mg all return flags keep order', line('mg', 'k', 't', 'v', 'Oxyz', 's', 'k', 'c', 'f', 'h', 'l'),
    { kind: 'get', keys: [b('k')] }, meta('mg', { value: true, returns: 'tOskcfhl', opaque: 'xyz' })],
  ['mg q', line('mg', 'k', 'q', 'k'), { kind: 'get', keys: [b('k')] }, meta('mg', { quiet: true, returns: 'k' })],
  ['mg T touches', line('mg', 'k', 'T30', 'v'), { kind: 'get', keys: [b('k')], touchExptime: 30 }, meta('mg', { value: true })],
  ['mg C compares', line('mg', 'k', 'C99', 'v'), { kind: 'get', keys: [b('k')] }, meta('mg', { value: true, compareCas: 99 })],
  ['mg base64 key', line('mg', Buffer.from([0, 1, 255]).toString('base64'), 'b', 'k'),
    { kind: 'get', keys: [Buffer.from([0, 1, 255])] }, meta('mg', { base64: true, returns: 'k' })],
  ['mg ignores u E N R P L', line('mg', 'k', 'u', 'E5', 'N30', 'R10', 'Pp', 'Lx'), { kind: 'get', keys: [b('k')] }, meta('mg')],
  ['ms', wire.ms('k', 'hi'), { kind: 'store', mode: 'set', key: b('k'), value: b('hi'), flags: 0, exptime: 0 }, meta('ms')],
  ['ms flags', wire.ms('k', 'hi', 'F7', 'T60', 'C12', 'q', 'Oo', 'k', 'c', 's', 'I'),
    { kind: 'store', mode: 'set', key: b('k'), value: b('hi'), flags: 7, exptime: 60, cas: 12 },
    meta('ms', { quiet: true, returns: 'Okcs', opaque: 'o' })],
  ['ms MS', wire.ms('k', 'v', 'MS'), { kind: 'store', mode: 'set', key: b('k'), value: b('v'), flags: 0, exptime: 0 }, meta('ms')],
  ['ms ME', wire.ms('k', 'v', 'ME'), { kind: 'store', mode: 'add', key: b('k'), value: b('v'), flags: 0, exptime: 0 }, meta('ms')],
  ['ms MA', wire.ms('k', 'v', 'MA'), { kind: 'store', mode: 'append', key: b('k'), value: b('v'), flags: 0, exptime: 0 }, meta('ms')],
  ['ms MP', wire.ms('k', 'v', 'MP'), { kind: 'store', mode: 'prepend', key: b('k'), value: b('v'), flags: 0, exptime: 0 }, meta('ms')],
  ['ms MR', wire.ms('k', 'v', 'MR'), { kind: 'store', mode: 'replace', key: b('k'), value: b('v'), flags: 0, exptime: 0 }, meta('ms')],
  ['ms base64', wire.ms(b('key!').toString('base64'), 'v', 'b'),
    { kind: 'store', mode: 'set', key: b('key!'), value: b('v'), flags: 0, exptime: 0 }, meta('ms', { base64: true })],
  ['md', line('md', 'k'), { kind: 'delete', key: b('k') }, meta('md')],
  ['md C q k', line('md', 'k', 'C5', 'q', 'k', 'I', 'T30', 'x'), { kind: 'delete', key: b('k'), cas: 5 }, meta('md', { quiet: true, returns: 'k' })],
  ['ma', line('ma', 'n'), { kind: 'arith', key: b('n'), incr: true, delta: 1n, exptime: 0 }, meta('ma')],
  ['ma decr', line('ma', 'n', 'MD', 'D7', 'v'), { kind: 'arith', key: b('n'), incr: false, delta: 7n, exptime: 0 }, meta('ma', { value: true })],
  ['ma M- M+', line('ma', 'n', 'M-'), { kind: 'arith', key: b('n'), incr: false, delta: 1n, exptime: 0 }, meta('ma')],
  ['ma MI', line('ma', 'n', 'MI', 'D18446744073709551615'),
    { kind: 'arith', key: b('n'), incr: true, delta: 2n ** 64n - 1n, exptime: 0 }, meta('ma')],
  ['ma vivify', line('ma', 'n', 'N30', 'J10', 't', 'c'),
    { kind: 'arith', key: b('n'), incr: true, delta: 1n, exptime: 30, initial: 10n }, meta('ma', { returns: 'tc' })],
  ['ma vivify default initial', line('ma', 'n', 'N0'), { kind: 'arith', key: b('n'), incr: true, delta: 1n, exptime: 0, initial: 0n }, meta('ma')],
  ['ma C', line('ma', 'n', 'C3', 'q'), { kind: 'arith', key: b('n'), incr: true, delta: 1n, exptime: 0, cas: 3 }, meta('ma', { quiet: true })],
  ['me', line('me', 'k'), { kind: 'debug', key: b('k') }, meta('me')],
  ['me base64', line('me', b('k').toString('base64'), 'b'), { kind: 'debug', key: b('k') }, meta('me', { base64: true })],
];

for (const [name, buf, command, frame] of CASES) {
  test(`parses ${name}`, () => {
    const r = parseOne(buf);
    assert.deepEqual(r.command, command);
    assert.deepEqual(r.frame, frame);
  });
}

test('every request split at every byte is incomplete until its last byte', () => {
  for (const [name, buf, command] of CASES) {
    for (let i = 0; i < buf.length; i++) {
      const r = parseText(buf.subarray(0, i), DEFAULT_LIMITS);
      assert.equal(r.type, 'incomplete', `${name} cut at ${i}`);
      // Once a value's header is in, the frame's whole length is told (the session sizes its buffer by it).
      if (r.type === 'incomplete' && r.need !== undefined) assert.equal(r.need, buf.length, `${name} cut at ${i}`);
    }
    assert.deepEqual(parseOne(buf).command, command, name);
  }
});

test('pipelined requests parse one after another from one buffer', () => {
  const all = Buffer.concat(CASES.map((c) => c[1]));
  let offset = 0;
  for (const [name, buf, command, frame] of CASES) {
    const r = parseText(all.subarray(offset), DEFAULT_LIMITS);
    assert.equal(r.type, 'request', name);
    if (r.type !== 'request') return;
    assert.equal(r.consumed, buf.length, name);
    assert.deepEqual(r.command, command, name);
    assert.deepEqual(r.frame, frame, name);
    offset += r.consumed;
  }
  assert.equal(offset, all.length);
});

test('bare \\n line endings are accepted, the data block still needs \\r\\n', () => {
  assert.deepEqual(parseOne(b('get a b\n')).command, { kind: 'get', keys: [b('a'), b('b')], span: b('a b') });
  assert.deepEqual(parseOne(b('set k 0 0 1\nv\r\n')).command, { kind: 'store', mode: 'set', key: b('k'), value: b('v'), flags: 0, exptime: 0 });
  assert.deepEqual(parseOne(b('mn\n')).command, { kind: 'noop' });
});

test('runs of spaces separate tokens like one space', () => {
  // The keys are not one space apart: no span (the request log copies them one by one).
  assert.deepEqual(parseOne(b('  get   a  b  \r\n')).command, { kind: 'get', keys: [b('a'), b('b')], span: undefined });
  assert.deepEqual(parseOne(b('get a b  c\r\n')).command, { kind: 'get', keys: [b('a'), b('b'), b('c')], span: undefined });
  assert.deepEqual(parseOne(b('gats 5 a  b\r\n')).command, { kind: 'get', keys: [b('a'), b('b')], touchExptime: 5, span: undefined });
  assert.deepEqual(parseOne(b('set  k  1  2  1  noreply \r\nv\r\n')).frame, classic('set', true));
});

test('the value is a copy, so the session may reuse its receive buffer', () => {
  const buf = wire.set('k', 'abc');
  const r = parseOne(buf);
  buf.fill(0x78);
  assert.deepEqual((r.command as { value: Buffer }).value, b('abc'));
  const m = wire.ms('k', 'xyz');
  const rm = parseOne(m);
  m.fill(0);
  assert.deepEqual((rm.command as { value: Buffer }).value, b('xyz'));
});

test('a get with many keys', () => {
  const keys = Array.from({ length: 500 }, (_, i) => `key${i}`);
  const r = parseOne(line('get', ...keys));
  assert.deepEqual(r.command, { kind: 'get', keys: keys.map(b), span: b(keys.join(' ')) });
});

test('a request followed by a partial one parses the first only', () => {
  const buf = Buffer.concat([line('get', 'a'), b('set k 0 0 5\r\nhel')]);
  const r = parseText(buf, DEFAULT_LIMITS);
  assert.equal(r.type, 'request');
  if (r.type === 'request') assert.equal(r.consumed, 7);
  assert.deepEqual(parseText(buf.subarray(7), DEFAULT_LIMITS), { type: 'incomplete', need: 20 });
});

// ---- errors --------------------------------------------------------------

/** Malformed lines: each is consumed whole, and a storage line whose length is known also skips its data block. */
const ERROR_CASES: [string, Buffer, ErrorCode, number?][] = [
  ['unknown command', line('bogus', 'x'), 'UNKNOWN_COMMAND'],
  ['empty line', b('\r\n'), 'UNKNOWN_COMMAND'],
  ['blank line', b('   \n'), 'UNKNOWN_COMMAND'],
  ['verbs are case sensitive', line('GET', 'k'), 'UNKNOWN_COMMAND'],
  ['a verb that only starts like one', line('gett', 'k'), 'UNKNOWN_COMMAND'],
  ['unknown m command', line('mx', 'k'), 'UNKNOWN_COMMAND'],
  ['get without key', line('get'), 'BAD_COMMAND_LINE'],
  ['gat without key', line('gat', 10), 'BAD_COMMAND_LINE'],
  ['get key too long', line('get', 'a', 'k'.repeat(251)), 'KEY_TOO_LONG'],
  ['gat bad exptime', line('gat', 'soon', 'k'), 'INVALID_EXPTIME'],
  ['gat exptime over int32', line('gat', 2 ** 31, 'k'), 'INVALID_EXPTIME'],
  ['set too few tokens', line('set', 'k', 0, 0), 'BAD_COMMAND_LINE'],
  ['set negative bytes', line('set', 'k', 0, 0, -1), 'BAD_COMMAND_LINE'],
  ['set non-numeric bytes', line('set', 'k', 0, 0, 'ten'), 'BAD_COMMAND_LINE'],
  ['set absurd bytes', line('set', 'k', 0, 0, '99999999999999999999'), 'BAD_COMMAND_LINE'],
  ['set bytes over INT_MAX - 2', line('set', 'k', 0, 0, 2 ** 31 - 2), 'BAD_COMMAND_LINE'],
  ['set bad flags', line('set', 'k', 'x', 0, 3), 'BAD_COMMAND_LINE', 5],
  ['set negative flags', line('set', 'k', -1, 0, 3), 'BAD_COMMAND_LINE', 5],
  ['set flags over uint32', line('set', 'k', 4294967296, 0, 3), 'BAD_COMMAND_LINE', 5],
  ['set bad exptime', line('set', 'k', 0, '1.5', 3), 'BAD_COMMAND_LINE', 5],
  ['set too many tokens', line('set', 'k', 0, 0, 3, 'noreply', 'x'), 'BAD_COMMAND_LINE', 5],
  ['set key too long', line('set', 'k'.repeat(251), 0, 0, 3), 'KEY_TOO_LONG', 5],
  ['set too large', line('set', 'k', 0, 0, 1024 * 1024), 'VALUE_TOO_LARGE', 1024 * 1024 + 2],
  ['cas without cas', line('cas', 'k', 0, 0, 3), 'BAD_COMMAND_LINE'],
  ['cas bad cas', line('cas', 'k', 0, 0, 3, -4), 'BAD_COMMAND_LINE', 5],
  ['cas cas over uint64', line('cas', 'k', 0, 0, 3, '18446744073709551616'), 'BAD_COMMAND_LINE', 5],
  ['delete with a hold time', line('delete', 'k', 5), 'BAD_COMMAND_LINE'],
  ['delete 0 0', line('delete', 'k', 0, 0), 'BAD_COMMAND_LINE'],
  ['delete too many', line('delete', 'k', 0, 'noreply', 'x'), 'BAD_COMMAND_LINE'],
  ['delete without key', line('delete'), 'BAD_COMMAND_LINE'],
  ['delete key too long', line('delete', 'k'.repeat(251)), 'KEY_TOO_LONG'],
  ['incr without delta', line('incr', 'n'), 'BAD_COMMAND_LINE'],
  ['incr negative delta', line('incr', 'n', -1), 'INVALID_DELTA'],
  ['incr text delta', line('incr', 'n', 'one'), 'INVALID_DELTA'],
  ['incr delta over uint64', line('incr', 'n', '18446744073709551616'), 'INVALID_DELTA'],
  ['incr key too long', line('incr', 'k'.repeat(251), 1), 'KEY_TOO_LONG'],
  ['touch without exptime', line('touch', 'k'), 'BAD_COMMAND_LINE'],
  ['touch bad exptime', line('touch', 'k', 'x'), 'INVALID_EXPTIME'],
  ['flush_all bad delay', line('flush_all', 'later'), 'BAD_COMMAND_LINE'],
  ['flush_all delay not followed by noreply', line('flush_all', 1, 2), 'BAD_COMMAND_LINE'],
  ['flush_all too many', line('flush_all', 1, 'noreply', 'x'), 'BAD_COMMAND_LINE'],
  ['verbosity without level', line('verbosity'), 'BAD_COMMAND_LINE'],
  // meta
  ['mg without key', line('mg'), 'BAD_COMMAND_LINE'],
  ['mg key too long', line('mg', 'k'.repeat(251), 'v'), 'KEY_TOO_LONG'],
  ['mg unknown flag', line('mg', 'k', 'z'), 'BAD_COMMAND_LINE'],
  ['mg duplicate flag', line('mg', 'k', 'v', 'v'), 'BAD_COMMAND_LINE'],
  ['mg duplicate flag with arguments', line('mg', 'k', 'T1', 'T2'), 'BAD_COMMAND_LINE'],
  ['mg non-ascii flag', b('mg k \xe9\r\n'), 'BAD_COMMAND_LINE'],
  ['mg opaque too long', line('mg', 'k', `O${'x'.repeat(33)}`), 'BAD_COMMAND_LINE'],
  ['mg bad T', line('mg', 'k', 'Tsoon'), 'BAD_COMMAND_LINE'],
  ['mg empty T', line('mg', 'k', 'T'), 'BAD_COMMAND_LINE'],
  ['mg bad C', line('mg', 'k', 'C-1'), 'BAD_COMMAND_LINE'],
  ['mg bad N', line('mg', 'k', 'Nx'), 'BAD_COMMAND_LINE'],
  ['mg bad R', line('mg', 'k', 'R'), 'BAD_COMMAND_LINE'],
  ['mg bad base64 length', line('mg', 'abc', 'b'), 'BAD_COMMAND_LINE'],
  ['mg bad base64 character', line('mg', 'ab!d', 'b'), 'BAD_COMMAND_LINE'],
  ['mg base64 padding in the middle', line('mg', 'ab==abcd', 'b'), 'BAD_COMMAND_LINE'],
  ['ms without datalen', line('ms', 'k'), 'BAD_COMMAND_LINE'],
  ['ms bad datalen', line('ms', 'k', 'v'), 'BAD_COMMAND_LINE'],
  ['ms negative datalen', line('ms', 'k', -2), 'BAD_COMMAND_LINE'],
  ['ms invalid mode', line('ms', 'k', 2, 'MX'), 'BAD_COMMAND_LINE', 4],
  ['ms empty mode', line('ms', 'k', 2, 'M'), 'BAD_COMMAND_LINE', 4],
  ['ms bad F', line('ms', 'k', 2, 'F-1'), 'BAD_COMMAND_LINE', 4],
  ['ms unknown flag', line('ms', 'k', 2, 'y'), 'BAD_COMMAND_LINE', 4],
  ['ms key too long', line('ms', 'k'.repeat(251), 2), 'KEY_TOO_LONG', 4],
  ['ms bad base64 key', line('ms', 'a', 2, 'b'), 'BAD_COMMAND_LINE', 4],
  ['ms too large', line('ms', 'k', 1024 * 1024, 'T0'), 'VALUE_TOO_LARGE', 1024 * 1024 + 2],
  ['md unknown flag', line('md', 'k', '!'), 'BAD_COMMAND_LINE'],
  ['ma invalid mode', line('ma', 'n', 'MX'), 'BAD_COMMAND_LINE'],
  ['ma bad delta', line('ma', 'n', 'D-1'), 'INVALID_DELTA'],
  ['ma bad initial', line('ma', 'n', 'N0', 'Jx'), 'BAD_COMMAND_LINE'],
  ['me without key', line('me'), 'BAD_COMMAND_LINE'],
  ['me bad base64 key', line('me', 'a', 'b'), 'BAD_COMMAND_LINE'],
];

for (const [name, buf, code, skip] of ERROR_CASES) {
  test(`refuses ${name}`, () => {
    assert.deepEqual(parseError(buf), { code, consumed: buf.length, ...(skip !== undefined ? { skip } : {}) });
  });
}

test('an error resyncs: the next request parses after consumed + skip bytes', () => {
  for (const [name, head, code, skip] of ERROR_CASES) {
    if (code === 'VALUE_TOO_LARGE') continue;
    const data = skip === undefined ? Buffer.alloc(0) : Buffer.concat([b('x'.repeat(skip - 2)), b('\r\n')]);
    const buf = Buffer.concat([head, data, line('get', 'after')]);
    const r = parseText(buf, DEFAULT_LIMITS);
    assert.equal(r.type, 'error', name);
    if (r.type !== 'error') continue;
    const rest = buf.subarray(r.consumed + (r.skip ?? 0));
    assert.deepEqual(parseOne(rest).command, { kind: 'get', keys: [b('after')], span: undefined }, name);
  }
});

test('a refused storage line is answered before its data block arrives', () => {
  assert.deepEqual(parseError(b('set k 0 0 2000000\r\n')), { code: 'VALUE_TOO_LARGE', consumed: 19, skip: 2000002 });
  const head = line('set', 'k'.repeat(300), 0, 0, 3);
  assert.deepEqual(parseError(Buffer.concat([head, b('ab')])), { code: 'KEY_TOO_LONG', consumed: head.length, skip: 5 });
});

test('the item size limit counts key and value', () => {
  const key = 'k'.repeat(24);
  assert.equal(parseOne(wire.set(key, 'v'.repeat(1000)), SMALL).command.kind, 'store');
  assert.deepEqual(parseError(line('set', key, 0, 0, 1001), SMALL), { code: 'VALUE_TOO_LARGE', consumed: 39, skip: 1003 });
  assert.equal(parseOne(wire.ms(key, 'v'.repeat(1000)), SMALL).command.kind, 'store');
  assert.deepEqual(parseError(line('ms', key, 1001), SMALL), { code: 'VALUE_TOO_LARGE', consumed: 34, skip: 1003 });
  // a base64 key counts decoded
  const b64 = b('k'.repeat(24)).toString('base64');
  assert.equal(parseOne(wire.ms(b64, 'v'.repeat(1000), 'b'), SMALL).command.kind, 'store');
});

test('a data block not ended by \\r\\n is a bad data chunk, consumed whole', () => {
  // memcached takes exactly <bytes> + 2 and resyncs on what follows.
  const buf = Buffer.concat([b('set k 0 0 3\r\nabcde'), line('get', 'k')]);
  assert.deepEqual(parseError(buf), { code: 'BAD_DATA_CHUNK', consumed: 18 });
  assert.deepEqual(parseOne(buf.subarray(18)).command, { kind: 'get', keys: [b('k')], span: undefined });
  assert.deepEqual(parseError(b('set k 0 0 3\r\nabc\n\r')), { code: 'BAD_DATA_CHUNK', consumed: 18 });
  assert.deepEqual(parseError(b('ms k 3\r\nabcXY')), { code: 'BAD_DATA_CHUNK', consumed: 13 });
});

test('a line longer than the limit closes the connection', () => {
  const limits = SMALL;
  const long = b('get ' + 'k'.repeat(limits.maxLineLength));
  assert.deepEqual(parseText(long.subarray(0, limits.maxLineLength), limits), { type: 'incomplete' });
  assert.deepEqual(parseError(long, limits), { code: 'LINE_TOO_LONG', consumed: long.length, close: true });
  const longWithNewline = Buffer.concat([long, b('\r\n')]);
  assert.deepEqual(parseError(longWithNewline, limits), { code: 'LINE_TOO_LONG', consumed: longWithNewline.length, close: true });
});

test('a line of exactly the limit is accepted', () => {
  const limits: ProtocolLimits = { ...SMALL, maxLineLength: 300 };
  const keys: string[] = [];
  let len = 3;
  while (len + 10 <= 300) {
    keys.push('k'.repeat(9));
    len += 10;
  }
  keys.push('x'.repeat(300 - len - 1));
  const buf = line('get', ...keys);
  assert.equal(buf.length, 302);
  assert.deepEqual(parseText(buf.subarray(0, 301), limits), { type: 'incomplete' });
  assert.equal(parseOne(buf, limits).command.kind, 'get');
});

test('a long data block is not a long line', () => {
  const value = 'v'.repeat(SMALL.maxLineLength * 2);
  const limits: ProtocolLimits = { ...SMALL, maxItemSize: 10 * SMALL.maxLineLength };
  const buf = wire.set('k', value);
  assert.deepEqual(parseText(buf.subarray(0, buf.length - 1), limits), { type: 'incomplete', need: buf.length });
  assert.deepEqual((parseOne(buf, limits).command as { value: Buffer }).value, b(value));
});

test('lru_crawler metadump: all, hash and class lists; other subcommands are ERROR, bad classes BADCLASS', () => {
  const dump = (all: boolean) => ({ command: { kind: 'metadump', all }, frame: classic('lru_crawler') });
  assert.deepEqual(parseOne(line('lru_crawler', 'metadump', 'all')), dump(true));
  assert.deepEqual(parseOne(line('lru_crawler', 'metadump', 'hash')), dump(true));
  assert.deepEqual(parseOne(b('lru_crawler  metadump all\n')), dump(true));
  assert.deepEqual(parseOne(line('lru_crawler', 'metadump', '1')), dump(true));
  assert.deepEqual(parseOne(line('lru_crawler', 'metadump', '5,1,63')), dump(true));
  assert.deepEqual(parseOne(line('lru_crawler', 'metadump', ',2,,3,')), dump(false));
  for (const cls of ['0', '64', 'x', '1,a', '-1', '1,0', 'ALL', '100000000000']) {
    assert.deepEqual(parseError(line('lru_crawler', 'metadump', cls)), { code: 'BAD_CLASS', consumed: 23 + cls.length }, cls);
  }
  for (const l of [line('lru_crawler'), line('lru_crawler', 'metadump'), line('lru_crawler', 'metadump', 'all', 'x'),
    line('lru_crawler', 'crawl', 'all'), line('lru_crawler', 'mgdump', 'all'), line('lru_crawler', 'enable'),
    line('lru_crawler', 'tocrawl', 10), line('lru_crawler', 'sleep', 10), line('lru_crawlers', 'metadump', 'all')]) {
    assert.deepEqual(parseError(l), { code: 'UNKNOWN_COMMAND', consumed: l.length }, l.toString());
  }
});

test('a refused command says its family, and its key when the key itself was valid; garbage says none', () => {
  const refused = (buf: Buffer, limits = SMALL) => {
    const r = parseText(buf, limits);
    assert.equal(r.type, 'error');
    if (r.type !== 'error') throw new Error('unreachable');
    return [r.code, r.family, r.key?.toString('latin1')];
  };
  const long = 'k'.repeat(251);
  assert.deepEqual(refused(line('set', 'big', 0, 0, 2048)), ['VALUE_TOO_LARGE', 'set', 'big']);
  assert.deepEqual(refused(line('cas', 'big', 0, 0, 2048, 1)), ['VALUE_TOO_LARGE', 'cas', 'big']);
  assert.deepEqual(refused(line('append', long, 0, 0, 1)), ['KEY_TOO_LONG', 'append', undefined]);
  assert.deepEqual(refused(line('set', 'k', 'x', 0, 1)), ['BAD_COMMAND_LINE', 'set', 'k']);
  assert.deepEqual(refused(withData(line('set', 'k', 0, 0, 1), 'xy')), ['BAD_DATA_CHUNK', 'set', 'k']);
  assert.deepEqual(refused(line('get', long)), ['KEY_TOO_LONG', 'get', undefined]);
  assert.deepEqual(refused(line('gats', 'x', 'k')), ['INVALID_EXPTIME', 'gat', undefined]);
  assert.deepEqual(refused(line('decr', 'k', 'x')), ['INVALID_DELTA', 'decr', 'k']);
  assert.deepEqual(refused(line('touch', 'k', 'x')), ['INVALID_EXPTIME', 'touch', 'k']);
  assert.deepEqual(refused(line('delete', 'k', 5)), ['BAD_COMMAND_LINE', 'delete', 'k']);
  assert.deepEqual(refused(line('flush_all', 'x')), ['BAD_COMMAND_LINE', 'flush', undefined]);
  assert.deepEqual(refused(line('ms', 'm', 2048, 'T0')), ['VALUE_TOO_LARGE', 'set', 'm']);
  assert.deepEqual(refused(line('ms', 'm', 2048, 'MA')), ['VALUE_TOO_LARGE', 'append', 'm']);
  assert.deepEqual(refused(line('mg', long)), ['KEY_TOO_LONG', 'get', undefined]);
  assert.deepEqual(refused(line('md')), ['BAD_COMMAND_LINE', 'delete', undefined]);
  for (const garbage of [line('bogus'), line(''), line('lru_crawler', 'crawl', 'all'), line('verbosity'), line('me')]) {
    assert.deepEqual(refused(garbage).slice(1), [undefined, undefined], garbage.toString());
  }
});

test('a storage command cut in its data block tells the whole frame length', () => {
  const line = 'set k 0 0 1000000\r\n';
  const r = parseText(Buffer.from(line + 'x'.repeat(10)), DEFAULT_LIMITS);
  assert.deepEqual(r, { type: 'incomplete', need: line.length + 1_000_002 });
  const m = parseText(Buffer.from('ms k 5 T0\r\nab'), DEFAULT_LIMITS);
  assert.deepEqual(m, { type: 'incomplete', need: 'ms k 5 T0\r\n'.length + 7 });
});
