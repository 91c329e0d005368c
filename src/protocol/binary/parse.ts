/**
 * Binary protocol request parser: one request from the start of a buffer to a Command.
 *
 * Every length in the header is untrusted (memcached's CVE-2016-8704/8705/8706 were
 * overflows in exactly this arithmetic), so all sums are plain JS numbers and every
 * check that the header alone can decide runs before we wait for the body: a request
 * we will refuse is dropped with `skip` rather than buffered. Keys are views into
 * `buf`; values are copied, because the session reuses its buffer.
 */
import type { Command, ParseResult, ProtocolLimits, RequestFamily } from '../command.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import { copyOf, viewOf } from '../../shared/buffer-view.ts';
import type { BinaryFrame } from './frame.ts';
import { HEADER_LENGTH, HeaderOffset, REQUEST_MAGIC, readCas } from './header.ts';
import { OPCODES, type OpcodeInfo } from './opcodes.ts';

const INCOMPLETE = { type: 'incomplete' } as const;

/** Slack over key + item size for extras; a larger bodylen is no request at all. */
const EXTRAS_ALLOWANCE = 64;
/** incr/decr exptime meaning "fail on a miss instead of creating the item". */
const NO_CREATE = 0xffffffff;

const NOOP: Command = { kind: 'noop' };
const VERSION: Command = { kind: 'version' };
const QUIT: Command = { kind: 'quit' };
const VERBOSITY: Command = { kind: 'verbosity' };
const SASL_LIST: Command = { kind: 'sasl-list' };

export function parseBinary(buf: Buffer, limits: ProtocolLimits): ParseResult<BinaryFrame> {
  const available = buf.length;
  if (available === 0) return INCOMPLETE;
  // Not a request at all: we cannot find where it ends, so nothing else can be read.
  if (buf[HeaderOffset.magic] !== REQUEST_MAGIC) {
    return { type: 'error', code: 'BAD_FRAME', consumed: available, close: true };
  }
  if (available < HEADER_LENGTH) return INCOMPLETE;

  const opcode = buf[HeaderOffset.opcode];
  const keylen = buf.readUInt16BE(HeaderOffset.keylen);
  const extlen = buf[HeaderOffset.extlen];
  const bodylen = buf.readUInt32BE(HeaderOffset.bodylen);
  const opaque = buf.readUInt32BE(HeaderOffset.opaque);
  const info = OPCODES[opcode];
  const total = HEADER_LENGTH + bodylen;

  if (bodylen > limits.maxItemSize + limits.maxKeyLength + EXTRAS_ALLOWANCE) {
    return {
      type: 'error', code: 'VALUE_TOO_LARGE', consumed: available, close: true, frame: errorFrame(opcode, opaque, info),
      family: familyOf(info),
    };
  }
  if (keylen + extlen > bodylen) return refuse('BAD_FRAME', opcode, opaque, info, available, total);
  if (info === undefined) return refuse('UNKNOWN_COMMAND', opcode, opaque, info, available, total);
  const valuelen = bodylen - keylen - extlen;
  if (!hasShape(info, extlen, keylen, valuelen)) return refuse('BAD_FRAME', opcode, opaque, info, available, total);
  if (keylen > limits.maxKeyLength) return refuse('KEY_TOO_LONG', opcode, opaque, info, available, total);
  if (info.kind === 'store' && keylen + valuelen > limits.maxItemSize) {
    // The key, when it has arrived, for the request log.
    const keyStart = HEADER_LENGTH + extlen;
    const key = keylen > 0 && available >= keyStart + keylen ? viewOf(buf, keyStart, keyStart + keylen) : undefined;
    return refuse('VALUE_TOO_LARGE', opcode, opaque, info, available, total, key);
  }
  if (available < total) return { type: 'incomplete', need: total };

  const keyStart = HEADER_LENGTH + extlen;
  const key = viewOf(buf, keyStart, keyStart + keylen);
  const frame: BinaryFrame = { opcode, opaque, quiet: info.quiet, returnsKey: info.returnsKey, key: info.returnsKey ? key : undefined };
  return { type: 'request', command: decodeCommand(info, buf, extlen, key, keyStart + keylen, total), frame, consumed: total };
}

function hasShape(info: OpcodeInfo, extlen: number, keylen: number, valuelen: number): boolean {
  const extras = info.extras;
  if (extras[0] !== extlen && extras[1] !== extlen) return false;
  if (info.key === 'required' ? keylen === 0 : info.key === 'none' && keylen !== 0) return false;
  return info.value || valuelen === 0;
}

/** Builds the command from a complete, validated request. Extras start at HEADER_LENGTH. */
function decodeCommand(info: OpcodeInfo, buf: Buffer, extlen: number, key: Buffer, valueStart: number, end: number): Command {
  const x = HEADER_LENGTH;
  switch (info.kind) {
    case 'get':
      return extlen === 4 ? { kind: 'get', keys: [key], touchExptime: buf.readUInt32BE(x) } : { kind: 'get', keys: [key] };
    case 'store': {
      const value = copyOf(buf, valueStart, end);
      const flags = extlen === 8 ? buf.readUInt32BE(x) : 0;
      const exptime = extlen === 8 ? buf.readUInt32BE(x + 4) : 0;
      const cas = readCas(buf, HeaderOffset.cas);
      const mode = info.mode!;
      return cas === 0
        ? { kind: 'store', mode, key, value, flags, exptime }
        : { kind: 'store', mode, key, value, flags, exptime, cas };
    }
    case 'delete': {
      const cas = readCas(buf, HeaderOffset.cas);
      return cas === 0 ? { kind: 'delete', key } : { kind: 'delete', key, cas };
    }
    case 'arith': {
      const incr = info.incr!;
      const delta = buf.readBigUInt64BE(x);
      const rawExptime = buf.readUInt32BE(x + 16);
      const cas = readCas(buf, HeaderOffset.cas);
      const base = rawExptime === NO_CREATE
        ? { kind: 'arith' as const, key, incr, delta, exptime: 0 }
        : { kind: 'arith' as const, key, incr, delta, initial: buf.readBigUInt64BE(x + 8), exptime: rawExptime };
      return cas === 0 ? base : { ...base, cas };
    }
    case 'touch':
      return { kind: 'touch', key, exptime: buf.readUInt32BE(x) };
    case 'flush':
      return { kind: 'flush', delay: extlen === 4 ? buf.readUInt32BE(x) : 0 };
    case 'stats':
      return { kind: 'stats', group: key.toString('latin1') };
    case 'sasl-auth':
      return { kind: 'sasl-auth', mechanism: key.toString('latin1'), data: copyOf(buf, valueStart, end) };
    case 'noop': return NOOP;
    case 'version': return VERSION;
    case 'quit': return QUIT;
    case 'verbosity': return VERBOSITY;
    case 'sasl-list': return SASL_LIST;
    case 'debug':
    case 'metadump':
      throw new Error(`no binary opcode decodes to ${info.kind}`);
  }
}

function errorFrame(opcode: number, opaque: number, info: OpcodeInfo | undefined): BinaryFrame {
  return { opcode, opaque, quiet: info !== undefined && info.quiet, returnsKey: info !== undefined && info.returnsKey, key: undefined };
}

/** The command an opcode is, for the request log of a refused request (none for a session command). */
function familyOf(info: OpcodeInfo | undefined): RequestFamily | undefined {
  switch (info?.kind) {
    case 'get': return info.extras[0] === 4 ? 'gat' : 'get';
    case 'store': return info.mode;
    case 'arith': return info.incr ? 'incr' : 'decr';
    case 'delete':
    case 'touch':
    case 'flush':
      return info.kind;
    default: return undefined;
  }
}

/** Drops the whole request: what has arrived now, the rest of its body as it arrives. */
function refuse(
  code: ErrorCode, opcode: number, opaque: number, info: OpcodeInfo | undefined, available: number, total: number, key?: Buffer,
): ParseResult<BinaryFrame> {
  const frame = errorFrame(opcode, opaque, info);
  const family = familyOf(info);
  if (available >= total) return { type: 'error', code, consumed: total, frame, family, key };
  return { type: 'error', code, consumed: available, skip: total - available, frame, family, key };
}
