/**
 * Where one cache's item bytes and its key index live, beneath the policy
 * (tenant-store.ts), as memcached's slabs.c and assoc.c beneath items.c. The policy owns
 * the items' fields and recency list (item-table.ts) and decides everything else: what a
 * command does, what expires, what is evicted, what is counted. An engine only stores
 * bytes and finds keys.
 *
 * Items are named by the table's slot numbers (NONE for none), so a lookup makes no
 * object; the table holds each slot's key and value lengths before the engine is asked to
 * place its bytes. Bytes move or are overwritten only in add, rewrite and compactStep;
 * release, remove and clear free them without touching them, so the views `key` and
 * `value` return stay valid until the next add, rewrite or compactStep.
 *
 * The production engine is arena/arena-engine.ts; testing/map-engine.ts is the plain one
 * the differential test holds it to. A cache node builds every store over one engine
 * class, so the policy's calls into it stay monomorphic (V8 inlines them).
 */
import type { ItemTable } from './item-table.ts';

export { NONE } from './item-table.ts';

/** Makes an engine over the policy's table (the engine may keep words of its own in the rows). */
export type EngineFactory<E extends StoreEngine> = (table: ItemTable) => E;

export interface StoreEngine {
  /** The hash `find` and `add` take for `key`; valid until the next add. */
  hashOf(key: Buffer): number;
  /** The slot holding `key`, or NONE. */
  find(key: Buffer, hash: number): number;
  /** Holds a new slot's key and value and indexes it under `key`. */
  add(slot: number, key: Buffer, hash: number, value: Buffer): void;
  /** Holds a new value for a slot whose old one was released; its key and index entry stay. */
  rewrite(slot: number, key: Buffer, value: Buffer): void;
  /** Frees a slot's bytes, keeping its index entry for a rewrite. */
  release(slot: number): void;
  /** Frees a slot's bytes and its index entry. */
  remove(slot: number): void;
  /** Forgets every item and gives the memory back. */
  clear(): void;
  /** Gives back a little memory that removals left behind (called after each write). */
  compactStep(): void;
  /** Cross-checks the engine's own structures against the table's `count` items; throws where they disagree (tests). */
  verify(count: number): void;

  /** A view of the key's bytes. */
  key(slot: number): Buffer;
  /** A view of the value's bytes. */
  value(slot: number): Buffer;
  /** The memory holding the value, and where in it the value starts: reading it in place makes no view. */
  bytesOf(slot: number): Uint8Array;
  valueStart(slot: number): number;
}
