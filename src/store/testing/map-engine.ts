/**
 * The plainest engine there is, for tests: a Map from each key (as latin1 text, one char
 * per byte) to its slot, and each slot's key and value as Buffers of their own. Both are
 * copied in and never written in place, so a view handed out earlier keeps its bytes.
 * The differential test (arena/arena-vs-map.test.ts) holds the arena engine to it under
 * the same policy, op for op.
 */
import { NONE, type StoreEngine } from '../store-engine.ts';
import { TenantStore, type TenantStoreOptions } from '../tenant-store.ts';

/** A store over a MapEngine. */
export function createMapStore(options: TenantStoreOptions): TenantStore<MapEngine> {
  return new TenantStore(() => new MapEngine(), options);
}

export class MapEngine implements StoreEngine {
  private readonly index = new Map<string, number>();
  private keys: (Buffer | undefined)[] = [];
  private values: (Buffer | undefined)[] = [];

  hashOf(): number {
    return 0;
  }

  find(key: Buffer): number {
    return this.index.get(key.toString('latin1')) ?? NONE;
  }

  add(slot: number, key: Buffer, _hash: number, value: Buffer): void {
    this.keys[slot] = Buffer.from(key);
    this.values[slot] = Buffer.from(value);
    this.index.set(key.toString('latin1'), slot);
  }

  rewrite(slot: number, _key: Buffer, value: Buffer): void {
    this.values[slot] = Buffer.from(value);
  }

  release(slot: number): void {
    this.values[slot] = undefined;
  }

  remove(slot: number): void {
    this.index.delete(this.key(slot).toString('latin1'));
    this.keys[slot] = undefined;
    this.values[slot] = undefined;
  }

  clear(): void {
    this.index.clear();
    this.keys = [];
    this.values = [];
  }

  compactStep(): void {}

  verify(count: number): void {
    if (this.index.size !== count) throw new Error(`${this.index.size} keys indexed for ${count} items`);
    for (const [text, slot] of this.index) {
      if (this.keys[slot]?.toString('latin1') !== text) throw new Error(`key ${JSON.stringify(text)} indexed at slot ${slot}`);
      if (this.values[slot] === undefined) throw new Error(`slot ${slot} has no value`);
    }
  }

  key(slot: number): Buffer {
    return held(this.keys[slot], slot);
  }

  value(slot: number): Buffer {
    return held(this.values[slot], slot);
  }

  bytesOf(slot: number): Uint8Array {
    return this.value(slot);
  }

  valueStart(): number {
    return 0;
  }
}

function held(bytes: Buffer | undefined, slot: number): Buffer {
  if (bytes === undefined) throw new Error(`slot ${slot} holds nothing`);
  return bytes;
}
