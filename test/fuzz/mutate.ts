/**
 * Mutations of valid frames, as data (so fast-check can shrink them): byte-level ones
 * (bit flips, byte sets, truncation, insertion, deletion, duplication), token-level ones
 * for the ASCII line (duplicate, remove, swap, replace a token with a hostile value, break
 * the line ending) and header-level ones for binary frames (length fields set to 0, max,
 * off by one or random; magic and opcode rewritten). Positions are taken modulo the
 * frame's length when applied, so every mutation applies to every frame.
 */
import fc from 'fast-check';

export type Mutation =
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'set'; readonly at: number; readonly byte: number }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'delete'; readonly at: number; readonly length: number }
  | { readonly op: 'duplicate'; readonly at: number; readonly length: number }
  | { readonly op: 'token-duplicate' | 'token-remove'; readonly token: number }
  | { readonly op: 'token-swap'; readonly token: number; readonly other: number }
  | { readonly op: 'token-replace'; readonly token: number; readonly with: string }
  | { readonly op: 'eol'; readonly line: number; readonly with: string }
  | { readonly op: 'header'; readonly field: HeaderField; readonly value: number };

type HeaderField = 'magic' | 'opcode' | 'keylen' | 'extlen' | 'bodylen' | 'bodylen-delta' | 'keylen-delta' | 'extlen-delta';

/** Token values that have broken parsers before: signs, overflow, empty, huge, odd bytes. */
const HOSTILE_TOKENS = [
  '0', '-0', '-1', '1', '+1', '00000000000000000000001', '2147483647', '2147483648', '-2147483648', '-2147483649',
  '4294967295', '4294967296', '9007199254740991', '9007199254740993', '18446744073709551615', '18446744073709551616',
  '99999999999999999999999999999999', '1e3', '0x10', '1.5', ' ', 'noreply', 'NOREPLY', 'b', 'q', 'v', 'k', 'O', 'T', 'T-1',
  'Tabc', 'N', 'C', 'C-1', 'D', 'J', 'M', 'MZ', 'Mi', 'M+', 'F-1', 'F4294967296', 'O' + 'x'.repeat(33), 'E', 'R',
  '\0', '\x7f', '\xff', '====', 'a===', 'AA==', '!', 'k'.repeat(251), 'k'.repeat(300), 'get', 'set', 'mg', 'ms', 'mn',
];

/** Line endings to swap in: missing, bare CR, bare LF, doubled, CR inside. */
const EOLS = ['', '\r', '\n', '\r\n\r\n', '\n\r', '\r\r\n', ' \r\n', '\0\r\n'];

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.oneof(fc.constantFrom(0, 10, 13, 32, 48, 57, 0x80, 0xff), fc.nat({ max: 255 })) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constantFrom('token-duplicate' as const, 'token-remove' as const), token: fc.nat() }),
  fc.record({ op: fc.constant('token-swap' as const), token: fc.nat(), other: fc.nat() }),
  fc.record({ op: fc.constant('token-replace' as const), token: fc.nat(), with: fc.constantFrom(...HOSTILE_TOKENS) }),
  fc.record({ op: fc.constant('eol' as const), line: fc.nat(), with: fc.constantFrom(...EOLS) }),
  fc.record({
    op: fc.constant('header' as const),
    field: fc.constantFrom<HeaderField>('magic', 'opcode', 'keylen', 'extlen', 'bodylen', 'bodylen-delta', 'keylen-delta', 'extlen-delta'),
    value: fc.oneof(fc.constantFrom(0, 1, -1, 0xff, 0xffff, 0xffffffff, 0x7fffffff, 0x100000, 0x100000 + 250 + 64, 0x100000 + 250 + 65), fc.nat({ max: 0xffffffff }), fc.integer({ min: -8, max: 8 })),
  }),
);

export function applyMutations(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  let b = bytes;
  for (const m of mutations) b = applyMutation(b, m);
  return b;
}

const SPACE = 32;

/** [start, end) of each space-separated token of the first line. */
function tokens(b: Buffer): [number, number][] {
  const nl = b.indexOf(10);
  const end = nl < 0 ? b.length : nl > 0 && b[nl - 1] === 13 ? nl - 1 : nl;
  const out: [number, number][] = [];
  let i = 0;
  while (i < end) {
    while (i < end && b[i] === SPACE) i++;
    if (i >= end) break;
    const s = i;
    while (i < end && b[i] !== SPACE) i++;
    out.push([s, i]);
  }
  return out;
}

function splice(b: Buffer, start: number, end: number, insert: Buffer | Uint8Array = Buffer.alloc(0)): Buffer {
  return Buffer.concat([b.subarray(0, start), insert, b.subarray(end)]);
}

function applyMutation(b: Buffer, m: Mutation): Buffer {
  const len = b.length;
  const pos = (at: number, extra = 0): number => (len + extra === 0 ? 0 : at % (len + extra));
  switch (m.op) {
    case 'flip': {
      if (len === 0) return b;
      const out = Buffer.from(b);
      out[pos(m.at)]! ^= 1 << m.bit;
      return out;
    }
    case 'set': {
      if (len === 0) return b;
      const out = Buffer.from(b);
      out[pos(m.at)] = m.byte;
      return out;
    }
    case 'truncate':
      return b.subarray(0, pos(m.at));
    case 'insert': {
      const at = pos(m.at, 1);
      return splice(b, at, at, m.bytes);
    }
    case 'delete': {
      if (len === 0) return b;
      const at = pos(m.at);
      return splice(b, at, Math.min(len, at + m.length));
    }
    case 'duplicate': {
      if (len === 0) return b;
      const at = pos(m.at);
      const piece = b.subarray(at, Math.min(len, at + m.length));
      return splice(b, at, at, piece);
    }
    case 'token-duplicate':
    case 'token-remove':
    case 'token-replace':
    case 'token-swap':
      return mutateToken(b, m);
    case 'eol': {
      const ends: number[] = [];
      for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) ends.push(i);
      if (ends.length === 0) return Buffer.concat([b, Buffer.from(m.with, 'latin1')]);
      const nl = ends[m.line % ends.length]!;
      const start = nl > 0 && b[nl - 1] === 13 ? nl - 1 : nl;
      return splice(b, start, nl + 1, Buffer.from(m.with, 'latin1'));
    }
    case 'header': {
      if (len < 24) return b;
      const out = Buffer.from(b);
      const v = m.value;
      switch (m.field) {
        case 'magic': out[0] = v & 0xff; break;
        case 'opcode': out[1] = v & 0xff; break;
        case 'keylen': out.writeUInt16BE(v & 0xffff, 2); break;
        case 'extlen': out[4] = v & 0xff; break;
        case 'bodylen': out.writeUInt32BE(v >>> 0, 8); break;
        case 'keylen-delta': out.writeUInt16BE((out.readUInt16BE(2) + (v % 8)) & 0xffff, 2); break;
        case 'extlen-delta': out[4] = (out[4]! + (v % 8)) & 0xff; break;
        case 'bodylen-delta': out.writeUInt32BE((out.readUInt32BE(8) + (v % 8)) >>> 0, 8); break;
      }
      return out;
    }
  }
}

function mutateToken(b: Buffer, m: Extract<Mutation, { token: number }>): Buffer {
  const t = tokens(b);
  if (t.length === 0) return b;
  const [s, e] = t[m.token % t.length]!;
  switch (m.op) {
    case 'token-remove': return splice(b, s, e);
    case 'token-duplicate': return splice(b, e, e, Buffer.concat([Buffer.from(' '), b.subarray(s, e)]));
    case 'token-replace': return splice(b, s, e, Buffer.from(m.with, 'latin1'));
    case 'token-swap': {
      const [s2, e2] = t[m.other % t.length]!;
      if (s2 === s) return b;
      const [x, y] = s < s2 ? [[s, e], [s2, e2]] : [[s2, e2], [s, e]];
      return Buffer.concat([
        b.subarray(0, x[0]), b.subarray(y[0], y[1]), b.subarray(x[1], y[0]), b.subarray(x[0], x[1]), b.subarray(y[1]),
      ]);
    }
  }
}
