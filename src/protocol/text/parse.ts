/**
 * The ASCII request parser: classic memcached commands and meta commands share one line
 * framing. `parseText` reads ONE request from the front of the session's receive buffer
 * and says how many bytes it used, that more bytes are needed, or which error to answer
 * and how many bytes to drop. It finds the line end with indexOf, tokenises only that
 * line on spaces (as memcached does), and compares verbs byte by byte.
 *
 * Errors keep the connection usable: once a storage line's length is known, any other
 * problem with the line also skips its data block (as memcached's parser does), so the
 * value is never mistaken for commands. Only an endless line hangs up. A refused command
 * says which it was (`family`, and its key when the key was valid) for the cache's request
 * log; only error paths build that.
 */
import type { Command, GetCommand, ParseResult, ProtocolLimits, RequestFamily, StoreCommand, StoreMode } from '../command.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import { bufferView, copyOf, viewOf } from '../../shared/buffer-view.ts';
import { UINT32_MAX, readCas, readInt32, readUint, readUint64 } from './decimal.ts';
import { classicFrame, MN_FRAME, type MetaFrame, type MetaVerb, type TextFrame } from './frame.ts';
import { decodeBase64Key, parseMetaFlags, type MetaFlags } from './meta-flags.ts';

type Result = ParseResult<TextFrame>;

/** memcached refuses data lengths above INT_MAX - 2 as a malformed line. */
const MAX_DATA_LENGTH = 0x7fffffff - 2;

const INCOMPLETE: Result = Object.freeze({ type: 'incomplete' });
const NOOP: Command = Object.freeze({ kind: 'noop' });
const VERSION: Command = Object.freeze({ kind: 'version' });
const VERBOSITY: Command = Object.freeze({ kind: 'verbosity' });
const QUIT: Command = Object.freeze({ kind: 'quit' });

// Start/end offsets of the current line's tokens, reused across calls: parsing is
// synchronous and nothing returned points into this array.
let tok = new Int32Array(64);

function tokenize(buf: Buffer, end: number): number {
  let n = 0;
  let i = 0;
  while (i < end) {
    while (i < end && buf[i] === 32) i++;
    if (i === end) break;
    const s = i;
    while (i < end && buf[i] !== 32) i++;
    if (2 * n + 2 > tok.length) {
      const grown = new Int32Array(tok.length * 2);
      grown.set(tok);
      tok = grown;
    }
    tok[2 * n] = s;
    tok[2 * n + 1] = i;
    n++;
  }
  return n;
}

function tokenIs(buf: Buffer, t: number, lit: string): boolean {
  const s = tok[2 * t]!;
  if (tok[2 * t + 1]! - s !== lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (buf[s + i] !== lit.charCodeAt(i)) return false;
  return true;
}

function fail(code: ErrorCode, consumed: number, skip?: number): Result {
  return skip === undefined ? { type: 'error', code, consumed } : { type: 'error', code, consumed, skip };
}

/** A refused command whose verb was read: `family` (and its key, when valid) for the request log. */
function refuse(family: RequestFamily, code: ErrorCode, consumed: number, skip?: number, key?: Buffer): Result {
  return { type: 'error', code, consumed, skip, family, key };
}

/** A data-block result that is not a value: more bytes needed, or the refusal of `family` `key`. */
function blockRefused(r: Result, family: RequestFamily, key: Buffer): Result {
  return r.type === 'error' ? { ...r, family, key } : r;
}

function request(command: Command, frame: TextFrame, consumed: number): Result {
  return { type: 'request', command, frame, consumed };
}

/** Parses one request from the start of `buf`. */
export function parseText(buf: Buffer, limits: ProtocolLimits): Result {
  const nl = buf.indexOf(10);
  if (nl < 0) {
    // +1: the last byte may be the \r of a line of exactly maxLineLength.
    if (buf.length > limits.maxLineLength + 1) return { type: 'error', code: 'LINE_TOO_LONG', consumed: buf.length, close: true };
    return INCOMPLETE;
  }
  const lineEnd = nl > 0 && buf[nl - 1] === 13 ? nl - 1 : nl;
  const next = nl + 1;
  if (lineEnd > limits.maxLineLength) return { type: 'error', code: 'LINE_TOO_LONG', consumed: next, close: true };
  const n = tokenize(buf, lineEnd);
  if (n === 0) return fail('UNKNOWN_COMMAND', next);

  switch (tok[1]! - tok[0]!) {
    case 2:
      if (buf[tok[0]!] === 109 /* m */) {
        switch (buf[tok[0]! + 1]) {
          case 103: return parseMeta(buf, n, next, 'mg', limits);
          case 115: return parseMeta(buf, n, next, 'ms', limits);
          case 100: return parseMeta(buf, n, next, 'md', limits);
          case 97: return parseMeta(buf, n, next, 'ma', limits);
          case 110: return request(NOOP, MN_FRAME, next);
          case 101: return parseMeta(buf, n, next, 'me', limits);
        }
      }
      break;
    case 3:
      if (tokenIs(buf, 0, 'get')) return parseGet(buf, n, next, 'get', limits);
      if (tokenIs(buf, 0, 'set')) return parseStore(buf, n, next, 'set', limits);
      if (tokenIs(buf, 0, 'gat')) return parseGet(buf, n, next, 'gat', limits);
      if (tokenIs(buf, 0, 'add')) return parseStore(buf, n, next, 'add', limits);
      if (tokenIs(buf, 0, 'cas')) return parseStore(buf, n, next, 'cas', limits);
      break;
    case 4:
      if (tokenIs(buf, 0, 'gets')) return parseGet(buf, n, next, 'gets', limits);
      if (tokenIs(buf, 0, 'gats')) return parseGet(buf, n, next, 'gats', limits);
      if (tokenIs(buf, 0, 'incr')) return parseArith(buf, n, next, 'incr', limits);
      if (tokenIs(buf, 0, 'decr')) return parseArith(buf, n, next, 'decr', limits);
      if (tokenIs(buf, 0, 'quit')) return request(QUIT, classicFrame('quit', false), next);
      break;
    case 5:
      if (tokenIs(buf, 0, 'touch')) return parseTouch(buf, n, next, limits);
      if (tokenIs(buf, 0, 'stats')) return parseStats(buf, n, next);
      break;
    case 6:
      if (tokenIs(buf, 0, 'delete')) return parseDelete(buf, n, next, limits);
      if (tokenIs(buf, 0, 'append')) return parseStore(buf, n, next, 'append', limits);
      break;
    case 7:
      if (tokenIs(buf, 0, 'replace')) return parseStore(buf, n, next, 'replace', limits);
      if (tokenIs(buf, 0, 'prepend')) return parseStore(buf, n, next, 'prepend', limits);
      if (tokenIs(buf, 0, 'version')) return request(VERSION, classicFrame('version', false), next);
      break;
    case 9:
      if (tokenIs(buf, 0, 'flush_all')) return parseFlush(buf, n, next);
      if (tokenIs(buf, 0, 'verbosity')) return parseVerbosity(buf, n, next);
      break;
    case 11:
      if (tokenIs(buf, 0, 'lru_crawler')) return parseLruCrawler(buf, n, next);
      break;
  }
  return fail('UNKNOWN_COMMAND', next);
}

const METADUMP_ALL: Command = Object.freeze({ kind: 'metadump', all: true });
const METADUMP_NONE: Command = Object.freeze({ kind: 'metadump', all: false });
/** memcached's slab class ids run 1..63; every item here is in class 1. */
const MAX_CLASS_ID = 63;

/**
 * lru_crawler metadump all|hash|<id,id,...>. The other subcommands (crawl, mgdump,
 * tocrawl, sleep, enable, disable) tune or run memcached's crawler thread, which a cache
 * here does not have: they get ERROR, memcached's answer to a subcommand it lacks.
 */
function parseLruCrawler(buf: Buffer, n: number, next: number): Result {
  if (n !== 3 || !tokenIs(buf, 1, 'metadump')) return fail('UNKNOWN_COMMAND', next);
  const frame = classicFrame('lru_crawler', false);
  if (tokenIs(buf, 2, 'all') || tokenIs(buf, 2, 'hash')) return request(METADUMP_ALL, frame, next);
  // A class list, as memcached reads it: ids separated by commas, each 1..63.
  const s = tok[4]!;
  const e = tok[5]!;
  let all = false;
  let id = -1;
  for (let i = s; i <= e; i++) {
    const c = i < e ? buf[i]! : 44;
    if (c >= 48 && c <= 57) {
      id = (id < 0 ? 0 : id * 10) + (c - 48);
      if (id > MAX_CLASS_ID) return fail('BAD_CLASS', next);
    } else if (c === 44 && id !== 0) {
      // Empty entries are skipped, as memcached's strtok does.
      if (id === 1) all = true;
      id = -1;
    } else {
      return fail('BAD_CLASS', next);
    }
  }
  return request(all ? METADUMP_ALL : METADUMP_NONE, frame, next);
}

/** get|gets key+ ; gat|gats exptime key+ */
function parseGet(buf: Buffer, n: number, next: number, verb: 'get' | 'gets' | 'gat' | 'gats', limits: ProtocolLimits): Result {
  const touch = verb === 'gat' || verb === 'gats';
  const first = touch ? 2 : 1;
  if (n <= first) return refuse(touch ? 'gat' : 'get', 'BAD_COMMAND_LINE', next);
  const keys: Buffer[] = new Array(n - first);
  // Views made from the memory under buf, read once for all keys (see buffer-view.ts).
  const memory = buf.buffer;
  const base = buf.byteOffset;
  for (let t = first; t < n; t++) {
    const s = tok[2 * t]!;
    const e = tok[2 * t + 1]!;
    if (e - s > limits.maxKeyLength) return refuse(touch ? 'gat' : 'get', 'KEY_TOO_LONG', next);
    keys[t - first] = bufferView(memory, base + s, e - s);
  }
  const span = n - first > 1 ? keySpan(memory, base, first, n) : undefined;
  if (!touch) return request({ kind: 'get', keys, span }, classicFrame(verb, false), next);
  const exptime = readInt32(buf, tok[2]!, tok[3]!);
  if (Number.isNaN(exptime)) return refuse('gat', 'INVALID_EXPTIME', next);
  return request({ kind: 'get', keys, touchExptime: exptime, span }, classicFrame(verb, false), next);
}

/** GetCommand.span: tokens [first, n) as one view when each is one byte after the one before. */
function keySpan(memory: ArrayBufferLike, base: number, first: number, n: number): Buffer | undefined {
  for (let t = first + 1; t < n; t++) if (tok[2 * t]! !== tok[2 * t - 1]! + 1) return undefined;
  const s = tok[2 * first]!;
  return bufferView(memory, base + s, tok[2 * n - 1]! - s);
}

/** Checks the data block after a storage line; returns the value copy or an error/incomplete result. */
function readDataBlock(buf: Buffer, start: number, bytes: number): Buffer | Result {
  const end = start + bytes;
  if (buf.length < end + 2) return { type: 'incomplete', need: end + 2 };
  if (buf[end] !== 13 || buf[end + 1] !== 10) return fail('BAD_DATA_CHUNK', end + 2);
  // A copy: the session reuses its receive buffer once this request is consumed.
  return copyOf(buf, start, end);
}

/** set|add|replace|append|prepend key flags exptime bytes [noreply] ; cas key flags exptime bytes cas [noreply] */
function parseStore(
  buf: Buffer, n: number, next: number, verb: StoreMode | 'cas', limits: ProtocolLimits,
): Result {
  const isCas = verb === 'cas';
  const argc = isCas ? 6 : 5;
  if (n < argc) return refuse(verb, 'BAD_COMMAND_LINE', next);
  const bytes = readUint(buf, tok[8]!, tok[9]!, MAX_DATA_LENGTH);
  if (bytes < 0) return refuse(verb, 'BAD_COMMAND_LINE', next);
  const skip = bytes + 2;
  // One extra token is tolerated as memcached does; only `noreply` means anything.
  if (n > argc + 1) return refuse(verb, 'BAD_COMMAND_LINE', next, skip);
  const noreply = n === argc + 1 && tokenIs(buf, argc, 'noreply');
  const ks = tok[2]!;
  const ke = tok[3]!;
  if (ke - ks > limits.maxKeyLength) return refuse(verb, 'KEY_TOO_LONG', next, skip);
  const flags = readUint(buf, tok[4]!, tok[5]!, UINT32_MAX);
  const exptime = readInt32(buf, tok[6]!, tok[7]!);
  if (flags < 0 || Number.isNaN(exptime)) return refuse(verb, 'BAD_COMMAND_LINE', next, skip, viewOf(buf, ks, ke));
  const cas = isCas ? readCas(buf, tok[10]!, tok[11]!) : 0;
  if (cas < 0) return refuse(verb, 'BAD_COMMAND_LINE', next, skip, viewOf(buf, ks, ke));
  if (bytes + (ke - ks) > limits.maxItemSize) return refuse(verb, 'VALUE_TOO_LARGE', next, skip, viewOf(buf, ks, ke));

  const value = readDataBlock(buf, next, bytes);
  if (!Buffer.isBuffer(value)) return blockRefused(value, verb, viewOf(buf, ks, ke));
  const key = viewOf(buf, ks, ke);
  const command: StoreCommand = isCas
    ? { kind: 'store', mode: 'set', key, value, flags, exptime, cas }
    : { kind: 'store', mode: verb, key, value, flags, exptime };
  return request(command, classicFrame(verb, noreply), next + skip);
}

/** delete key [0] [noreply] — memcached still accepts a zero hold time, nothing else. */
function parseDelete(buf: Buffer, n: number, next: number, limits: ProtocolLimits): Result {
  if (n < 2 || n > 4) return refuse('delete', 'BAD_COMMAND_LINE', next);
  const s = tok[2]!;
  const e = tok[3]!;
  if (e - s > limits.maxKeyLength) return refuse('delete', 'KEY_TOO_LONG', next);
  let noreply = false;
  if (n >= 3) {
    noreply = tokenIs(buf, n - 1, 'noreply');
    const zeroHold = tokenIs(buf, 2, '0');
    if (n === 3 ? !(noreply || zeroHold) : !(noreply && zeroHold)) {
      return refuse('delete', 'BAD_COMMAND_LINE', next, undefined, viewOf(buf, s, e));
    }
  }
  return request({ kind: 'delete', key: viewOf(buf, s, e) }, classicFrame('delete', noreply), next);
}

/** incr|decr key delta [noreply] */
function parseArith(buf: Buffer, n: number, next: number, verb: 'incr' | 'decr', limits: ProtocolLimits): Result {
  if (n < 3 || n > 4) return refuse(verb, 'BAD_COMMAND_LINE', next);
  const s = tok[2]!;
  const e = tok[3]!;
  if (e - s > limits.maxKeyLength) return refuse(verb, 'KEY_TOO_LONG', next);
  const delta = readUint64(buf, tok[4]!, tok[5]!);
  if (delta === null) return refuse(verb, 'INVALID_DELTA', next, undefined, viewOf(buf, s, e));
  const noreply = n === 4 && tokenIs(buf, 3, 'noreply');
  return request(
    { kind: 'arith', key: viewOf(buf, s, e), incr: verb === 'incr', delta, exptime: 0 },
    classicFrame(verb, noreply), next,
  );
}

/** touch key exptime [noreply] */
function parseTouch(buf: Buffer, n: number, next: number, limits: ProtocolLimits): Result {
  if (n < 3 || n > 4) return refuse('touch', 'BAD_COMMAND_LINE', next);
  const s = tok[2]!;
  const e = tok[3]!;
  if (e - s > limits.maxKeyLength) return refuse('touch', 'KEY_TOO_LONG', next);
  const exptime = readInt32(buf, tok[4]!, tok[5]!);
  if (Number.isNaN(exptime)) return refuse('touch', 'INVALID_EXPTIME', next, undefined, viewOf(buf, s, e));
  const noreply = n === 4 && tokenIs(buf, 3, 'noreply');
  return request({ kind: 'touch', key: viewOf(buf, s, e), exptime }, classicFrame('touch', noreply), next);
}

/** flush_all [delay] [noreply] */
function parseFlush(buf: Buffer, n: number, next: number): Result {
  if (n > 3) return refuse('flush', 'BAD_COMMAND_LINE', next);
  const noreply = n > 1 && tokenIs(buf, n - 1, 'noreply');
  let delay = 0;
  const delayTokens = n - 1 - (noreply ? 1 : 0);
  if (delayTokens > 1) return refuse('flush', 'BAD_COMMAND_LINE', next);
  if (delayTokens === 1) {
    const d = readInt32(buf, tok[2]!, tok[3]!);
    if (Number.isNaN(d)) return refuse('flush', 'BAD_COMMAND_LINE', next);
    delay = d > 0 ? d : 0; // memcached flushes now for a negative delay
  }
  return request({ kind: 'flush', delay }, classicFrame('flush_all', noreply), next);
}

/** verbosity level [noreply]: there are no log levels to set, so the level is not checked. */
function parseVerbosity(buf: Buffer, n: number, next: number): Result {
  if (n < 2 || n > 3) return fail('BAD_COMMAND_LINE', next);
  return request(VERBOSITY, classicFrame('verbosity', tokenIs(buf, n - 1, 'noreply')), next);
}

/** stats [group ...]: the group is the rest of the line, '' for general stats. */
function parseStats(buf: Buffer, n: number, next: number): Result {
  const group = n === 1 ? '' : buf.toString('latin1', tok[2]!, tok[2 * n - 1]!);
  return request({ kind: 'stats', group }, classicFrame('stats', false), next);
}

const STORE_MODES: Partial<Record<number, StoreMode>> = {
  83: 'set', 69: 'add', 65: 'append', 80: 'prepend', 82: 'replace', // S E A P R
};

/** mg|md|ma|me key flags* ; ms key datalen flags* + data block */
function parseMeta(buf: Buffer, n: number, next: number, verb: MetaVerb, limits: ProtocolLimits): Result {
  if (n < 2) return metaRefused(verb, 'BAD_COMMAND_LINE', next);
  let first = 2;
  let bytes = 0;
  let skip: number | undefined;
  if (verb === 'ms') {
    if (n < 3) return metaRefused(verb, 'BAD_COMMAND_LINE', next);
    bytes = readUint(buf, tok[4]!, tok[5]!, MAX_DATA_LENGTH);
    if (bytes < 0) return metaRefused(verb, 'BAD_COMMAND_LINE', next);
    skip = bytes + 2;
    first = 3;
  }
  const ks = tok[2]!;
  const ke = tok[3]!;
  if (ke - ks > limits.maxKeyLength) return metaRefused(verb, 'KEY_TOO_LONG', next, skip);
  if (verb === 'me') return parseMetaDebug(buf, n, next, ks, ke);

  const flags = parseMetaFlags(buf, tok, first, n);
  if (typeof flags === 'string') return metaRefused(verb, flags, next, skip);
  const key = flags.base64 ? decodeBase64Key(buf, ks, ke) : viewOf(buf, ks, ke);
  if (key === null) return metaRefused(verb, 'BAD_COMMAND_LINE', next, skip);

  switch (verb) {
    case 'mg': {
      const command: GetCommand = flags.ttl === undefined
        ? { kind: 'get', keys: [key] }
        : { kind: 'get', keys: [key], touchExptime: flags.ttl };
      return request(command, metaFrame('mg', flags, flags.compareCas), next);
    }
    case 'ms': {
      const mode = flags.mode === 0 ? 'set' : STORE_MODES[flags.mode];
      if (mode === undefined) return refuse('set', 'BAD_COMMAND_LINE', next, skip, key);
      if (bytes + key.length > limits.maxItemSize) return refuse(mode, 'VALUE_TOO_LARGE', next, skip, key);
      const value = readDataBlock(buf, next, bytes);
      if (!Buffer.isBuffer(value)) return blockRefused(value, mode, key);
      const exptime = flags.ttl ?? 0;
      const command: StoreCommand = flags.compareCas === undefined
        ? { kind: 'store', mode, key, value, flags: flags.clientFlags, exptime }
        : { kind: 'store', mode, key, value, flags: flags.clientFlags, exptime, cas: flags.compareCas };
      return request(command, metaFrame('ms', flags), next + bytes + 2);
    }
    case 'md': {
      const command: Command = flags.compareCas === undefined
        ? { kind: 'delete', key }
        : { kind: 'delete', key, cas: flags.compareCas };
      return request(command, metaFrame('md', flags), next);
    }
    default: { // ma
      const m = flags.mode;
      const incr = m === 0 || m === 73 || m === 43; // I +
      if (!incr && m !== 68 && m !== 45) return refuse('incr', 'BAD_COMMAND_LINE', next, undefined, key); // D -
      const delta = flags.delta ?? 1n;
      const vivify = flags.vivifyTtl !== undefined;
      const base = { kind: 'arith', key, incr, delta, exptime: vivify ? flags.vivifyTtl! : 0 } as const;
      const withInitial = vivify ? { ...base, initial: flags.initial ?? 0n } : base;
      const command: Command = flags.compareCas === undefined ? withInitial : { ...withInitial, cas: flags.compareCas };
      return request(command, metaFrame('ma', flags), next);
    }
  }
}

/** me key [b]: only the base64 flag matters; memcached ignores anything else. */
function parseMetaDebug(buf: Buffer, n: number, next: number, ks: number, ke: number): Result {
  const base64 = n >= 3 && tokenIs(buf, 2, 'b');
  const key = base64 ? decodeBase64Key(buf, ks, ke) : viewOf(buf, ks, ke);
  if (key === null) return fail('BAD_COMMAND_LINE', next);
  const frame: MetaFrame = { kind: 'meta', verb: 'me', quiet: false, base64, value: false, returns: '', opaque: '' };
  return request({ kind: 'debug', key }, frame, next);
}

/** A refused meta command: mg, ms, md, ma are a get, set, delete, incr for the request log (me is none). */
function metaRefused(verb: MetaVerb, code: ErrorCode, consumed: number, skip?: number): Result {
  const family = verb === 'mg' ? 'get' : verb === 'ms' ? 'set' : verb === 'md' ? 'delete' : verb === 'ma' ? 'incr' : undefined;
  return family === undefined ? fail(code, consumed, skip) : refuse(family, code, consumed, skip);
}

function metaFrame(verb: MetaVerb, f: MetaFlags, compareCas?: number): MetaFrame {
  const frame = { kind: 'meta', verb, quiet: f.quiet, base64: f.base64, value: f.value, returns: f.returns, opaque: f.opaque } as const;
  return compareCas === undefined ? frame : { ...frame, compareCas };
}

