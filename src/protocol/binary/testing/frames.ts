/**
 * Byte builders for binary protocol requests and a reader for responses: the one place
 * tests and benchmarks get binary frames from: `req.set('k', 'v', { flags: 1, opaque: 7 })`.
 * `rawRequest` writes whatever it is told, lying lengths included, to exercise the
 * parser's checks; `rawResponse` builds a reply, for testing what reads them.
 */
import { HEADER_LENGTH, REQUEST_MAGIC, RESPONSE_MAGIC, readCas } from '../header.ts';
import { Opcode, type OpcodeName } from '../opcodes.ts';

type Bytes = string | Buffer;

export interface RequestOptions {
  readonly opaque?: number;
  readonly cas?: number;
  readonly vbucket?: number;
}

export interface RawRequest extends RequestOptions {
  readonly opcode: number;
  readonly key?: Bytes;
  readonly extras?: Buffer;
  readonly value?: Bytes;
  /** Overrides of the header fields, to build malformed requests. */
  readonly magic?: number;
  readonly keylen?: number;
  readonly extlen?: number;
  readonly bodylen?: number;
}

const bytes = (b: Bytes | undefined): Buffer => (b === undefined ? Buffer.alloc(0) : typeof b === 'string' ? Buffer.from(b) : b);

export function rawRequest(r: RawRequest): Buffer {
  const key = bytes(r.key);
  const extras = r.extras ?? Buffer.alloc(0);
  const value = bytes(r.value);
  const h = Buffer.alloc(HEADER_LENGTH);
  h[0] = r.magic ?? REQUEST_MAGIC;
  h[1] = r.opcode;
  h.writeUInt16BE(r.keylen ?? key.length, 2);
  h[4] = r.extlen ?? extras.length;
  h.writeUInt16BE(r.vbucket ?? 0, 6);
  h.writeUInt32BE(r.bodylen ?? extras.length + key.length + value.length, 8);
  h.writeUInt32BE(r.opaque ?? 0, 12);
  const cas = r.cas ?? 0;
  h.writeUInt32BE(Math.floor(cas / 0x100000000), 16);
  h.writeUInt32BE(cas >>> 0, 20);
  return Buffer.concat([h, extras, key, value]);
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

export interface StoreOptions extends RequestOptions {
  readonly flags?: number;
  readonly exptime?: number;
}
export interface ArithOptions extends RequestOptions {
  readonly delta?: bigint | number;
  readonly initial?: bigint | number;
  /** 0xffffffff: do not create on a miss. */
  readonly exptime?: number;
}

const keyOnly = (name: OpcodeName) => (key: Bytes, o: RequestOptions = {}) => rawRequest({ ...o, opcode: Opcode[name], key });
const gat = (name: OpcodeName) => (key: Bytes, exptime: number, o: RequestOptions = {}) =>
  rawRequest({ ...o, opcode: Opcode[name], key, extras: u32s(exptime) });
const store = (name: OpcodeName) => (key: Bytes, value: Bytes, o: StoreOptions = {}) =>
  rawRequest({ ...o, opcode: Opcode[name], key, value, extras: u32s(o.flags ?? 0, o.exptime ?? 0) });
const concat = (name: OpcodeName) => (key: Bytes, value: Bytes, o: RequestOptions = {}) =>
  rawRequest({ ...o, opcode: Opcode[name], key, value });
const arith = (name: OpcodeName) => (key: Bytes, o: ArithOptions = {}) => {
  const extras = Buffer.alloc(20);
  extras.writeBigUInt64BE(BigInt(o.delta ?? 1), 0);
  extras.writeBigUInt64BE(BigInt(o.initial ?? 0), 8);
  extras.writeUInt32BE((o.exptime ?? 0) >>> 0, 16);
  return rawRequest({ ...o, opcode: Opcode[name], key, extras });
};
const bare = (name: OpcodeName) => (o: RequestOptions = {}) => rawRequest({ ...o, opcode: Opcode[name] });
const flush = (name: OpcodeName) => (delay?: number, o: RequestOptions = {}) =>
  rawRequest({ ...o, opcode: Opcode[name], extras: delay === undefined ? undefined : u32s(delay) });
const sasl = (name: OpcodeName) => (mechanism: string, data: Bytes, o: RequestOptions = {}) =>
  rawRequest({ ...o, opcode: Opcode[name], key: mechanism, value: data });

/** One builder per opcode. */
export const req = {
  get: keyOnly('Get'), getq: keyOnly('GetQ'), getk: keyOnly('GetK'), getkq: keyOnly('GetKQ'),
  gat: gat('GAT'), gatq: gat('GATQ'), gatk: gat('GATK'), gatkq: gat('GATKQ'),
  touch: gat('Touch'),
  set: store('Set'), setq: store('SetQ'), add: store('Add'), addq: store('AddQ'),
  replace: store('Replace'), replaceq: store('ReplaceQ'),
  append: concat('Append'), appendq: concat('AppendQ'), prepend: concat('Prepend'), prependq: concat('PrependQ'),
  delete: keyOnly('Delete'), deleteq: keyOnly('DeleteQ'),
  incr: arith('Increment'), incrq: arith('IncrementQ'), decr: arith('Decrement'), decrq: arith('DecrementQ'),
  flush: flush('Flush'), flushq: flush('FlushQ'),
  noop: bare('Noop'), version: bare('Version'), quit: bare('Quit'), quitq: bare('QuitQ'),
  stat: (group?: string, o: RequestOptions = {}) => rawRequest({ ...o, opcode: Opcode.Stat, key: group }),
  verbosity: (level: number, o: RequestOptions = {}) => rawRequest({ ...o, opcode: Opcode.Verbosity, extras: u32s(level) }),
  saslList: bare('SaslListMechs'), saslAuth: sasl('SaslAuth'), saslStep: sasl('SaslStep'),
};

/** SASL PLAIN data: authzid NUL username NUL password. */
export function plain(username: string, password: string, authzid = ''): Buffer {
  return Buffer.from(`${authzid}\0${username}\0${password}`);
}

/** A SASL AUTH request logging in with PLAIN. */
export function saslPlain(username: string, password: string, o: RequestOptions = {}): Buffer {
  return req.saslAuth('PLAIN', plain(username, password), o);
}

/** A response frame: `status`, then extras, key and value as given. */
export function rawResponse(r: { readonly opcode?: number; readonly status: number; readonly opaque?: number; readonly cas?: number; readonly extras?: Buffer; readonly key?: Bytes; readonly value?: Bytes }): Buffer {
  const frame = rawRequest({ ...r, opcode: r.opcode ?? 0, magic: RESPONSE_MAGIC });
  frame.writeUInt16BE(r.status, 6);
  return frame;
}

export interface Response {
  readonly magic: number;
  readonly opcode: number;
  readonly status: number;
  readonly opaque: number;
  readonly cas: number;
  readonly extras: Buffer;
  readonly key: Buffer;
  readonly value: Buffer;
}

/** Splits bytes into whole responses; `rest` holds the bytes of an unfinished one. */
export function readResponses(buf: Buffer): { responses: Response[]; rest: Buffer } {
  const responses: Response[] = [];
  let at = 0;
  while (buf.length - at >= HEADER_LENGTH) {
    if (buf[at] !== RESPONSE_MAGIC) throw new Error(`bad response magic 0x${buf[at]!.toString(16)} at ${at}`);
    const keylen = buf.readUInt16BE(at + 2);
    const extlen = buf[at + 4]!;
    const end = at + HEADER_LENGTH + buf.readUInt32BE(at + 8);
    if (end > buf.length) break;
    const body = at + HEADER_LENGTH;
    responses.push({
      magic: buf[at]!, opcode: buf[at + 1]!, status: buf.readUInt16BE(at + 6),
      opaque: buf.readUInt32BE(at + 12), cas: readCas(buf, at + 16),
      extras: buf.subarray(body, body + extlen),
      key: buf.subarray(body + extlen, body + extlen + keylen),
      value: buf.subarray(body + extlen + keylen, end),
    });
    at = end;
  }
  return { responses, rest: buf.subarray(at) };
}
