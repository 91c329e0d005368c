/**
 * fast-check arbitraries for valid requests of every wire syntax a node accepts: classic
 * ASCII, meta (with random flag sets in random order) and every binary opcode. Each
 * generated request carries the exact Command the parser must decode it to, so the
 * grammar doubles as an independent statement of the parsers' job.
 *
 * Keys and values are drawn to stay inside DEFAULT_LIMITS; values are arbitrary bytes,
 * CRLF included, because a data block is length-delimited.
 */
import fc from 'fast-check';
import type { ArithCommand, Command, DeleteCommand, StoreCommand, StoreMode } from '../../src/protocol/command.ts';
import { Opcode } from '../../src/protocol/binary/opcodes.ts';
import { rawRequest } from '../../src/protocol/binary/testing/frames.ts';

export type Protocol = 'text' | 'meta' | 'binary';

export interface GeneratedRequest {
  readonly protocol: Protocol;
  readonly bytes: Buffer;
  readonly command: Command;
  /** A label for messages; empty when the request is answered with nothing (noreply, quiet). */
  readonly name: string;
}

const UINT32_MAX = 0xffffffff;
const UINT64_MAX = (1n << 64n) - 1n;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

// ---- shared pieces --------------------------------------------------------------------

/** Deterministic filler: long keys and values without drawing every byte through fast-check. */
function fill(length: number, seed: number, lo: number, span: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = (seed | 0) || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = lo + ((x >>> 0) % span);
  }
  return out;
}

/** ASCII key bytes: anything but space, control bytes and DEL is allowed by memcached. */
const textKeyByte = (x: number): number => 0x21 + (x % 0xdf);

export const textKey: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 12, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }).map((a) => Buffer.from(a.map(textKeyByte))) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 13, max: 250 }), fc.integer()).map(([n, s]) => fill(n, s, 0x21, 0xdf)) },
  { weight: 1, arbitrary: fc.constantFrom(250, 249, 1).map((n) => Buffer.alloc(n, 0x6b)) },
);

/** Binary keys may hold any byte, spaces and newlines included. */
export const binaryKey: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 12, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 13, max: 250 }), fc.integer()).map(([n, s]) => fill(n, s, 0, 256)) },
);

export const value: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 10, arbitrary: fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a)) },
  { weight: 2, arbitrary: fc.constantFrom('\r\n', '\r', '\n', 'END\r\n', 'get k\r\n', '').map((s) => Buffer.from(s, 'latin1')) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 25, max: 4096 }), fc.integer()).map(([n, s]) => fill(n, s, 0, 256)) },
);

const uint32 = fc.oneof(fc.constantFrom(0, 1, UINT32_MAX, INT32_MAX + 1), fc.nat({ max: UINT32_MAX }));
const int32 = fc.oneof(fc.constantFrom(0, -1, 1, INT32_MIN, INT32_MAX, 2592000, 2592001), fc.integer({ min: INT32_MIN, max: INT32_MAX }));
const uint64 = fc.oneof(fc.constantFrom(0n, 1n, UINT64_MAX, 1n << 53n), fc.bigInt({ min: 0n, max: UINT64_MAX }));
/** CAS tokens the text parser turns into exact numbers. */
const safeCas = fc.oneof(fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER), fc.nat({ max: Number.MAX_SAFE_INTEGER }));

/** Decimal text, sometimes with leading zeros (accepted as memcached's strtoul does). */
function decimal(n: number | bigint, zeros: number): string {
  const s = String(n);
  if (zeros === 0 || s.startsWith('-')) return s;
  return '0'.repeat(zeros) + s;
}
const zeros = fc.oneof({ weight: 15, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) });

const sep = fc.oneof({ weight: 10, arbitrary: fc.constant(' ') }, { weight: 1, arbitrary: fc.constantFrom('  ', '   ') });
const eol = fc.oneof({ weight: 6, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constant('\n') }, { weight: 1, arbitrary: fc.constant(' \r\n') });

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Tokens joined by separators, with an end of line: one request line. */
function lineOf(tokens: readonly (string | Buffer)[], seps: readonly string[], end: string, lead: string): Buffer {
  const parts: Buffer[] = [ascii(lead)];
  tokens.forEach((t, i) => {
    if (i > 0) parts.push(ascii(seps[i % seps.length]!));
    parts.push(typeof t === 'string' ? ascii(t) : t);
  });
  parts.push(ascii(end));
  return Buffer.concat(parts);
}
const layout = fc.record({
  seps: fc.array(sep, { minLength: 1, maxLength: 4 }),
  end: eol,
  lead: fc.oneof({ weight: 12, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constant(' ') }),
});
type Layout = { seps: string[]; end: string; lead: string };

const withData = (line: Buffer, data: Buffer): Buffer => Buffer.concat([line, data, ascii('\r\n')]);

// ---- classic ASCII --------------------------------------------------------------------

const get = fc.record({
  verb: fc.constantFrom('get', 'gets', 'gat', 'gats'),
  keys: fc.array(textKey, { minLength: 1, maxLength: 6 }),
  exptime: int32, z: zeros, l: layout,
}).map(({ verb, keys, exptime, z, l }): GeneratedRequest => {
  const touch = verb === 'gat' || verb === 'gats';
  const tokens = touch ? [verb, decimal(exptime, z), ...keys] : [verb, ...keys];
  // The parser's span (GetCommand.span): two keys or more, each one space after the one before.
  const first = tokens.length - keys.length;
  let spaced = keys.length > 1;
  for (let i = first + 1; i < tokens.length; i++) if (l.seps[i % l.seps.length] !== ' ') spaced = false;
  const span = spaced ? Buffer.concat(keys.flatMap((k, i) => (i === 0 ? [k] : [ascii(' '), k]))) : undefined;
  const command: Command = touch ? { kind: 'get', keys, touchExptime: exptime, span } : { kind: 'get', keys, span };
  return { protocol: 'text', bytes: lineOf(tokens, l.seps, l.end, l.lead), command, name: verb };
});

const storeVerb = fc.constantFrom<StoreMode | 'cas'>('set', 'add', 'replace', 'append', 'prepend', 'cas');
const store = fc.record({
  verb: storeVerb, key: textKey, value, flags: uint32, exptime: int32, cas: safeCas, noreply: fc.boolean(), z: zeros, l: layout,
}).map(({ verb, key, value, flags, exptime, cas, noreply, z, l }): GeneratedRequest => {
  const tokens: (string | Buffer)[] = [verb, key, decimal(flags, z), decimal(exptime, z), decimal(value.length, z)];
  if (verb === 'cas') tokens.push(decimal(cas, z));
  if (noreply) tokens.push('noreply');
  const command: Command = verb === 'cas'
    ? { kind: 'store', mode: 'set', key, value, flags, exptime, cas }
    : { kind: 'store', mode: verb, key, value, flags, exptime };
  return { protocol: 'text', bytes: withData(lineOf(tokens, l.seps, l.end, l.lead), value), command, name: noreply ? '' : verb };
});

const del = fc.record({ key: textKey, hold: fc.boolean(), noreply: fc.boolean(), l: layout })
  .map(({ key, hold, noreply, l }): GeneratedRequest => {
    const tokens: (string | Buffer)[] = ['delete', key];
    if (hold) tokens.push('0');
    if (noreply) tokens.push('noreply');
    return { protocol: 'text', bytes: lineOf(tokens, l.seps, l.end, l.lead), command: { kind: 'delete', key }, name: noreply ? '' : 'delete' };
  });

const arith = fc.record({ incr: fc.boolean(), key: textKey, delta: uint64, noreply: fc.boolean(), z: zeros, l: layout })
  .map(({ incr, key, delta, noreply, z, l }): GeneratedRequest => {
    const tokens: (string | Buffer)[] = [incr ? 'incr' : 'decr', key, decimal(delta, z)];
    if (noreply) tokens.push('noreply');
    return {
      protocol: 'text', bytes: lineOf(tokens, l.seps, l.end, l.lead),
      command: { kind: 'arith', key, incr, delta, exptime: 0 }, name: noreply ? '' : 'arith',
    };
  });

const touch = fc.record({ key: textKey, exptime: int32, noreply: fc.boolean(), z: zeros, l: layout })
  .map(({ key, exptime, noreply, z, l }): GeneratedRequest => {
    const tokens: (string | Buffer)[] = ['touch', key, decimal(exptime, z)];
    if (noreply) tokens.push('noreply');
    return { protocol: 'text', bytes: lineOf(tokens, l.seps, l.end, l.lead), command: { kind: 'touch', key, exptime }, name: noreply ? '' : 'touch' };
  });

const flushAll = fc.record({ delay: fc.option(int32), noreply: fc.boolean(), z: zeros, l: layout })
  .map(({ delay, noreply, z, l }): GeneratedRequest => {
    const tokens: string[] = ['flush_all'];
    if (delay !== null) tokens.push(decimal(delay, z));
    if (noreply) tokens.push('noreply');
    return {
      protocol: 'text', bytes: lineOf(tokens, l.seps, l.end, l.lead),
      command: { kind: 'flush', delay: delay !== null && delay > 0 ? delay : 0 }, name: noreply ? '' : 'flush_all',
    };
  });

const statsGroup = fc.oneof(
  fc.constantFrom('', 'settings', 'items', 'slabs', 'sizes', 'conns', 'reset', 'detail on', 'cachedump 1 2'),
  fc.uint8Array({ minLength: 1, maxLength: 8 }).map((a) => Buffer.from(a.map(textKeyByte)).toString('latin1')),
);
const stats = fc.record({ group: statsGroup, l: layout }).map(({ group, l }): GeneratedRequest => ({
  protocol: 'text',
  bytes: lineOf(group === '' ? ['stats'] : ['stats', group], l.seps, l.end, l.lead),
  command: { kind: 'stats', group },
  name: 'stats',
}));

const simple = fc.record({
  which: fc.constantFrom('version', 'verbosity', 'verbosity-noreply', 'quit'), level: fc.nat({ max: 9 }), l: layout,
}).map(({ which, level, l }): GeneratedRequest => {
  if (which === 'version') return { protocol: 'text', bytes: lineOf(['version'], l.seps, l.end, l.lead), command: { kind: 'version' }, name: 'version' };
  if (which === 'quit') return { protocol: 'text', bytes: lineOf(['quit'], l.seps, l.end, l.lead), command: { kind: 'quit' }, name: '' };
  const noreply = which === 'verbosity-noreply';
  const tokens = noreply ? ['verbosity', String(level), 'noreply'] : ['verbosity', String(level)];
  return { protocol: 'text', bytes: lineOf(tokens, l.seps, l.end, l.lead), command: { kind: 'verbosity' }, name: noreply ? '' : 'verbosity' };
});

/** One classic ASCII request of any verb. */
export const classicRequest: fc.Arbitrary<GeneratedRequest> = fc.oneof(
  { weight: 4, arbitrary: get }, { weight: 5, arbitrary: store }, { weight: 2, arbitrary: del },
  { weight: 2, arbitrary: arith }, { weight: 2, arbitrary: touch }, { weight: 1, arbitrary: flushAll },
  { weight: 1, arbitrary: stats }, { weight: 1, arbitrary: simple },
);

// ---- meta -----------------------------------------------------------------------------

/** A meta flag token and what it contributes to the expected command. */
interface MetaFlag {
  readonly letter: string;
  readonly token: string;
  readonly arg?: number | bigint | string;
}

const opaqueToken = fc.uint8Array({ maxLength: 32 }).map((a) => Buffer.from(a.map((x) => 0x21 + (x % 94))).toString('latin1'));

/** Flags every meta verb accepts and that never change the command. */
const inertFlags: fc.Arbitrary<MetaFlag>[] = [
  ...['c', 'f', 'h', 'k', 'l', 'q', 's', 't', 'u', 'v', 'x', 'I', 'P', 'L'].map((letter) => fc.constant({ letter, token: letter })),
  opaqueToken.map((o) => ({ letter: 'O', token: `O${o}` })),
  int32.map((n) => ({ letter: 'R', token: `R${n}` })),
  safeCas.map((n) => ({ letter: 'E', token: `E${n}` })),
];

const argFlag = (letter: string, arb: fc.Arbitrary<number | bigint>): fc.Arbitrary<MetaFlag> =>
  fc.tuple(arb, zeros).map(([n, z]) => ({ letter, token: `${letter}${decimal(n, z)}`, arg: n }));

/** A set of distinct-letter flags in random order, drawn from `choices`. */
function flagSet(choices: fc.Arbitrary<MetaFlag>[], max = 6): fc.Arbitrary<MetaFlag[]> {
  return fc.uniqueArray(fc.oneof(...choices), { maxLength: max, selector: (f) => f.letter });
}

const metaKey = fc.oneof(
  { weight: 4, arbitrary: textKey.map((k) => ({ token: k, key: k, base64: false })) },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 187 }).map((a) => {
      const key = Buffer.from(a);
      return { token: Buffer.from(key.toString('base64'), 'latin1'), key, base64: true };
    }),
  },
);

function flagMap(flags: readonly MetaFlag[]): Map<string, MetaFlag> {
  return new Map(flags.map((f) => [f.letter, f]));
}

function metaLine(verb: string, k: { token: Buffer; base64: boolean }, extra: readonly string[], flags: readonly MetaFlag[], l: Layout): Buffer {
  const tokens: (string | Buffer)[] = [verb, k.token, ...extra, ...flags.map((f) => f.token)];
  if (k.base64) tokens.push('b');
  return lineOf(tokens, l.seps, l.end, l.lead);
}

const mg = fc.record({
  k: metaKey, l: layout,
  flags: flagSet([...inertFlags, argFlag('T', int32), argFlag('N', int32), argFlag('C', safeCas), fc.constantFrom('S', 'E', 'x').map((m) => ({ letter: 'M', token: `M${m}` }))]),
}).map(({ k, flags, l }): GeneratedRequest => {
  const f = flagMap(flags);
  const t = f.get('T');
  const command: Command = t ? { kind: 'get', keys: [k.key], touchExptime: t.arg as number } : { kind: 'get', keys: [k.key] };
  return { protocol: 'meta', bytes: metaLine('mg', k, [], flags, l), command, name: f.has('q') ? '' : 'mg' };
});

const MS_MODES: Record<string, StoreMode> = { S: 'set', E: 'add', A: 'append', P: 'prepend', R: 'replace' };
const ms = fc.record({
  k: metaKey, value, l: layout, z: zeros,
  flags: flagSet([...inertFlags, argFlag('T', int32), argFlag('F', uint32), argFlag('C', safeCas),
    fc.constantFrom('S', 'E', 'A', 'P', 'R').map((m) => ({ letter: 'M', token: `M${m}`, arg: m }))]),
}).map(({ k, value, flags, l, z }): GeneratedRequest => {
  const f = flagMap(flags);
  const mode = MS_MODES[(f.get('M')?.arg as string | undefined) ?? 'S']!;
  const base = {
    kind: 'store', mode, key: k.key, value, flags: (f.get('F')?.arg as number | undefined) ?? 0,
    exptime: (f.get('T')?.arg as number | undefined) ?? 0,
  } as const;
  const c = f.get('C');
  const command: Command = c ? { ...base, cas: c.arg as number } : base;
  return { protocol: 'meta', bytes: withData(metaLine('ms', k, [decimal(value.length, z)], flags, l), value), command, name: f.has('q') ? '' : 'ms' };
});

const md = fc.record({
  k: metaKey, l: layout, flags: flagSet([...inertFlags, argFlag('T', int32), argFlag('C', safeCas)]),
}).map(({ k, flags, l }): GeneratedRequest => {
  const c = flagMap(flags).get('C');
  const command: Command = c ? { kind: 'delete', key: k.key, cas: c.arg as number } : { kind: 'delete', key: k.key };
  return { protocol: 'meta', bytes: metaLine('md', k, [], flags, l), command, name: flagMap(flags).has('q') ? '' : 'md' };
});

const ma = fc.record({
  k: metaKey, l: layout,
  flags: flagSet([...inertFlags, argFlag('T', int32), argFlag('N', int32), argFlag('J', uint64), argFlag('D', uint64), argFlag('C', safeCas),
    fc.constantFrom('I', '+', 'D', '-').map((m) => ({ letter: 'M', token: `M${m}`, arg: m }))], 7),
}).map(({ k, flags, l }): GeneratedRequest => {
  const f = flagMap(flags);
  const m = f.get('M')?.arg;
  const incr = m === undefined || m === 'I' || m === '+';
  const n = f.get('N');
  const base = { kind: 'arith', key: k.key, incr, delta: (f.get('D')?.arg as bigint | undefined) ?? 1n, exptime: n ? (n.arg as number) : 0 } as const;
  const withInitial = n ? { ...base, initial: (f.get('J')?.arg as bigint | undefined) ?? 0n } : base;
  const c = f.get('C');
  const command: Command = c ? { ...withInitial, cas: c.arg as number } : withInitial;
  return { protocol: 'meta', bytes: metaLine('ma', k, [], flags, l), command, name: f.has('q') && !f.has('v') ? '' : 'ma' };
});

const me = fc.record({ k: metaKey, l: layout }).map(({ k, l }): GeneratedRequest => ({
  protocol: 'meta', bytes: metaLine('me', k, [], [], l), command: { kind: 'debug', key: k.key }, name: 'me',
}));

const mn = layout.map((l): GeneratedRequest => ({ protocol: 'meta', bytes: lineOf(['mn'], l.seps, l.end, l.lead), command: { kind: 'noop' }, name: 'mn' }));

/** One meta request of any verb, with a random valid flag set. */
export const metaRequest: fc.Arbitrary<GeneratedRequest> = fc.oneof(
  { weight: 4, arbitrary: mg }, { weight: 4, arbitrary: ms }, { weight: 2, arbitrary: md },
  { weight: 3, arbitrary: ma }, { weight: 1, arbitrary: me }, { weight: 1, arbitrary: mn },
);

// ---- binary ---------------------------------------------------------------------------

const u32s = (...v: number[]): Buffer => {
  const b = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => b.writeUInt32BE(x >>> 0, i * 4));
  return b;
};

const header = fc.record({
  opaque: uint32, vbucket: fc.oneof(fc.constant(0), fc.nat({ max: 0xffff })), datatype: fc.oneof(fc.constant(0), fc.nat({ max: 0xff })),
  casHi: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: uint32 }),
  casLo: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: uint32 }),
});
type Header = { opaque: number; vbucket: number; datatype: number; casHi: number; casLo: number };

function frameOf(h: Header, opcode: number, parts: { key?: Buffer; extras?: Buffer; value?: Buffer }): Buffer {
  const frame = rawRequest({ opcode, opaque: h.opaque, vbucket: h.vbucket, ...parts });
  frame[5] = h.datatype;
  frame.writeUInt32BE(h.casHi, 16);
  frame.writeUInt32BE(h.casLo, 20);
  return frame;
}
const casOf = (h: Header): number => h.casHi * 0x100000000 + h.casLo;
const withCas = (c: StoreCommand | DeleteCommand | ArithCommand, h: Header): Command => (casOf(h) === 0 ? c : { ...c, cas: casOf(h) });

const quietName = (name: string, quiet: boolean): string => (quiet ? '' : name);

const binGet = fc.record({ h: header, key: binaryKey, op: fc.constantFrom('Get', 'GetQ', 'GetK', 'GetKQ') as fc.Arbitrary<'Get' | 'GetQ' | 'GetK' | 'GetKQ'> })
  .map(({ h, key, op }): GeneratedRequest => ({
    protocol: 'binary', bytes: frameOf(h, Opcode[op], { key }), command: { kind: 'get', keys: [key] }, name: quietName(op, op.endsWith('Q')),
  }));

const binGat = fc.record({ h: header, key: binaryKey, exptime: uint32, op: fc.constantFrom('GAT', 'GATQ', 'GATK', 'GATKQ') as fc.Arbitrary<'GAT' | 'GATQ' | 'GATK' | 'GATKQ'> })
  .map(({ h, key, exptime, op }): GeneratedRequest => ({
    protocol: 'binary', bytes: frameOf(h, Opcode[op], { key, extras: u32s(exptime) }),
    command: { kind: 'get', keys: [key], touchExptime: exptime }, name: quietName(op, op.endsWith('Q')),
  }));

const binTouch = fc.record({ h: header, key: binaryKey, exptime: uint32 }).map(({ h, key, exptime }): GeneratedRequest => ({
  protocol: 'binary', bytes: frameOf(h, Opcode.Touch, { key, extras: u32s(exptime) }), command: { kind: 'touch', key, exptime }, name: 'Touch',
}));

const STORE_OPS = {
  Set: 'set', SetQ: 'set', Add: 'add', AddQ: 'add', Replace: 'replace', ReplaceQ: 'replace',
  Append: 'append', AppendQ: 'append', Prepend: 'prepend', PrependQ: 'prepend',
} as const satisfies Record<string, StoreMode>;
const binStore = fc.record({
  h: header, key: binaryKey, value, flags: uint32, exptime: uint32,
  op: fc.constantFrom(...(Object.keys(STORE_OPS) as (keyof typeof STORE_OPS)[])),
}).map(({ h, key, value, flags, exptime, op }): GeneratedRequest => {
  const mode = STORE_OPS[op];
  const concat = mode === 'append' || mode === 'prepend';
  const extras = concat ? undefined : u32s(flags, exptime);
  const command = withCas({ kind: 'store', mode, key, value, flags: concat ? 0 : flags, exptime: concat ? 0 : exptime } as const, h);
  return { protocol: 'binary', bytes: frameOf(h, Opcode[op], { key, value, extras }), command, name: quietName(op, op.endsWith('Q')) };
});

const binDelete = fc.record({ h: header, key: binaryKey, quiet: fc.boolean() }).map(({ h, key, quiet }): GeneratedRequest => ({
  protocol: 'binary', bytes: frameOf(h, quiet ? Opcode.DeleteQ : Opcode.Delete, { key }),
  command: withCas({ kind: 'delete', key } as const, h), name: quietName('Delete', quiet),
}));

const binArith = fc.record({
  h: header, key: binaryKey, delta: uint64, initial: uint64,
  exptime: fc.oneof(fc.constant(UINT32_MAX), uint32), incr: fc.boolean(), quiet: fc.boolean(),
}).map(({ h, key, delta, initial, exptime, incr, quiet }): GeneratedRequest => {
  const extras = Buffer.alloc(20);
  extras.writeBigUInt64BE(delta, 0);
  extras.writeBigUInt64BE(initial, 8);
  extras.writeUInt32BE(exptime, 16);
  const opcode = incr ? (quiet ? Opcode.IncrementQ : Opcode.Increment) : (quiet ? Opcode.DecrementQ : Opcode.Decrement);
  const base = exptime === UINT32_MAX
    ? { kind: 'arith', key, incr, delta, exptime: 0 } as const
    : { kind: 'arith', key, incr, delta, initial, exptime } as const;
  return { protocol: 'binary', bytes: frameOf(h, opcode, { key, extras }), command: withCas(base, h), name: quietName('Arith', quiet) };
});

const binFlush = fc.record({ h: header, delay: fc.option(uint32), quiet: fc.boolean() }).map(({ h, delay, quiet }): GeneratedRequest => ({
  protocol: 'binary', bytes: frameOf(h, quiet ? Opcode.FlushQ : Opcode.Flush, { extras: delay === null ? undefined : u32s(delay) }),
  command: { kind: 'flush', delay: delay ?? 0 }, name: quietName('Flush', quiet),
}));

const binBare = fc.record({ h: header, op: fc.constantFrom('Noop', 'Version', 'Quit', 'QuitQ', 'SaslListMechs') as fc.Arbitrary<'Noop' | 'Version' | 'Quit' | 'QuitQ' | 'SaslListMechs'> })
  .map(({ h, op }): GeneratedRequest => {
    const kind = op === 'Noop' ? 'noop' : op === 'Version' ? 'version' : op === 'SaslListMechs' ? 'sasl-list' : 'quit';
    return { protocol: 'binary', bytes: frameOf(h, Opcode[op], {}), command: { kind }, name: quietName(op, op === 'QuitQ') };
  });

const binStat = fc.record({ h: header, group: fc.option(fc.constantFrom('settings', 'items', 'slabs', 'reset', 'bogus')) })
  .map(({ h, group }): GeneratedRequest => ({
    protocol: 'binary', bytes: frameOf(h, Opcode.Stat, { key: group === null ? undefined : ascii(group) }),
    command: { kind: 'stats', group: group ?? '' }, name: 'Stat',
  }));

const binVerbosity = fc.record({ h: header, level: uint32 }).map(({ h, level }): GeneratedRequest => ({
  protocol: 'binary', bytes: frameOf(h, Opcode.Verbosity, { extras: u32s(level) }), command: { kind: 'verbosity' }, name: 'Verbosity',
}));

const binSasl = fc.record({
  h: header, step: fc.boolean(),
  mechanism: fc.oneof(fc.constant('PLAIN'), fc.uint8Array({ minLength: 1, maxLength: 20 }).map((a) => Buffer.from(a).toString('latin1'))),
  data: value,
}).map(({ h, step, mechanism, data }): GeneratedRequest => ({
  protocol: 'binary', bytes: frameOf(h, step ? Opcode.SaslStep : Opcode.SaslAuth, { key: Buffer.from(mechanism, 'latin1'), value: data }),
  command: { kind: 'sasl-auth', mechanism, data }, name: 'Sasl',
}));

/** One binary request of any opcode. */
export const binaryRequest: fc.Arbitrary<GeneratedRequest> = fc.oneof(
  { weight: 3, arbitrary: binGet }, { weight: 2, arbitrary: binGat }, { weight: 1, arbitrary: binTouch },
  { weight: 5, arbitrary: binStore }, { weight: 2, arbitrary: binDelete }, { weight: 2, arbitrary: binArith },
  { weight: 1, arbitrary: binFlush }, { weight: 1, arbitrary: binBare }, { weight: 1, arbitrary: binStat },
  { weight: 1, arbitrary: binVerbosity }, { weight: 1, arbitrary: binSasl },
);

export const requestOf: Record<Protocol, fc.Arbitrary<GeneratedRequest>> = {
  text: classicRequest, meta: metaRequest, binary: binaryRequest,
};
