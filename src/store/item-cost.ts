/**
 * What one item costs against a cache's limit, shared by every store implementation so
 * that swapping the engine never changes a cache's `bytes` stat or how much its plan holds.
 */

/**
 * Bytes charged per item on top of key and value. It mirrors memcached's cost of an item
 * (48-byte header with CAS, the key's NUL terminator, the value's trailing CRLF), so the
 * `bytes` stat means what memcached users expect and a cache holding many tiny items
 * cannot claim to use almost nothing. (The arena store's real per-item metadata is about
 * the same: see item-table.ts.)
 */
export const ITEM_OVERHEAD = 48 + 1 + 2;

/** How far up from the LRU tail eviction looks for a dead item to reclaim instead (memcached: 5). */
export const RECLAIM_SEARCH_DEPTH = 5;
