/**
 * The constant results a store hands back, allocated once and shared by every
 * implementation (they are readonly, so sharing them is safe).
 */
import type { ArithResult, StoreResult } from './store-api.ts';

export const NOT_STORED: StoreResult = { status: 'not_stored', cas: 0 };
export const NOT_FOUND: StoreResult = { status: 'not_found', cas: 0 };
export const EXISTS: StoreResult = { status: 'exists', cas: 0 };
export const TOO_LARGE: StoreResult = { status: 'too_large', cas: 0 };
export const NO_MEMORY: StoreResult = { status: 'no_memory', cas: 0 };
export const ARITH_NOT_FOUND: ArithResult = { status: 'not_found', value: 0n, item: null };
export const ARITH_EXISTS: ArithResult = { status: 'exists', value: 0n, item: null };
export const ARITH_NON_NUMERIC: ArithResult = { status: 'non_numeric', value: 0n, item: null };
