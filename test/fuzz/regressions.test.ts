// Inputs the fuzzers care about, replayed on every run: each goes through the parser
// contract (session-model.ts: whole, split everywhere, byte by byte) and then, sent
// in pieces, to a live node that must stay up and keep serving. A crash, hang or
// divergence found by `npm run fuzz` or the fuzz tests becomes one row of CASES (its
// bytes, as printed in the failure) plus, where it is not just "must not crash", a test
// of its own below.
//
// The fuzz runs recorded in RELIABILITY.md found no crash or hang, so the rows so far are
// the boundary inputs the mutators aim at: lengths at and just past each limit, numbers
// just past their type, lying binary length fields, and broken line ends.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS } from '../../src/protocol/command.ts';
import { rawRequest, req } from '../../src/protocol/binary/testing/frames.ts';
import { startTestNode, type TestCache, type TestNode } from '../support/test-node.ts';
import { PROMPTLY_MS } from '../support/wait.ts';
import { assertServes, watchCrashes, type CrashWatch } from './live-fuzz.ts';
import { BINARY_WIRE, checkSplitInvariance, feed, TEXT_WIRE } from './session-model.ts';

const MAX_BODY = DEFAULT_LIMITS.maxItemSize + DEFAULT_LIMITS.maxKeyLength + 64;
const t = (s: string): Buffer => Buffer.from(s, 'latin1');

/** [name, binary?, bytes, what the parser must do with the first request]. */
const CASES: [string, boolean, Buffer, 'request' | 'error' | 'close' | 'incomplete'][] = [
  ['binary body length 4 GiB', true, rawRequest({ opcode: 0x01, key: 'k', bodylen: 0xffffffff }), 'close'],
  ['binary body length one past the limit', true, rawRequest({ opcode: 0x01, key: 'k', bodylen: MAX_BODY + 1 }), 'close'],
  ['binary body length at the limit, body not sent', true, rawRequest({ opcode: 0x01, key: 'k', extras: Buffer.alloc(8), bodylen: MAX_BODY }), 'error'],
  ['binary key longer than the body', true, rawRequest({ opcode: 0x00, key: 'abc', bodylen: 1 }), 'error'],
  ['binary extras 255 bytes', true, rawRequest({ opcode: 0x00, key: 'k', extlen: 255, bodylen: 300 }), 'error'],
  ['binary keylen 65535', true, rawRequest({ opcode: 0x00, keylen: 0xffff, bodylen: 0xffff }), 'error'],
  ['binary GET without a key', true, rawRequest({ opcode: 0x00 }), 'error'],
  ['binary unknown opcode with a body', true, rawRequest({ opcode: 0xfe, key: 'k', value: 'v' }), 'error'],
  ['binary flush with 8 bytes of extras', true, rawRequest({ opcode: 0x08, extras: Buffer.alloc(8) }), 'error'],
  ['binary incr of max delta', true, req.incr('k', { delta: (1n << 64n) - 1n, initial: (1n << 64n) - 1n }), 'request'],
  ['binary bad magic after a request', true, Buffer.concat([req.noop(), Buffer.from([0x81, 0, 0, 0])]), 'request'],
  ['set with the largest data length', false, t('set k 0 0 2147483645\r\n'), 'error'],
  ['set with a data length past int32', false, t('set k 0 0 2147483648\r\nx\r\n'), 'error'],
  ['set with flags past uint32', false, t('set k 4294967296 0 1\r\nx\r\nget k\r\n'), 'error'],
  ['set whose data block lacks its CRLF', false, t('set k 0 0 1\r\nxyget k\r\n'), 'error'],
  ['key of 251 bytes', false, t(`get ${'k'.repeat(251)}\r\n`), 'error'],
  ['incr by 2^64', false, t('incr k 18446744073709551616\r\n'), 'error'],
  ['cas with a unique past 2^64', false, t('cas k 0 0 1 18446744073709551616\r\nx\r\n'), 'error'],
  ['line one byte past the limit', false, Buffer.concat([t('get '), Buffer.alloc(DEFAULT_LIMITS.maxLineLength - 3, 97), t('\r\n')]), 'close'],
  ['line at the limit', false, Buffer.concat([t('get '), Buffer.alloc(246, 97), t(' '), Buffer.alloc(DEFAULT_LIMITS.maxLineLength - 251, 98), t('\r\n')]), 'error'],
  ['bare CR line ends', false, t('get k\rget j\r'), 'incomplete'],
  ['NUL bytes in a line', false, t('get \0\0\r\n'), 'request'],
  ['ms with a data length past uint64', false, t('ms k 18446744073709551616\r\nx\r\n'), 'error'],
  ['ms with an invalid mode', false, t('ms k 1 MZ\r\nx\r\n'), 'error'],
  ['mg with a broken base64 key', false, t('mg a=== b v\r\n'), 'error'],
  ['mg with an opaque of 33 bytes', false, t(`mg k O${'o'.repeat(33)}\r\n`), 'error'],
  ['mg with a repeated flag', false, t('mg k v v\r\n'), 'error'],
  ['ma that wraps past 2^64 on create', false, t('ma k N0 J18446744073709551615 D1 v\r\n'), 'request'],
  ['me with a base64 key of padding only', false, t('me ==== b\r\n'), 'error'],
  ['only spaces', false, t('     \r\n'), 'error'],
];

let node: TestNode;
let cache: TestCache;
let quiet: TestCache;
let crashes: CrashWatch;
before(async () => {
  crashes = watchCrashes();
  node = await startTestNode({ logger: crashes.logger });
  cache = await node.createCache();
  quiet = await node.createCache();
});
after(async () => {
  await node.close();
  crashes.dispose();
});

for (const [name, binary, bytes, first] of CASES) {
  test(`regression: ${name}`, async () => {
    const wire = binary ? BINARY_WIRE : TEXT_WIRE;
    const step = bytes.length <= 4096 ? 1 : Math.ceil(bytes.length / 64);
    const points = Array.from({ length: Math.ceil(bytes.length / step) }, (_, i) => i * step);
    checkSplitInvariance(wire, bytes, points, DEFAULT_LIMITS, bytes.length <= 4096);
    const r = wire.parse(bytes, DEFAULT_LIMITS);
    const got = r.type === 'error' && r.close ? 'close' : r.type;
    assert.equal(got, first);
    assert.ok(feed(wire, [bytes], DEFAULT_LIMITS).parses >= 1);

    // On the wire: logged in, in three pieces; the node answers as the parser said (a
    // reply, or a close; nothing yet for an incomplete frame), then must still serve everyone.
    const c = await node.connect();
    if (binary) {
      c.send(req.saslAuth('PLAIN', Buffer.from(`\0${cache.username}\0${cache.password}`)));
      assert.equal((await c.binary(1, PROMPTLY_MS))[0]!.status, 0);
    } else {
      assert.equal(await c.text(`set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\n`), 'STORED\r\n');
    }
    const third = Math.ceil(bytes.length / 3);
    for (let i = 0; i < bytes.length; i += third) {
      c.send(bytes.subarray(i, i + third));
      await new Promise((res) => setImmediate(res));
    }
    if (first === 'close') assert.equal(await c.waitClosed(PROMPTLY_MS), true, 'closed');
    else if (first !== 'incomplete') assert.ok((await c.readUntil((b) => b.length > 0, PROMPTLY_MS)).length > 0, 'answered');
    c.end();
    await assertServes(node, cache, quiet, `regression-${CASES.findIndex((x) => x[0] === name)}`);
    crashes.check();
  });
}
