/**
 * What a store tells an observer (hot keys, prefixes, per-key stats), as it happens. The
 * store holds at most one listener and checks one field for it at each event, so nobody
 * listening costs nothing measurable. A listener runs inside the store call, synchronously:
 * it must not call back into the store, and the key it is given is a view valid only
 * during the call (copy what it keeps).
 */

/**
 * Why an item left the cache: a command deleted it (delete, or a store that could not keep
 * the new value and dropped the old), memory pressure evicted it, its exptime passed (also
 * a touch into the past, or a value stored already expired), or flush_all killed it.
 */
export type RemovalCause = 'delete' | 'evict' | 'expire' | 'flush';

export interface StoreListener {
  /** A read (get, gat) found the item. */
  hit(key: Buffer): void;
  /** A read found no live item. */
  miss(key: Buffer): void;
  /** A store command wrote a new value, or incr/decr created the item (`size` as `bytes` counts it). */
  stored(key: Buffer, size: number): void;
  /** incr/decr changed a live item's value, or touch/gat its exptime. */
  mutated(key: Buffer): void;
  /** An item left the cache (not a flush_all that empties it at once: that is `cleared`). */
  removed(key: Buffer, cause: RemovalCause): void;
  /** Every item went at once (flush_all now, or a delayed one coming due with nothing newer). */
  cleared(): void;
  /**
   * When true, the store also reports each change of an item's bytes to `item` (exact
   * per-prefix gauges need it; nothing else pays for it). Read at each change.
   */
  readonly tracksItems: boolean;
  /**
   * `slot` now holds `after` bytes where it held `before` (0: nothing), sizes as the
   * `bytes` stat counts them: a write (new or replaced value) or a removal of any cause.
   */
  item(slot: number, key: Buffer, before: number, after: number): void;
}
