import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, type ItemView, type Reply } from '../command.ts';
import { ReplyBuffer } from '../reply-buffer.ts';
import { encodeBinaryError, encodeBinaryReply } from './encode.ts';
import { parseBinary } from './parse.ts';
import { rawResponse, readResponses, req } from './testing/frames.ts';

/** Parses `request` and encodes `reply` to it, as the session does. */
function answer(request: Buffer, reply: Reply): Buffer {
  const r = parseBinary(request, DEFAULT_LIMITS);
  if (r.type !== 'request') throw new Error(`request did not parse: ${r.type}`);
  const out = new ReplyBuffer(64);
  encodeBinaryReply(r.frame, r.command, reply, out);
  return out.take();
}

interface Expected {
  opcode: number;
  status?: number;
  opaque?: number;
  cas?: number;
  extras?: Buffer;
  key?: string;
  value?: string | Buffer;
}
/** The exact bytes of one response, from the frame builder (which shares no code with the encoder). */
function response(e: Expected): Buffer {
  return rawResponse({ ...e, status: e.status ?? 0 });
}
const flags = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };

function item(key: string, value: string, opts: { flags?: number; cas?: number } = {}): ItemView {
  return { key: Buffer.from(key), value: Buffer.from(value), flags: opts.flags ?? 0, cas: opts.cas ?? 1, exptime: 0, lastAccess: 0, fetched: false };
}
const hit = (i: ItemView): Reply => ({ kind: 'values', items: [i], rest: 0 });
const MISS: Reply = { kind: 'values', items: [null], rest: 0 };
const NOTHING = Buffer.alloc(0);

test('GET hit: flags as extras, value, CAS and opaque, byte for byte', () => {
  const got = answer(req.get('k', { opaque: 0x01020304 }), hit(item('k', 'hi', { flags: 5, cas: 0x1_0000_0002 })));
  assert.equal(got.toString('hex'),
    '81' + '00' + '0000' + '04' + '00' + '0000' + '00000006' + '01020304' + '0000000100000002' + '00000005' + '6869');
});

test('GETK and GATK hits carry the key', () => {
  const i = item('key', 'val', { flags: 1, cas: 9 });
  assert.deepEqual(answer(req.getk('key', { opaque: 3 }), hit(i)),
    response({ opcode: 0x0c, opaque: 3, cas: 9, extras: flags(1), key: 'key', value: 'val' }));
  assert.deepEqual(answer(req.gatk('key', 10), hit(i)), response({ opcode: 0x23, cas: 9, extras: flags(1), key: 'key', value: 'val' }));
  assert.deepEqual(answer(req.gatkq('key', 10), hit(i)), response({ opcode: 0x24, cas: 9, extras: flags(1), key: 'key', value: 'val' }));
  assert.deepEqual(answer(req.gat('key', 10), hit(i)), response({ opcode: 0x1d, cas: 9, extras: flags(1), value: 'val' }));
});

test('GET miss is "Not found"; GETK miss carries the key instead', () => {
  assert.deepEqual(answer(req.get('k', { opaque: 2 }), MISS), response({ opcode: 0x00, status: 0x01, opaque: 2, value: 'Not found' }));
  assert.deepEqual(answer(req.gat('k', 1), MISS), response({ opcode: 0x1d, status: 0x01, value: 'Not found' }));
  assert.deepEqual(answer(req.getk('abc', { opaque: 2 }), MISS), response({ opcode: 0x0c, status: 0x01, opaque: 2, key: 'abc' }));
});

test('quiet gets answer hits and say nothing on a miss', () => {
  for (const q of [req.getq('k'), req.getkq('k'), req.gatq('k', 1), req.gatkq('k', 1)]) {
    assert.deepEqual(answer(q, MISS), NOTHING);
  }
  assert.deepEqual(answer(req.getq('k', { opaque: 4 }), hit(item('k', 'v'))),
    response({ opcode: 0x09, opaque: 4, cas: 1, extras: flags(0), value: 'v' }));
  assert.deepEqual(answer(req.getkq('k'), hit(item('k', 'v'))),
    response({ opcode: 0x0d, cas: 1, extras: flags(0), key: 'k', value: 'v' }));
});

test('store: success carries the new CAS; quiet success is silent; failures always answer', () => {
  const stored: Reply = { kind: 'stored', status: 'stored', cas: 42 };
  assert.deepEqual(answer(req.set('k', 'v', { opaque: 6 }), stored), response({ opcode: 0x01, opaque: 6, cas: 42 }));
  assert.deepEqual(answer(req.append('k', 'v'), stored), response({ opcode: 0x0e, cas: 42 }));
  for (const q of [req.setq('k', 'v'), req.addq('k', 'v'), req.replaceq('k', 'v'), req.appendq('k', 'v'), req.prependq('k', 'v')]) {
    assert.deepEqual(answer(q, stored), NOTHING);
  }
  const exists: Reply = { kind: 'stored', status: 'exists', cas: 0 };
  assert.deepEqual(answer(req.setq('k', 'v', { cas: 5, opaque: 8 }), exists),
    response({ opcode: 0x11, status: 0x02, opaque: 8, value: 'Data exists for key.' }));
  assert.deepEqual(answer(req.set('k', 'v', { cas: 5 }), { kind: 'stored', status: 'not_found', cas: 0 }),
    response({ opcode: 0x01, status: 0x01, value: 'Not found' }));
});

test('a refused store maps by mode as memcached does', () => {
  const notStored: Reply = { kind: 'stored', status: 'not_stored', cas: 0 };
  assert.deepEqual(answer(req.add('k', 'v'), notStored), response({ opcode: 0x02, status: 0x02, value: 'Data exists for key.' }));
  assert.deepEqual(answer(req.replace('k', 'v'), notStored), response({ opcode: 0x03, status: 0x01, value: 'Not found' }));
  assert.deepEqual(answer(req.appendq('k', 'v'), notStored), response({ opcode: 0x19, status: 0x05, value: 'Not stored.' }));
  assert.deepEqual(answer(req.prepend('k', 'v'), notStored), response({ opcode: 0x0f, status: 0x05, value: 'Not stored.' }));
  assert.deepEqual(answer(req.set('k', 'v'), notStored), response({ opcode: 0x01, status: 0x05, value: 'Not stored.' }));
});

test('delete answers', () => {
  assert.deepEqual(answer(req.delete('k', { opaque: 1 }), { kind: 'deleted', status: 'deleted' }), response({ opcode: 0x04, opaque: 1 }));
  assert.deepEqual(answer(req.deleteq('k'), { kind: 'deleted', status: 'deleted' }), NOTHING);
  assert.deepEqual(answer(req.deleteq('k'), { kind: 'deleted', status: 'not_found' }),
    response({ opcode: 0x14, status: 0x01, value: 'Not found' }));
  assert.deepEqual(answer(req.delete('k', { cas: 3 }), { kind: 'deleted', status: 'exists' }),
    response({ opcode: 0x04, status: 0x02, value: 'Data exists for key.' }));
});

test('incr/decr answer the new value as 8 bytes with the CAS', () => {
  const ok: Reply = { kind: 'arith', status: 'ok', value: 2n ** 64n - 2n, item: item('n', '18446744073709551614', { cas: 17 }) };
  assert.equal(answer(req.incr('n', { opaque: 0xa }), ok).toString('hex'),
    '8105000000000000' + '00000008' + '0000000a' + '0000000000000011' + 'fffffffffffffffe');
  assert.deepEqual(answer(req.incrq('n'), ok), NOTHING);
  assert.deepEqual(answer(req.decr('n', { exptime: 0xffffffff }), { kind: 'arith', status: 'not_found', value: 0n, item: null }),
    response({ opcode: 0x06, status: 0x01, value: 'Not found' }));
  assert.deepEqual(answer(req.decrq('n', { cas: 4 }), { kind: 'arith', status: 'exists', value: 0n, item: null }),
    response({ opcode: 0x16, status: 0x02, value: 'Data exists for key.' }));
  assert.deepEqual(answer(req.incr('n'), { kind: 'error', code: 'NON_NUMERIC' }),
    response({ opcode: 0x05, status: 0x06, value: 'Non-numeric server-side value for incr or decr' }));
});

test('touch, flush, noop, verbosity and quit', () => {
  assert.deepEqual(answer(req.touch('k', 5, { opaque: 2 }), { kind: 'touched', found: true }), response({ opcode: 0x1c, opaque: 2 }));
  assert.deepEqual(answer(req.touch('k', 5), { kind: 'touched', found: false }), response({ opcode: 0x1c, status: 0x01, value: 'Not found' }));
  const ok: Reply = { kind: 'ok' };
  assert.deepEqual(answer(req.flush(), ok), response({ opcode: 0x08 }));
  assert.deepEqual(answer(req.flushq(), ok), NOTHING);
  assert.deepEqual(answer(req.noop({ opaque: 0xffffffff }), ok), response({ opcode: 0x0a, opaque: 0xffffffff }));
  assert.deepEqual(answer(req.verbosity(1), ok), response({ opcode: 0x1b }));
  assert.deepEqual(answer(req.quit(), ok), response({ opcode: 0x07 }));
  assert.deepEqual(answer(req.quitq(), ok), NOTHING);
});

test('stats: one response per entry, then an empty terminator, all with the opaque', () => {
  const got = answer(req.stat('', { opaque: 77 }), { kind: 'stats', entries: [['pid', 42], ['version', '1.6.0']] });
  assert.deepEqual(got, Buffer.concat([
    response({ opcode: 0x10, opaque: 77, key: 'pid', value: '42' }),
    response({ opcode: 0x10, opaque: 77, key: 'version', value: '1.6.0' }),
    response({ opcode: 0x10, opaque: 77 }),
  ]));
  assert.deepEqual(answer(req.stat('nope'), { kind: 'stats', entries: [] }), response({ opcode: 0x10 }));
});

test('version, SASL mechanisms and authentication', () => {
  assert.deepEqual(answer(req.version({ opaque: 1 }), { kind: 'version', version: '1.6.21' }),
    response({ opcode: 0x0b, opaque: 1, value: '1.6.21' }));
  assert.deepEqual(answer(req.saslList(), { kind: 'sasl-mechs', mechanisms: 'PLAIN' }), response({ opcode: 0x20, value: 'PLAIN' }));
  assert.deepEqual(answer(req.saslAuth('PLAIN', '\0u\0p', { opaque: 5 }), { kind: 'authenticated' }),
    response({ opcode: 0x21, opaque: 5, value: 'Authenticated' }));
  assert.deepEqual(answer(req.saslAuth('PLAIN', '\0u\0p'), { kind: 'error', code: 'AUTH_FAILED' }),
    response({ opcode: 0x21, status: 0x20, value: 'Auth failure.' }));
});

test('error replies use the code\'s binary status, even for quiet requests', () => {
  const cases: [Reply & { kind: 'error' }, number, string][] = [
    [{ kind: 'error', code: 'AUTH_REQUIRED' }, 0x20, 'Auth failure.'],
    [{ kind: 'error', code: 'WRITE_FORBIDDEN' }, 0x20, 'Auth failure.'],
    [{ kind: 'error', code: 'VALUE_TOO_LARGE' }, 0x03, 'Too large.'],
    [{ kind: 'error', code: 'OUT_OF_MEMORY' }, 0x82, 'Out of memory'],
    [{ kind: 'error', code: 'BAD_FRAME' }, 0x04, 'Invalid arguments'],
  ];
  for (const [reply, status, message] of cases) {
    assert.deepEqual(answer(req.setq('k', 'v', { opaque: 3 }), reply), response({ opcode: 0x11, status, opaque: 3, value: message }), reply.code);
  }
});

test('parse errors are answered with the frame\'s opcode and opaque, or zeros without one', () => {
  const r = parseBinary(req.get('k', { opaque: 0 }).fill(0x3f, 1, 2).fill(0x99, 12, 16), DEFAULT_LIMITS);
  assert.equal(r.type, 'error');
  if (r.type !== 'error') return;
  const out = new ReplyBuffer(16);
  encodeBinaryError(r.code, out, r.frame);
  encodeBinaryError('BAD_FRAME', out);
  assert.deepEqual(out.take(), Buffer.concat([
    response({ opcode: 0x3f, status: 0x81, opaque: 0x99999999, value: 'Unknown command' }),
    response({ opcode: 0x00, status: 0x04, value: 'Invalid arguments' }),
  ]));
});

test('readResponses splits a pipelined answer', () => {
  const bytes = Buffer.concat([answer(req.getkq('a', { opaque: 1 }), hit(item('a', '1'))), answer(req.noop({ opaque: 2 }), { kind: 'ok' })]);
  const { responses, rest } = readResponses(Buffer.concat([bytes, bytes.subarray(0, 10)]));
  assert.equal(rest.length, 10);
  assert.deepEqual(responses.map((r) => [r.opcode, r.opaque, r.key.toString(), r.value.toString(), r.extras.length]),
    [[0x0d, 1, 'a', '1', 4], [0x0a, 2, '', '', 0]]);
});
