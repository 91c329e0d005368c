/**
 * The SQLite catalog's insight storage: history rollups (rollups.ts) kept by addHistory,
 * latency probes and their rollups (latency.ts), their retention, and the migration that
 * adds the tables (backfilling rollups from the history already stored).
 *
 * Writes run in one IMMEDIATE transaction: the insert, the read of the stored samples
 * around what was inserted, and the rollup upserts, so two processes writing one
 * (cache, server) at once cannot both count the same step.
 */
import type Database from 'better-sqlite3';
import type { HistorySample, RetentionPolicy } from './catalog.ts';
import { LATENCY_LEVELS, latencyRollupsOf, type LatencyLevel, type LatencyProbe, type LatencyRollupRow } from './latency.ts';
import { mergeHistograms, readHistogram } from '../shared/latency-histogram.ts';
import {
  DEFAULT_ROLLUP_RETENTION, ROLLUP_COUNTERS, ROLLUP_GAUGES, ROLLUP_LEVELS, RollupChanges, counterColumn, gaugeColumn,
  groupByServer, rollupBackfillSql, rollupRowFromColumns, type RollupLevel, type RollupRow, type SequenceSample,
} from './rollups.ts';

const COUNTER_COLUMNS = ROLLUP_COUNTERS.map(counterColumn);
const GAUGE_COLUMNS = ROLLUP_GAUGES.map(gaugeColumn);

/**
 * The next step: an index for finding a sample's stored neighbours (the one before and
 * after, per cache and server), which addHistory reads for every (cache, server) it writes.
 * Server first, so the history's own queries (by cache and time, any server) never take
 * it for history_cache_ts.
 */
export const SQLITE_INSIGHT_INDEX_MIGRATION = `
CREATE INDEX IF NOT EXISTS history_server_ts ON history (server, cache_id, ts);
`;

/** The migration (its own user_version step): rollup and latency tables, rollups backfilled. */
export const SQLITE_INSIGHT_MIGRATION = `
CREATE TABLE IF NOT EXISTS history_rollups (
  cache_id INTEGER NOT NULL,
  level INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  server TEXT NOT NULL,
  seconds REAL NOT NULL DEFAULT 0,
  samples INTEGER NOT NULL DEFAULT 0,
  ${COUNTER_COLUMNS.map((c) => `${c} INTEGER NOT NULL DEFAULT 0`).join(',\n  ')},
  gauge_ts INTEGER NOT NULL DEFAULT -1,
  ${GAUGE_COLUMNS.map((g) => `${g} INTEGER`).join(',\n  ')},
  PRIMARY KEY (cache_id, level, bucket, server)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS history_rollups_age ON history_rollups (level, bucket);
CREATE TABLE IF NOT EXISTS latency_probes (server TEXT NOT NULL, ts INTEGER NOT NULL, slot INTEGER NOT NULL, ns INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS latency_one_per_slot ON latency_probes (server, slot);
CREATE INDEX IF NOT EXISTS latency_probes_server_ts ON latency_probes (server, ts);
CREATE INDEX IF NOT EXISTS latency_probes_ts ON latency_probes (ts);
CREATE TABLE IF NOT EXISTS latency_rollups (
  server TEXT NOT NULL,
  level INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  count INTEGER NOT NULL,
  sum_ns INTEGER NOT NULL,
  max_ns INTEGER NOT NULL,
  hist TEXT NOT NULL,
  PRIMARY KEY (server, level, bucket)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS latency_rollups_age ON latency_rollups (level, bucket);
${rollupBackfillSql({ num: (s) => `json_extract(stats, '$.${s}')`, nowMs: "(CAST(strftime('%s', 'now') AS INTEGER) * 1000)", insert: 'INSERT OR IGNORE INTO', onConflict: '' })}
`;

/** Adds a change to a row, or makes the row (the gauges move only to a newer sample). */
const UPSERT_ROLLUP = `
INSERT INTO history_rollups (cache_id, level, bucket, server, seconds, samples, ${COUNTER_COLUMNS.join(', ')}, gauge_ts, ${GAUGE_COLUMNS.join(', ')})
VALUES (@cacheId, @level, @bucket, @server, @seconds, @samples, ${COUNTER_COLUMNS.map((c) => `@${c}`).join(', ')}, @gaugeTs, ${GAUGE_COLUMNS.map((g) => `@${g}`).join(', ')})
ON CONFLICT (cache_id, level, bucket, server) DO UPDATE SET
  seconds = seconds + excluded.seconds,
  samples = samples + excluded.samples,
  ${COUNTER_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(',\n  ')},
  ${GAUGE_COLUMNS.map((g) => `${g} = CASE WHEN excluded.gauge_ts >= gauge_ts THEN excluded.${g} ELSE ${g} END`).join(',\n  ')},
  gauge_ts = MAX(gauge_ts, excluded.gauge_ts)`;

interface StoredRow { id: number; ts: number; stats: string | null }

export class SqliteInsight {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      insert: db.prepare('INSERT OR IGNORE INTO history (cache_id, server, ts, stats, slot) VALUES (?, ?, ?, ?, ?)'),
      prevTs: db.prepare('SELECT MAX(ts) AS ts FROM history WHERE cache_id = ? AND server = ? AND ts < ?').pluck(),
      nextTs: db.prepare('SELECT MIN(ts) AS ts FROM history WHERE cache_id = ? AND server = ? AND ts > ?').pluck(),
      // Stats only for rows outside the inserted span [lo, hi] (or all, when asked): the inserted ones are in memory.
      around: db.prepare(`SELECT rowid AS id, ts, CASE WHEN @all OR ts < @lo OR ts > @hi THEN stats END AS stats
                          FROM history WHERE cache_id = @cache AND server = @server AND ts >= @from AND ts <= @to ORDER BY ts, rowid`),
      upsert: db.prepare(UPSERT_ROLLUP),
      rollups: db.prepare('SELECT * FROM history_rollups WHERE cache_id = ? AND level = ? AND bucket >= ? AND bucket <= ? ORDER BY bucket, server'),
      insertProbe: db.prepare('INSERT OR IGNORE INTO latency_probes (server, ts, slot, ns) VALUES (?, ?, ?, ?)'),
      latencyRow: db.prepare('SELECT count, sum_ns, max_ns, hist FROM latency_rollups WHERE server = ? AND level = ? AND bucket = ?'),
      putLatencyRow: db.prepare('INSERT OR REPLACE INTO latency_rollups (server, level, bucket, count, sum_ns, max_ns, hist) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      // One server at a time: a range of its index (of the primary key), in order.
      probes: db.prepare('SELECT server, ts, ns FROM latency_probes WHERE server = ? AND ts >= ? AND ts <= ? ORDER BY ts'),
      latencyRollups: db.prepare(`SELECT server, level, bucket, count, sum_ns, max_ns, hist FROM latency_rollups
                                  WHERE server = ? AND level = ? AND bucket >= ? AND bucket <= ? ORDER BY bucket`),
    };
  }

  /** addHistory: inserts, then brings the rollups of every (cache, server) it inserted into up to date. */
  addHistory(samples: readonly HistorySample[], slotMs: number): void {
    this.db.transaction(() => {
      const inserted: (HistorySample & { id: number })[] = [];
      for (const s of samples) {
        const r = this.stmt.insert.run(s.cacheId, s.server, s.timestamp, JSON.stringify(s.stats), Math.floor(s.timestamp / slotMs));
        if (r.changes === 1) inserted.push({ ...s, id: Number(r.lastInsertRowid) });
      }
      if (inserted.length === 0) return;
      const changes = new RollupChanges();
      for (const g of groupByServer(inserted)) {
        const lo = g.samples[0]!.timestamp;
        const hi = g.samples.at(-1)!.timestamp;
        const from = (this.stmt.prevTs.get(g.cacheId, g.server, lo) as number | null) ?? lo;
        const to = (this.stmt.nextTs.get(g.cacheId, g.server, hi) as number | null) ?? hi;
        const mine = new Map(g.samples.map((s) => [s.id, s]));
        let rows = this.stmt.around.all({ cache: g.cacheId, server: g.server, from, to, lo, hi, all: 0 }) as StoredRow[];
        // Someone else's sample inside the span (they came out of order): read every stats.
        if (rows.some((r) => r.stats === null && !mine.has(r.id))) {
          rows = this.stmt.around.all({ cache: g.cacheId, server: g.server, from, to, lo, hi, all: 1 }) as StoredRow[];
        }
        changes.sequence(g.cacheId, g.server, rows.map((r): SequenceSample => {
          const own = mine.get(r.id);
          return own ? { timestamp: own.timestamp, stats: own.stats, inserted: true } : { timestamp: r.ts, stats: JSON.parse(r.stats!), inserted: false };
        }));
      }
      for (const c of changes.values()) {
        const params: Record<string, unknown> = {
          cacheId: c.cacheId, level: c.level, bucket: c.bucket, server: c.server, seconds: c.seconds, samples: c.samples, gaugeTs: c.gaugeTs,
        };
        for (const k of ROLLUP_COUNTERS) params[counterColumn(k)] = c.counters[k];
        for (const k of ROLLUP_GAUGES) params[gaugeColumn(k)] = c.gauges[k];
        this.stmt.upsert.run(params);
      }
    }).immediate();
  }

  historyRollups(cacheId: number, level: RollupLevel, from: number, to: number): RollupRow[] {
    const rows = this.stmt.rollups.all(cacheId, level, Math.floor(from / level) * level, to) as Record<string, unknown>[];
    return rows.map(rollupRowFromColumns);
  }

  addLatency(probes: readonly LatencyProbe[], slotMs: number): void {
    this.db.transaction(() => {
      const inserted = probes.filter((p) => this.stmt.insertProbe.run(p.server, p.timestamp, Math.floor(p.timestamp / slotMs), Math.round(p.ns)).changes === 1);
      for (const r of latencyRollupsOf(inserted)) {
        const old = this.stmt.latencyRow.get(r.server, r.level, r.bucket) as { count: number; sum_ns: number; max_ns: number; hist: string } | undefined;
        const hist = old ? mergeHistograms(readHistogram(JSON.parse(old.hist)), r.histogram) : r.histogram;
        this.stmt.putLatencyRow.run(r.server, r.level, r.bucket, (old?.count ?? 0) + r.count, (old?.sum_ns ?? 0) + Math.round(r.sumNs),
          Math.max(old?.max_ns ?? 0, Math.round(r.maxNs)), JSON.stringify(hist));
      }
    }).immediate();
  }

  latencyProbes(servers: readonly string[], from: number, to: number): LatencyProbe[] {
    const out: LatencyProbe[] = [];
    for (const server of new Set(servers)) {
      for (const r of this.stmt.probes.all(server, from, to) as { server: string; ts: number; ns: number }[]) out.push({ server: r.server, timestamp: r.ts, ns: r.ns });
    }
    return out.sort((a, b) => a.timestamp - b.timestamp || (a.server < b.server ? -1 : a.server > b.server ? 1 : 0));
  }

  latencyRollups(servers: readonly string[], level: LatencyLevel, from: number, to: number): LatencyRollupRow[] {
    type Row = { server: string; level: number; bucket: number; count: number; sum_ns: number; max_ns: number; hist: string };
    const out: LatencyRollupRow[] = [];
    for (const server of new Set(servers)) {
      for (const r of this.stmt.latencyRollups.all(server, level, Math.floor(from / level) * level, to) as Row[]) {
        out.push({ server: r.server, level: r.level as LatencyLevel, bucket: r.bucket, count: r.count, sumNs: r.sum_ns, maxNs: r.max_ns, histogram: readHistogram(JSON.parse(r.hist)) });
      }
    }
    return out.sort((a, b) => a.bucket - b.bucket || (a.server < b.server ? -1 : a.server > b.server ? 1 : 0));
  }

  /** Rollup rows and latency past their retention (inside the caller's transaction). */
  thin(policy: RetentionPolicy, now: number): void {
    const keep = policy.rollupMs ?? DEFAULT_ROLLUP_RETENTION;
    // A bucket goes once all of it is older than its level's retention.
    for (const level of ROLLUP_LEVELS) {
      this.db.prepare('DELETE FROM history_rollups WHERE level = ? AND bucket <= ?').run(level, now - keep[level] - level);
    }
    for (const level of LATENCY_LEVELS) {
      this.db.prepare('DELETE FROM latency_rollups WHERE level = ? AND bucket <= ?').run(level, now - keep[level] - level);
    }
    this.db.prepare('DELETE FROM latency_probes WHERE ts < ?').run(now - keep[ROLLUP_LEVELS[0]]);
  }
}
