/**
 * The two wire formats a connection can speak, behind one shape so the session loop is
 * written once. The first byte of a connection picks one: 0x80 is the binary request
 * magic, anything else is ASCII (classic and meta share line framing).
 */
import { encodeBinaryError, encodeBinaryReply } from '../protocol/binary/encode.ts';
import { parseBinary } from '../protocol/binary/parse.ts';
import type { Command, ParseResult, ProtocolLimits, Reply } from '../protocol/command.ts';
import type { ReplyBuffer } from '../protocol/reply-buffer.ts';
import { encodeTextError, encodeTextReply } from '../protocol/text/encode.ts';
import { parseText } from '../protocol/text/parse.ts';
import type { ErrorCode } from '../shared/errors.ts';

export interface Wire<F> {
  readonly name: 'text' | 'binary';
  parse(buf: Buffer, limits: ProtocolLimits): ParseResult<F>;
  encode(frame: F, command: Command, reply: Reply, out: ReplyBuffer, now: number): void;
  encodeError(code: ErrorCode, out: ReplyBuffer, frame?: F): void;
}

export const TEXT_WIRE: Wire<unknown> = {
  name: 'text',
  parse: parseText,
  encode: encodeTextReply as Wire<unknown>['encode'],
  encodeError: encodeTextError as Wire<unknown>['encodeError'],
};

export const BINARY_WIRE: Wire<unknown> = {
  name: 'binary',
  parse: parseBinary,
  encode: (frame, command, reply, out) => encodeBinaryReply(frame as never, command, reply, out),
  encodeError: encodeBinaryError as Wire<unknown>['encodeError'],
};

export const BINARY_MAGIC = 0x80;
