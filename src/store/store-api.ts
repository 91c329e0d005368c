/**
 * What a cache node asks of one cache's memory on one node. The store knows nothing of
 * sockets or wire formats; time comes in as `now` (unix seconds) so expiry is testable
 * without sleeping. Implementations count their own hit/miss stats into `counters`.
 */
import type { ArithStatus, DeleteStatus, ItemView, StoreMode, StoreStatus } from '../protocol/command.ts';
import type { Counters } from './stats.ts';

export type StoreResult =
  | { readonly status: StoreStatus; readonly cas: number }
  /** key + value over the item size limit (also after append/prepend). */
  | { readonly status: 'too_large'; readonly cas: 0 }
  /** The item alone is larger than this cache's whole limit on this node. */
  | { readonly status: 'no_memory'; readonly cas: 0 };

export type ArithResult =
  | { readonly status: ArithStatus; readonly value: bigint; readonly item: ItemView | null }
  | { readonly status: 'non_numeric'; readonly value: 0n; readonly item: null };

export interface TenantStore {
  readonly counters: Counters;
  /** Bytes its items use, per-item overhead included. Never above `limit`. */
  readonly bytes: number;
  readonly items: number;
  /** This node's share of the cache's plan, in bytes. */
  readonly limit: number;

  /** Counts cmd_get and get_hits/get_misses. */
  get(key: Buffer, now: number): ItemView | null;
  /** get-and-touch: counts cmd_get, cmd_touch, get_* and touch_*. */
  getAndTouch(key: Buffer, exptime: number, now: number): ItemView | null;
  /** Looks without counting or bumping (meta `me`). */
  peek(key: Buffer, now: number): ItemView | null;
  /** Counts cmd_set, and cas_* when `cas` is given. */
  store(mode: StoreMode, key: Buffer, value: Buffer, flags: number, exptime: number, now: number, cas?: number): StoreResult;
  /** Counts cmd_delete and delete_*; with `cas`, deletes only a matching item. */
  delete(key: Buffer, now: number, cas?: number): DeleteStatus;
  /** Counts incr_* / decr_*. With `initial`, a miss creates the item with that value. */
  arith(incr: boolean, key: Buffer, delta: bigint, now: number, initial?: bigint, exptime?: number, cas?: number): ArithResult;
  /** Counts cmd_touch and touch_*. */
  touch(key: Buffer, exptime: number, now: number): boolean;
  /** Counts cmd_flush. delay 0 empties now; otherwise items stored up to now+delay die then. */
  flush(delay: number, now: number): void;
  /** Resize (plan change or node count change); shrinking evicts LRU items. */
  setLimit(bytes: number): void;
  /** Frees everything (cache deleted). Does not count as a flush. */
  clear(): void;
}
