/**
 * Reply encoders under random replies: for a request parsed from the grammar (so frame
 * and command belong together, as in a session) and any Reply the store or a handler
 * could return, encoding never throws; binary output is whole response frames echoing
 * the request's opaque, ASCII output is whole CRLF-terminated lines.
 */
import fc from 'fast-check';
import { DEFAULT_LIMITS, type ItemView, type Reply } from '../../src/protocol/command.ts';
import { encodeBinaryError, encodeBinaryReply } from '../../src/protocol/binary/encode.ts';
import type { BinaryFrame } from '../../src/protocol/binary/frame.ts';
import { readResponses } from '../../src/protocol/binary/testing/frames.ts';
import { ReplyBuffer } from '../../src/protocol/reply-buffer.ts';
import { encodeTextError, encodeTextReply } from '../../src/protocol/text/encode.ts';
import type { TextFrame } from '../../src/protocol/text/frame.ts';
import { ERRORS, type ErrorCode } from '../../src/shared/errors.ts';
import { requestOf, type Protocol } from './grammar.ts';
import { wireOf } from './parser-fuzz.ts';
import { ContractError, preview } from './session-model.ts';

const CODES = Object.keys(ERRORS) as ErrorCode[];
const UINT64_MAX = (1n << 64n) - 1n;

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

const itemView: fc.Arbitrary<ItemView> = fc.record({
  key: fc.uint8Array({ minLength: 1, maxLength: 250 }).map((a) => Buffer.from(a)),
  value: fc.oneof(bytes(32), fc.integer({ min: 33, max: 70000 }).map((n) => Buffer.alloc(n, 0x61))),
  flags: fc.nat({ max: 0xffffffff }),
  cas: fc.oneof(fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER), fc.nat({ max: Number.MAX_SAFE_INTEGER })),
  exptime: fc.oneof(fc.constant(0), fc.nat({ max: 0xffffffff })),
  lastAccess: fc.nat({ max: 0xffffffff }),
  fetched: fc.boolean(),
});
const maybeItem = fc.option(itemView, { freq: 3 });

export const reply: fc.Arbitrary<Reply> = fc.oneof(
  fc.record({ kind: fc.constant('values' as const), items: fc.array(maybeItem, { maxLength: 4 }), rest: fc.constant(0) }),
  fc.record({ kind: fc.constant('stored' as const), status: fc.constantFrom('stored', 'not_stored', 'exists', 'not_found' as const), cas: fc.nat({ max: Number.MAX_SAFE_INTEGER }) }),
  fc.record({ kind: fc.constant('deleted' as const), status: fc.constantFrom('deleted', 'not_found', 'exists' as const) }),
  fc.record({
    kind: fc.constant('arith' as const), status: fc.constantFrom('ok', 'not_found', 'exists' as const),
    value: fc.oneof(fc.constantFrom(0n, UINT64_MAX), fc.bigInt({ min: 0n, max: UINT64_MAX })), item: maybeItem,
  }),
  fc.record({ kind: fc.constant('touched' as const), found: fc.boolean() }),
  fc.constant({ kind: 'ok' as const }),
  fc.record({
    kind: fc.constant('stats' as const),
    entries: fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme-ascii' }), fc.oneof(fc.nat(), fc.string({ maxLength: 20, unit: 'grapheme-ascii' }))), { maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('version' as const), version: fc.string({ maxLength: 20, unit: 'grapheme-ascii' }) }),
  fc.record({ kind: fc.constant('debug' as const), item: maybeItem, now: fc.nat({ max: 0xffffffff }) }),
  fc.record({ kind: fc.constant('sasl-mechs' as const), mechanisms: fc.constantFrom('PLAIN', '', 'PLAIN CRAM-MD5') }),
  fc.constant({ kind: 'authenticated' as const }),
  fc.record({ kind: fc.constant('error' as const), code: fc.constantFrom(...CODES) }),
);

/** Encodes `reply` to a request of protocol `p`; returns the bytes written. Throws ContractError on a broken encoding. */
export function encoderProperty(p: Protocol, count: { replies: number }) {
  return fc.property(requestOf[p], reply, fc.nat({ max: 0xffffffff }), fc.option(fc.constantFrom(...CODES)), (req, rep, now, parseError) => {
    const parsed = wireOf[p].parse(req.bytes, DEFAULT_LIMITS);
    if (parsed.type !== 'request') throw new ContractError(`grammar request did not parse: ${preview(req.bytes)}`);
    const out = new ReplyBuffer(64);
    try {
      if (p === 'binary') {
        encodeBinaryReply(parsed.frame as BinaryFrame, parsed.command, rep, out);
        if (parseError !== null) encodeBinaryError(parseError, out, parsed.frame as BinaryFrame);
      } else {
        encodeTextReply(parsed.frame as TextFrame, parsed.command, rep, out, now);
        if (parseError !== null) encodeTextError(parseError, out, parsed.frame as TextFrame);
        if (parseError !== null) encodeTextError(parseError, out);
      }
    } catch (e) {
      throw new ContractError(`encoder threw ${(e as Error).stack} for ${JSON.stringify(rep, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`);
    }
    const written = out.take();
    if (p === 'binary') {
      const frame = parsed.frame as BinaryFrame;
      const { responses, rest } = readResponses(written);
      if (rest.length !== 0) throw new ContractError(`binary reply leaves ${rest.length} stray bytes: ${preview(written)}`);
      for (const r of responses) {
        if (r.opaque !== frame.opaque || r.opcode !== frame.opcode) throw new ContractError(`binary reply does not echo opcode/opaque: ${preview(written)}`);
      }
    } else if (written.length > 0 && !(written[written.length - 2] === 13 && written[written.length - 1] === 10)) {
      throw new ContractError(`ASCII reply does not end in CRLF: ${preview(written)}`);
    }
    count.replies++;
  });
}
