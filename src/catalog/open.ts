/**
 * Picks the catalog: PostgreSQL when a database URL is given (several machines share it),
 * otherwise the SQLite file under the data directory (one machine).
 */
import type { Catalog } from './catalog.ts';
import type { Logger } from '../shared/logger.ts';
import type { PostgresCatalogOptions } from './postgres.ts';

export interface OpenCatalogOptions {
  /** SQLite: directory of `catalog.sqlite` (default `./data`); ignored with `databaseUrl`. */
  readonly dataDir?: string;
  /** `postgres://…[?schema=NAME]`: use PostgreSQL. */
  readonly databaseUrl?: string;
  readonly postgres?: PostgresCatalogOptions;
  /** The catalog's log (part catalog): connection errors (at most one a minute), the SQLite file's warnings. */
  readonly log?: Logger;
}

/** A restarting database makes a burst of connection errors: one line per this many ms. */
const CATALOG_ERROR_EVERY_MS = 60_000;

export async function openCatalog(opts: OpenCatalogOptions): Promise<Catalog> {
  const log = opts.log;
  if (opts.databaseUrl) {
    let last = 0;
    let skipped = 0;
    const onError = log && ((e: Error) => {
      if (Date.now() - last < CATALOG_ERROR_EVERY_MS) return void skipped++;
      last = Date.now();
      log.error({ event: 'catalog_error', err: e, errors_since_last_line: skipped }, 'catalog connection error');
      skipped = 0;
    });
    // Loaded only when used: one machine's catalog needs no PostgreSQL driver, and the other way round.
    const { openPostgresCatalog } = await import('./postgres.ts');
    return openPostgresCatalog(opts.databaseUrl, onError ? { onError, ...opts.postgres } : opts.postgres);
  }
  const { openSqliteCatalog } = await import('./sqlite.ts');
  return openSqliteCatalog(opts.dataDir ?? './data', log ? (line) => log.warn({ event: 'catalog_warning' }, line) : undefined);
}
