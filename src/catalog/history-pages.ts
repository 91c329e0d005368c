/**
 * Reading a cache's history a page at a time, the same way on every catalog: each
 * catalog supplies three small queries (HistoryRows) and `readHistoryPages` walks them.
 *
 * - Order and keyset: samples come in ascending (timestamp, server, row id) order, and
 *   each page starts strictly after the last key of the previous one. Only one page is
 *   ever in memory, however long the range.
 * - Windows: each page's query is bounded to the timestamps of about one page of stored
 *   rows, found first by a walk of the (cache_id, ts) index (`nthTimestamp`). So a page
 *   costs the same wherever it starts, whatever plan the database picks: PostgreSQL
 *   without statistics yet (a freshly filled table) would otherwise sort every remaining
 *   row of the range for each page.
 * - `step`: per server, only the last sample of each floor(timestamp / step) bucket
 *   (stats are cumulative counters and gauges, so the last one is exact). A window is
 *   then whole buckets (at least one), so a long range is never ranked in one query.
 *   Starting a window at an earlier page's last key rather than at its bucket's start is
 *   safe: a bucket's last sample is at or after any of its samples, so it is still inside
 *   the window unless it was already sent.
 * - `limit`: the newest `limit` samples of the (stepped) range, still oldest first: the
 *   walk starts right after the (limit + 1)-th newest.
 *
 * `since`/`until` cut the range first; a bucket cut by them counts only its part.
 */
import type { HistoryQuery, HistorySample } from './catalog.ts';

/** Rows per page, and stored rows a page's window holds: a few ms of work per page. */
export const HISTORY_PAGE_ROWS = 1000;
/** Larger than any stored timestamp: the open end of a range. */
const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER;

/** A sample's place in the order; a page starts strictly after one. */
export interface HistoryCursor {
  readonly timestamp: number;
  readonly server: string;
  readonly id: number;
}

/** Timestamps `from`..`to` (inclusive), optionally one sample per server and bucket of `step` ms. */
export interface HistoryRange {
  readonly from: number;
  readonly to: number;
  readonly step?: number;
}

export interface HistoryPage {
  readonly samples: HistorySample[];
  /** The key of the last sample, when there is one. */
  readonly last?: HistoryCursor;
}

/** The queries a catalog answers for `readHistoryPages`. */
export interface HistoryRows {
  /** Up to `size` samples of `range` after `after` (from the start without it), ascending. */
  page(cacheId: number, range: HistoryRange, after: HistoryCursor | undefined, size: number): Promise<HistoryPage>;
  /** The key of the n-th newest sample of `range` (1 = the newest); undefined when it has fewer. */
  nthNewest(cacheId: number, range: HistoryRange, n: number): Promise<HistoryCursor | undefined>;
  /** The timestamp of the n-th stored row at or after `from` (1 = the first), ignoring any step; undefined when fewer. */
  nthTimestamp(cacheId: number, from: number, n: number): Promise<number | undefined>;
}

export async function* readHistoryPages(
  rows: HistoryRows, cacheId: number, q: HistoryQuery = {}, pageSize = HISTORY_PAGE_ROWS,
): AsyncGenerator<HistorySample[], void, undefined> {
  const to = q.until ?? MAX_TIMESTAMP;
  const { step } = q;
  let from = q.since ?? 0;
  if (from > to) return;
  let after = q.limit === undefined ? undefined : await rows.nthNewest(cacheId, { from, to, step }, q.limit + 1);
  for (;;) {
    if (after) from = Math.max(from, after.timestamp);
    const end = await windowEnd(rows, cacheId, from, to, step, pageSize);
    const page = await rows.page(cacheId, { from, to: end, step }, after, pageSize);
    if (page.samples.length) yield page.samples;
    if (page.samples.length === pageSize) {
      after = page.last;
      continue;
    }
    if (end >= to) return;
    from = end + 1;
  }
}

/** All of a query's samples in one array: for callers that know the range is small. */
export async function collectHistory(pages: AsyncIterable<HistorySample[]>): Promise<HistorySample[]> {
  const out: HistorySample[] = [];
  for await (const page of pages) for (const s of page) out.push(s);
  return out;
}

/**
 * The end of a page's window from `from`: the timestamp of the `rowsPerWindow`-th stored
 * row (all rows of that timestamp included); with a step, whole buckets instead, ending
 * before that row's bucket but taking at least `from`'s bucket. Never past `to`.
 */
async function windowEnd(
  rows: HistoryRows, cacheId: number, from: number, to: number, step: number | undefined, rowsPerWindow: number,
): Promise<number> {
  const far = await rows.nthTimestamp(cacheId, from, rowsPerWindow);
  if (far === undefined || far >= to) return to;
  if (step === undefined) return far;
  const firstBucketEnd = (Math.floor(from / step) + 1) * step - 1;
  return Math.min(to, Math.max(firstBucketEnd, Math.floor(far / step) * step - 1));
}
