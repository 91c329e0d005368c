/**
 * Picks the catalog: PostgreSQL when a database URL is given (several machines share it),
 * otherwise the SQLite file under the data directory (one machine).
 */
import type { Catalog } from './catalog.ts';
import { openPostgresCatalog, type PostgresCatalogOptions } from './postgres.ts';
import { openSqliteCatalog } from './sqlite.ts';

export interface OpenCatalogOptions {
  /** SQLite: directory of `catalog.sqlite` (default `./data`); ignored with `databaseUrl`. */
  readonly dataDir?: string;
  /** `postgres://…[?schema=NAME]`: use PostgreSQL. */
  readonly databaseUrl?: string;
  readonly postgres?: PostgresCatalogOptions;
}

export async function openCatalog(opts: OpenCatalogOptions): Promise<Catalog> {
  if (opts.databaseUrl) return openPostgresCatalog(opts.databaseUrl, opts.postgres);
  return openSqliteCatalog(opts.dataDir ?? './data');
}
