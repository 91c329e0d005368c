/**
 * The history queries of the SQLite catalog (see history-pages.ts for the walk). Every
 * query is a range scan of history_cache_ts from `cache_id = ? AND ts …`, never a look at
 * other caches' rows (history-queries.test.ts checks the plans); `rowid` is the row id of
 * the keyset.
 */
import type Database from 'better-sqlite3';
import type { HistoryCursor, HistoryPage, HistoryRange, HistoryRows } from './history-pages.ts';

interface SampleRow { id: number; cache_id: number; server: string; ts: number; stats: string }
interface KeyRow { id: number; server: string; ts: number }

/**
 * Per server, the last row of each bucket of @step ms within the range: rank 1 within
 * (server, bucket). better-sqlite3 binds numbers as REAL; the cast makes `/` an integer division.
 * INDEXED BY: left alone, the planner may walk history_one_per_slot (cache_id, server, …)
 * to save the sort, which reads every sample of the cache for each page, not just the window;
 * or, after ANALYZE, skip-scan history_server_ts (server, cache_id, ts) over the few servers.
 * Every query here names history_cache_ts for that reason.
 */
const LAST_PER_BUCKET = `
  SELECT id, ts, server FROM (
    SELECT rowid AS id, ts, server, row_number() OVER (PARTITION BY server, ts / CAST(@step AS INTEGER) ORDER BY ts DESC, rowid DESC) AS rank
    FROM history INDEXED BY history_cache_ts WHERE cache_id = @cache AND ts >= @from AND ts <= @to
  ) WHERE rank = 1`;

const AFTER = '(k.ts, k.server, k.id) > (@afterTs, @afterServer, @afterId)';

/** The statements, exported for the plan test. */
export const HISTORY_SQL = {
  page: `SELECT rowid AS id, cache_id, server, ts, stats FROM history INDEXED BY history_cache_ts
         WHERE cache_id = @cache AND ts >= @from AND ts <= @to AND (ts, server, rowid) > (@afterTs, @afterServer, @afterId)
         ORDER BY ts, server, rowid LIMIT @size`,
  steppedPage: `SELECT h.rowid AS id, h.cache_id, h.server, h.ts, h.stats FROM (${LAST_PER_BUCKET}) k
                JOIN history h ON h.rowid = k.id
                WHERE ${AFTER} ORDER BY k.ts, k.server, k.id LIMIT @size`,
  nthNewest: `SELECT rowid AS id, ts, server FROM history INDEXED BY history_cache_ts WHERE cache_id = @cache AND ts >= @from AND ts <= @to
              ORDER BY ts DESC, server DESC, rowid DESC LIMIT 1 OFFSET @skip`,
  steppedNthNewest: `SELECT id, ts, server FROM (${LAST_PER_BUCKET}) k ORDER BY ts DESC, server DESC, id DESC LIMIT 1 OFFSET @skip`,
  nthTimestamp: 'SELECT ts FROM history INDEXED BY history_cache_ts WHERE cache_id = @cache AND ts >= @from ORDER BY ts LIMIT 1 OFFSET @skip',
} as const;

export class SqliteHistoryRows implements HistoryRows {
  private readonly stmt: { [K in keyof typeof HISTORY_SQL]: Database.Statement };

  constructor(db: Database.Database) {
    this.stmt = Object.fromEntries(Object.entries(HISTORY_SQL).map(([k, sql]) => [k, db.prepare(sql)])) as typeof this.stmt;
  }

  async page(cacheId: number, r: HistoryRange, after: HistoryCursor | undefined, size: number): Promise<HistoryPage> {
    // Without a cursor, a key before any row of the range: every row compares greater.
    const key = after ?? { timestamp: r.from - 1, server: '', id: 0 };
    const params = {
      cache: cacheId, from: r.from, to: r.to, size, afterTs: key.timestamp, afterServer: key.server, afterId: key.id,
      ...(r.step === undefined ? {} : { step: r.step }),
    };
    const rows = (r.step === undefined ? this.stmt.page : this.stmt.steppedPage).all(params) as SampleRow[];
    const samples = rows.map((row) => ({ cacheId: row.cache_id, server: row.server, timestamp: row.ts, stats: JSON.parse(row.stats) }));
    const last = rows.at(-1);
    return { samples, ...(last ? { last: { timestamp: last.ts, server: last.server, id: last.id } } : {}) };
  }

  async nthNewest(cacheId: number, r: HistoryRange, n: number): Promise<HistoryCursor | undefined> {
    const params = { cache: cacheId, from: r.from, to: r.to, skip: n - 1, ...(r.step === undefined ? {} : { step: r.step }) };
    const row = (r.step === undefined ? this.stmt.nthNewest : this.stmt.steppedNthNewest).get(params) as KeyRow | undefined;
    return row && { timestamp: row.ts, server: row.server, id: row.id };
  }

  async nthTimestamp(cacheId: number, from: number, n: number): Promise<number | undefined> {
    return (this.stmt.nthTimestamp.get({ cache: cacheId, from, skip: n - 1 }) as { ts: number } | undefined)?.ts;
  }
}
