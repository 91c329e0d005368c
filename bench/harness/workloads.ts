/**
 * The workloads of `npm run bench`, in the order they run. Each names its load tool, its
 * baseline (memcached, or cachier with introspection off), the servers it runs against
 * (baseline first, then cachier), and the throughput ratio it is judged by, if any.
 * Durations come from the run profile (quick or full).
 */
import type { Protocol } from '../load/protocols.ts';
import type { ServerName } from './servers.ts';

export const CONNECTIONS = 32;
export const VALUE_SIZE = 100;
export const GET_RATIO = 0.9;
/** Keys `key:0000000` … for our load generator, stored in both servers before any workload. */
export const KEYS = 10_000;
/** memcaslap's keys are its own; 16 bytes is close to our 11-byte `key:%07d`. */
export const MEMCASLAP_KEY_SIZE = 16;

export type Auth = 'none' | 'ascii-login' | 'sasl-plain';

/**
 * What a row's cachier figure is compared with: memcached, or the same cachier started
 * with `--no-introspection` (issue 14's cost of introspection). A row's ratio is always
 * cachier / baseline.
 */
export type Baseline = Extract<ServerName, 'memcached' | 'cachier-no-introspection'>;

/** How the report names each server's column. */
export const SERVER_LABEL: Readonly<Record<ServerName, string>> = {
  memcached: 'memcached',
  cachier: 'cachier',
  'cachier-no-introspection': 'cachier --no-introspection',
};

/** The nodes' default cap on introspection state (`--introspection-memory`), for the report. */
export const INTROSPECTION_MEMORY_CAP = '64 MiB';
/** Caches the introspection-memory phase creates and drives, and what each gets. */
export const INTROSPECTION_CACHES = 1000;
export const INTROSPECTION_KEYS_PER_CACHE = 50;
export const INTROSPECTION_SETS_PER_CACHE = 100;
export const INTROSPECTION_GETS_PER_CACHE = 200;

interface Base {
  readonly name: string;
  readonly description: string;
  readonly baseline: Baseline;
  /** Baseline first (the order of odd rounds), then cachier; or cachier alone. */
  readonly servers: readonly ServerName[];
  /** cachier / baseline ops/s must reach this. */
  readonly minThroughputRatio?: number;
  /**
   * Misses the workload can legitimately produce, as a share of its gets; more is FAIL.
   * Zero for every row, which memcached confirms:
   * - memcaslap gets only keys it has stored: a get picks one of the first `set_cursor`
   *   items of its window, the cursor moves on only after STORED, and a get that lands on
   *   an item not yet stored is sent as a set instead (libmemcached clients/ms_task.c).
   *   Against memcached 1.6.18 (-m 2048, 8 s per row): 0 misses of 234,683 ASCII gets,
   *   256,027 binary gets and 1,124,280 multi-get keys, by memcaslap's count and by
   *   memcached's get_misses; with --verify=1.0, 0 verify misses and failures.
   * - our generator's rows get only `key:0000000`… `key:0009999`, all preloaded before the
   *   first row, and nothing deletes or expires them; both servers hold 2 GiB, so nothing
   *   is evicted. Any miss is a lost item.
   * A server under memory pressure (cachier started with --cache-memory 2mb) misses and FAILs.
   */
  readonly maxMissRate: number;
}

export interface MemcaslapWorkload extends Base {
  readonly tool: 'memcaslap';
  readonly binary: boolean;
  readonly division: number;
  /** memcaslap --verify: the share of gets whose value it checks (one row per protocol). */
  readonly verify?: number;
  /**
   * Both servers loaded at once, each by its own memcaslap (both servers on the server
   * core, both loads on the load core), in CONCURRENT_ROUNDS rounds, each with a fresh
   * pair of servers; the row's ratio is the median of the rounds'. Whatever else the
   * machine does then slows both alike, so a few-percent difference shows: run one after
   * the other, rounds on this shared machine differed by up to 25 % (issue 14's
   * introspection rows).
   */
  readonly concurrent?: true;
}

export interface ClosedLoopWorkload extends Base {
  readonly tool: 'load-closed';
  readonly protocol: Protocol;
  readonly auth: Auth;
  readonly depth: number;
  /** For an authenticated workload: the unauthenticated one it is compared with on cachier. */
  readonly authCostAgainst?: string;
  /** Its memcached throughput counts towards "memcached's peak" for the fixed-rate run. */
  readonly peakCandidate?: boolean;
}

export interface OpenLoopWorkload extends Base {
  readonly tool: 'load-open';
  readonly protocol: Protocol;
  /** Offered load as a fraction of memcached's peak ops/s measured earlier in the run. */
  readonly fractionOfPeak: number;
  readonly maxP99Ratio: number;
}

export type Workload = MemcaslapWorkload | ClosedLoopWorkload | OpenLoopWorkload;

const BOTH: readonly ServerName[] = ['memcached', 'cachier'];
const CACHIER: readonly ServerName[] = ['cachier'];
const INTROSPECTION_OFF_ON: readonly ServerName[] = ['cachier-no-introspection', 'cachier'];
/** Issue 14: introspection on keeps at least this share of the throughput with it off. */
export const MIN_INTROSPECTION_RATIO = 0.97;
/**
 * Rounds of a concurrent row (its ratio is their median), in the full run; the quick run
 * does one. Each round is a fresh pair of nodes (bench/run.ts, runPair), whose ratio
 * moves by about ±1.5 % on this VM for one code (A/A, both nodes with introspection on:
 * 0.98-1.02); nine make the median's own spread about ±0.5 %, a third of a 3 % cost.
 */
export const CONCURRENT_ROUNDS = 9;

/** Most SASL costs may be against the same workload unauthenticated: 5 %. */
export const MAX_AUTH_COST = 0.05;
export const MAX_MEMORY_RATIO = 1.0;

export const WORKLOADS: readonly Workload[] = [
  {
    name: 'memcaslap-ascii',
    description: 'memcaslap ASCII, 1 thread, 32 conns, 100 B values, 90% get / 10% set',
    tool: 'memcaslap', binary: false, division: 1, baseline: 'memcached', servers: BOTH, minThroughputRatio: 0.8, verify: 1, maxMissRate: 0,
  },
  {
    name: 'memcaslap-binary',
    description: 'memcaslap binary, same mix',
    tool: 'memcaslap', binary: true, division: 1, baseline: 'memcached', servers: BOTH, minThroughputRatio: 0.8, verify: 1, maxMissRate: 0,
  },
  {
    name: 'memcaslap-mget20',
    description: 'memcaslap ASCII, 20-key multi-gets (ops/s counts keys)',
    tool: 'memcaslap', binary: false, division: 20, baseline: 'memcached', servers: BOTH, minThroughputRatio: 0.7, maxMissRate: 0,
  },
  {
    name: 'ascii',
    description: 'ours: ASCII get/set 90/10, 32 conns, closed loop, 1 in flight each',
    tool: 'load-closed', protocol: 'ascii', auth: 'none', depth: 1, baseline: 'memcached', servers: BOTH, minThroughputRatio: 0.8, peakCandidate: true, maxMissRate: 0,
  },
  {
    name: 'ascii-login',
    description: 'ours: same as ascii, every connection after the ASCII login (cachier only)',
    tool: 'load-closed', protocol: 'ascii', auth: 'ascii-login', depth: 1, baseline: 'memcached', servers: CACHIER, authCostAgainst: 'ascii', maxMissRate: 0,
  },
  {
    name: 'binary',
    description: 'ours: binary get/set 90/10, 32 conns, closed loop',
    tool: 'load-closed', protocol: 'binary', auth: 'none', depth: 1, baseline: 'memcached', servers: BOTH, minThroughputRatio: 0.8, maxMissRate: 0,
  },
  {
    name: 'binary-sasl',
    description: 'ours: same as binary, every connection after SASL PLAIN (cachier only)',
    tool: 'load-closed', protocol: 'binary', auth: 'sasl-plain', depth: 1, baseline: 'memcached', servers: CACHIER, authCostAgainst: 'binary', maxMissRate: 0,
  },
  {
    name: 'meta',
    description: 'ours: meta mg/ms 90/10, 32 conns, closed loop',
    tool: 'load-closed', protocol: 'meta', auth: 'none', depth: 1, baseline: 'memcached', servers: BOTH, maxMissRate: 0,
  },
  {
    name: 'ascii-pipelined',
    description: 'ours: ASCII get/set 90/10, 32 conns, 16 in flight each',
    tool: 'load-closed', protocol: 'ascii', auth: 'none', depth: 16, baseline: 'memcached', servers: BOTH, peakCandidate: true, maxMissRate: 0,
  },
  {
    name: 'ascii-fixed-rate',
    description: "ours: ASCII get/set 90/10, open loop at half memcached's peak, 32 conns",
    tool: 'load-open', protocol: 'ascii', fractionOfPeak: 0.5, baseline: 'memcached', servers: BOTH, maxP99Ratio: 2, maxMissRate: 0,
  },
  // Issue 14: the same memcaslap loads as memcaslap-ascii / memcaslap-mget20, against
  // cachier with introspection on (the default) and off; no memcached involved.
  {
    name: 'introspection-ascii',
    description: 'memcaslap ASCII as memcaslap-ascii: cachier introspection on vs --no-introspection',
    tool: 'memcaslap', binary: false, division: 1, baseline: 'cachier-no-introspection', servers: INTROSPECTION_OFF_ON,
    minThroughputRatio: MIN_INTROSPECTION_RATIO, verify: 1, maxMissRate: 0, concurrent: true,
  },
  {
    name: 'introspection-mget20',
    description: 'memcaslap 20-key multi-gets as memcaslap-mget20: cachier introspection on vs --no-introspection',
    tool: 'memcaslap', binary: false, division: 20, baseline: 'cachier-no-introspection', servers: INTROSPECTION_OFF_ON,
    minThroughputRatio: MIN_INTROSPECTION_RATIO, maxMissRate: 0, concurrent: true,
  },
];

export interface RunProfile {
  readonly name: 'quick' | 'full';
  readonly rounds: number;
  readonly memcaslapSeconds: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly openWarmupSeconds: number;
  readonly openSeconds: number;
  readonly memoryItems: number;
  /** Longest wait for the rest of the machine to calm down before one measurement… */
  readonly quietWaitMs: number;
  /** …and in the whole run. */
  readonly quietBudgetMs: number;
}

export const QUICK: RunProfile = {
  name: 'quick', rounds: 1, memcaslapSeconds: 2, warmupSeconds: 0.5, seconds: 1.5,
  openWarmupSeconds: 1, openSeconds: 2, memoryItems: 200_000, quietWaitMs: 0, quietBudgetMs: 0,
};

export const FULL: RunProfile = {
  name: 'full', rounds: 2, memcaslapSeconds: 8, warmupSeconds: 1, seconds: 6,
  openWarmupSeconds: 2, openSeconds: 10, memoryItems: 1_000_000, quietWaitMs: 8_000, quietBudgetMs: 90_000,
};

/** Issue 16: K cachier node processes reach this share of `memcached -t K` at every K measured. */
export const MIN_SCALE_RATIO = 0.8;
/** Issue 16 (stretch): the node's CPU per single get / set within 5 % of memcached's. */
export const MAX_PER_CORE_CPU_RATIO = 1.05;
/**
 * A loader process busier than this (% of its core) may itself have been the limit: the
 * servers were then not saturated and the ratio tends to 1 whatever they are worth.
 */
export const LOADER_SATURATED_PERCENT = 90;
