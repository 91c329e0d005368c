/**
 * A node's introspection: one CacheIntrospection per cache, a cap on the memory their
 * window states take together (`--introspection-memory`), and the background walks that
 * count a newly watched prefix's existing keys in. Over the cap, the states of the least
 * recently active caches are dropped first (they are made again at their next request);
 * a cap too small for one state leaves windows off.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { CacheIntrospection, DROPPED_RETRY_MS, EMPTY_STATE_BYTES, type WindowState, type WindowStateBudget, type WindowStateOwner } from './cache-introspection.ts';
import { BUSY_SAMPLED_EVENTS_PER_SECOND, SAMPLED_EVENTS_PER_SECOND } from './event-sampler.ts';
import { SampleBatch } from './sample-batch.ts';
import type { SlotScanner } from './watched-prefixes.ts';

export const DEFAULT_INTROSPECTION_MEMORY = 64 * 1024 * 1024;
/** Slots a watched prefix's walk visits per step; steps go on within a turn's time budget. */
const SCAN_SLOTS_PER_STEP = 1024;
/** Milliseconds of walking per turn of the event loop, over every cache and watch. */
const WALK_MS_PER_TURN = 2;
/** After an eviction the states take at most this share of the cap, so evictions come in batches. */
const REFILL_SHARE = 0.9;
/**
 * The node is busy once its event loop was this busy over a look (LOOK_MS) while its caches saw
 * BUSY_EVENTS key events or more per second of the node's CPU time, and calm again below
 * CALM_LOAD or CALM_EVENTS. Events per CPU second say what counting them all would cost:
 * at 0.2-1 µs a sample, 20,000 is 0.4-2 % of what the node spends. A node saturated by
 * requests that each cost it 50 µs or more (logins, large values) keeps counting every
 * event exactly. Until 2026-12-07 this was 100,000, so that the memjs accuracy test's nodes (then
 * in the test's own process, their loop busy with the client's work: 25,000-45,000 events
 * per CPU second) counted exactly; a node saturated by memcaslap's single gets on a shared
 * core (12 µs of CPU a request, most of it in the kernel: 65,000-90,000 events per CPU
 * second) counted every event too, about 2 % of its throughput.
 */
const BUSY_LOAD = 0.8;
const CALM_LOAD = 0.6;
export const BUSY_EVENTS = 20_000;
export const CALM_EVENTS = 12_000;
/**
 * How often the node looks at its load (and settles its caches' charges): a node that
 * turns busy samples at the busy budget within a look or two. Looking once a second left
 * the first ~2 s of a new load at the calm budget (25 times the samples, each 1-2 µs on a
 * busy node).
 */
export const LOOK_MS = 250;
/** A busy node stays busy this long at least. */
const BUSY_HOLD_MS = 10_000;
/** A cache with a request in this many ms shares the busy node's sampling budget. */
const ACTIVE_MS = 2000;
/** What each active cache keeps at least of the busy budget, however many share it. */
const MIN_SAMPLED_PER_CACHE = 100;

export interface IntrospectionSettings {
  /** False: `--no-introspection`, nothing is kept on this node. */
  readonly enabled: boolean;
  readonly memoryBytes: number;
  /**
   * True: the node never turns busy (counts every event, up to the calm budget). For a
   * node in a test's own process, whose loop the test's client keeps busy, where a test
   * asserts exact counts; `cachier start` never sets it.
   */
  readonly neverBusy?: boolean;
}

export class IntrospectionRegistry implements WindowStateBudget {
  private readonly caches = new Set<CacheIntrospection>();
  /** Where every cache's samples wait to be counted, a batch at a time (sample-batch.ts). */
  private readonly batch = new SampleBatch();
  /** Bytes charged by every state together. */
  private used = 0;
  /**
   * States dropped to make room for new ones, emptied, waiting to be reused (`reuse`), and
   * their bytes: held memory as much as a cache's state is, so counted against the cap.
   * (An emptied state's size does not change while it waits.)
   */
  private readonly spares: WindowState[] = [];
  private spareBytes = 0;
  private readonly walking = new Map<CacheIntrospection, SlotScanner>();
  private walkScheduled = false;
  private readonly timer: NodeJS.Timeout;
  /** Window states dropped to keep under the cap (a metric and a test's evidence). */
  dropped = 0;
  /** Of those, states made over into another cache's (a test's evidence). */
  reused = 0;
  /** The event loop was busy (BUSY_LOAD) at the last look: the caches sample less. */
  busy = false;
  private busySince = 0;
  private loop: EventLoopUtilization = performance.eventLoopUtilization();
  private cpuAt = process.cpuUsage();

  constructor(readonly settings: IntrospectionSettings) {
    this.timer = setInterval(() => this.enforce(), LOOK_MS);
    this.timer.unref();
  }

  /** A cache's introspection, or null when the node has it off. */
  create(): CacheIntrospection | null {
    if (!this.settings.enabled) return null;
    const ci = new CacheIntrospection(this, this.batch);
    this.caches.add(ci);
    return ci;
  }

  /** The cache went, or an operator switched its introspection off. */
  release(ci: CacheIntrospection): void {
    ci.release(0); // its state goes, and the batch drops what it held of it
    this.caches.delete(ci);
    this.walking.delete(ci);
  }

  /** Starts (or continues) the walk of a cache whose watched prefixes changed. */
  walk(ci: CacheIntrospection, store: SlotScanner): void {
    if (!ci.watched.scanning) return;
    this.walking.set(ci, store);
    if (this.walkScheduled) return;
    this.walkScheduled = true;
    setImmediate(() => this.walkTurn());
  }

  /** Bytes the window states hold, spares included (kept at most the cap at every moment). */
  get memoryBytes(): number {
    return this.used + this.spareBytes;
  }

  /** Caches holding a window state now. */
  get activeCaches(): number {
    let n = 0;
    for (const ci of this.caches) if (ci.hasWindowState) n++;
    return n;
  }

  charge(owner: WindowStateOwner, bytes: number): boolean {
    const cap = this.settings.memoryBytes;
    if (owner.charged + bytes > cap) return false;
    // Over the cap: spares go first (as many as the charge needs), then the states of the
    // least recently active others, down to a share of the cap so the next few charges
    // need no search.
    while (this.used + this.spareBytes + bytes > cap && this.spares.length > 0) this.spareBytes -= this.spares.pop()!.memoryBytes;
    if (this.used + bytes > cap) this.shrinkTo(cap * REFILL_SHARE - bytes, owner, false);
    if (this.used + bytes > cap) return false;
    this.used += bytes;
    return true;
  }

  reuse(owner: WindowStateOwner): WindowState | null {
    const cap = this.settings.memoryBytes;
    if (this.spares.length === 0) {
      // A new state fits beside the others: made new (the node has not reached its cap yet).
      if (this.used + EMPTY_STATE_BYTES <= cap) return null;
      // The least recently active others give theirs up, down to a share of the cap: the
      // states they drop are the spares this and the next new states are made of.
      this.shrinkTo(cap * REFILL_SHARE - EMPTY_STATE_BYTES, owner, true);
    }
    const state = this.spares.pop();
    if (state === undefined) return null;
    const bytes = state.memoryBytes;
    this.spareBytes -= bytes;
    this.used += bytes;
    this.reused++;
    return state;
  }

  refund(bytes: number): void {
    this.used -= bytes;
  }

  close(): void {
    clearInterval(this.timer);
    this.walking.clear();
  }

  /**
   * At every look (LOOK_MS): the caches' sampling budget follows the node's load (every cache may take
   * SAMPLED_EVENTS_PER_SECOND while the node has time to spare; a busy node shares
   * BUSY_SAMPLED_EVENTS_PER_SECOND among its active caches, so introspection's CPU stays
   * bounded however many caches are busy), and each state's charge follows what it holds
   * (sketches shrink as keys age out).
   */
  enforce(): void {
    const now = performance.eventLoopUtilization();
    let events = 0;
    for (const ci of this.caches) {
      ci.settle(); // counts the lines still waiting in its ring, and its samples in the batch
      events += ci.takeEventCount();
    }
    const cpu = process.cpuUsage();
    const cpuMs = (cpu.user + cpu.system - this.cpuAt.user - this.cpuAt.system) / 1000;
    this.setLoad(performance.eventLoopUtilization(now, this.loop).utilization, (events * 1000) / Math.max(1, cpuMs));
    this.cpuAt = cpu;
    this.loop = now;
  }

  /**
   * Sets every cache's sampling budget for an event loop `load` (0-1) busy since the last
   * look, in which the caches saw `eventsPerCpuSecond` key events together per second of
   * the node's CPU time.
   */
  setLoad(load: number, eventsPerCpuSecond: number, now = Date.now()): void {
    if (!this.busy && load >= BUSY_LOAD && eventsPerCpuSecond >= BUSY_EVENTS && this.settings.neverBusy !== true) {
      this.busy = true;
      this.busySince = now;
    } else if (this.busy && (load <= CALM_LOAD || eventsPerCpuSecond < CALM_EVENTS) && now - this.busySince >= BUSY_HOLD_MS) {
      // Held a while: when counting everything is what loads the loop, calm would bring
      // busy back at the next look, and the node would switch at every look.
      this.busy = false;
    }
    // Calm or busy, one budget for the node, shared by its active caches: the sketch work
    // does not grow with the number of caches a tenant (or many) keeps busy.
    const since = now - ACTIVE_MS;
    let active = 0;
    for (const ci of this.caches) if (ci.lastActive >= since) active++;
    const budget = this.busy ? BUSY_SAMPLED_EVENTS_PER_SECOND : SAMPLED_EVENTS_PER_SECOND;
    const perCache = Math.max(MIN_SAMPLED_PER_CACHE, budget / Math.max(1, active));
    for (const ci of this.caches) ci.setSamplingBudget(perCache);
  }

  /**
   * Drops the states of the least recently active caches but `keep` until the charged
   * bytes are at most `target`; into the spares (`reuse`), or left to the garbage collector.
   */
  private shrinkTo(target: number, keep: WindowStateOwner, toSpares: boolean): void {
    const holders = [...this.caches].filter((ci) => ci.hasWindowState && ci !== keep);
    holders.sort((a, b) => a.lastActive - b.lastActive);
    const retryAt = Date.now() + DROPPED_RETRY_MS;
    for (const ci of holders) {
      if (this.used <= target) break;
      this.used -= ci.charged;
      const state = ci.dropWindowState(retryAt);
      this.dropped++;
      if (toSpares && state !== null) {
        // Emptied now (~10 µs a state): a spare holds nothing of its cache, nor the cache itself.
        state.reset();
        state.ring.mayGrow = () => false;
        this.spares.push(state);
        this.spareBytes += state.memoryBytes;
      }
    }
  }


  /** Walks within a time budget, then yields; a cache that walked goes to the back of the line. */
  private walkTurn(): void {
    const deadline = performance.now() + WALK_MS_PER_TURN;
    for (const [ci, store] of this.walking) {
      this.walking.delete(ci);
      ci.scanStep(store, SCAN_SLOTS_PER_STEP, deadline);
      if (ci.watched.scanning) this.walking.set(ci, store);
      if (performance.now() >= deadline) break;
    }
    this.walkScheduled = this.walking.size > 0;
    if (this.walkScheduled) setImmediate(() => this.walkTurn());
  }
}
