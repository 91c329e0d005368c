/**
 * What the Insight screen knows about the API v2's insight endpoints, without the DOM (so
 * it is unit-tested in test/dashboard-insight.test.ts):
 *
 * - the 36 processed stats (`GET …/insight/processed_stats?names=…`), each with a label,
 *   a unit, the group the picker shows it in and the chart ("panel") it is drawn on. A
 *   panel holds stats of one unit, so its y axis means one thing;
 * - the ranges and the bucket the API picks for a span (cachier's decisions: ≤ 24 h →
 *   1 min, ≤ 7 d → 10 min, ≤ 92 d → 1 h, longer → 1 day; latency ≤ 24 h → 20 s);
 * - the charts to draw for a selection: whole cache, one chart per panel with a line per
 *   stat; per server, one chart per stat with a line per server;
 * - InfluxDB-1 series (columns read by name) turned into uPlot's aligned columns: a null
 *   (a ratio with a zero denominator) stays null and is drawn as a gap, and so is a
 *   stretch of missing buckets (the API leaves out buckets without samples).
 */

import type { ValueUnit } from './format.ts';

export type Unit = ValueUnit;

export interface StatInfo {
  readonly name: string;
  /** In the picker and the chart legend. */
  readonly label: string;
  readonly help: string;
  readonly unit: Unit;
  readonly group: GroupId;
  readonly panel: PanelId;
  /** A reference line (the memory limit): grey and dashed. */
  readonly reference?: boolean;
}

export const GROUPS = [
  { id: 'hit-rates', label: 'Hit rates', help: 'Share of lookups that found their key (0–100 %)' },
  { id: 'requests', label: 'Request rates', help: 'Commands per second' },
  { id: 'mix', label: 'Request mix', help: 'Each command’s share of all requests' },
  { id: 'memory', label: 'Memory', help: 'Memory, items, evictions and expirations' },
  { id: 'connections', label: 'Connections', help: 'Open and new connections, logins' },
  { id: 'bytes', label: 'Bytes', help: 'Network traffic of the memcache protocol' },
] as const;
export type GroupId = (typeof GROUPS)[number]['id'];

export const PANELS = [
  { id: 'hit-rates', title: 'Hit rates', description: 'hits ÷ (hits + misses) per bucket; a gap where there were no lookups', unit: 'ratio' },
  { id: 'requests', title: 'Requests per second', description: 'Commands per second, averaged over each bucket', unit: 'perSecond' },
  { id: 'mix', title: 'Request mix', description: 'Each command’s share of all requests per bucket; a gap where there were none', unit: 'ratio' },
  { id: 'memory', title: 'Memory', description: 'Bytes stored at the end of each bucket, against the limit', unit: 'bytes' },
  { id: 'items', title: 'Items', description: 'Items stored at the end of each bucket', unit: 'count' },
  { id: 'evictions', title: 'Evictions and expirations', description: 'Items pushed out to make room, and expired items, per second', unit: 'perSecond' },
  { id: 'connections', title: 'Open connections', description: 'Connections open at the end of each bucket', unit: 'count' },
  { id: 'connection-rates', title: 'New connections and logins', description: 'Per second, averaged over each bucket', unit: 'perSecond' },
  { id: 'traffic', title: 'Network traffic', description: 'Bytes per second read from and written to clients', unit: 'bytesPerSecond' },
] as const satisfies readonly { id: string; title: string; description: string; unit: Unit }[];
export type PanelId = (typeof PANELS)[number]['id'];

const stat = (name: string, label: string, unit: Unit, group: GroupId, panel: PanelId, help: string, reference?: boolean): StatInfo =>
  ({ name, label, unit, group, panel, help, ...(reference ? { reference } : {}) });

/** The 36 names of the spec's §2.13, in the order the picker lists them. */
export const STATS: readonly StatInfo[] = [
  stat('hit_rate', 'All lookups', 'ratio', 'hit-rates', 'hit-rates', 'hits ÷ (hits + misses) over get, delete, incr, decr, cas and touch'),
  stat('get_hit_rate', 'get', 'ratio', 'hit-rates', 'hit-rates', 'get hits ÷ (get hits + get misses)'),
  stat('delete_hit_rate', 'delete', 'ratio', 'hit-rates', 'hit-rates', 'deletes that found their key'),
  stat('incr_hit_rate', 'incr', 'ratio', 'hit-rates', 'hit-rates', 'incrs that found their key'),
  stat('decr_hit_rate', 'decr', 'ratio', 'hit-rates', 'hit-rates', 'decrs that found their key'),
  stat('cas_hit_rate', 'cas', 'ratio', 'hit-rates', 'hit-rates', 'cas hits ÷ (hits + misses + bad values)'),
  stat('touch_hit_rate', 'touch', 'ratio', 'hit-rates', 'hit-rates', 'touches that found their key'),

  stat('request_rate', 'All requests', 'perSecond', 'requests', 'requests', 'get + set + delete + incr + decr + cas + touch + flush, per second'),
  stat('get_rate', 'get', 'perSecond', 'requests', 'requests', 'gets per second (each key of a multi-get counts)'),
  stat('set_rate', 'set', 'perSecond', 'requests', 'requests', 'sets per second (set, add, replace, append, prepend, cas)'),
  stat('delete_rate', 'delete', 'perSecond', 'requests', 'requests', 'deletes per second'),
  stat('incr_rate', 'incr', 'perSecond', 'requests', 'requests', 'incrs per second'),
  stat('decr_rate', 'decr', 'perSecond', 'requests', 'requests', 'decrs per second'),
  stat('cas_rate', 'cas', 'perSecond', 'requests', 'requests', 'cas commands per second'),
  stat('touch_rate', 'touch', 'perSecond', 'requests', 'requests', 'touches per second'),
  stat('flush_rate', 'flush', 'perSecond', 'requests', 'requests', 'flushes per second'),
  stat('cas_badval_rate', 'cas bad value', 'perSecond', 'requests', 'requests', 'cas commands refused because the item changed, per second'),

  stat('get_fraction', 'get', 'ratio', 'mix', 'mix', 'gets ÷ all requests'),
  stat('set_fraction', 'set', 'ratio', 'mix', 'mix', 'sets ÷ all requests'),
  stat('delete_fraction', 'delete', 'ratio', 'mix', 'mix', 'deletes ÷ all requests'),
  stat('incr_fraction', 'incr', 'ratio', 'mix', 'mix', 'incrs ÷ all requests'),
  stat('decr_fraction', 'decr', 'ratio', 'mix', 'mix', 'decrs ÷ all requests'),
  stat('cas_fraction', 'cas', 'ratio', 'mix', 'mix', 'cas commands ÷ all requests'),
  stat('touch_fraction', 'touch', 'ratio', 'mix', 'mix', 'touches ÷ all requests'),
  stat('flush_fraction', 'flush', 'ratio', 'mix', 'mix', 'flushes ÷ all requests'),

  stat('bytes', 'Memory used', 'bytes', 'memory', 'memory', 'bytes stored (the last sample of each bucket)'),
  stat('max_bytes', 'Memory limit', 'bytes', 'memory', 'memory', 'the plan: limit_maxbytes', true),
  stat('items', 'Items', 'count', 'memory', 'items', 'items stored (the last sample of each bucket)'),
  stat('eviction_rate', 'Evictions', 'perSecond', 'memory', 'evictions', 'items evicted to make room, per second'),
  stat('get_expired_rate', 'Expired', 'perSecond', 'memory', 'evictions', 'items found expired, per second'),

  stat('connections', 'Open connections', 'count', 'connections', 'connections', 'connections open (the last sample of each bucket)'),
  stat('connection_rate', 'New connections', 'perSecond', 'connections', 'connection-rates', 'connections opened per second'),
  stat('auth_cmds_rate', 'Logins', 'perSecond', 'connections', 'connection-rates', 'login attempts per second'),
  stat('auth_errors_rate', 'Failed logins', 'perSecond', 'connections', 'connection-rates', 'failed login attempts per second'),

  stat('bytes_read_rate', 'Read', 'bytesPerSecond', 'bytes', 'traffic', 'bytes read from clients per second'),
  stat('bytes_write_rate', 'Written', 'bytesPerSecond', 'bytes', 'traffic', 'bytes written to clients per second'),
];

const BY_NAME = new Map(STATS.map((s) => [s.name, s]));

export function statInfo(name: string): StatInfo | undefined {
  return BY_NAME.get(name);
}

export function panelInfo(id: PanelId): (typeof PANELS)[number] {
  return PANELS.find((p) => p.id === id)!;
}

/** What the screen shows before anything is picked: one chart of each kind people look at first. */
export const DEFAULT_STATS: readonly string[] = [
  'hit_rate', 'get_hit_rate', 'request_rate', 'get_rate', 'set_rate', 'bytes', 'max_bytes', 'items', 'connections',
  'bytes_read_rate', 'bytes_write_rate',
];

/** Known names of a list, de-duplicated, in the catalogue's order. */
export function normalizeStats(names: Iterable<string>): string[] {
  const wanted = new Set(names);
  return STATS.filter((s) => wanted.has(s.name)).map((s) => s.name);
}

// ---------------------------------------------------------------- ranges and buckets

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const RANGES = [
  { id: '1h', label: '1 h', ms: HOUR },
  { id: '24h', label: '24 h', ms: DAY },
  { id: '7d', label: '7 d', ms: 7 * DAY },
  { id: '30d', label: '30 d', ms: 30 * DAY },
  { id: '90d', label: '90 d', ms: 90 * DAY },
] as const;
export type RangeId = (typeof RANGES)[number]['id'] | 'custom';

/** The longest range the API answers: 2 years (731 days). */
export const MAX_RANGE_MS = 731 * DAY;

/** The bucket of processed stats for a span, as the API picks it. */
export function processedBucketMs(spanMs: number): number {
  if (spanMs <= DAY) return MINUTE;
  if (spanMs <= 7 * DAY) return 10 * MINUTE;
  if (spanMs <= 92 * DAY) return HOUR;
  return DAY;
}

/** The bucket of latency for a span: 20 s up to a day, then as processed stats. */
export function latencyBucketMs(spanMs: number): number {
  return spanMs <= DAY ? 20_000 : processedBucketMs(spanMs);
}

/** "1 min", "10 min", "1 h", "1 day", "20 s". */
export function bucketLabel(ms: number): string {
  if (ms < MINUTE) return `${Math.round(ms / 1000)}\u00a0s`;
  if (ms < HOUR) return `${Math.round(ms / MINUTE)}\u00a0min`;
  if (ms < DAY) return `${Math.round(ms / HOUR)}\u00a0h`;
  return `${Math.round(ms / DAY)}\u00a0day`;
}

/** How often a relative range is read again: a sixth of its bucket, from 10 s to 5 min. */
export function refreshMs(bucketMs: number): number {
  return Math.min(5 * MINUTE, Math.max(10_000, bucketMs / 6));
}

/** RFC 3339 UTC to the second, as the API takes it: 2026-12-06T07:20:00Z. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/** Why a custom range cannot be asked for, or undefined when it can. */
export function rangeProblem(fromMs: number, toMs: number): string | undefined {
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) return 'Enter a start and an end.';
  if (fromMs >= toMs) return 'The start must be before the end.';
  if (toMs - fromMs > MAX_RANGE_MS) return 'A range can be at most 2 years (731 days).';
  return undefined;
}

// ---------------------------------------------------------------- charts for a selection

export interface PlannedSeries {
  readonly label: string;
  /** The column of the API's answer. */
  readonly stat: string;
  /** Per server: the series tagged with this server. */
  readonly server?: string;
  readonly reference?: boolean;
}

export interface ChartPlan {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly unit: Unit;
  readonly series: readonly PlannedSeries[];
}

/**
 * Whole cache: a chart per panel that has a selected stat, a line per selected stat of
 * it. Per server: a chart per selected stat, a line per server.
 */
export function chartPlans(selected: readonly string[], scope: 'cache' | 'server', servers: readonly string[]): ChartPlan[] {
  const stats = normalizeStats(selected).map((n) => BY_NAME.get(n)!);
  if (scope === 'server') {
    return stats.map((s) => ({
      id: `stat-${s.name}`,
      title: statTitle(s),
      description: `${s.help}; one line per server`,
      unit: s.unit,
      series: servers.map((server) => ({ label: server, stat: s.name, server })),
    }));
  }
  return PANELS.flatMap((p) => {
    const picked = stats.filter((s) => s.panel === p.id);
    if (!picked.length) return [];
    return [{
      id: `panel-${p.id}`,
      title: p.title,
      description: p.description,
      unit: p.unit,
      series: picked.map((s) => ({ label: s.label, stat: s.name, ...(s.reference ? { reference: true } : {}) })),
    }];
  });
}

/** A stat's name on its own chart: "get hit rate", "Memory used". */
export function statTitle(s: StatInfo): string {
  const panel = panelInfo(s.panel);
  if (s.group === 'hit-rates') return s.name === 'hit_rate' ? 'Hit rate (all lookups)' : `${s.label} hit rate`;
  if (s.group === 'mix') return `${s.label} share of requests`;
  if (s.group === 'requests') return s.name === 'request_rate' ? 'Requests per second' : `${s.label} per second`;
  if (panel.id === 'traffic') return `Bytes ${s.label.toLowerCase()} per second`;
  return s.label;
}

// ---------------------------------------------------------------- series → columns

/** An InfluxDB-1 series as the API answers it. */
export interface InfluxSeries {
  readonly name: string;
  readonly tags?: { readonly server?: string };
  readonly columns: readonly string[];
  readonly values: readonly (readonly (string | number | null)[])[];
}

/** One line's points: times in ms, values or null. */
export interface Line {
  readonly t: readonly number[];
  readonly v: readonly (number | null)[];
}

/** A column of a series by name (consumers read columns by name, not position); empty when it has none. */
export function column(series: InfluxSeries | undefined, name: string): Line {
  if (!series) return { t: [], v: [] };
  const ti = series.columns.indexOf('time');
  const ci = series.columns.indexOf(name);
  if (ti < 0 || ci < 0) return { t: [], v: [] };
  const t: number[] = [];
  const v: (number | null)[] = [];
  for (const row of series.values) {
    const at = Date.parse(String(row[ti]));
    if (!Number.isFinite(at)) continue;
    const x = row[ci];
    t.push(at);
    v.push(typeof x === 'number' && Number.isFinite(x) ? x : null);
  }
  return { t, v };
}

/**
 * Lines on one time axis, for uPlot: `t` in seconds, one array per line, null where a line
 * has no value (its own null, or no row at that time). Where more than two buckets in a
 * row are missing from every line, a null row is put in, so lines break there rather than
 * drawing across the hole (one missing bucket is a sample that landed in the next one).
 */
export function alignLines(lines: readonly Line[], bucketMs: number): { t: number[]; ys: (number | null)[][] } {
  const times = [...new Set(lines.flatMap((l) => l.t))].sort((a, b) => a - b);
  const withGaps: number[] = [];
  for (let i = 0; i < times.length; i++) {
    const at = times[i]!;
    const prev = times[i - 1];
    if (prev !== undefined && at - prev > 2 * bucketMs) withGaps.push(prev + bucketMs);
    withGaps.push(at);
  }
  const index = new Map(withGaps.map((at, i) => [at, i]));
  const ys = lines.map((l) => {
    const y: (number | null)[] = new Array<number | null>(withGaps.length).fill(null);
    l.t.forEach((at, i) => {
      y[index.get(at)!] = l.v[i] ?? null;
    });
    return y;
  });
  return { t: withGaps.map((ms) => ms / 1000), ys };
}

/** The lines of a plan from the API's answer (the one series of processed_stats, or per_server's). */
export function planLines(plan: ChartPlan, answer: readonly InfluxSeries[]): Line[] {
  return plan.series.map((s) => {
    const series = s.server === undefined ? answer.find((x) => !x.tags?.server) ?? answer[0] : answer.find((x) => x.tags?.server === s.server);
    return column(series, s.stat);
  });
}

/** The servers of a per_server or latency answer, in the API's order. */
export function seriesServers(answer: readonly InfluxSeries[]): string[] {
  return answer.map((s) => s.tags?.server).filter((s): s is string => typeof s === 'string');
}
