/**
 * Binary protocol reply encoder, answering as memcached 1.6 does: every response echoes
 * the request's opcode and opaque; quiet variants answer success with nothing (a GETQ
 * miss is a "success") but still answer failures; error bodies are memcached's short
 * messages, chosen by status.
 */
import type { Command, ItemView, Reply, StoreMode } from '../command.ts';
import { BinaryStatus, ERRORS, type ErrorCode } from '../../shared/errors.ts';
import type { BinaryFrame } from './frame.ts';
import { writeResponseHeader } from './header.ts';
import type { ReplyBuffer } from '../reply-buffer.ts';

const MESSAGES: ReadonlyMap<number, Buffer> = new Map([
  [BinaryStatus.keyNotFound, 'Not found'],
  [BinaryStatus.keyExists, 'Data exists for key.'],
  [BinaryStatus.valueTooLarge, 'Too large.'],
  [BinaryStatus.invalidArguments, 'Invalid arguments'],
  [BinaryStatus.notStored, 'Not stored.'],
  [BinaryStatus.nonNumeric, 'Non-numeric server-side value for incr or decr'],
  [BinaryStatus.authError, 'Auth failure.'],
  [BinaryStatus.unknownCommand, 'Unknown command'],
  [BinaryStatus.outOfMemory, 'Out of memory'],
  [BinaryStatus.temporaryFailure, 'Temporary failure'],
  [BinaryStatus.notSupported, 'Not supported'],
].map(([status, text]) => [status as number, Buffer.from(text as string, 'latin1')]));

const AUTHENTICATED = Buffer.from('Authenticated', 'latin1');
const EMPTY = Buffer.alloc(0);

export function encodeBinaryReply(frame: BinaryFrame, command: Command, reply: Reply, out: ReplyBuffer): void {
  switch (reply.kind) {
    case 'values': {
      const item = reply.items[0] ?? null;
      if (item !== null) return writeHit(frame, item, out);
      if (frame.quiet) return;
      // memcached answers a GETK/GATK miss with the key and no message.
      const key = frame.returnsKey ? requestKey(frame, command) : EMPTY;
      if (key.length === 0) return writeStatus(frame, BinaryStatus.keyNotFound, out);
      writeResponseHeader(out, frame.opcode, BinaryStatus.keyNotFound, key.length, 0, key.length, frame.opaque, 0);
      out.bytes(key);
      return;
    }
    case 'stored':
      if (reply.status === 'stored') return writeSuccess(frame, reply.cas, out);
      return writeStatus(frame, storeFailureStatus(reply.status, command.kind === 'store' ? command.mode : 'set'), out);
    case 'deleted':
      if (reply.status === 'deleted') return writeSuccess(frame, 0, out);
      return writeStatus(frame, reply.status === 'exists' ? BinaryStatus.keyExists : BinaryStatus.keyNotFound, out);
    case 'arith':
      if (reply.status === 'ok') {
        if (frame.quiet) return;
        writeResponseHeader(out, frame.opcode, BinaryStatus.ok, 0, 0, 8, frame.opaque, reply.item?.cas ?? 0);
        out.uint64Big(reply.value);
        return;
      }
      return writeStatus(frame, reply.status === 'exists' ? BinaryStatus.keyExists : BinaryStatus.keyNotFound, out);
    case 'touched':
      if (reply.found) return writeSuccess(frame, 0, out);
      return writeStatus(frame, BinaryStatus.keyNotFound, out);
    case 'ok':
      return writeSuccess(frame, 0, out);
    case 'stats':
      for (const [name, value] of reply.entries) {
        const text = typeof value === 'number' ? String(value) : value;
        writeResponseHeader(out, frame.opcode, BinaryStatus.ok, name.length, 0, name.length + text.length, frame.opaque, 0);
        out.ascii(name).ascii(text);
      }
      // An empty response ends the list.
      writeResponseHeader(out, frame.opcode, BinaryStatus.ok, 0, 0, 0, frame.opaque, 0);
      return;
    case 'version':
      writeResponseHeader(out, frame.opcode, BinaryStatus.ok, 0, 0, reply.version.length, frame.opaque, 0);
      out.ascii(reply.version);
      return;
    case 'sasl-mechs':
      writeResponseHeader(out, frame.opcode, BinaryStatus.ok, 0, 0, reply.mechanisms.length, frame.opaque, 0);
      out.ascii(reply.mechanisms);
      return;
    case 'authenticated':
      writeResponseHeader(out, frame.opcode, BinaryStatus.ok, 0, 0, AUTHENTICATED.length, frame.opaque, 0);
      out.bytes(AUTHENTICATED);
      return;
    case 'error':
      return encodeBinaryError(reply.code, out, frame);
    case 'debug':
    case 'metadump':
      // ASCII-only; no binary opcode asks for them.
      return writeStatus(frame, BinaryStatus.unknownCommand, out);
  }
}

/** An error response; without a frame (no readable header) opcode and opaque are 0. */
export function encodeBinaryError(code: ErrorCode, out: ReplyBuffer, frame?: BinaryFrame): void {
  writeStatusTo(frame?.opcode ?? 0, frame?.opaque ?? 0, ERRORS[code].binary, out);
}

/** GET family hit: 4 bytes of flags as extras, the key for GETK/GATK, the value, the CAS. */
function writeHit(frame: BinaryFrame, item: ItemView, out: ReplyBuffer): void {
  const key = frame.returnsKey ? (frame.key ?? item.key) : EMPTY;
  const bodylen = 4 + key.length + item.value.length;
  writeResponseHeader(out, frame.opcode, BinaryStatus.ok, key.length, 4, bodylen, frame.opaque, item.cas);
  out.uint32(item.flags);
  if (key.length !== 0) out.bytes(key);
  out.bytes(item.value);
}

/** An empty success; quiet variants say nothing. */
function writeSuccess(frame: BinaryFrame, cas: number, out: ReplyBuffer): void {
  if (!frame.quiet) writeResponseHeader(out, frame.opcode, BinaryStatus.ok, 0, 0, 0, frame.opaque, cas);
}

function writeStatus(frame: BinaryFrame, status: number, out: ReplyBuffer): void {
  writeStatusTo(frame.opcode, frame.opaque, status, out);
}

function writeStatusTo(opcode: number, opaque: number, status: number, out: ReplyBuffer): void {
  const message = MESSAGES.get(status) ?? EMPTY;
  writeResponseHeader(out, opcode, status, 0, 0, message.length, opaque, 0);
  if (message.length !== 0) out.bytes(message);
}

/** memcached reports a refused add as "exists" and a refused replace as "not found". */
function storeFailureStatus(status: 'not_stored' | 'exists' | 'not_found', mode: StoreMode): number {
  if (status === 'exists') return BinaryStatus.keyExists;
  if (status === 'not_found') return BinaryStatus.keyNotFound;
  if (mode === 'add') return BinaryStatus.keyExists;
  if (mode === 'replace') return BinaryStatus.keyNotFound;
  return BinaryStatus.notStored;
}

function requestKey(frame: BinaryFrame, command: Command): Buffer {
  if (frame.key !== undefined) return frame.key;
  return command.kind === 'get' && command.keys.length !== 0 ? command.keys[0] : EMPTY;
}
