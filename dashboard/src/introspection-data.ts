/**
 * What the Introspection screen knows about the API v2's introspection endpoints, without
 * the DOM (unit-tested in test/dashboard-introspection.test.ts):
 *
 * - the answers' shapes (docs/introspection.md and the spec's §2.24–2.32): a key object
 *   carries `name` (for people: UTF-8, or `\xNN` escapes) and `key_base64` (the exact
 *   bytes, what a lookup of a listed key sends back);
 * - `recent_logs` (an object keyed by server) merged into one list, newest first, and
 *   filtered by command, status and part of the key;
 * - the five series of a watched prefix, read by column name;
 * - the popular-items window (`time_slice`, nanoseconds) in words.
 */
import { column, type InfluxSeries, type Line } from './insight-stats.ts';
import type { ValueUnit } from './format.ts';

/** A key (or prefix) as the API names it. */
export interface KeyRef {
  readonly name: string;
  /** The exact bytes; optional so a prefix list without it still reads. */
  readonly key_base64?: string;
}

export interface PopularItem extends KeyRef {
  /** Requests in the window (an estimate under load). */
  readonly popularity: number;
}

export interface PopularItems {
  /** The window, nanoseconds. */
  readonly time_slice: number;
  readonly most_hit_keys: readonly PopularItem[];
  readonly most_missed_keys: readonly PopularItem[];
  readonly most_mutated_keys: readonly PopularItem[];
  readonly popular_prefixes: readonly PopularItem[];
}

export const POPULAR_LISTS = [
  { id: 'hit', field: 'most_hit_keys', title: 'Most hit', empty: 'No hits in the window.', help: 'gets that found the key' },
  { id: 'missed', field: 'most_missed_keys', title: 'Most missed', empty: 'No misses in the window.', help: 'gets of a key that was not there: never stored, expired or evicted' },
  { id: 'mutated', field: 'most_mutated_keys', title: 'Most mutated', empty: 'No changes in the window.', help: 'set, add, replace, append, prepend, cas, incr, decr, delete, touch' },
  { id: 'prefixes', field: 'popular_prefixes', title: 'Popular prefixes', empty: 'No prefixed keys in the window.', help: 'keys cut at their last : / . _ - | #' },
] as const satisfies readonly { id: string; field: keyof PopularItems; title: string; empty: string; help: string }[];
export type PopularListId = (typeof POPULAR_LISTS)[number]['id'];

/** One row of `key_stats`: one per server that knows the key. */
export interface KeyStatsRow extends KeyRef {
  readonly timestamp?: string;
  readonly server?: string;
  readonly size: number;
  readonly hit_count: number;
  readonly miss_count: number;
  readonly mutation_count: number;
  readonly in_cache: boolean;
}

export interface RecentLogLine {
  readonly timestamp: string;
  /** The key's name ("" for a command without one, e.g. STATS). */
  readonly key: string;
  readonly key_base64?: string;
  readonly command: string;
  readonly status: string;
  readonly size: number;
}

/** `recent_logs`: lines per `host:port`. */
export type RecentLogs = Readonly<Record<string, readonly RecentLogLine[]>>;

export interface WatchedPrefix {
  readonly id: number;
  readonly name: string;
}

export interface ListedKey extends KeyRef {
  readonly size: number;
  /** Seconds left; -1 never expires. */
  readonly ttl: number;
  readonly server?: string;
}

export interface KeyListing {
  readonly keys: readonly ListedKey[];
  /** Opaque; null at the end of the walk. */
  readonly cursor: string | null;
}

// ---------------------------------------------------------------- recent requests

export interface RecentRow {
  readonly server: string;
  /** ms since the epoch (NaN when unparsable: sorted last). */
  readonly time: number;
  readonly timestamp: string;
  readonly command: string;
  readonly status: string;
  readonly key: string;
  readonly size: number;
}

/** Every server's lines in one list, newest first (a stable order for equal times: server, then the server's own order). */
export function mergeRecent(logs: RecentLogs): RecentRow[] {
  const rows: (RecentRow & { seq: number })[] = [];
  for (const server of Object.keys(logs).sort()) {
    const lines = logs[server];
    if (!Array.isArray(lines)) continue;
    lines.forEach((l: RecentLogLine, seq) => {
      rows.push({
        server, seq, time: Date.parse(l.timestamp), timestamp: l.timestamp, command: String(l.command ?? ''),
        status: String(l.status ?? ''), key: typeof l.key === 'string' ? l.key : '', size: Number(l.size) || 0,
      });
    });
  }
  const t = (r: RecentRow) => (Number.isFinite(r.time) ? r.time : -Infinity);
  rows.sort((a, b) => t(b) - t(a) || (a.server < b.server ? -1 : a.server > b.server ? 1 : 0) || b.seq - a.seq);
  return rows.map(({ seq: _seq, ...r }) => r);
}

export interface RecentFilter {
  /** '' for all. */
  readonly command: string;
  readonly status: string;
  /** Part of the key, case-sensitive (keys are bytes); '' for all. */
  readonly key: string;
}

export function filterRecent(rows: readonly RecentRow[], f: RecentFilter): RecentRow[] {
  return rows.filter((r) => (!f.command || r.command === f.command) && (!f.status || r.status === f.status) && (!f.key || r.key.includes(f.key)));
}

/** The commands and statuses of the spec's vocabulary, then any other the answer has, for the filter menus. */
export const COMMANDS = ['GET', 'SET', 'ADD', 'REPLACE', 'APPEND', 'PREPEND', 'CAS', 'INCR', 'DECR', 'DELETE', 'TOUCH', 'GAT', 'FLUSH', 'STATS', 'AUTH', 'VERSION', 'NOOP'];
export const STATUSES = ['HIT', 'MISS', 'STORED', 'NOT_STORED', 'EXISTS', 'NOT_FOUND', 'DELETED', 'TOUCHED', 'OK', 'ERROR', 'DENIED'];

/** `known` first (in its order), then the values only `rows` have, sorted; each with its count in `rows`. */
export function choices(known: readonly string[], values: readonly string[]): { value: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const extra = [...counts.keys()].filter((v) => !known.includes(v)).sort();
  return [...known, ...extra].map((value) => ({ value, count: counts.get(value) ?? 0 }));
}

/** The class of a status chip: found or done (good), not there (fair), refused or failed (poor). */
export function statusTone(status: string): 'good' | 'fair' | 'poor' | 'none' {
  if (['HIT', 'STORED', 'DELETED', 'TOUCHED', 'OK'].includes(status)) return 'good';
  if (['MISS', 'NOT_FOUND', 'NOT_STORED', 'EXISTS'].includes(status)) return 'fair';
  if (['ERROR', 'DENIED'].includes(status)) return 'poor';
  return 'none';
}

// ---------------------------------------------------------------- watched prefixes

/** The five series of `prefixes/<id>/stats` (and `compound_stats`), each on a chart of its own. */
export const PREFIX_SERIES = [
  { column: 'num_keys', title: 'Keys', description: 'Keys under the prefix at the end of each bucket', unit: 'count', label: 'keys' },
  { column: 'total_size', title: 'Size', description: 'Bytes of the values under the prefix', unit: 'bytes', label: 'size' },
  { column: 'total_hits_rate', title: 'Hits', description: 'gets that found a key under the prefix, per second', unit: 'perSecond', label: 'hits' },
  { column: 'total_misses_rate', title: 'Misses', description: 'gets of a missing key under the prefix, per second', unit: 'perSecond', label: 'misses' },
  { column: 'total_mutations_rate', title: 'Mutations', description: 'Changes to keys under the prefix, per second', unit: 'perSecond', label: 'mutations' },
] as const satisfies readonly { column: string; title: string; description: string; unit: ValueUnit; label: string }[];

/** One line per series, read by column name from the (one) series of the answer. */
export function prefixLines(answer: readonly InfluxSeries[]): Line[] {
  const series = answer.find((s) => s.name === 'prefix_stats') ?? answer[0];
  return PREFIX_SERIES.map((s) => column(series, s.column));
}

/** Why a prefix cannot be watched, or undefined (the API has the last word: it refuses a 51st). */
export function prefixProblem(name: string, watched: readonly WatchedPrefix[]): string | undefined {
  if (name === '') return 'Enter a prefix, e.g. user: or session_.';
  if (new TextEncoder().encode(name).length > 250) return 'A prefix is at most 250 bytes (the longest key memcache takes).';
  if (watched.some((p) => p.name === name)) return `“${name}” is already watched.`;
  return undefined;
}

// ---------------------------------------------------------------- small formats

/** `time_slice` (ns) as words: "3 min", "45 s". */
export function windowLabel(timeSliceNs: number): string {
  const s = timeSliceNs / 1e9;
  if (!Number.isFinite(s) || s <= 0) return 'the last few minutes';
  if (s < 90) return `${Math.round(s)}\u00a0s`;
  return `${Math.round(s / 60)}\u00a0min`;
}

/** A TTL in words: never, 42 s, 5 min, 3 h, 2 d. */
export function ttlLabel(ttl: number): string {
  if (ttl < 0) return 'never';
  if (ttl < 90) return `${ttl}\u00a0s`;
  if (ttl < 90 * 60) return `${Math.round(ttl / 60)}\u00a0min`;
  if (ttl < 36 * 3600) return `${Math.round(ttl / 3600)}\u00a0h`;
  return `${Math.round(ttl / 86400)}\u00a0d`;
}

/** A log line's time with milliseconds (many lines share a second), in local time. */
export function logTime(row: { time: number; timestamp: string }): string {
  if (!Number.isFinite(row.time)) return row.timestamp;
  const d = new Date(row.time);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
