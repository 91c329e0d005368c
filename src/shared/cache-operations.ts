/**
 * What a cache does, in the words both layers use: the requests the protocol decodes and
 * the store performs (named fields, one type per operation), what the store shows of an
 * item, and the outcomes a reply encodes. It sits below the protocol and the store so
 * that neither imports the other; a protocol Command is one of these requests with a
 * `kind`, so the parsed command is handed to the store as it is.
 */

export type StoreMode = 'set' | 'add' | 'replace' | 'append' | 'prepend';

/** set, add, replace, append, prepend, cas (ASCII, binary, meta `ms`). */
export interface StoreRequest {
  readonly mode: StoreMode;
  readonly key: Buffer;
  readonly value: Buffer;
  readonly flags: number;
  /** Raw exptime as sent: 0 never, <= 30 days relative seconds, else unix time, < 0 expired. */
  readonly exptime: number;
  /** Present for ASCII `cas`, binary set/add/replace with a CAS, meta `C`: store only over this CAS. */
  readonly cas?: number;
}

export interface DeleteRequest {
  readonly key: Buffer;
  /** Delete only an item with this CAS (binary, meta `C`). */
  readonly cas?: number;
}

/** incr / decr (ASCII, binary, meta `ma`). */
export interface ArithRequest {
  readonly key: Buffer;
  /** incr when true, decr when false. */
  readonly incr: boolean;
  /** 64-bit unsigned. */
  readonly delta: bigint;
  /** Binary incr/decr and meta `N`: create the item with this value when missing. */
  readonly initial?: bigint;
  /** Raw exptime for an item created from `initial`. */
  readonly exptime: number;
  readonly cas?: number;
}

/** touch, and the touch half of get-and-touch. */
export interface TouchRequest {
  readonly key: Buffer;
  /** Raw exptime, as StoreRequest's. */
  readonly exptime: number;
}

/** flush_all. */
export interface FlushRequest {
  /** Seconds until the flush takes effect; 0 now; over 30 days a unix time. */
  readonly delay: number;
}

/**
 * A stored item as the store shows it. `value` may be a view into store memory: valid
 * only until the next call into the store, so encoders copy it out at once.
 */
export interface ItemView {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly flags: number;
  readonly cas: number;
  /** Absolute unix seconds; 0 = never expires. */
  readonly exptime: number;
  /** Unix seconds of the last access before this one. */
  readonly lastAccess: number;
  /** Whether the item had been fetched before this access (meta `h`). */
  readonly fetched: boolean;
}

export type StoreStatus = 'stored' | 'not_stored' | 'exists' | 'not_found';
export type DeleteStatus = 'deleted' | 'not_found' | 'exists';
export type ArithStatus = 'ok' | 'not_found' | 'exists';
