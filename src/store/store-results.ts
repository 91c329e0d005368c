/**
 * What a store operation returns. The constant results are allocated once and shared
 * (they are readonly, so sharing them is safe).
 */
import type { ArithStatus, ItemView, StoreStatus } from '../shared/cache-operations.ts';

export type StoreResult =
  | { readonly status: StoreStatus; readonly cas: number }
  /** key + value over the item size limit (also after append/prepend). */
  | { readonly status: 'too_large'; readonly cas: 0 }
  /** The item alone is larger than this cache's whole limit on this node. */
  | { readonly status: 'no_memory'; readonly cas: 0 };

export type ArithResult =
  | { readonly status: ArithStatus; readonly value: bigint; readonly item: ItemView | null }
  | { readonly status: 'non_numeric'; readonly value: 0n; readonly item: null };

export const NOT_STORED: StoreResult = { status: 'not_stored', cas: 0 };
export const NOT_FOUND: StoreResult = { status: 'not_found', cas: 0 };
export const EXISTS: StoreResult = { status: 'exists', cas: 0 };
export const TOO_LARGE: StoreResult = { status: 'too_large', cas: 0 };
export const NO_MEMORY: StoreResult = { status: 'no_memory', cas: 0 };
export const ARITH_NOT_FOUND: ArithResult = { status: 'not_found', value: 0n, item: null };
export const ARITH_EXISTS: ArithResult = { status: 'exists', value: 0n, item: null };
export const ARITH_NON_NUMERIC: ArithResult = { status: 'non_numeric', value: 0n, item: null };
