/**
 * Rollups of the stats history, so insight answers any range from a few thousand rows.
 *
 * For each (cache, server) and each level (bucket width: 1 min, 10 min, 1 h, 1 day) a row
 * per bucket holds, for every counter, the sum of its non-negative deltas between
 * consecutive stored samples; `seconds`, the time those deltas cover; `samples`, how many
 * samples fell in the bucket; and the last value of each gauge with its sample's time.
 *
 * - Attribution: the step from sample p to the next stored sample s (of the same cache and
 *   server) belongs to the bucket that holds s: its deltas and s.ts − p.ts are added there.
 *   A cache's first sample adds gauges only (nothing to subtract from).
 * - Resets: a counter that went down (reset_stats, a node restart) counts from zero, so
 *   its delta is the new value. No delta is ever negative.
 * - Maintained by `addHistory`, for the samples it actually inserted, in the same
 *   transaction. A sample that lands between two stored ones (out of order) replaces the
 *   step p→n by p→s and s→n: `rollupChanges` works on the stored sequence around what
 *   was inserted, so the rollups are always what the stored samples say, whatever the
 *   order they came in.
 * - Kept per level for its own retention (`RollupRetention`), thinned with the history.
 *
 * Pure: the catalogs (sqlite.ts, postgres.ts) store what this computes.
 */
import type { HistorySample } from './catalog.ts';

const DAY_MS = 86_400_000;

/** Bucket widths of the rollup levels, in ms. */
export const ROLLUP_LEVELS = [60_000, 600_000, 3_600_000, 86_400_000] as const;
export type RollupLevel = (typeof ROLLUP_LEVELS)[number];

/**
 * The counters a rollup row sums, one column each. Frozen here (the migration made these
 * columns): a new counter needs a new migration, not an edit of this list.
 */
export const ROLLUP_COUNTERS = [
  'auth_cmds', 'auth_errors', 'bytes_read', 'bytes_written',
  'cas_badval', 'cas_hits', 'cas_misses', 'cmd_delete', 'cmd_flush', 'cmd_get', 'cmd_set', 'cmd_touch',
  'decr_hits', 'decr_misses', 'delete_hits', 'delete_misses',
  'evictions', 'expired', 'get_hits', 'get_misses', 'incr_hits', 'incr_misses',
  'total_connections', 'total_items', 'touch_hits', 'touch_misses',
] as const;
export type RollupCounter = (typeof ROLLUP_COUNTERS)[number];

/** The gauges a rollup row keeps the last value of. */
export const ROLLUP_GAUGES = ['bytes', 'curr_items', 'curr_connections', 'limit_maxbytes', 'time'] as const;
export type RollupGauge = (typeof ROLLUP_GAUGES)[number];

/** One bucket of one (cache, server) at one level, as stored. */
export interface RollupRow {
  readonly cacheId: number;
  readonly server: string;
  readonly level: RollupLevel;
  /** Bucket start, ms since the epoch (a multiple of `level`). */
  readonly bucket: number;
  /** Seconds covered by the deltas summed here (0 when the bucket holds only a cache's first sample). */
  readonly seconds: number;
  /** Samples whose time falls in the bucket. */
  readonly samples: number;
  /** Sum of each counter's deltas. */
  readonly counters: Readonly<Record<RollupCounter, number>>;
  /** Time (ms) of the last sample in the bucket, the one the gauges come from. */
  readonly gaugeTs: number;
  /** Each gauge's value in that sample (null when the sample did not carry it). */
  readonly gauges: Readonly<Record<RollupGauge, number | null>>;
}

/** How long each level's rows are kept, ms. */
export type RollupRetention = Readonly<Record<RollupLevel, number>>;

/** 1 min for 2 days, 10 min for 15 days, 1 h for a year (366 d), 1 day for 3 years (1,096 d). */
export const DEFAULT_ROLLUP_RETENTION: RollupRetention = {
  60_000: 2 * DAY_MS,
  600_000: 15 * DAY_MS,
  3_600_000: 366 * DAY_MS,
  86_400_000: 1096 * DAY_MS,
};

export const bucketOf = (ts: number, level: number): number => Math.floor(ts / level) * level;

/** A counter's delta from `before` to `after`: a counter that went down restarted from zero. */
export function counterDelta(before: number | undefined, after: number | undefined): number {
  if (typeof after !== 'number' || !Number.isFinite(after) || after < 0) return 0;
  if (typeof before !== 'number' || !Number.isFinite(before)) return 0;
  return after >= before ? after - before : after;
}

/** What one change adds to one rollup row (negative values take back an earlier step). */
export interface RollupChange {
  readonly cacheId: number;
  readonly server: string;
  readonly level: RollupLevel;
  readonly bucket: number;
  seconds: number;
  samples: number;
  readonly counters: Record<RollupCounter, number>;
  /** The newest sample offered for this row's gauges, or -1 when none. */
  gaugeTs: number;
  gauges: Record<RollupGauge, number | null>;
}

/** A stored sample in a (cache, server) sequence: its time, stats, and whether this call inserted it. */
export interface SequenceSample {
  readonly timestamp: number;
  readonly stats: Readonly<Record<string, number>>;
  readonly inserted: boolean;
}

/** Sums changes per (cache, server, level, bucket), so each row is written once per call. */
export class RollupChanges {
  private readonly rows = new Map<string, RollupChange>();

  private row(cacheId: number, server: string, level: RollupLevel, bucket: number): RollupChange {
    const key = `${cacheId}\u0000${server}\u0000${level}\u0000${bucket}`;
    let r = this.rows.get(key);
    if (!r) {
      r = {
        cacheId, server, level, bucket, seconds: 0, samples: 0, gaugeTs: -1,
        counters: Object.fromEntries(ROLLUP_COUNTERS.map((c) => [c, 0])) as Record<RollupCounter, number>,
        gauges: Object.fromEntries(ROLLUP_GAUGES.map((g) => [g, null])) as Record<RollupGauge, number | null>,
      };
      this.rows.set(key, r);
    }
    return r;
  }

  /** The step prev → next, added (sign 1) or taken back (sign −1), in next's buckets. */
  step(cacheId: number, server: string, prev: SequenceSample, next: SequenceSample, sign: 1 | -1): void {
    const seconds = (next.timestamp - prev.timestamp) / 1000;
    const deltas = ROLLUP_COUNTERS.map((c) => counterDelta(prev.stats[c], next.stats[c]));
    for (const level of ROLLUP_LEVELS) {
      const r = this.row(cacheId, server, level, bucketOf(next.timestamp, level));
      r.seconds += sign * seconds;
      ROLLUP_COUNTERS.forEach((c, i) => (r.counters[c] += sign * deltas[i]!));
    }
  }

  /** A newly stored sample: counted in its buckets, and offered as their last gauges. */
  sample(cacheId: number, server: string, s: SequenceSample): void {
    for (const level of ROLLUP_LEVELS) {
      const r = this.row(cacheId, server, level, bucketOf(s.timestamp, level));
      r.samples += 1;
      if (s.timestamp >= r.gaugeTs) {
        r.gaugeTs = s.timestamp;
        for (const g of ROLLUP_GAUGES) {
          const v = s.stats[g];
          r.gauges[g] = typeof v === 'number' && Number.isFinite(v) ? v : null;
        }
      }
    }
  }

  /**
   * One (cache, server)'s stored sequence around the samples just inserted: from the
   * stored sample before the first inserted one to the one after the last (when they
   * exist), in time order, inserted ones marked. Adds the steps of the new sequence that
   * the old one (without the inserted samples) did not have, and takes back those it loses.
   */
  sequence(cacheId: number, server: string, seq: readonly SequenceSample[]): void {
    const old = seq.filter((s) => !s.inserted);
    const oldSteps = new Set<string>();
    for (let i = 1; i < old.length; i++) oldSteps.add(`${old[i - 1]!.timestamp}/${old[i]!.timestamp}`);
    const newSteps = new Set<string>();
    for (let i = 1; i < seq.length; i++) {
      const [p, n] = [seq[i - 1]!, seq[i]!];
      const key = `${p.timestamp}/${n.timestamp}`;
      newSteps.add(key);
      if (!oldSteps.has(key)) this.step(cacheId, server, p, n, 1);
    }
    for (let i = 1; i < old.length; i++) {
      const [p, n] = [old[i - 1]!, old[i]!];
      if (!newSteps.has(`${p.timestamp}/${n.timestamp}`)) this.step(cacheId, server, p, n, -1);
    }
    for (const s of seq) if (s.inserted) this.sample(cacheId, server, s);
  }

  get size(): number {
    return this.rows.size;
  }

  values(): IterableIterator<RollupChange> {
    return this.rows.values();
  }
}

/** Inserted samples grouped by (cache, server), each group in time order. */
export function groupByServer<T extends Pick<HistorySample, 'cacheId' | 'server' | 'timestamp'>>(
  samples: readonly T[],
): { cacheId: number; server: string; samples: T[] }[] {
  const groups = new Map<string, { cacheId: number; server: string; samples: T[] }>();
  for (const s of samples) {
    const key = `${s.cacheId}\u0000${s.server}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { cacheId: s.cacheId, server: s.server, samples: [] }));
    g.samples.push(s);
  }
  for (const g of groups.values()) g.samples.sort((a, b) => a.timestamp - b.timestamp);
  return [...groups.values()];
}

/**
 * The rollups a set of samples gives, computed the plain way (sort each (cache, server),
 * sum every step into the later sample's buckets, keep the last gauges): the reference
 * the contract tests hold the catalogs to.
 */
export function rollupsOf(samples: readonly HistorySample[]): RollupChange[] {
  const changes = new RollupChanges();
  for (const g of groupByServer(samples)) {
    changes.sequence(g.cacheId, g.server, g.samples.map((s) => ({ timestamp: s.timestamp, stats: s.stats, inserted: true })));
  }
  return [...changes.values()];
}

/** Rollup table columns: a counter's delta sum, a gauge's last value (prefixed, so no name is an SQL keyword). */
export const counterColumn = (c: RollupCounter): string => `d_${c}`;
export const gaugeColumn = (g: RollupGauge): string => `g_${g}`;

/** A stored rollup row by column name (either catalog; numbers may come as strings from PostgreSQL). */
export function rollupRowFromColumns(r: Record<string, unknown>): RollupRow {
  const num = (v: unknown) => Number(v);
  return {
    cacheId: num(r.cache_id), server: String(r.server), level: num(r.level) as RollupLevel, bucket: num(r.bucket),
    seconds: num(r.seconds), samples: num(r.samples), gaugeTs: num(r.gauge_ts),
    counters: Object.fromEntries(ROLLUP_COUNTERS.map((c) => [c, num(r[counterColumn(c)])])) as Record<RollupCounter, number>,
    gauges: Object.fromEntries(ROLLUP_GAUGES.map((g) => {
      const v = r[gaugeColumn(g)];
      return [g, v === null || v === undefined ? null : num(v)];
    })) as Record<RollupGauge, number | null>,
  };
}

/**
 * SQL that fills the rollups from the history already stored (the migration that adds
 * them runs it once): every step between consecutive samples of a (cache, server), by
 * the same rules as RollupChanges, for the samples within each level's default retention.
 * `num(stat)` reads one stat of the `stats` column as a number in the catalog's dialect
 * (NULL when absent); `nowMs` is the current time in ms.
 */
export function rollupBackfillSql(d: {
  readonly num: (stat: string) => string;
  readonly nowMs: string;
  /** How the dialect skips rows that exist (the migration may meet tables a half-run attempt made). */
  readonly insert: 'INSERT OR IGNORE INTO' | 'INSERT INTO';
  readonly onConflict: '' | 'ON CONFLICT DO NOTHING';
}): string {
  const levels = ROLLUP_LEVELS.map((l) => `SELECT ${l} AS level, ${DEFAULT_ROLLUP_RETENTION[l]} AS keep_ms`).join(' UNION ALL ');
  const stats = [...ROLLUP_COUNTERS, ...ROLLUP_GAUGES].map((s) => `${d.num(s)} AS s_${s}`).join(', ');
  const delta = (c: string) =>
    `SUM(CASE WHEN s_${c} IS NULL OR p_${c} IS NULL OR s_${c} < 0 THEN 0 WHEN s_${c} >= p_${c} THEN s_${c} - p_${c} ELSE s_${c} END)`;
  return `
${d.insert} history_rollups (cache_id, level, bucket, server, seconds, samples,
  ${ROLLUP_COUNTERS.map(counterColumn).join(', ')}, gauge_ts, ${ROLLUP_GAUGES.map(gaugeColumn).join(', ')})
SELECT cache_id, level, bucket, server,
  SUM(CASE WHEN prev_ts IS NULL THEN 0 ELSE (ts - prev_ts) / 1000.0 END), COUNT(*),
  ${ROLLUP_COUNTERS.map(delta).join(',\n  ')},
  MAX(ts), ${ROLLUP_GAUGES.map((g) => `MAX(CASE WHEN newest = 1 THEN s_${g} END)`).join(', ')}
FROM (
  SELECT steps.*, level, keep_ms, (ts / level) * level AS bucket,
    row_number() OVER (PARTITION BY cache_id, server, level, ts / level ORDER BY ts DESC) AS newest
  FROM (
    SELECT cache_id, server, ts, lag(ts) OVER w AS prev_ts,
      ${[...ROLLUP_COUNTERS, ...ROLLUP_GAUGES].map((s) => `s_${s}`).join(', ')},
      ${ROLLUP_COUNTERS.map((c) => `lag(s_${c}) OVER w AS p_${c}`).join(', ')}
    FROM (SELECT cache_id, server, ts, ${stats} FROM history) h
    WINDOW w AS (PARTITION BY cache_id, server ORDER BY ts)
  ) steps
  CROSS JOIN (${levels}) levels
) x
WHERE ts >= ${d.nowMs} - keep_ms
GROUP BY cache_id, server, level, bucket
${d.onConflict};
`;
}
