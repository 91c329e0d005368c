/**
 * A history answer as a stream of JSON text, one catalog page at a time, so serving 30
 * days of samples never holds more than a page or two in memory and never blocks the
 * event loop for longer than one page:
 *
 * - the stream buffers at most one chunk (one page of JSON); the next page is read only
 *   when the socket has taken the previous one (backpressure through pipe);
 * - between pages it yields to the event loop (setImmediate), so other requests are
 *   answered even when the catalog answers synchronously (SQLite);
 * - when the client goes away, Fastify destroys the stream, which returns the page
 *   iterator: no further page is read.
 *
 * The bytes are exactly what the route's response schema would serialize: a JSON array
 * of the document's records (memcachier_id and timestamp as strings).
 */
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { HistorySample } from '../catalog/catalog.ts';
import { historyView } from '../api/views.ts';

/**
 * `first` is the iterator's first result, read before the response started, so a failing
 * catalog still gets a proper error status; a failure after that is told to `onError`
 * (the request's log) and cuts the connection.
 */
export function historyJsonStream(
  pages: AsyncIterator<HistorySample[], void>, first: IteratorResult<HistorySample[], void>, onError: (e: unknown) => void,
): Readable {
  async function* chunks(): AsyncGenerator<string> {
    let separator = '[';
    try {
      for (let page = first; !page.done; page = await nextPage()) {
        let text = '';
        for (const s of page.value) {
          text += separator + JSON.stringify(historyView(s));
          separator = ',';
        }
        yield text;
      }
      yield separator === '[' ? '[]' : ']';
    } catch (e) {
      // The status is already sent: the cut connection tells the client, this the operator.
      onError(e);
      throw e;
    } finally {
      await pages.return?.();
    }
  }
  async function nextPage(): Promise<IteratorResult<HistorySample[], void>> {
    await nextTurn();
    return pages.next();
  }
  return Readable.from(chunks(), { objectMode: false, highWaterMark: 1 });
}
