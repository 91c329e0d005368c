/**
 * A resumable walk over a cache's live items (`TenantStore.walk`), for the key listing
 * and `lru_crawler metadump`. The cursor is a slot index: an item keeps its slot for as
 * long as it lives (overwrites, appends and compaction keep it; only removal frees it),
 * so a walk that visits slots in index order lists an item present for the whole walk
 * exactly once, however the cache changes between two calls.
 */

export interface WalkItem {
  /** A copy of the key: it outlives the engine's next write. */
  readonly key: Buffer;
  /** Value bytes. */
  readonly size: number;
  /** Absolute unix seconds, 0 = never. */
  readonly exptime: number;
  /** Unix seconds of the last read or write. */
  readonly lastAccess: number;
  readonly flags: number;
  readonly cas: number;
  /** Read since its value was written. */
  readonly fetched: boolean;
}

export interface WalkPage {
  readonly items: WalkItem[];
  /** Where the next call goes on, or null when the walk passed the last slot. */
  readonly next: number | null;
}

/**
 * Slots one call may visit, at least: a call's cost stays bounded when few slots hold a
 * matching live item (a rare prefix, a cache mostly deleted), at the price of a short page.
 */
export const WALK_MIN_SLOTS = 4096;
/** ...or this many per item asked for, when more. */
export const WALK_SLOTS_PER_ITEM = 8;
