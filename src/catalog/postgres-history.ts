/**
 * The history queries of the PostgreSQL catalog (see history-pages.ts for the walk), the
 * same as sqlite-history.ts; servers compare byte-wise (COLLATE "C") as in SQLite. Every
 * query is bounded by `cache_id = $1` and a timestamp range, and a page's range is a
 * window of about one page of rows, so whichever index the planner picks (normally
 * history_cache_ts) a page reads about that many rows (history-queries.test.ts checks).
 */
import type pg from 'pg';
import type { HistoryCursor, HistoryPage, HistoryRange, HistoryRows } from './history-pages.ts';

interface SampleRow { id: string; cache_id: number; server: string; ts: string; stats: Record<string, number> }
interface KeyRow { id: string; server: string; ts: string }

/** Per server, the last row of each bucket of `step` ms within the range ($1 cache, $2 from, $3 to). */
const lastPerBucket = (step: string) => `
  SELECT id, ts, server FROM (
    SELECT id, ts, server, row_number() OVER (PARTITION BY server, ts / ${step}::bigint ORDER BY ts DESC, id DESC) AS rank
    FROM history WHERE cache_id = $1 AND ts >= $2 AND ts <= $3
  ) ranked WHERE rank = 1`;

const AFTER = '($4::bigint, $5::text COLLATE "C", $6::bigint)';

/** Parameters: $1 cache, $2 from, $3 to, $4-$6 the cursor, $7 size, $8 step (stepped only). */
const PAGE = `SELECT id, cache_id, server, ts, stats FROM history
  WHERE cache_id = $1 AND ts >= $2 AND ts <= $3 AND (ts, server COLLATE "C", id) > ${AFTER}
  ORDER BY ts, server COLLATE "C", id LIMIT $7`;
const STEPPED_PAGE = `SELECT h.id, h.cache_id, h.server, h.ts, h.stats FROM (${lastPerBucket('$8')}) k
  JOIN history h ON h.id = k.id
  WHERE (k.ts, k.server COLLATE "C", k.id) > ${AFTER}
  ORDER BY k.ts, k.server COLLATE "C", k.id LIMIT $7`;
/** Parameters: $1 cache, $2 from, $3 to, $4 rows to skip, $5 step (stepped only). */
const NTH_NEWEST = `SELECT id, ts, server FROM history WHERE cache_id = $1 AND ts >= $2 AND ts <= $3
  ORDER BY ts DESC, server COLLATE "C" DESC, id DESC LIMIT 1 OFFSET $4`;
const STEPPED_NTH_NEWEST = `SELECT id, ts, server FROM (${lastPerBucket('$5')}) k
  ORDER BY ts DESC, server COLLATE "C" DESC, id DESC LIMIT 1 OFFSET $4`;
const NTH_TIMESTAMP = 'SELECT ts FROM history WHERE cache_id = $1 AND ts >= $2 ORDER BY ts LIMIT 1 OFFSET $3';

/** The statements, exported for the plan test. */
export const HISTORY_SQL = { PAGE, STEPPED_PAGE, NTH_NEWEST, STEPPED_NTH_NEWEST, NTH_TIMESTAMP } as const;

const toCursor = (r: KeyRow): HistoryCursor => ({ timestamp: Number(r.ts), server: r.server, id: Number(r.id) });

export class PostgresHistoryRows implements HistoryRows {
  constructor(private readonly pool: pg.Pool) {}

  async page(cacheId: number, r: HistoryRange, after: HistoryCursor | undefined, size: number): Promise<HistoryPage> {
    // Without a cursor, a key before any row of the range: every row compares greater.
    const key = after ?? { timestamp: r.from - 1, server: '', id: 0 };
    const params: unknown[] = [cacheId, r.from, r.to, key.timestamp, key.server, key.id, size];
    const rows = (r.step === undefined
      ? await this.pool.query<SampleRow>(PAGE, params)
      : await this.pool.query<SampleRow>(STEPPED_PAGE, [...params, r.step])).rows;
    const samples = rows.map((row) => ({ cacheId: row.cache_id, server: row.server, timestamp: Number(row.ts), stats: row.stats }));
    const last = rows.at(-1);
    return { samples, ...(last ? { last: toCursor(last) } : {}) };
  }

  async nthNewest(cacheId: number, r: HistoryRange, n: number): Promise<HistoryCursor | undefined> {
    const params: unknown[] = [cacheId, r.from, r.to, n - 1];
    const row = (r.step === undefined
      ? await this.pool.query<KeyRow>(NTH_NEWEST, params)
      : await this.pool.query<KeyRow>(STEPPED_NTH_NEWEST, [...params, r.step])).rows[0];
    return row && toCursor(row);
  }

  async nthTimestamp(cacheId: number, from: number, n: number): Promise<number | undefined> {
    const row = (await this.pool.query<{ ts: string }>(NTH_TIMESTAMP, [cacheId, from, n - 1])).rows[0];
    return row && Number(row.ts);
  }
}
