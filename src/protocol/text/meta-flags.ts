/**
 * Meta command flags: single-letter tokens after the key (and after the datalen of ms),
 * some carrying an argument (`T30`, `Oabc`, `MS`, `C123`). Like memcached, every command
 * accepts the whole known set and uses the flags that concern it; an unknown or repeated
 * letter, or a malformed argument, refuses the request.
 */
import type { ErrorCode } from '../../shared/errors.ts';
import { UINT32_MAX, readCas, readInt32, readUint, readUint64 } from './decimal.ts';

/** memcached's limit on opaque tokens. */
export const MAX_OPAQUE_LENGTH = 32;

export interface MetaFlags {
  base64: boolean;
  quiet: boolean;
  value: boolean;
  /** Reply-token flags (O k c f s t h l) in request order. */
  returns: string;
  opaque: string;
  /** T: new TTL (mg touch, ms exptime, ma/md ignored). */
  ttl?: number;
  /** N: autovivify on miss with this TTL (ma). */
  vivifyTtl?: number;
  /** F: client flags for ms. */
  clientFlags: number;
  /** C: compare CAS. */
  compareCas?: number;
  /** M: mode letter as a byte, 0 when absent. */
  mode: number;
  /** J: ma initial value. */
  initial?: bigint;
  /** D: ma delta. */
  delta?: bigint;
}

// Letters memcached knows, with or without arguments; P and L are proxy hints to ignore.
const KNOWN = new Uint8Array(128);
for (const c of 'bcfhklOqstuvNTRPLxFCEMJDI') KNOWN[c.charCodeAt(0)] = 1;

/**
 * Parses the flag tokens `tokens[2*first ..]` (start/end pairs, `count` tokens) of a
 * meta command, or returns the error to answer with.
 */
export function parseMetaFlags(buf: Buffer, tokens: Int32Array, first: number, count: number): MetaFlags | ErrorCode {
  const f: MetaFlags = { base64: false, quiet: false, value: false, returns: '', opaque: '', clientFlags: 0, mode: 0 };
  // Known letters are A-Z (64..95) and a-z (96..127): one 32-bit word of seen bits each.
  let seenUpper = 0, seenLower = 0;
  for (let t = first; t < count; t++) {
    const s = tokens[2 * t]!;
    const e = tokens[2 * t + 1]!;
    const c = buf[s]!;
    if (c >= 128 || KNOWN[c] === 0) return 'BAD_COMMAND_LINE';
    const bit = 1 << (c & 31);
    if (c < 96) {
      if (seenUpper & bit) return 'BAD_COMMAND_LINE';
      seenUpper |= bit;
    } else {
      if (seenLower & bit) return 'BAD_COMMAND_LINE';
      seenLower |= bit;
    }
    const a = s + 1; // argument start
    switch (c) {
      case 98: f.base64 = true; break; // b
      case 113: f.quiet = true; break; // q
      case 118: f.value = true; break; // v
      case 79: // O
        if (e - a > MAX_OPAQUE_LENGTH) return 'BAD_COMMAND_LINE';
        f.opaque = buf.toString('latin1', a, e);
        f.returns += 'O';
        break;
      case 107: case 99: case 102: case 115: case 116: case 104: case 108: // k c f s t h l
        f.returns += String.fromCharCode(c);
        break;
      case 84: { // T
        const n = readInt32(buf, a, e);
        if (Number.isNaN(n)) return 'BAD_COMMAND_LINE';
        f.ttl = n;
        break;
      }
      case 78: { // N
        const n = readInt32(buf, a, e);
        if (Number.isNaN(n)) return 'BAD_COMMAND_LINE';
        f.vivifyTtl = n;
        break;
      }
      case 82: // R: recache threshold; we never grant recache wins, but it must be a number.
        if (Number.isNaN(readInt32(buf, a, e))) return 'BAD_COMMAND_LINE';
        break;
      case 70: { // F
        const n = readUint(buf, a, e, UINT32_MAX);
        if (n < 0) return 'BAD_COMMAND_LINE';
        f.clientFlags = n;
        break;
      }
      case 67: { // C
        const n = readCas(buf, a, e);
        if (n < 0) return 'BAD_COMMAND_LINE';
        f.compareCas = n;
        break;
      }
      case 69: // E: explicit new CAS; validated, not supported by the store, so ignored.
        if (readCas(buf, a, e) < 0) return 'BAD_COMMAND_LINE';
        break;
      case 77: // M
        if (a >= e) return 'BAD_COMMAND_LINE';
        f.mode = buf[a]!;
        break;
      case 74: { // J
        const n = readUint64(buf, a, e);
        if (n === null) return 'BAD_COMMAND_LINE';
        f.initial = n;
        break;
      }
      case 68: { // D
        const n = readUint64(buf, a, e);
        if (n === null) return 'INVALID_DELTA';
        f.delta = n;
        break;
      }
      // u (no LRU bump), x (md: empty the value), I (invalidate), P, L: accepted, ignored.
    }
  }
  return f;
}

const B64 = new Int8Array(256).fill(-1);
{
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) B64[alphabet.charCodeAt(i)] = i;
}

/**
 * Decodes a base64 key token strictly (padded, standard alphabet), or returns null.
 * Node's own decoder skips bad characters, which would silently address another key.
 */
export function decodeBase64Key(buf: Buffer, s: number, e: number): Buffer | null {
  const len = e - s;
  if (len === 0 || len % 4 !== 0) return null;
  let pad = 0;
  if (buf[e - 1] === 61) pad = buf[e - 2] === 61 ? 2 : 1;
  const out = Buffer.allocUnsafe((len / 4) * 3 - pad);
  let o = 0;
  for (let i = s; i < e; i += 4) {
    const last = i + 4 === e;
    const a = B64[buf[i]!]!, b = B64[buf[i + 1]!]!;
    const c = last && pad === 2 ? 0 : B64[buf[i + 2]!]!;
    const d = last && pad >= 1 ? 0 : B64[buf[i + 3]!]!;
    if ((a | b | c | d) < 0) return null;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out.length === 0 ? null : out;
}
