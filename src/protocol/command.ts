/**
 * The commands every wire format decodes to and the replies every encoder encodes from.
 * An ASCII `gets`, a meta `mg k c v` and a binary GETK all become one `get` command;
 * how to answer on the wire (opaque, quiet, which meta flags to echo) travels beside the
 * command in the wire's own frame type, never in the command. A command that acts on the
 * store is the store's request (src/shared/cache-operations.ts) with a `kind`.
 */
import type {
  ArithRequest, ArithStatus, DeleteRequest, DeleteStatus, FlushRequest, ItemView, StoreRequest, StoreStatus, TouchRequest,
} from '../shared/cache-operations.ts';
import type { ErrorCode } from '../shared/errors.ts';

export type { ArithStatus, DeleteStatus, ItemView, StoreMode, StoreStatus } from '../shared/cache-operations.ts';

export interface GetCommand {
  readonly kind: 'get';
  readonly keys: readonly Buffer[];
  /** gat/gats, binary GAT, meta `T`: also set this raw exptime on every hit. */
  readonly touchExptime?: number;
  /**
   * A text get of two keys or more whose keys lie one space apart: their bytes as they are
   * in the request, first key to last, so the request log copies them at once (one view
   * here; a copy per key costs a builtin call each). A view into the request: valid only
   * while the request's buffer is.
   */
  readonly span?: Buffer;
}
export interface StoreCommand extends StoreRequest {
  readonly kind: 'store';
}
export interface DeleteCommand extends DeleteRequest {
  readonly kind: 'delete';
}
export interface ArithCommand extends ArithRequest {
  readonly kind: 'arith';
}
export interface TouchCommand extends TouchRequest {
  readonly kind: 'touch';
}
export interface FlushCommand extends FlushRequest {
  readonly kind: 'flush';
}
export interface StatsCommand {
  readonly kind: 'stats';
  /** '' for the general stats; other groups (settings, items, slabs, reset...) as sent. */
  readonly group: string;
}
/** meta `me`: debug information about one item. */
export interface DebugCommand {
  readonly kind: 'debug';
  readonly key: Buffer;
}
/**
 * ASCII `lru_crawler metadump all|hash|<classes>`: one line per live item of the
 * connection's own cache. `all` false: a class list without the one class every item is
 * in (1), which memcached answers with just END.
 */
export interface MetadumpCommand {
  readonly kind: 'metadump';
  readonly all: boolean;
}
/** An item as a metadump line shows it. `size` is value bytes; the line adds key and per-item overhead. */
export interface DumpItem {
  readonly key: Buffer;
  readonly size: number;
  /** Absolute unix seconds, 0 = never. */
  readonly exptime: number;
  /** Unix seconds. */
  readonly lastAccess: number;
  readonly cas: number;
  readonly fetched: boolean;
}
export interface SaslAuthCommand {
  readonly kind: 'sasl-auth';
  readonly mechanism: string;
  /** For PLAIN: authzid NUL authcid NUL password. */
  readonly data: Buffer;
}
export interface SimpleCommand {
  readonly kind: 'version' | 'verbosity' | 'noop' | 'quit' | 'sasl-list';
}

export type Command =
  | GetCommand | StoreCommand | DeleteCommand | ArithCommand | TouchCommand | FlushCommand
  | StatsCommand | DebugCommand | MetadumpCommand | SaslAuthCommand | SimpleCommand;
export type CommandKind = Command['kind'];

export type Reply =
  /**
   * One entry per requested key, null for a miss. `rest` > 0: only keys before that index
   * are answered so far (a multi-key get streamed to a slow reader); the reply goes on.
   */
  | { readonly kind: 'values'; readonly items: readonly (ItemView | null)[]; readonly rest: number }
  | { readonly kind: 'stored'; readonly status: StoreStatus; readonly cas: number }
  | { readonly kind: 'deleted'; readonly status: DeleteStatus }
  /** `item` is the item after the operation, when it exists. */
  | { readonly kind: 'arith'; readonly status: ArithStatus; readonly value: bigint; readonly item: ItemView | null }
  | { readonly kind: 'touched'; readonly found: boolean }
  | { readonly kind: 'ok' }
  | { readonly kind: 'stats'; readonly entries: readonly (readonly [string, string | number])[] }
  | { readonly kind: 'version'; readonly version: string }
  | { readonly kind: 'debug'; readonly item: ItemView | null; readonly now: number }
  /**
   * Part of a metadump, in cache order. `next` non-null: more follows from that cursor
   * (the session goes on once the client has read this part), so a big cache is streamed
   * in bounded parts. `itemOverhead`: bytes per item the cache counts beyond key and value.
   */
  | { readonly kind: 'metadump'; readonly items: readonly DumpItem[]; readonly itemOverhead: number; readonly next: number | null }
  | { readonly kind: 'sasl-mechs'; readonly mechanisms: string }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'error'; readonly code: ErrorCode };

/** Request limits, as memcached: keys of at most 250 bytes, key + value at most 1 MiB. */
export interface ProtocolLimits {
  readonly maxKeyLength: number;
  readonly maxItemSize: number;
  /** Longest ASCII command line accepted before the connection is refused. */
  readonly maxLineLength: number;
}
export const DEFAULT_LIMITS: ProtocolLimits = { maxKeyLength: 250, maxItemSize: 1024 * 1024, maxLineLength: 64 * 1024 };

/**
 * Which command a refused request was, when the parser read that far (its verb or opcode),
 * so the cache's request log can show it; a line that is no command has none.
 */
export type RequestFamily =
  | 'get' | 'gat' | 'set' | 'add' | 'replace' | 'append' | 'prepend' | 'cas' | 'incr' | 'decr' | 'delete' | 'touch' | 'flush';

/**
 * What a parser returns: a request and how many bytes it used, a need for more bytes,
 * or an error with how many bytes to drop (`consumed` now, then `skip` more as they
 * arrive, e.g. the data block of a refused oversized set) and whether to hang up.
 */
export type ParseResult<F> =
  | { readonly type: 'request'; readonly command: Command; readonly frame: F; readonly consumed: number }
  | {
      readonly type: 'incomplete';
      /** The whole frame's length when already known (a value's header has arrived): its receive buffer can be sized once. */
      readonly need?: number;
    }
  | {
      readonly type: 'error'; readonly code: ErrorCode; readonly consumed: number;
      readonly skip?: number; readonly close?: boolean; readonly frame?: F;
      /** The refused request's command, when known. */
      readonly family?: RequestFamily;
      /** Its key when the key itself was valid (a view into the parsed buffer: use it before the next read). */
      readonly key?: Buffer;
    };
