/**
 * The 24-byte binary header. Requests and responses share the layout; a response puts
 * its status where a request has the vbucket id. The parser reads fields in place with
 * the offsets below (no header object per request); `decodeRequestHeader` is for tests
 * and diagnostics.
 */
import type { ReplyBuffer } from '../reply-buffer.ts';

export const HEADER_LENGTH = 24;
export const REQUEST_MAGIC = 0x80;
export const RESPONSE_MAGIC = 0x81;

/** Byte offsets of the header fields. */
export const HeaderOffset = {
  magic: 0,
  opcode: 1,
  keylen: 2,
  extlen: 4,
  datatype: 5,
  /** vbucket id in a request, status in a response. */
  vbucket: 6,
  bodylen: 8,
  opaque: 12,
  cas: 16,
} as const;

export interface RequestHeader {
  readonly magic: number;
  readonly opcode: number;
  readonly keylen: number;
  readonly extlen: number;
  readonly datatype: number;
  readonly vbucket: number;
  readonly bodylen: number;
  readonly opaque: number;
  readonly cas: number;
}

/** CAS as a JS number: exact up to 2^53, which is as far as our CAS ids go. */
export function readCas(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * 0x100000000 + buf.readUInt32BE(offset + 4);
}

/** Decodes the header at the start of buf; the caller checks there are 24 bytes. */
export function decodeRequestHeader(buf: Buffer): RequestHeader {
  return {
    magic: buf[HeaderOffset.magic],
    opcode: buf[HeaderOffset.opcode],
    keylen: buf.readUInt16BE(HeaderOffset.keylen),
    extlen: buf[HeaderOffset.extlen],
    datatype: buf[HeaderOffset.datatype],
    vbucket: buf.readUInt16BE(HeaderOffset.vbucket),
    bodylen: buf.readUInt32BE(HeaderOffset.bodylen),
    opaque: buf.readUInt32BE(HeaderOffset.opaque),
    cas: readCas(buf, HeaderOffset.cas),
  };
}

/** Built here and appended in one copy: much cheaper than nine small appends. */
const scratch = Buffer.alloc(HEADER_LENGTH);
scratch[HeaderOffset.magic] = RESPONSE_MAGIC;

/** Writes a response header; the caller writes exactly `bodylen` body bytes after it. */
export function writeResponseHeader(
  out: ReplyBuffer, opcode: number, status: number, keylen: number, extlen: number,
  bodylen: number, opaque: number, cas: number,
): void {
  const h = scratch;
  h[HeaderOffset.opcode] = opcode;
  h.writeUInt16BE(keylen, HeaderOffset.keylen);
  h[HeaderOffset.extlen] = extlen;
  h.writeUInt16BE(status, HeaderOffset.vbucket);
  h.writeUInt32BE(bodylen, HeaderOffset.bodylen);
  h.writeUInt32BE(opaque, HeaderOffset.opaque);
  h.writeUInt32BE(Math.floor(cas / 0x100000000), HeaderOffset.cas);
  h.writeUInt32BE(cas >>> 0, HeaderOffset.cas + 4);
  out.bytes(h);
}
