/**
 * The catalogs a contract test runs against: SQLite in a temp dir, and PostgreSQL in a
 * fresh `cachier_test_<random>` schema (skipped when no server answers; see
 * postgres-schema.ts). `forEachCatalog` opens a describe per catalog; each test wrapped in
 * its `withCatalog` gets a new, empty catalog that is closed and removed afterwards.
 */
import { describe } from 'node:test';
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Catalog } from '../catalog.ts';
import type { OpenCatalogOptions } from '../open.ts';
import { openPostgresCatalog } from '../postgres.ts';
import { openSqliteCatalog } from '../sqlite.ts';
import { createTestSchema, postgresSkipReason } from './postgres-schema.ts';

export interface CatalogHarness {
  readonly catalog: Catalog;
  /** A second, independent connection to the same catalog (as another process would have). */
  another(): Promise<Catalog>;
  /** Whether `text` appears anywhere in what the catalog stored. */
  storedContains(text: string): Promise<boolean>;
  /** Runs SQL straight on the catalog's tables (to age the change log). */
  sql(text: string): Promise<void>;
  /** How another process opens the same catalog (src/catalog/open.ts). */
  readonly open: OpenCatalogOptions;
  cleanup(): Promise<void>;
}

export interface CatalogBackend {
  readonly name: string;
  readonly skip: string | undefined;
  make(): Promise<CatalogHarness>;
}

const sqlite: CatalogBackend = {
  name: 'sqlite',
  skip: undefined,
  async make() {
    const dir = mkdtempSync(join(tmpdir(), 'cachier-cat-'));
    const opened: Catalog[] = [openSqliteCatalog(dir)];
    return {
      catalog: opened[0]!,
      open: { dataDir: dir },
      async another() {
        const c = openSqliteCatalog(dir);
        opened.push(c);
        return c;
      },
      async storedContains(text) {
        return readdirSync(dir).some((f) => readFileSync(join(dir, f)).includes(text));
      },
      async sql(text) {
        const db = new Database(join(dir, 'catalog.sqlite'));
        try {
          db.pragma('busy_timeout = 5000');
          db.exec(text);
        } finally {
          db.close();
        }
      },
      async cleanup() {
        for (const c of opened) await c.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const postgres: CatalogBackend = {
  name: 'postgres',
  skip: await postgresSkipReason(),
  async make() {
    const schema = await createTestSchema();
    const opened: Catalog[] = [await openPostgresCatalog(schema.url)];
    return {
      catalog: opened[0]!,
      open: { databaseUrl: schema.url },
      async another() {
        const c = await openPostgresCatalog(schema.url);
        opened.push(c);
        return c;
      },
      async storedContains(text) {
        const rows = await schema.sql<{ n: number }>(
          `SELECT (SELECT count(*) FROM credentials c WHERE c::text LIKE $1)
                + (SELECT count(*) FROM meta m WHERE m::text LIKE $1)
                + (SELECT count(*) FROM caches x WHERE x::text LIKE $1)
                + (SELECT count(*) FROM api_tokens t WHERE t::text LIKE $1) AS n`,
          [`%${text}%`],
        );
        return Number(rows[0]!.n) > 0;
      },
      async sql(text) {
        await schema.sql(text);
      },
      async cleanup() {
        for (const c of opened) await c.close();
        await schema.drop();
      },
    };
  },
};

/** Every catalog implementation, SQLite first. */
export const catalogBackends: readonly CatalogBackend[] = [sqlite, postgres];

/** Wraps a test body: it gets a fresh catalog (and its harness), cleaned up however the body ends. */
export type WithCatalog = (fn: (c: Catalog, h: CatalogHarness) => Promise<void>) => () => Promise<void>;

export function withCatalogOf(backend: CatalogBackend): WithCatalog {
  return (fn) => async () => {
    const h = await backend.make();
    try {
      await fn(h.catalog, h);
    } finally {
      await h.cleanup();
    }
  };
}

/** One `describe(`${title}: <catalog>`)` per catalog (skipped where that catalog is unavailable), its tests declared by `body`. */
export function forEachCatalog(title: string, body: (withCatalog: WithCatalog) => void): void {
  for (const backend of catalogBackends) {
    describe(`${title}: ${backend.name}`, { skip: backend.skip }, () => body(withCatalogOf(backend)));
  }
}
