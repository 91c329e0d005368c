/**
 * Introspection over several nodes, pure: the nodes' admin answers (docs/introspection.md
 * "Node admin routes") checked and parsed, then merged into the v2 answers
 * (src/api/v2-introspection.ts). The routes (routes/v2/introspection.ts) only fetch and
 * call these, so every rule of the merge is tested here without sockets.
 *
 * - popular_items: each key's (or prefix's) count summed over the nodes, top 20 of each
 *   list, by count, then by bytes so equal counts come in a stable order.
 * - key_stats: one row per node that knows the key (in the cache, or counted in the window).
 * - recent_logs: each node's lines under its address, as the node sent them (oldest first).
 * - compound_stats / prefix_stats: the five series; rates per second over the bucket, the
 *   counters' deltas summed over the servers first (as insight's combineServers).
 * - keys: one page over every node. The cursor we hand out holds each node's own cursor
 *   (base64url of JSON, bound to the cache and prefix) and is checked strictly when it
 *   comes back, so a forged or stale one is a 400, never a node's error.
 */
import { isUtf8 } from 'node:buffer';
import type { PrefixSample } from '../catalog/catalog.ts';
import { bucketOf, counterDelta, type RollupRow } from '../catalog/rollups.ts';
import { combineServers } from '../api/insight-formulas.ts';
import { POPULAR_TOP, type KeyStatsRow, type PopularEntry, type PopularItems, type RecentLogsResponse } from '../api/v2-introspection.ts';
import type { WatchedPrefixCounters } from '../shared/prefix-counters.ts';
import { formatTime } from './insight/queries.ts';

// ---------------------------------------------------------------- key names

/**
 * How a key is shown: its bytes as UTF-8 when valid, otherwise printable ASCII as is,
 * `\\` for a backslash and `\xNN` for every other byte (docs/introspection.md).
 */
export function keyName(key: Buffer): string {
  if (isUtf8(key)) return key.toString('utf8');
  let out = '';
  for (const b of key) {
    if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

const keyFields = (key: Buffer) => ({ name: keyName(key), key_base64: key.toString('base64') });

// ---------------------------------------------------------------- node answers

/** A node's answer that is not the documented shape: the node counts as failed. */
export class NodeAnswerError extends Error {}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new NodeAnswerError(`${what}: not an object`);
  return v as Record<string, unknown>;
}
function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new NodeAnswerError(`${what}: not a count`);
  return v;
}
function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new NodeAnswerError(`${what}: not an array`);
  return v;
}
function bytes(v: unknown, what: string): Buffer {
  if (typeof v !== 'string' || !BASE64.test(v)) throw new NodeAnswerError(`${what}: not base64`);
  return Buffer.from(v, 'base64');
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new NodeAnswerError(`${what}: not a string`);
  return v;
}

export interface NodeCount {
  readonly key: Buffer;
  readonly count: number;
}

/** `GET …/introspection/popular`. */
export interface NodePopular {
  readonly windowMs: number;
  readonly hit: readonly NodeCount[];
  readonly miss: readonly NodeCount[];
  readonly mutated: readonly NodeCount[];
  readonly prefixes: readonly NodeCount[];
}

const counts = (v: unknown, what: string): NodeCount[] =>
  arr(v, what).map((e, i) => {
    const o = obj(e, `${what}[${i}]`);
    return { key: bytes(o.key, `${what}[${i}].key`), count: num(o.count, `${what}[${i}].count`) };
  });

export function parsePopular(body: unknown): NodePopular {
  const o = obj(body, 'popular');
  return {
    windowMs: num(o.windowMs, 'popular.windowMs'),
    hit: counts(o.hit, 'popular.hit'),
    miss: counts(o.miss, 'popular.miss'),
    mutated: counts(o.mutated, 'popular.mutated'),
    prefixes: counts(o.prefixes, 'popular.prefixes'),
  };
}

/** `GET …/introspection/key`. */
export interface NodeKeyStats {
  readonly inCache: boolean;
  readonly size: number;
  readonly hits: number;
  readonly misses: number;
  readonly mutations: number;
}

export function parseKeyStats(body: unknown): NodeKeyStats {
  const o = obj(body, 'key');
  if (typeof o.inCache !== 'boolean') throw new NodeAnswerError('key.inCache: not a boolean');
  return {
    inCache: o.inCache, size: num(o.size, 'key.size'),
    hits: num(o.hits, 'key.hits'), misses: num(o.misses, 'key.misses'), mutations: num(o.mutations, 'key.mutations'),
  };
}

/** One line of `GET …/introspection/recent`. */
export interface NodeRecentLine {
  readonly time: number;
  readonly command: string;
  readonly status: string;
  readonly key: Buffer;
  readonly size: number;
}

export function parseRecent(body: unknown): NodeRecentLine[] {
  return arr(obj(body, 'recent').lines, 'recent.lines').map((e, i) => {
    const o = obj(e, `recent.lines[${i}]`);
    return {
      time: num(o.time, 'time'), command: str(o.command, 'command'), status: str(o.status, 'status'),
      key: bytes(o.key, 'key'), size: num(o.size, 'size'),
    };
  });
}

/** A node's watched prefixes' cumulative counters (`GET …/introspection/prefixes`). */
export function parsePrefixes(body: unknown): WatchedPrefixCounters[] {
  return arr(obj(body, 'prefixes').prefixes, 'prefixes.prefixes').map((e, i) => {
    const o = obj(e, `prefixes[${i}]`);
    if (typeof o.scanning !== 'boolean') throw new NodeAnswerError('prefixes.scanning: not a boolean');
    return {
      id: num(o.id, 'id'), keys: num(o.keys, 'keys'), bytes: num(o.bytes, 'bytes'),
      hits: num(o.hits, 'hits'), misses: num(o.misses, 'misses'), mutations: num(o.mutations, 'mutations'), scanning: o.scanning,
    };
  });
}

/** `GET …/introspection/keys`: one node's page. */
export interface NodeKeysPage {
  readonly keys: readonly { readonly key: Buffer; readonly size: number; readonly ttl: number }[];
  readonly cursor: string | null;
}

export function parseKeysPage(body: unknown): NodeKeysPage {
  const o = obj(body, 'keys');
  const keys = arr(o.keys, 'keys.keys').map((e, i) => {
    const k = obj(e, `keys[${i}]`);
    const ttl = k.ttl;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < -1) throw new NodeAnswerError('keys.ttl: not a ttl');
    return { key: bytes(k.key, 'key'), size: num(k.size, 'size'), ttl };
  });
  if (o.cursor !== null && (typeof o.cursor !== 'string' || o.cursor === '' || o.cursor.length > MAX_NODE_CURSOR)) {
    throw new NodeAnswerError('keys.cursor: not a cursor');
  }
  return { keys, cursor: o.cursor };
}

// ---------------------------------------------------------------- popular_items

/** The window when no node answered one: 3 minutes. */
export const DEFAULT_WINDOW_MS = 180_000;

function topOf(lists: readonly (readonly NodeCount[])[], top: number): PopularEntry[] {
  const sums = new Map<string, { key: Buffer; count: number }>();
  for (const list of lists) {
    for (const { key, count } of list) {
      const id = key.toString('base64');
      const s = sums.get(id);
      if (s) s.count += count;
      else sums.set(id, { key, count });
    }
  }
  return [...sums.values()]
    .sort((a, b) => b.count - a.count || Buffer.compare(a.key, b.key))
    .slice(0, top)
    .map(({ key, count }) => ({ ...keyFields(key), popularity: Math.round(count) }));
}

/** The nodes' popular lists as one answer; `time_slice` in nanoseconds. */
export function mergePopular(perNode: readonly NodePopular[], top = POPULAR_TOP): PopularItems {
  const windowMs = perNode.reduce((m, p) => Math.max(m, p.windowMs), 0) || DEFAULT_WINDOW_MS;
  return {
    time_slice: windowMs * 1_000_000,
    most_hit_keys: topOf(perNode.map((p) => p.hit), top),
    most_missed_keys: topOf(perNode.map((p) => p.miss), top),
    most_mutated_keys: topOf(perNode.map((p) => p.mutated), top),
    popular_prefixes: topOf(perNode.map((p) => p.prefixes), top),
  };
}

// ---------------------------------------------------------------- key_stats, recent_logs

/** A row per node (in the order given) that has the key or counted it. */
export function keyStatsRows(key: Buffer, perNode: ReadonlyMap<string, NodeKeyStats>, now: number): KeyStatsRow[] {
  const rows: KeyStatsRow[] = [];
  for (const [server, s] of perNode) {
    if (!s.inCache && s.hits + s.misses + s.mutations === 0) continue;
    rows.push({
      timestamp: formatTime(now), ...keyFields(key), size: s.size,
      hit_count: s.hits, miss_count: s.misses, mutation_count: s.mutations, in_cache: s.inCache, server,
    });
  }
  return rows;
}

/** Each node's lines under its address; times RFC 3339 with milliseconds. */
export function recentLogs(perNode: ReadonlyMap<string, readonly NodeRecentLine[]>): RecentLogsResponse {
  const out: RecentLogsResponse = {};
  for (const [server, lines] of perNode) {
    out[server] = lines.map((l) => ({
      timestamp: new Date(l.time).toISOString(), key: keyName(l.key), key_base64: l.key.toString('base64'),
      command: l.command, status: l.status, size: l.size,
    }));
  }
  return out;
}

// ---------------------------------------------------------------- the five series

type SeriesRow = [string, number | null, number | null, number | null, number | null, number | null];

const perSecond = (n: number, seconds: number): number | null => (seconds > 0 ? n / seconds : null);

/**
 * compound_stats from the cache's rollups at one level: num_keys = curr_items, total_size
 * = bytes (last sample of the bucket, summed over servers), rates of get_hits, get_misses
 * and mutations (every storage command, incr, decr, delete and touch).
 */
export function compoundRows(rows: readonly RollupRow[]): SeriesRow[] {
  const byBucket = new Map<number, RollupRow[]>();
  for (const r of rows) {
    const list = byBucket.get(r.bucket);
    if (list) list.push(r);
    else byBucket.set(r.bucket, [r]);
  }
  return [...byBucket].sort((a, b) => a[0] - b[0]).map(([bucket, list]) => {
    const b = combineServers(list);
    const c = b.counters;
    const mutations = c.cmd_set + c.incr_hits + c.incr_misses + c.decr_hits + c.decr_misses + c.cmd_delete + c.cmd_touch;
    return [
      formatTime(bucket), b.gauges.curr_items, b.gauges.bytes,
      perSecond(c.get_hits, b.seconds), perSecond(c.get_misses, b.seconds), perSecond(mutations, b.seconds),
    ];
  });
}

/**
 * prefix_stats: per server, the step from one sample to the next belongs to the bucket of
 * the later one (a counter that went down — a node restart — counts from zero); the
 * buckets are those from `from`'s to `to`'s, so samples before `from` serve only as the
 * first step's start. Then as compound_stats: deltas summed over servers, over the longest
 * time a server covers; keys and size the last sample of each server, summed.
 */
export function prefixRows(samples: readonly Omit<PrefixSample, 'cacheId' | 'prefixId'>[], level: number, range: { from: number; to: number }): SeriesRow[] {
  const first = bucketOf(range.from, level);
  interface Steps { seconds: number; hits: number; misses: number; mutations: number }
  interface Bucket extends Steps { readonly last: Map<string, Omit<PrefixSample, 'cacheId' | 'prefixId'>> }
  const buckets = new Map<number, Bucket>();
  const byServer = new Map<string, Omit<PrefixSample, 'cacheId' | 'prefixId'>[]>();
  for (const s of samples) {
    const list = byServer.get(s.server);
    if (list) list.push(s);
    else byServer.set(s.server, [s]);
  }
  for (const [server, list] of byServer) {
    list.sort((a, b) => a.timestamp - b.timestamp);
    const mine = new Map<number, Steps>();
    list.forEach((s, i) => {
      const bucket = bucketOf(s.timestamp, level);
      if (bucket < first || s.timestamp > range.to) return;
      let b = buckets.get(bucket);
      if (!b) buckets.set(bucket, (b = { seconds: 0, hits: 0, misses: 0, mutations: 0, last: new Map() }));
      b.last.set(server, s); // sorted: the last one set is the bucket's last
      let m = mine.get(bucket);
      if (!m) mine.set(bucket, (m = { seconds: 0, hits: 0, misses: 0, mutations: 0 }));
      const p = list[i - 1];
      if (!p) return;
      m.seconds += (s.timestamp - p.timestamp) / 1000;
      m.hits += counterDelta(p.hits, s.hits);
      m.misses += counterDelta(p.misses, s.misses);
      m.mutations += counterDelta(p.mutations, s.mutations);
    });
    for (const [bucket, m] of mine) {
      const b = buckets.get(bucket)!;
      b.seconds = Math.max(b.seconds, m.seconds);
      b.hits += m.hits;
      b.misses += m.misses;
      b.mutations += m.mutations;
    }
  }
  return [...buckets].sort((a, b) => a[0] - b[0]).map(([bucket, b]) => {
    const last = [...b.last.values()];
    return [
      formatTime(bucket), last.reduce((n, s) => n + s.keys, 0), last.reduce((n, s) => n + s.bytes, 0),
      perSecond(b.hits, b.seconds), perSecond(b.misses, b.seconds), perSecond(b.mutations, b.seconds),
    ];
  });
}

// ---------------------------------------------------------------- keys: one page over the nodes

/** The longest cursor a node may hand us (anything longer is not kept in ours). */
export const MAX_NODE_CURSOR = 1024;

/**
 * Where a walk over every node stands: per node address its cursor, or null once it is
 * done; a node not named has not started (one added since the walk began is walked too).
 */
export type KeysWalk = ReadonlyMap<string, string | null>;

/** A cursor that is not one we handed out for this cache and prefix. */
export class BadCursorError extends Error {}

interface CursorJson {
  v: 1;
  c: number;
  p: string;
  n: Record<string, string | null>;
}

export function encodeKeysCursor(cacheId: number, prefix: Buffer, walk: KeysWalk): string {
  const json: CursorJson = { v: 1, c: cacheId, p: prefix.toString('base64'), n: Object.fromEntries(walk) };
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

export function decodeKeysCursor(cursor: string, cacheId: number, prefix: Buffer): KeysWalk {
  if (!/^[A-Za-z0-9_-]{1,16384}$/.test(cursor)) throw new BadCursorError('not base64url');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new BadCursorError('not a cursor');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BadCursorError('not a cursor');
  const o = json as Record<string, unknown>;
  if (Object.keys(o).sort().join() !== 'c,n,p,v' || o.v !== 1) throw new BadCursorError('not a cursor');
  if (o.c !== cacheId || o.p !== prefix.toString('base64')) throw new BadCursorError('from another cache or prefix');
  if (typeof o.n !== 'object' || o.n === null || Array.isArray(o.n)) throw new BadCursorError('not a cursor');
  const entries = Object.entries(o.n as Record<string, unknown>);
  if (entries.length > 1000) throw new BadCursorError('not a cursor');
  const walk = new Map<string, string | null>();
  for (const [address, c] of entries) {
    if (!/^[^\s/]{1,300}$/.test(address)) throw new BadCursorError('not a cursor');
    if (c !== null && (typeof c !== 'string' || c === '' || c.length > MAX_NODE_CURSOR)) throw new BadCursorError('not a cursor');
    walk.set(address, c);
  }
  return walk;
}

/** What to ask one node for this page. */
export interface KeysAsk {
  readonly address: string;
  /** Its cursor, or undefined to start it. */
  readonly cursor: string | undefined;
  readonly limit: number;
}

/**
 * Splits `limit` over the nodes not done yet (in the order given), so the page never
 * holds more than `limit` keys; with fewer keys asked for than nodes, the first ones go.
 * Nodes the walk names but the catalog no longer lists are forgotten.
 */
export function planKeysPage(addresses: readonly string[], walk: KeysWalk, limit: number): KeysAsk[] {
  const open = addresses.filter((a) => walk.get(a) !== null);
  const share = Math.floor(limit / Math.max(1, open.length));
  const extra = limit - share * open.length;
  return open
    .map((address, i) => ({ address, cursor: walk.get(address) ?? undefined, limit: share + (i < extra ? 1 : 0) }))
    .filter((a) => a.limit > 0);
}

/**
 * The page from the nodes' answers, and the walk after it: each asked node moves to its
 * new cursor (null when done); the others keep theirs. The cursor is null once every
 * node of `addresses` is done.
 */
export function mergeKeysPage(
  addresses: readonly string[], walk: KeysWalk, answers: ReadonlyMap<string, NodeKeysPage>,
): { keys: { name: string; key_base64: string; size: number; ttl: number; server: string }[]; walk: KeysWalk | null } {
  const next = new Map<string, string | null>();
  const keys: { name: string; key_base64: string; size: number; ttl: number; server: string }[] = [];
  for (const address of addresses) {
    const page = answers.get(address);
    if (page) {
      for (const k of page.keys) keys.push({ ...keyFields(k.key), size: k.size, ttl: k.ttl, server: address });
      next.set(address, page.cursor);
    } else if (walk.has(address)) {
      next.set(address, walk.get(address)!);
    }
  }
  const done = addresses.every((a) => next.get(a) === null);
  return { keys, walk: done ? null : next };
}
