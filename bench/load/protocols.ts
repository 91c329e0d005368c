/**
 * The load generator's view of the three wire formats: request bytes built once per key
 * (so sending costs a socket write, not an encode), and a framer that finds where one
 * reply ends without decoding more than it must. Replies come back in request order on a
 * connection, so the framer is told which kind of reply to expect next.
 */

import { req } from '../../src/protocol/binary/testing/frames.ts';

export type Protocol = 'ascii' | 'binary' | 'meta';

export const OP_GET = 0;
export const OP_SET = 1;
export type Op = typeof OP_GET | typeof OP_SET;

/** What a complete reply meant. */
export const REPLY_HIT = 0; // get found the key with the value stored, set stored
export const REPLY_MISS = 1; // get did not find the key
export const REPLY_ERROR = 2; // anything else: an error line or status, a wrong value, a broken frame

export const INCOMPLETE = -1;

/**
 * Finds the end of one reply starting at `off`. Returns the offset just past it, or
 * INCOMPLETE. The reply's meaning is left in `framed.status`, and for an error why in
 * `framed.detail`.
 */
export type Framer = (buf: Buffer, off: number, op: Op) => number;
export const framed = { status: REPLY_HIT as number, detail: '' };

export function keyName(i: number, prefix = 'key:'): string {
  return prefix + String(i).padStart(7, '0');
}

export function valueOf(size: number): Buffer {
  const v = Buffer.alloc(size);
  for (let i = 0; i < size; i++) v[i] = 97 + (i % 26);
  return v;
}

// ---------------------------------------------------------------- requests

export function getRequest(protocol: Protocol, key: string): Buffer {
  switch (protocol) {
    case 'ascii':
      return Buffer.from(`get ${key}\r\n`);
    case 'meta':
      return Buffer.from(`mg ${key} v\r\n`);
    case 'binary':
      return req.get(key);
  }
}

export function setRequest(protocol: Protocol, key: string, value: Buffer, noreply = false): Buffer {
  switch (protocol) {
    case 'ascii':
      return Buffer.concat([Buffer.from(`set ${key} 0 0 ${value.length}${noreply ? ' noreply' : ''}\r\n`), value, CRLF]);
    case 'meta':
      return Buffer.concat([Buffer.from(`ms ${key} ${value.length}${noreply ? ' q' : ''}\r\n`), value, CRLF]);
    case 'binary':
      return noreply ? req.setq(key, value) : req.set(key, value);
  }
}

/** MemCachier's ASCII login: `set <username> 0 0 <len>` with the password as data. */
export function asciiLoginRequest(username: string, password: string): Buffer {
  const pw = Buffer.from(password);
  return Buffer.concat([Buffer.from(`set ${username} 0 0 ${pw.length}\r\n`), pw, CRLF]);
}

const CRLF = Buffer.from('\r\n');

// ---------------------------------------------------------------- replies

const CR = 13;
const LF = 10;
const CH_V = 86; // 'V'
const CH_E = 69; // 'E'
const CH_H = 72; // 'H'
const CH_S = 83; // 'S'
const END = Buffer.from('END\r\n');

function lineEnd(buf: Buffer, off: number): number {
  const cr = buf.indexOf(CR, off);
  return cr < 0 || cr + 1 >= buf.length ? INCOMPLETE : cr + 2;
}

/** The decimal number that ends the line [from, crlf). */
function lastNumber(buf: Buffer, crlf: number): number {
  let i = crlf - 1;
  while (buf[i] === 32) i--;
  let n = 0;
  let mul = 1;
  while (i >= 0 && buf[i]! >= 48 && buf[i]! <= 57) {
    n += (buf[i]! - 48) * mul;
    mul *= 10;
    i--;
  }
  return n;
}

/** Every value the generator stores is `expected`, so a hit must carry exactly it. */
function valueDiffers(expected: Buffer | undefined, buf: Buffer, from: number, to: number): boolean {
  return expected !== undefined && (to - from !== expected.length || expected.compare(buf, from, to) !== 0);
}

function error(detail: string): number {
  framed.detail = detail;
  return REPLY_ERROR;
}

/**
 * ASCII: `VALUE k f n\r\n<n bytes>\r\nEND\r\n`, `END\r\n`, `STORED\r\n`, or an error line.
 * A hit whose value is not `expected`, or that is not closed by `\r\nEND\r\n`, is an error.
 */
export function asciiFramer(expected?: Buffer): Framer {
  return (buf, off, op) => {
    const end = lineEnd(buf, off);
    if (end === INCOMPLETE) return INCOMPLETE;
    const c = buf[off];
    if (op === OP_SET) {
      framed.status = c === CH_S && buf[off + 1] === 84 /* T */ ? REPLY_HIT : error('set not STORED');
      return end;
    }
    if (c === CH_E && buf[off + 1] === 78 /* N */) {
      framed.status = REPLY_MISS;
      return end;
    }
    if (c !== CH_V) {
      framed.status = error('get answered');
      return end;
    }
    const n = lastNumber(buf, end - 2);
    const after = end + n + 2 + 5; // data, CRLF, END\r\n
    if (after > buf.length) return INCOMPLETE;
    if (buf[end + n] !== CR || buf[end + n + 1] !== LF || END.compare(buf, end + n + 2, after) !== 0) {
      framed.status = error('no END after the value');
    } else {
      framed.status = valueDiffers(expected, buf, end, end + n) ? error('value differs') : REPLY_HIT;
    }
    return after;
  };
}

/** Meta: `VA n\r\n<n bytes>\r\n`, `EN\r\n`, `HD\r\n`, or an error line. */
export function metaFramer(expected?: Buffer): Framer {
  return (buf, off, op) => {
    const end = lineEnd(buf, off);
    if (end === INCOMPLETE) return INCOMPLETE;
    const c = buf[off];
    const c2 = buf[off + 1];
    if (op === OP_SET) {
      framed.status = c === CH_H && c2 === 68 /* D */ ? REPLY_HIT : error('ms not HD');
      return end;
    }
    if (c === CH_V && c2 === 65 /* A */) {
      // `VA <size> <flags>*`: the size is the first token.
      let n = 0;
      for (let i = off + 3; buf[i]! >= 48 && buf[i]! <= 57; i++) n = n * 10 + (buf[i]! - 48);
      const after = end + n + 2;
      if (after > buf.length) return INCOMPLETE;
      if (buf[end + n] !== CR || buf[end + n + 1] !== LF) framed.status = error('no CRLF after the value');
      else framed.status = valueDiffers(expected, buf, end, end + n) ? error('value differs') : REPLY_HIT;
      return after;
    }
    framed.status = c === CH_E && c2 === 78 /* N */ ? REPLY_MISS : error('mg answered');
    return end;
  };
}

/**
 * Binary: a 24-byte header and its body. Status 0 is success; key-not-found (1) is a
 * miss for a get and an error for a set; every other status is an error.
 */
export function binaryFramer(expected?: Buffer): Framer {
  return (buf, off, op) => {
    if (off + 24 > buf.length) return INCOMPLETE;
    const after = off + 24 + buf.readUInt32BE(off + 8);
    if (after > buf.length) return INCOMPLETE;
    const status = buf.readUInt16BE(off + 6);
    if (buf[off] !== 0x81) framed.status = error('not a binary response');
    else if (status === 1 && op === OP_GET) framed.status = REPLY_MISS;
    else if (status !== 0) framed.status = error(`status 0x${status.toString(16).padStart(4, '0')}`);
    else if (op === OP_GET) {
      const valueFrom = off + 24 + buf[off + 4]! + buf.readUInt16BE(off + 2);
      framed.status = valueDiffers(expected, buf, valueFrom, after) ? error('value differs') : REPLY_HIT;
    } else framed.status = REPLY_HIT;
    return after;
  };
}

/** The framer for `protocol`; with `expected`, every hit is checked to carry that value. */
export function framerFor(protocol: Protocol, expected?: Buffer): Framer {
  switch (protocol) {
    case 'ascii':
      return asciiFramer(expected);
    case 'meta':
      return metaFramer(expected);
    case 'binary':
      return binaryFramer(expected);
  }
}

/** A short printable form of the reply [off, end) for error reports. */
export function describeReply(buf: Buffer, off: number, end: number): string {
  if (buf[off] === 0x81 && end - off >= 24) {
    const body = buf.toString('latin1', off + 24 + buf[off + 4]! + buf.readUInt16BE(off + 2), Math.min(end, off + 124));
    return `binary opcode 0x${buf[off + 1]!.toString(16)} status 0x${buf.readUInt16BE(off + 6).toString(16)} ${JSON.stringify(body)}`;
  }
  const line = buf.indexOf(CR, off);
  return JSON.stringify(buf.toString('latin1', off, Math.min(line < 0 || line > end ? end : line, off + 100)));
}
