/**
 * The binary protocol's opcodes and, for each, the command it decodes to, whether it is
 * a quiet variant (success answered with silence) and whether its response carries the
 * key. The request shape (extras length, key, value) is declared here too, so the
 * parser validates every opcode the same way and a new opcode is one table row.
 */
import type { CommandKind, StoreMode } from '../command.ts';

export const Opcode = {
  Get: 0x00,
  Set: 0x01,
  Add: 0x02,
  Replace: 0x03,
  Delete: 0x04,
  Increment: 0x05,
  Decrement: 0x06,
  Quit: 0x07,
  Flush: 0x08,
  GetQ: 0x09,
  Noop: 0x0a,
  Version: 0x0b,
  GetK: 0x0c,
  GetKQ: 0x0d,
  Append: 0x0e,
  Prepend: 0x0f,
  Stat: 0x10,
  SetQ: 0x11,
  AddQ: 0x12,
  ReplaceQ: 0x13,
  DeleteQ: 0x14,
  IncrementQ: 0x15,
  DecrementQ: 0x16,
  QuitQ: 0x17,
  FlushQ: 0x18,
  AppendQ: 0x19,
  PrependQ: 0x1a,
  Verbosity: 0x1b,
  Touch: 0x1c,
  GAT: 0x1d,
  GATQ: 0x1e,
  SaslListMechs: 0x20,
  SaslAuth: 0x21,
  SaslStep: 0x22,
  GATK: 0x23,
  GATKQ: 0x24,
} as const;
export type OpcodeName = keyof typeof Opcode;

export interface OpcodeInfo {
  readonly name: OpcodeName;
  readonly kind: CommandKind;
  /** Success is answered with nothing; failures are still answered. */
  readonly quiet: boolean;
  /** A GETK/GATK response (hit or miss) carries the request key. */
  readonly returnsKey: boolean;
  /** Extras lengths the request may carry: one length, or 0 or 4 for FLUSH. */
  readonly extras: readonly number[];
  readonly key: 'required' | 'optional' | 'none';
  /** Whether body bytes may follow the key (the value, or SASL data). */
  readonly value: boolean;
  /** For store opcodes. */
  readonly mode?: StoreMode;
  /** For arith opcodes: increment (true) or decrement. */
  readonly incr?: boolean;
}

type Shape = Omit<OpcodeInfo, 'name' | 'quiet' | 'returnsKey'>;
const get: Shape = { kind: 'get', extras: [0], key: 'required', value: false };
const gat: Shape = { kind: 'get', extras: [4], key: 'required', value: false };
const store = (mode: StoreMode): Shape =>
  ({ kind: 'store', extras: mode === 'append' || mode === 'prepend' ? [0] : [8], key: 'required', value: true, mode });
const arith = (incr: boolean): Shape => ({ kind: 'arith', extras: [20], key: 'required', value: false, incr });
const del: Shape = { kind: 'delete', extras: [0], key: 'required', value: false };
const bare = (kind: CommandKind): Shape => ({ kind, extras: [0], key: 'none', value: false });
const flush: Shape = { kind: 'flush', extras: [0, 4], key: 'none', value: false };

const ROWS: readonly [OpcodeName, Shape, { quiet?: boolean; returnsKey?: boolean }?][] = [
  ['Get', get], ['GetQ', get, { quiet: true }],
  ['GetK', get, { returnsKey: true }], ['GetKQ', get, { quiet: true, returnsKey: true }],
  ['GAT', gat], ['GATQ', gat, { quiet: true }],
  ['GATK', gat, { returnsKey: true }], ['GATKQ', gat, { quiet: true, returnsKey: true }],
  ['Set', store('set')], ['SetQ', store('set'), { quiet: true }],
  ['Add', store('add')], ['AddQ', store('add'), { quiet: true }],
  ['Replace', store('replace')], ['ReplaceQ', store('replace'), { quiet: true }],
  ['Append', store('append')], ['AppendQ', store('append'), { quiet: true }],
  ['Prepend', store('prepend')], ['PrependQ', store('prepend'), { quiet: true }],
  ['Delete', del], ['DeleteQ', del, { quiet: true }],
  ['Increment', arith(true)], ['IncrementQ', arith(true), { quiet: true }],
  ['Decrement', arith(false)], ['DecrementQ', arith(false), { quiet: true }],
  ['Touch', { kind: 'touch', extras: [4], key: 'required', value: false }],
  ['Flush', flush], ['FlushQ', flush, { quiet: true }],
  ['Noop', bare('noop')],
  ['Version', bare('version')],
  ['Quit', bare('quit')], ['QuitQ', bare('quit'), { quiet: true }],
  ['Stat', { kind: 'stats', extras: [0], key: 'optional', value: false }],
  ['Verbosity', { kind: 'verbosity', extras: [4], key: 'none', value: false }],
  ['SaslListMechs', bare('sasl-list')],
  ['SaslAuth', { kind: 'sasl-auth', extras: [0], key: 'required', value: true }],
  ['SaslStep', { kind: 'sasl-auth', extras: [0], key: 'required', value: true }],
];

/** Indexed by opcode byte; undefined for opcodes we do not know. */
export const OPCODES: readonly (OpcodeInfo | undefined)[] = (() => {
  const table: (OpcodeInfo | undefined)[] = new Array(256).fill(undefined);
  for (const [name, shape, opts] of ROWS) {
    // Every row gets every field, in one order, so lookups stay monomorphic.
    table[Opcode[name]] = {
      name, kind: shape.kind, quiet: opts?.quiet ?? false, returnsKey: opts?.returnsKey ?? false,
      extras: shape.extras, key: shape.key, value: shape.value, mode: shape.mode, incr: shape.incr,
    };
  }
  return table;
})();
