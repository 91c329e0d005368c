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
  /**
   * An item left the cache. A flush_all that empties the cache at once reports each item
   * (with a listener only: it then walks the items).
   */
  removed(key: Buffer, cause: RemovalCause): void;
}
