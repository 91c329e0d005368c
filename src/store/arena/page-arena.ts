/**
 * Where the arena store keeps key and value bytes: a log of fixed-size pages, allocated
 * lazily as the cache grows (an idle 1 GiB plan holds no page at all), plus a buffer of
 * its own for each chunk too big to pack (over 1/8 of a page).
 *
 * Policy:
 * - A chunk is [slot int32][key][value], appended at the head page's bump pointer. There
 *   are no size classes: freeing a chunk turns its header into a "dead, skip n bytes"
 *   marker and the bytes become garbage of that page; any later chunk of any size can
 *   reuse them once the cleaner has compacted the page. Sizes can shift freely, so no
 *   class can starve (memcached's slab calcification).
 * - Which item goes is decided by the store (LRU, limits, `bytes`); the arena only holds
 *   bytes. When the head page is full the arena either grows by one page (while dead
 *   bytes are under 1/8 of the pages in use) or cleans: it copies the live chunks of the
 *   page with the fewest live bytes into an empty page (the single reserve page; the
 *   slot table is updated through the chunk headers) and that page becomes the reserve.
 *   So under writes the pages in use hold at most about 8/7 of the live bytes, plus the
 *   head and the reserve. LRU eviction mostly empties the oldest pages whole, so the
 *   cleaner rarely has much to copy.
 * - A page whose chunks all died is given back at once (kept only as the reserve).
 *   When deletes or a smaller limit leave more than half the page bytes dead, write
 *   calls compact one page each until a quarter is left, so memory follows contents.
 * - Chunks only move inside write calls (place, compactStep): a value view handed out by
 *   a read stays valid through later reads, and freed bytes are not overwritten before
 *   the next write. Views into a page we let go keep their (garbage-collected) buffer.
 */
import type { ItemTable } from '../item-table.ts';
import { bufferView } from '../../shared/buffer-view.ts';

/** Page id meaning "a buffer of its own"; the slot's offset is then an index into `large`. */
export const LARGE = 0xffff;
/** Bytes of the slot header in front of each packed chunk. */
export const CHUNK_HEADER = 4;

const MIN_PAGE_SIZE = 64 * 1024;
const MAX_PAGE_SIZE = 1024 * 1024;
/** Page ids are uint16; LARGE is reserved. */
const MAX_PAGES = LARGE;

const NO_BUFFER = 0;
const IN_USE = 1;
const HEAD = 2;
const RESERVE = 3;

/** Pages of about 1/32 of the limit (64 KiB .. 1 MiB), so a small cache's head and reserve stay small. */
export function pageSizeFor(limit: number): number {
  let size = MIN_PAGE_SIZE;
  while (size < MAX_PAGE_SIZE && size * 32 < limit) size *= 2;
  return size;
}

export interface ArenaStats {
  readonly pageSize: number;
  /** Page buffers held (in use, head and reserve). */
  readonly pages: number;
  /** Pages holding chunks, the head included. */
  readonly pagesInUse: number;
  /** Header + key + value bytes of live packed chunks. */
  readonly liveBytes: number;
  readonly largeChunks: number;
  readonly largeBytes: number;
  /** Bytes of buffers held: pages plus large chunks. */
  readonly footprint: number;
  /** Live chunk bytes copied by the cleaner so far. */
  readonly movedBytes: number;
}

export class PageArena {
  readonly pageSize: number;
  /** Chunks longer than this (header included) get a buffer of their own. */
  private readonly largeChunk: number;
  private readonly table: ItemTable;

  private pages: (Buffer | null)[] = [];
  /** Each page's ArrayBuffer (and `largeMemory` each large chunk's), for view(). */
  private pageMemory: (ArrayBufferLike | null)[] = [];
  /** Live chunk bytes per page. */
  private live: number[] = [];
  /** Where each retired page's chunks end. */
  private end: number[] = [];
  private state: number[] = [];
  /** Page ids whose buffer was let go, for reuse. */
  private idleIds: number[] = [];
  private head = -1;
  private headPos = 0;
  private reserve = -1;
  private pagesHeld = 0;
  private inUse = 0;
  private liveBytes = 0;
  private large: (Buffer | null)[] = [];
  private largeMemory: (ArrayBufferLike | null)[] = [];
  private idleLarge: number[] = [];
  private largeBytes = 0;
  private largeCount = 0;
  private moved = 0;
  private compacting = false;

  constructor(table: ItemTable, pageSize: number) {
    if (pageSize < 1024 || pageSize > 0x40000000) throw new RangeError(`bad page size ${pageSize}`);
    this.table = table;
    this.pageSize = pageSize;
    this.largeChunk = pageSize >>> 3;
  }

  /**
   * Reserves room for `slot`'s key and value (`dataLength` bytes, lengths already in the
   * table) and records where in the table. The caller then writes the bytes at
   * bufferOf(slot)[dataStart(slot)..]. May move other chunks (never a read's concern).
   */
  place(slot: number, dataLength: number): void {
    const t = this.table;
    const len = CHUNK_HEADER + dataLength;
    if (len > this.largeChunk || !this.ensureRoom(len)) {
      let id = this.idleLarge.pop();
      if (id === undefined) id = this.large.length;
      const chunk = Buffer.allocUnsafeSlow(dataLength);
      this.large[id] = chunk;
      this.largeMemory[id] = chunk.buffer;
      this.largeBytes += dataLength;
      this.largeCount++;
      t.setPlace(slot, LARGE, id);
      return;
    }
    const p = this.head;
    const at = this.headPos;
    this.pages[p]!.writeInt32LE(slot, at);
    this.headPos = at + len;
    this.live[p] += len;
    this.liveBytes += len;
    t.setPlace(slot, p, at);
  }

  /** The buffer holding slot's key then value. */
  bufferOf(slot: number): Buffer {
    const p = this.table.page(slot);
    return p === LARGE ? this.large[this.table.offset(slot)]! : this.pages[p]!;
  }

  /**
   * A Buffer over `length` bytes of slot's data from `from` (0 = the key's first byte),
   * made without subarray (see buffer-view.ts). allocUnsafeSlow buffers start at 0.
   */
  view(slot: number, from: number, length: number): Buffer {
    const t = this.table;
    const p = t.page(slot);
    if (p === LARGE) return bufferView(this.largeMemory[t.offset(slot)]!, from, length);
    return bufferView(this.pageMemory[p]!, t.offset(slot) + CHUNK_HEADER + from, length);
  }

  /** Where slot's key starts in bufferOf(slot). */
  dataStart(slot: number): number {
    return this.table.page(slot) === LARGE ? 0 : this.table.offset(slot) + CHUNK_HEADER;
  }

  /** Frees slot's chunk; the table must still hold its lengths. */
  release(slot: number): void {
    const t = this.table;
    const p = t.page(slot);
    const dataLength = t.keyLen(slot) + t.valueLen(slot);
    if (p === LARGE) {
      const id = t.offset(slot);
      this.large[id] = null;
      this.largeMemory[id] = null;
      this.idleLarge.push(id);
      this.largeBytes -= dataLength;
      this.largeCount--;
      return;
    }
    const len = CHUNK_HEADER + dataLength;
    this.pages[p]!.writeInt32LE(-len, t.offset(slot));
    this.live[p] -= len;
    this.liveBytes -= len;
    if (this.live[p] === 0) {
      if (p === this.head) this.headPos = 0; // nothing alive in it: start over
      else this.recycle(p);
    }
  }

  /**
   * One step of giving memory back after deletes or a smaller limit: when over half the
   * bytes of the pages in use are dead, compact the emptiest page (and keep doing one per
   * call until a quarter is left). Call only from write paths.
   */
  compactStep(): void {
    if (this.inUse < 4) {
      this.compacting = false;
      return;
    }
    const held = this.inUse * this.pageSize;
    const dead = held - this.liveBytes;
    if (!this.compacting) {
      if (dead * 2 <= held) return;
      this.compacting = true;
    } else if (dead * 4 <= held) {
      this.compacting = false;
      return;
    }
    const victim = this.pickVictim(1);
    if (victim < 0) {
      this.compacting = false;
      return;
    }
    if (this.evacuate(victim)) this.recycle(victim);
  }

  /** Lets every buffer go. */
  reset(): void {
    this.pages = [];
    this.pageMemory = [];
    this.live = [];
    this.end = [];
    this.state = [];
    this.idleIds = [];
    this.head = -1;
    this.headPos = 0;
    this.reserve = -1;
    this.pagesHeld = 0;
    this.inUse = 0;
    this.liveBytes = 0;
    this.large = [];
    this.largeMemory = [];
    this.idleLarge = [];
    this.largeBytes = 0;
    this.largeCount = 0;
    this.compacting = false;
  }

  stats(): ArenaStats {
    return {
      pageSize: this.pageSize,
      pages: this.pagesHeld,
      pagesInUse: this.inUse,
      liveBytes: this.liveBytes,
      largeChunks: this.largeCount,
      largeBytes: this.largeBytes,
      footprint: this.pagesHeld * this.pageSize + this.largeBytes,
      movedBytes: this.moved,
    };
  }

  /**
   * Walks every page and checks each chunk against the table (tests): headers chain to
   * the page's end, live headers point at slots that point back, live counts add up.
   * Returns the number of packed chunks found.
   */
  verify(): number {
    const t = this.table;
    let chunks = 0;
    let total = 0;
    let held = 0;
    let inUse = 0;
    for (let p = 0; p < this.pages.length; p++) {
      const buf = this.pages[p];
      const state = this.state[p];
      if (buf === null || buf === undefined) {
        if (state !== NO_BUFFER) throw new Error(`page ${p}: no buffer in state ${state}`);
        continue;
      }
      held++;
      if (state === RESERVE) {
        if (p !== this.reserve || this.live[p] !== 0) throw new Error(`page ${p}: bad reserve`);
        continue;
      }
      if (state !== IN_USE && state !== HEAD) throw new Error(`page ${p}: buffer in state ${state}`);
      inUse++;
      const end = p === this.head ? this.headPos : this.end[p]!;
      let live = 0;
      for (let at = 0; at < end;) {
        const h = buf.readInt32LE(at);
        if (h < 0) {
          at += -h;
          continue;
        }
        if (t.page(h) !== p || t.offset(h) !== at) throw new Error(`page ${p}@${at}: slot ${h} points elsewhere`);
        const len = CHUNK_HEADER + t.keyLen(h) + t.valueLen(h);
        live += len;
        chunks++;
        at += len;
        if (at > end) throw new Error(`page ${p}: chunk past the end`);
      }
      if (live !== this.live[p]) throw new Error(`page ${p}: live ${this.live[p]} but chunks hold ${live}`);
      total += live;
    }
    if (total !== this.liveBytes) throw new Error(`liveBytes ${this.liveBytes} but pages hold ${total}`);
    if (held !== this.pagesHeld || inUse !== this.inUse) throw new Error('page counts drifted');
    return chunks;
  }

  // ---- internals ----

  /** Makes the head fit `len` more bytes; false when no page can be had (ids exhausted). */
  private ensureRoom(len: number): boolean {
    if (this.head >= 0 && this.headPos + len <= this.pageSize) return true;
    this.retireHead();
    const held = this.inUse * this.pageSize;
    // Clean rather than grow once an eighth of the pages in use is dead.
    if ((held - this.liveBytes) * 8 >= held) {
      const victim = this.pickVictim(len);
      if (victim >= 0) {
        const dest = this.takeEmptyPage();
        if (dest >= 0) {
          this.setHead(dest);
          // An empty page holds all of the victim's live chunks, and what the victim had
          // dead (>= len) is left over at the head.
          this.evacuate(victim);
          this.recycle(victim);
          return true;
        }
      }
    }
    const p = this.takeEmptyPage();
    if (p < 0) return false;
    this.setHead(p);
    return true;
  }

  /** The reserve page, or a new one; -1 when out of page ids. */
  private takeEmptyPage(): number {
    const r = this.reserve;
    if (r >= 0) {
      this.reserve = -1;
      return r;
    }
    let id = this.idleIds.pop();
    if (id === undefined) {
      if (this.pages.length >= MAX_PAGES) return -1;
      id = this.pages.length;
    }
    const page = Buffer.allocUnsafeSlow(this.pageSize);
    this.pages[id] = page;
    this.pageMemory[id] = page.buffer;
    this.live[id] = 0;
    this.end[id] = 0;
    this.state[id] = NO_BUFFER;
    this.pagesHeld++;
    return id;
  }

  private setHead(p: number): void {
    this.state[p] = HEAD;
    this.head = p;
    this.headPos = 0;
    this.live[p] = 0;
    this.inUse++;
  }

  private retireHead(): void {
    const p = this.head;
    if (p < 0) return;
    this.head = -1;
    this.state[p] = IN_USE;
    this.end[p] = this.headPos;
    if (this.live[p] === 0) this.recycle(p);
  }

  /** A page in use whose chunks are all gone (or moved): keep it as the reserve or let it go. */
  private recycle(p: number): void {
    this.inUse--;
    this.live[p] = 0;
    this.end[p] = 0;
    if (this.reserve < 0) {
      this.reserve = p;
      this.state[p] = RESERVE;
    } else {
      this.pages[p] = null;
      this.pageMemory[p] = null;
      this.state[p] = NO_BUFFER;
      this.idleIds.push(p);
      this.pagesHeld--;
    }
  }

  /** The retired page with the fewest live bytes, if it has at least `minDead` dead ones. */
  private pickVictim(minDead: number): number {
    let best = -1;
    let bestLive = this.pageSize - minDead + 1;
    const state = this.state;
    const live = this.live;
    for (let p = 0; p < state.length; p++) {
      if (state[p] === IN_USE && live[p]! < bestLive) {
        best = p;
        bestLive = live[p]!;
      }
    }
    return best;
  }

  /**
   * Copies every live chunk of page v to the head, updating the table, taking the
   * reserve or a new page when the head fills. False if it ran out of pages midway.
   */
  private evacuate(v: number): boolean {
    const t = this.table;
    const src = this.pages[v]!;
    const end = this.end[v]!;
    for (let at = 0; at < end;) {
      const h = src.readInt32LE(at);
      if (h < 0) {
        at += -h;
        continue;
      }
      const len = CHUNK_HEADER + t.keyLen(h) + t.valueLen(h);
      if (this.headPos + len > this.pageSize || this.head < 0) {
        this.retireHead();
        const p = this.takeEmptyPage();
        if (p < 0) return false;
        this.setHead(p);
      }
      const p = this.head;
      const to = this.headPos;
      src.copy(this.pages[p]!, to, at, at + len);
      src.writeInt32LE(-len, at); // moved: dead here, so a partial evacuation stays consistent
      this.headPos = to + len;
      this.live[p] += len;
      this.live[v] -= len;
      t.setPlace(h, p, to);
      this.moved += len;
      at += len;
    }
    return true;
  }
}
