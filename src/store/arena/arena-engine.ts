/**
 * The engine a cache node runs: key and value bytes packed in page buffers
 * (page-arena.ts) and a bucket index over the key bytes (hash-index.ts), both keeping
 * their per-item words in the policy's item table rows. No object, string or Buffer
 * exists per item, so a million 100-byte items cost about what memcached's slabs cost,
 * and the garbage collector never walks them.
 *
 * Any freed byte serves any later size, so there are no size classes to calcify: the
 * arena packs whatever the policy keeps and never decides what goes.
 *
 * The limits of the packing: keys up to 255 bytes (the table's; the protocols allow
 * 250), 65535 pages per store (beyond that chunks get buffers of their own).
 */
import type { StoreEngine } from '../store-engine.ts';
import type { ItemTable } from '../item-table.ts';
import { TenantStore, type TenantStoreOptions } from '../tenant-store.ts';
import { HashIndex, type KeyHash } from './hash-index.ts';
import { PageArena, pageSizeFor, type ArenaStats } from './page-arena.ts';

export interface ArenaEngineOptions {
  /** Arena page size in bytes. */
  readonly pageSize: number;
  /** Makes the index's hash at start and at each re-key; by default HalfSipHash-1-3 under a random key. */
  readonly newHash?: () => KeyHash;
}

export interface ArenaStoreOptions extends TenantStoreOptions {
  /** Arena page size; by default about limit/32 within 64 KiB..1 MiB. For tests. */
  readonly pageSize?: number;
  /** A fixed key hash, kept across re-keys; tests pass a poor one to force collisions. */
  readonly hash?: KeyHash;
  /** Makes the index's hash at start and at each re-key (see ArenaEngineOptions). */
  readonly newHash?: () => KeyHash;
}

export interface ArenaMemory {
  readonly arena: ArenaStats;
  /** Bytes of the item table's rows. */
  readonly table: number;
  /** Bytes of the hash buckets. */
  readonly index: number;
}

/** A cache's store as a node runs it: the policy over an arena engine. */
export type ArenaStore = TenantStore<ArenaEngine>;

export function createArenaStore(options: ArenaStoreOptions): ArenaStore {
  const hash = options.hash;
  const engineOptions: ArenaEngineOptions = {
    pageSize: options.pageSize ?? pageSizeFor(Math.max(0, options.limit)),
    newHash: hash ? () => hash : options.newHash,
  };
  return new TenantStore((table) => new ArenaEngine(table, engineOptions), options);
}

export class ArenaEngine implements StoreEngine {
  private readonly table: ItemTable;
  private readonly arena: PageArena;
  private readonly index: HashIndex;

  constructor(table: ItemTable, options: ArenaEngineOptions) {
    this.table = table;
    this.arena = new PageArena(table, options.pageSize);
    this.index = new HashIndex(table, this.arena, options.newHash);
  }

  hashOf(key: Buffer): number {
    return this.index.hashOf(key);
  }

  find(key: Buffer, hash: number): number {
    return this.index.find(key, hash);
  }

  add(slot: number, key: Buffer, hash: number, value: Buffer): void {
    this.rewrite(slot, key, value);
    this.index.insert(slot, hash);
  }

  rewrite(slot: number, key: Buffer, value: Buffer): void {
    const arena = this.arena;
    arena.place(slot, key.length + value.length);
    const buf = arena.bufferOf(slot);
    const at = arena.dataStart(slot);
    buf.set(key, at);
    buf.set(value, at + key.length);
  }

  release(slot: number): void {
    this.arena.release(slot);
  }

  remove(slot: number): void {
    this.index.remove(slot);
    this.arena.release(slot);
  }

  clear(): void {
    this.index.reset();
    this.arena.reset();
  }

  compactStep(): void {
    this.arena.compactStep();
  }

  /** Checks every page's chunks against the rows (page-arena.ts) and that each item has one chunk. */
  verify(count: number): void {
    const chunks = this.arena.verify();
    if (chunks + this.arena.stats().largeChunks !== count) throw new Error(`${chunks} packed chunks for ${count} items`);
  }

  key(slot: number): Buffer {
    return this.arena.view(slot, 0, this.table.keyLen(slot));
  }

  value(slot: number): Buffer {
    return this.arena.view(slot, this.table.keyLen(slot), this.table.valueLen(slot));
  }

  bytesOf(slot: number): Uint8Array {
    return this.arena.bufferOf(slot);
  }

  valueStart(slot: number): number {
    return this.arena.dataStart(slot) + this.table.keyLen(slot);
  }

  /** What the engine's structures hold in memory (benchmarks, tests). */
  memory(): ArenaMemory {
    return { arena: this.arena.stats(), table: this.table.footprint, index: this.index.bucketCount * 4 };
  }

  /** The index's chains and re-keys (tests); `chain` is the length of the chain `key` hashes to. */
  indexStats(key?: Buffer): { maxChain: number; rekeys: number; chain: number } {
    const i = this.index;
    return { maxChain: i.maxChainLength(), rekeys: i.rekeys, chain: key ? i.chainLength(key) : 0 };
  }
}
