/**
 * ASCII reply encoder. The same Reply reads differently per frame: a `stored` reply is
 * `STORED` to a classic set and `HD` to a meta ms. Classic `noreply` silences every reply
 * of its request, errors included (as memcached does). Meta `q` hides only the nominal
 * reply (EN, HD); errors always show. Meta reply tokens follow the request's flag order.
 */
import type { Command, DumpItem, ItemView, Reply } from '../command.ts';
import type { ReplyBuffer } from '../reply-buffer.ts';
import { ERRORS, type ErrorCode } from '../../shared/errors.ts';
import type { ClassicFrame, MetaFrame, TextFrame } from './frame.ts';

const line = (s: string): Buffer => Buffer.from(`${s}\r\n`, 'latin1');
// The fixed reply lines, built once.
const [CRLF, END, STORED, NOT_STORED, EXISTS, NOT_FOUND, DELETED, TOUCHED, OK, RESET, MN, EN] = [
  '', 'END', 'STORED', 'NOT_STORED', 'EXISTS', 'NOT_FOUND', 'DELETED', 'TOUCHED', 'OK', 'RESET', 'MN', 'EN',
].map(line);
const VALUE = Buffer.from('VALUE ', 'latin1');

// Error lines built once per code.
const ERROR_LINES = Object.fromEntries(
  Object.entries(ERRORS).map(([code, spec]) => [code, line(spec.text)]),
) as Record<ErrorCode, Buffer>;

/** Writes the answer to one request. `now` (unix seconds) turns expiry times into TTLs. */
export function encodeTextReply(frame: TextFrame, command: Command, reply: Reply, out: ReplyBuffer, now: number): void {
  if (frame.kind === 'classic') encodeClassic(frame, reply, out);
  else encodeMeta(frame, command, reply, out, now);
}

/**
 * Writes an error line. Given the frame of a parsed request, a classic noreply request
 * stays silent; parse errors come without a frame and are always written.
 */
export function encodeTextError(code: ErrorCode, out: ReplyBuffer, frame?: TextFrame): void {
  if (frame?.kind === 'classic' && frame.noreply) return;
  out.bytes(ERROR_LINES[code]);
}

function encodeClassic(frame: ClassicFrame, reply: Reply, out: ReplyBuffer): void {
  if (frame.noreply || frame.verb === 'quit') return;
  switch (reply.kind) {
    case 'values': {
      const withCas = frame.verb === 'gets' || frame.verb === 'gats';
      const items = reply.items;
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (!item) continue;
        // Numbers go in as digits, not via strings: this runs once per key of every get.
        out.bytes(VALUE).bytes(item.key).uint8(32).decimal(item.flags).uint8(32).decimal(item.value.length);
        if (withCas) out.uint8(32).decimal(item.cas);
        out.bytes(CRLF).bytes(item.value).bytes(CRLF);
      }
      if (reply.rest === 0) out.bytes(END);
      return;
    }
    case 'stored':
      out.bytes(reply.status === 'stored' ? STORED : reply.status === 'not_stored' ? NOT_STORED
        : reply.status === 'exists' ? EXISTS : NOT_FOUND);
      return;
    case 'authenticated':
      out.bytes(STORED);
      return;
    case 'deleted':
      out.bytes(reply.status === 'deleted' ? DELETED : reply.status === 'exists' ? EXISTS : NOT_FOUND);
      return;
    case 'arith':
      if (reply.status === 'ok') out.ascii(`${reply.value}\r\n`);
      else out.bytes(reply.status === 'exists' ? EXISTS : NOT_FOUND);
      return;
    case 'touched':
      out.bytes(reply.found ? TOUCHED : NOT_FOUND);
      return;
    case 'ok':
      out.bytes(frame.verb === 'stats' ? RESET : OK);
      return;
    case 'stats':
      for (const [name, value] of reply.entries) out.ascii(`STAT ${name} ${value}\r\n`);
      out.bytes(END);
      return;
    case 'version':
      out.ascii(`VERSION ${reply.version}\r\n`);
      return;
    case 'error':
      out.bytes(ERROR_LINES[reply.code]);
      return;
    case 'metadump':
      encodeMetadump(reply.items, reply.itemOverhead, out);
      if (reply.next === null) out.bytes(END);
      return;
    case 'debug':
    case 'sasl-mechs':
      // Never produced for a classic text request; answer as an unknown command rather than hang.
      out.bytes(ERROR_LINES.UNKNOWN_COMMAND);
      return;
  }
}

// memcached's metadump key encoding (util.c uriencode): letters, digits and -._~ stay,
// any other byte becomes %XX.
const URI_BARE = new Uint8Array(256);
const URI_ESCAPE: readonly Buffer[] = Array.from({ length: 256 }, (_, c) => {
  const ch = String.fromCharCode(c);
  URI_BARE[c] = /[A-Za-z0-9._~-]/.test(ch) ? 1 : 0;
  return Buffer.from(`%${c.toString(16).toUpperCase().padStart(2, '0')}`, 'latin1');
});
const [KEY_EQ, EXP_NEVER, EXP_EQ, LA_EQ, CAS_EQ, FETCHED_YES, FETCHED_NO] =
  ['key=', ' exp=-1', ' exp=', ' la=', ' cas=', ' fetch=yes cls=1 size=', ' fetch=no cls=1 size='].map((t) => Buffer.from(t, 'latin1'));

/**
 * memcached 1.6's metadump lines (crawler.c, before 1.6.39 added flags): absolute exp (-1:
 * never) and la, `cls` 1 as there are no slab classes here, `size` the item as the cache
 * counts it. Lines end in a bare LF, as memcached's do; only END has CRLF. Written byte
 * by byte into the reply, no strings: a dump is a line per item.
 */
function encodeMetadump(items: readonly DumpItem[], itemOverhead: number, out: ReplyBuffer): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const key = item.key;
    out.bytes(KEY_EQ);
    let bare = 0;
    for (let j = 0; j < key.length; j++) {
      const c = key[j]!;
      if (URI_BARE[c] === 1) continue;
      if (j > bare) out.bytes(key.subarray(bare, j));
      out.bytes(URI_ESCAPE[c]!);
      bare = j + 1;
    }
    if (bare < key.length) out.bytes(bare === 0 ? key : key.subarray(bare));
    if (item.exptime === 0) out.bytes(EXP_NEVER);
    else out.bytes(EXP_EQ).decimal(item.exptime);
    out.bytes(LA_EQ).decimal(item.lastAccess).bytes(CAS_EQ).decimal(item.cas)
      .bytes(item.fetched ? FETCHED_YES : FETCHED_NO).decimal(key.length + item.size + itemOverhead).uint8(10);
  }
}

// Meta reply lines are built as one string and written with one `ascii` call: each call
// into the buffer costs more than the string work. Keys go in as latin1, which maps every
// byte to one char and back, so binary keys survive.

function encodeMeta(frame: MetaFrame, command: Command, reply: Reply, out: ReplyBuffer, now: number): void {
  if (frame.verb === 'mn') {
    out.bytes(MN);
    return;
  }
  if (reply.kind === 'error') {
    out.bytes(ERROR_LINES[reply.code]);
    return;
  }
  const key = commandKey(command);
  switch (reply.kind) {
    case 'values': {
      const item = reply.items[0] ?? null;
      if (item === null) {
        if (!frame.quiet) out.ascii(`EN${echoTokens(frame, key)}\r\n`);
        return;
      }
      const size = item.value.length;
      const showValue = frame.value && item.cas !== frame.compareCas;
      out.ascii(`${showValue ? `VA ${size}` : 'HD'}${returnTokens(frame, key ?? item.key, item, item.cas, size, now)}\r\n`);
      if (showValue) out.bytes(item.value).bytes(CRLF);
      return;
    }
    case 'stored':
    case 'authenticated': {
      const status = reply.kind === 'stored' ? reply.status : 'stored';
      if (status === 'stored' && frame.quiet) return;
      const code = status === 'stored' ? 'HD' : status === 'not_stored' ? 'NS' : status === 'exists' ? 'EX' : 'NF';
      const cas = reply.kind === 'stored' ? reply.cas : 0;
      const size = command.kind === 'store' ? command.value.length : 0;
      out.ascii(`${code}${returnTokens(frame, key, null, cas, size, now)}\r\n`);
      return;
    }
    case 'deleted': {
      if (reply.status === 'deleted' && frame.quiet) return;
      const code = reply.status === 'deleted' ? 'HD' : reply.status === 'exists' ? 'EX' : 'NF';
      out.ascii(`${code}${echoTokens(frame, key)}\r\n`);
      return;
    }
    case 'arith':
      encodeMetaArith(frame, key, reply, out, now);
      return;
    case 'debug':
      encodeMetaDebug(frame, key, reply.item, reply.now, out);
      return;
    case 'ok':
    case 'touched':
    case 'stats':
    case 'version':
    case 'sasl-mechs':
    case 'metadump':
      // Never produced for a meta request.
      out.bytes(ERROR_LINES.UNKNOWN_COMMAND);
      return;
  }
}

function encodeMetaArith(
  frame: MetaFrame, key: Buffer | undefined, reply: Extract<Reply, { kind: 'arith' }>, out: ReplyBuffer, now: number,
): void {
  if (reply.status !== 'ok') {
    out.ascii(`${reply.status === 'exists' ? 'EX' : 'NF'}${echoTokens(frame, key)}\r\n`);
    return;
  }
  // q hides HD only; a VA carries the number the client asked for.
  if (frame.quiet && !frame.value) return;
  const item = reply.item;
  const tokens = returnTokens(frame, key, item, item ? item.cas : 0, -1, now);
  if (!frame.value) {
    out.ascii(`HD${tokens}\r\n`);
    return;
  }
  const digits = String(reply.value);
  out.ascii(`VA ${digits.length}${tokens}\r\n${digits}\r\n`);
}

/** `ME <key> exp=.. la=.. cas=.. fetch=.. cls=1 size=..`; size is the value's length. */
function encodeMetaDebug(frame: MetaFrame, key: Buffer | undefined, item: ItemView | null, now: number, out: ReplyBuffer): void {
  if (item === null) {
    out.bytes(EN);
    return;
  }
  const k = key ?? item.key;
  out.ascii(`ME ${k.toString(frame.base64 ? 'base64' : 'latin1')} exp=${ttl(item, now)}`
    + ` la=${Math.max(0, now - item.lastAccess)} cas=${item.cas}`
    + ` fetch=${item.fetched ? 'yes' : 'no'} cls=1 size=${item.value.length}\r\n`);
}

/**
 * The return tokens of a reply that has its item (mg hit, ma) or knows what it stored
 * (ms), in request order: O and k always; c and s when given (>= 0); t from the item (ma
 * without one: -1); f, h and l from the item of an mg. A flag the reply cannot answer is
 * left out.
 */
function returnTokens(frame: MetaFrame, key: Buffer | undefined, item: ItemView | null, cas: number, size: number, now: number): string {
  let tokens = '';
  const r = frame.returns;
  const hit = frame.verb === 'mg' ? item : null;
  for (let i = 0; i < r.length; i++) {
    switch (r.charCodeAt(i)) {
      case 79: tokens += ` O${frame.opaque}`; break; // O
      case 107: tokens += keyToken(frame, key); break; // k
      case 99: if (cas >= 0) tokens += ` c${cas}`; break; // c
      case 115: if (size >= 0) tokens += ` s${size}`; break; // s
      case 116: // t
        if (item !== null) tokens += ` t${ttl(item, now)}`;
        else if (frame.verb === 'ma') tokens += ' t-1';
        break;
      case 102: if (hit !== null) tokens += ` f${hit.flags}`; break; // f
      case 104: if (hit !== null) tokens += hit.fetched ? ' h1' : ' h0'; break; // h
      case 108: if (hit !== null) tokens += ` l${Math.max(0, now - hit.lastAccess)}`; break; // l
    }
  }
  return tokens;
}

/** The tokens every meta reply echoes, also on misses and failures: O and k. */
function echoTokens(frame: MetaFrame, key: Buffer | undefined): string {
  let tokens = '';
  const r = frame.returns;
  for (let i = 0; i < r.length; i++) {
    const c = r.charCodeAt(i);
    if (c === 79) tokens += ` O${frame.opaque}`;
    else if (c === 107) tokens += keyToken(frame, key);
  }
  return tokens;
}

/** ` k<key>`, or ` k<base64> b` for a key that came base64 encoded. */
function keyToken(frame: MetaFrame, key: Buffer | undefined): string {
  if (key === undefined) return '';
  return frame.base64 ? ` k${key.toString('base64')} b` : ` k${key.toString('latin1')}`;
}

/** Seconds left to live, -1 for an item that never expires. */
function ttl(item: ItemView, now: number): number {
  return item.exptime === 0 ? -1 : Math.max(0, item.exptime - now);
}

function commandKey(command: Command): Buffer | undefined {
  switch (command.kind) {
    case 'get': return command.keys[0];
    case 'store': case 'delete': case 'arith': case 'touch': case 'debug': return command.key;
    default: return undefined;
  }
}
