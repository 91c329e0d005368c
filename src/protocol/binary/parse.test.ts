import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, type Command, type ParseResult, type ProtocolLimits } from '../command.ts';
import type { BinaryFrame } from './frame.ts';
import { decodeRequestHeader } from './header.ts';
import { Opcode } from './opcodes.ts';
import { parseBinary } from './parse.ts';
import { plain, rawRequest, req } from './testing/frames.ts';

const SMALL: ProtocolLimits = { maxKeyLength: 250, maxItemSize: 1024, maxLineLength: 2048 };
const k = (s: string) => Buffer.from(s);

function parseOne(buf: Buffer, limits = DEFAULT_LIMITS): { command: Command; frame: BinaryFrame } {
  const r = parseBinary(buf, limits);
  assert.equal(r.type, 'request', r.type === 'error' ? `error ${r.code}` : r.type);
  if (r.type !== 'request') throw new Error('unreachable');
  assert.equal(r.consumed, buf.length);
  return { command: r.command, frame: r.frame };
}

/** Every opcode with the command it must decode to. */
const CASES: [string, Buffer, Command, Partial<BinaryFrame>][] = [
  ['GET', req.get('k1', { opaque: 9 }), { kind: 'get', keys: [k('k1')] }, { opcode: 0x00, opaque: 9, quiet: false, returnsKey: false }],
  ['GETQ', req.getq('k1'), { kind: 'get', keys: [k('k1')] }, { opcode: 0x09, quiet: true, returnsKey: false }],
  ['GETK', req.getk('k1'), { kind: 'get', keys: [k('k1')] }, { opcode: 0x0c, quiet: false, returnsKey: true, key: k('k1') }],
  ['GETKQ', req.getkq('k1'), { kind: 'get', keys: [k('k1')] }, { opcode: 0x0d, quiet: true, returnsKey: true }],
  ['GAT', req.gat('k1', 100), { kind: 'get', keys: [k('k1')], touchExptime: 100 }, { opcode: 0x1d, quiet: false }],
  ['GATQ', req.gatq('k1', 100), { kind: 'get', keys: [k('k1')], touchExptime: 100 }, { opcode: 0x1e, quiet: true }],
  ['GATK', req.gatk('k1', 5), { kind: 'get', keys: [k('k1')], touchExptime: 5 }, { opcode: 0x23, returnsKey: true }],
  ['GATKQ', req.gatkq('k1', 5), { kind: 'get', keys: [k('k1')], touchExptime: 5 }, { opcode: 0x24, quiet: true, returnsKey: true }],
  ['SET', req.set('k', 'v', { flags: 1, exptime: 60, opaque: 7 }),
    { kind: 'store', mode: 'set', key: k('k'), value: k('v'), flags: 1, exptime: 60 }, { opcode: 0x01, opaque: 7, quiet: false }],
  ['SET cas', req.set('k', 'v', { cas: 2 ** 40 + 5 }),
    { kind: 'store', mode: 'set', key: k('k'), value: k('v'), flags: 0, exptime: 0, cas: 2 ** 40 + 5 }, {}],
  ['SETQ', req.setq('k', '', { flags: 0xffffffff }),
    { kind: 'store', mode: 'set', key: k('k'), value: k(''), flags: 0xffffffff, exptime: 0 }, { opcode: 0x11, quiet: true }],
  ['ADD', req.add('k', 'v'), { kind: 'store', mode: 'add', key: k('k'), value: k('v'), flags: 0, exptime: 0 }, { opcode: 0x02 }],
  ['ADDQ', req.addq('k', 'v'), { kind: 'store', mode: 'add', key: k('k'), value: k('v'), flags: 0, exptime: 0 }, { opcode: 0x12, quiet: true }],
  ['REPLACE', req.replace('k', 'v'), { kind: 'store', mode: 'replace', key: k('k'), value: k('v'), flags: 0, exptime: 0 }, { opcode: 0x03 }],
  ['REPLACEQ', req.replaceq('k', 'v'), { kind: 'store', mode: 'replace', key: k('k'), value: k('v'), flags: 0, exptime: 0 }, { opcode: 0x13, quiet: true }],
  ['APPEND', req.append('k', 'xy'), { kind: 'store', mode: 'append', key: k('k'), value: k('xy'), flags: 0, exptime: 0 }, { opcode: 0x0e }],
  ['APPENDQ', req.appendq('k', 'xy', { cas: 3 }),
    { kind: 'store', mode: 'append', key: k('k'), value: k('xy'), flags: 0, exptime: 0, cas: 3 }, { opcode: 0x19, quiet: true }],
  ['PREPEND', req.prepend('k', 'xy'), { kind: 'store', mode: 'prepend', key: k('k'), value: k('xy'), flags: 0, exptime: 0 }, { opcode: 0x0f }],
  ['PREPENDQ', req.prependq('k', 'xy'), { kind: 'store', mode: 'prepend', key: k('k'), value: k('xy'), flags: 0, exptime: 0 }, { opcode: 0x1a, quiet: true }],
  ['DELETE', req.delete('k'), { kind: 'delete', key: k('k') }, { opcode: 0x04, quiet: false }],
  ['DELETE cas', req.delete('k', { cas: 12 }), { kind: 'delete', key: k('k'), cas: 12 }, {}],
  ['DELETEQ', req.deleteq('k'), { kind: 'delete', key: k('k') }, { opcode: 0x14, quiet: true }],
  ['INCREMENT', req.incr('n', { delta: 5, initial: 10, exptime: 30 }),
    { kind: 'arith', key: k('n'), incr: true, delta: 5n, initial: 10n, exptime: 30 }, { opcode: 0x05 }],
  ['INCREMENT no create', req.incr('n', { delta: 2n ** 64n - 1n, exptime: 0xffffffff }),
    { kind: 'arith', key: k('n'), incr: true, delta: 2n ** 64n - 1n, exptime: 0 }, {}],
  ['INCREMENT cas', req.incr('n', { delta: 1, cas: 77 }),
    { kind: 'arith', key: k('n'), incr: true, delta: 1n, initial: 0n, exptime: 0, cas: 77 }, {}],
  ['DECREMENT', req.decr('n', { delta: 1, initial: 0 }),
    { kind: 'arith', key: k('n'), incr: false, delta: 1n, initial: 0n, exptime: 0 }, { opcode: 0x06 }],
  ['INCREMENTQ', req.incrq('n'), { kind: 'arith', key: k('n'), incr: true, delta: 1n, initial: 0n, exptime: 0 }, { opcode: 0x15, quiet: true }],
  ['DECREMENTQ', req.decrq('n'), { kind: 'arith', key: k('n'), incr: false, delta: 1n, initial: 0n, exptime: 0 }, { opcode: 0x16, quiet: true }],
  ['TOUCH', req.touch('k', 99), { kind: 'touch', key: k('k'), exptime: 99 }, { opcode: 0x1c, quiet: false }],
  ['FLUSH', req.flush(), { kind: 'flush', delay: 0 }, { opcode: 0x08 }],
  ['FLUSH delay', req.flush(10), { kind: 'flush', delay: 10 }, { opcode: 0x08 }],
  ['FLUSHQ', req.flushq(), { kind: 'flush', delay: 0 }, { opcode: 0x18, quiet: true }],
  ['NOOP', req.noop({ opaque: 0xffffffff }), { kind: 'noop' }, { opcode: 0x0a, opaque: 0xffffffff }],
  ['VERSION', req.version(), { kind: 'version' }, { opcode: 0x0b }],
  ['QUIT', req.quit(), { kind: 'quit' }, { opcode: 0x07, quiet: false }],
  ['QUITQ', req.quitq(), { kind: 'quit' }, { opcode: 0x17, quiet: true }],
  ['STAT', req.stat(), { kind: 'stats', group: '' }, { opcode: 0x10 }],
  ['STAT group', req.stat('settings'), { kind: 'stats', group: 'settings' }, { opcode: 0x10 }],
  ['VERBOSITY', req.verbosity(1), { kind: 'verbosity' }, { opcode: 0x1b }],
  ['SASL LIST MECHS', req.saslList(), { kind: 'sasl-list' }, { opcode: 0x20 }],
  ['SASL AUTH', req.saslAuth('PLAIN', plain('u', 'p')), { kind: 'sasl-auth', mechanism: 'PLAIN', data: plain('u', 'p') }, { opcode: 0x21 }],
  ['SASL STEP', req.saslStep('PLAIN', 'more'), { kind: 'sasl-auth', mechanism: 'PLAIN', data: k('more') }, { opcode: 0x22 }],
];

test('every opcode parses to its command and frame', () => {
  const seen = new Set<number>();
  for (const [name, bytes, command, frame] of CASES) {
    const got = parseOne(bytes);
    assert.deepEqual(got.command, command, name);
    for (const [field, want] of Object.entries(frame)) {
      assert.deepEqual(got.frame[field as keyof BinaryFrame], want, `${name}: frame.${field}`);
    }
    seen.add(got.frame.opcode);
  }
  // All 36 opcodes of the protocol are covered.
  assert.deepEqual([...seen].sort((a, b) => a - b), Object.values(Opcode).sort((a, b) => a - b));
});

test('a frame carries the request key only for GETK/GATK', () => {
  assert.equal(parseOne(req.get('abc')).frame.key, undefined);
  assert.deepEqual(parseOne(req.gatkq('abc', 1)).frame.key, k('abc'));
});

test('values are copies; keys may view the input', () => {
  const buf = req.set('key', 'value');
  const { command } = parseOne(buf);
  assert.equal(command.kind, 'store');
  if (command.kind !== 'store') return;
  buf.fill(0);
  assert.equal(command.value.toString(), 'value');
  const auth = req.saslAuth('PLAIN', plain('u', 'p'));
  const sasl = parseOne(auth).command;
  auth.fill(0);
  assert.deepEqual(sasl, { kind: 'sasl-auth', mechanism: 'PLAIN', data: plain('u', 'p') });
});

test('a request split at any byte is incomplete until its last byte arrives', () => {
  for (const [name, bytes] of CASES) {
    for (let i = 0; i < bytes.length; i++) {
      const r = parseBinary(bytes.subarray(0, i), DEFAULT_LIMITS);
      assert.equal(r.type, 'incomplete', `${name} cut at ${i}`);
      // Once the header is in, the frame's whole length is told (the session sizes its buffer by it).
      assert.deepEqual(r, i < 24 ? { type: 'incomplete' } : { type: 'incomplete', need: bytes.length }, `${name} cut at ${i}`);
    }
    parseOne(bytes);
  }
});

test('pipelined requests parse one after another', () => {
  const all = Buffer.concat([req.setq('a', '1', { opaque: 1 }), req.getkq('a', { opaque: 2 }), req.incr('n', { opaque: 3 }), req.noop({ opaque: 4 })]);
  const kinds: string[] = [];
  const opaques: number[] = [];
  let at = 0;
  while (at < all.length) {
    const r = parseBinary(all.subarray(at), DEFAULT_LIMITS);
    assert.equal(r.type, 'request');
    if (r.type !== 'request') return;
    kinds.push(r.command.kind);
    opaques.push(r.frame.opaque);
    at += r.consumed;
  }
  assert.deepEqual(kinds, ['store', 'get', 'arith', 'noop']);
  assert.deepEqual(opaques, [1, 2, 3, 4]);
});

type ErrorResult = Extract<ParseResult<BinaryFrame>, { type: 'error' }>;
function parseError(buf: Buffer, limits = DEFAULT_LIMITS): ErrorResult {
  const r = parseBinary(buf, limits);
  assert.equal(r.type, 'error', `expected an error, got ${r.type}`);
  return r as ErrorResult;
}

test('bad magic closes the connection, even before a whole header', () => {
  for (const buf of [Buffer.from('get k\r\n'), Buffer.from([0x81]), rawRequest({ opcode: 0, key: 'k', magic: 0x81 })]) {
    const r = parseError(buf);
    assert.equal(r.code, 'BAD_FRAME');
    assert.equal(r.close, true);
  }
});

test('a bodylen too large to be any request closes, whatever has arrived', () => {
  const header = rawRequest({ opcode: Opcode.Set, key: 'k', extras: Buffer.alloc(8), bodylen: 0xffffffff, opaque: 5 });
  const r = parseError(header);
  assert.equal(r.code, 'VALUE_TOO_LARGE');
  assert.equal(r.close, true);
  assert.equal(r.frame?.opaque, 5);
  const r2 = parseError(rawRequest({ opcode: Opcode.Get, bodylen: SMALL.maxItemSize + SMALL.maxKeyLength + 65 }), SMALL);
  assert.equal(r2.close, true);
});

test('keylen + extlen beyond bodylen is a bad frame that consumes header and body', () => {
  // bodylen says 3, but the key alone claims 5: the frame ends after 3 body bytes.
  const buf = Buffer.concat([rawRequest({ opcode: Opcode.Get, key: 'abc', keylen: 5, opaque: 8 }), req.noop()]);
  const r = parseError(buf);
  assert.equal(r.code, 'BAD_FRAME');
  assert.equal(r.consumed, 27);
  assert.equal(r.skip, undefined);
  assert.equal(r.close, undefined);
  assert.equal(r.frame?.opaque, 8);
  assert.equal(parseBinary(buf.subarray(r.consumed), DEFAULT_LIMITS).type, 'request');
  // keylen > bodylen with extras on top.
  const r2 = parseError(rawRequest({ opcode: Opcode.Set, key: 'k', extras: Buffer.alloc(8), value: 'v', keylen: 300, bodylen: 10 }));
  assert.equal(r2.code, 'BAD_FRAME');
  assert.equal(r2.consumed, 34);
});

test('a bodylen longer than the request shape is refused and its body skipped as it arrives', () => {
  // A GET whose bodylen claims 100 value bytes it may not carry: refused on the header alone.
  const header = rawRequest({ opcode: Opcode.Get, key: 'k', bodylen: 101, opaque: 3 });
  const r = parseError(header);
  assert.equal(r.code, 'BAD_FRAME');
  assert.equal(r.consumed, header.length);
  assert.equal(r.skip, 125 - header.length);
  assert.equal(r.frame?.opaque, 3);
  assert.equal(r.frame?.opcode, Opcode.Get);
});

test('wrong extras, missing key and unexpected key or value are bad frames', () => {
  const bad: [string, Buffer][] = [
    ['SET with 4 extras', rawRequest({ opcode: Opcode.Set, key: 'k', extras: Buffer.alloc(4), value: 'v' })],
    ['SET without key', rawRequest({ opcode: Opcode.Set, extras: Buffer.alloc(8), value: 'v' })],
    ['APPEND with extras', rawRequest({ opcode: Opcode.Append, key: 'k', extras: Buffer.alloc(8), value: 'v' })],
    ['GET with extras', rawRequest({ opcode: Opcode.Get, key: 'k', extras: Buffer.alloc(4) })],
    ['GET without key', rawRequest({ opcode: Opcode.Get })],
    ['GET with value', rawRequest({ opcode: Opcode.Get, key: 'k', value: 'v' })],
    ['GAT without extras', rawRequest({ opcode: Opcode.GAT, key: 'k' })],
    ['INCR with 8 extras', rawRequest({ opcode: Opcode.Increment, key: 'k', extras: Buffer.alloc(8) })],
    ['INCR with value', rawRequest({ opcode: Opcode.Increment, key: 'k', extras: Buffer.alloc(20), value: '1' })],
    ['DELETE with extras', rawRequest({ opcode: Opcode.Delete, key: 'k', extras: Buffer.alloc(4) })],
    ['TOUCH without key', rawRequest({ opcode: Opcode.Touch, extras: Buffer.alloc(4) })],
    ['FLUSH with 8 extras', rawRequest({ opcode: Opcode.Flush, extras: Buffer.alloc(8) })],
    ['FLUSH with key', rawRequest({ opcode: Opcode.Flush, key: 'k' })],
    ['NOOP with key', rawRequest({ opcode: Opcode.Noop, key: 'k' })],
    ['VERSION with value', rawRequest({ opcode: Opcode.Version, value: 'v' })],
    ['QUIT with extras', rawRequest({ opcode: Opcode.Quit, extras: Buffer.alloc(4) })],
    ['STAT with extras', rawRequest({ opcode: Opcode.Stat, extras: Buffer.alloc(4) })],
    ['VERBOSITY without extras', rawRequest({ opcode: Opcode.Verbosity })],
    ['SASL LIST with key', rawRequest({ opcode: Opcode.SaslListMechs, key: 'PLAIN' })],
    ['SASL AUTH without mechanism', rawRequest({ opcode: Opcode.SaslAuth, value: 'data' })],
  ];
  for (const [name, buf] of bad) {
    const r = parseError(Buffer.concat([buf, req.noop()]));
    assert.equal(r.code, 'BAD_FRAME', name);
    assert.equal(r.consumed, buf.length, name);
    assert.equal(r.close, undefined, name);
  }
});

test('an unknown opcode is answered with its opaque and its body consumed', () => {
  const buf = rawRequest({ opcode: 0x3f, key: 'k', extras: Buffer.alloc(4), value: 'xyz', opaque: 0xdeadbeef });
  const r = parseError(buf);
  assert.equal(r.code, 'UNKNOWN_COMMAND');
  assert.equal(r.consumed, buf.length);
  assert.deepEqual(r.frame, { opcode: 0x3f, opaque: 0xdeadbeef, quiet: false, returnsKey: false, key: undefined });
  // Body not yet here: consume what is, skip the rest.
  const partial = parseError(buf.subarray(0, 26));
  assert.equal(partial.consumed, 26);
  assert.equal(partial.skip, buf.length - 26);
  // 0x1f (between GATQ and SASL) is unknown too.
  assert.equal(parseError(rawRequest({ opcode: 0x1f })).code, 'UNKNOWN_COMMAND');
});

test('a key over the limit is refused and the request skipped', () => {
  const long = 'x'.repeat(251);
  const buf = req.set(long, 'value', { opaque: 4 });
  const r = parseError(buf.subarray(0, 24));
  assert.equal(r.code, 'KEY_TOO_LONG');
  assert.equal(r.consumed, 24);
  assert.equal(r.skip, buf.length - 24);
  assert.equal(r.frame?.opaque, 4);
  assert.equal(parseError(req.get(long)).code, 'KEY_TOO_LONG');
  parseOne(req.get('x'.repeat(250)));
});

test('a value over the item size is refused on its header and its body skipped', () => {
  const key = 'kk';
  const value = Buffer.alloc(SMALL.maxItemSize - key.length + 1);
  const buf = req.set(key, value, { opaque: 6 });
  const r = parseError(buf.subarray(0, 24), SMALL);
  assert.equal(r.code, 'VALUE_TOO_LARGE');
  assert.equal(r.consumed, 24);
  assert.equal(r.skip, buf.length - 24);
  assert.equal(r.close, undefined);
  assert.equal(r.frame?.opcode, Opcode.Set);
  // Exactly at the limit is fine.
  parseOne(req.set(key, value.subarray(1)), SMALL);
  assert.equal(parseError(req.appendq(key, value), SMALL).code, 'VALUE_TOO_LARGE');
});

test('CAS is read as a 64-bit number up to 2^53', () => {
  const cas = Number.MAX_SAFE_INTEGER;
  const { command } = parseOne(req.delete('k', { cas }));
  assert.deepEqual(command, { kind: 'delete', key: k('k'), cas });
});

test('an empty buffer is incomplete', () => {
  assert.deepEqual(parseBinary(Buffer.alloc(0), DEFAULT_LIMITS), { type: 'incomplete' });
});

test('decodeRequestHeader reads every field', () => {
  const buf = rawRequest({ opcode: Opcode.Set, key: 'key', extras: Buffer.alloc(8), value: 'value', vbucket: 3, opaque: 0xfeedface, cas: 2 ** 33 + 1 });
  assert.deepEqual(decodeRequestHeader(buf), {
    magic: 0x80, opcode: 0x01, keylen: 3, extlen: 8, datatype: 0, vbucket: 3, bodylen: 16, opaque: 0xfeedface, cas: 2 ** 33 + 1,
  });
});

test('a refused request says its family (from the opcode), and the key of an oversized store once it has arrived', () => {
  const big = Buffer.alloc(SMALL.maxItemSize, 0x61);
  const full = parseError(req.set(Buffer.from('k'), big), SMALL);
  assert.deepEqual([full.code, full.family, full.key?.toString()], ['VALUE_TOO_LARGE', 'set', 'k']);
  // Only the header so far: no key yet.
  const header = parseError(req.append(Buffer.from('k'), big).subarray(0, 24), SMALL);
  assert.deepEqual([header.code, header.family, header.key], ['VALUE_TOO_LARGE', 'append', undefined]);
  const long = parseError(req.gat(Buffer.alloc(SMALL.maxKeyLength + 1, 0x61), 5), SMALL);
  assert.deepEqual([long.code, long.family, long.key], ['KEY_TOO_LONG', 'gat', undefined]);
  assert.equal(parseError(req.decr(Buffer.alloc(SMALL.maxKeyLength + 1, 0x61)), SMALL).family, 'decr');
  assert.equal(parseError(rawRequest({ opcode: 0x55, key: 'k' })).family, undefined, 'an unknown opcode');
  assert.equal(parseError(rawRequest({ opcode: Opcode.Noop, key: 'k' })).family, undefined, 'a session command');
});
