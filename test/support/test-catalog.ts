/**
 * The catalog black-box tests run on: SQLite in a temp dir by default, or a throw-away
 * PostgreSQL schema with CACHIER_TEST_CATALOG=postgres — so one suite proves both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Catalog } from '../../src/catalog/catalog.ts';
import { openPostgresCatalog } from '../../src/catalog/postgres.ts';
import { openSqliteCatalog } from '../../src/catalog/sqlite.ts';
import { createTestSchema } from '../../src/catalog/testing/postgres-schema.ts';

export const TEST_CATALOG = process.env.CACHIER_TEST_CATALOG === 'postgres' ? 'postgres' : 'sqlite';

export interface TestCatalog {
  readonly catalog: Catalog;
  /** A temp dir for anything else the test writes (always made, also with PostgreSQL). */
  readonly dataDir: string;
  /** How the CLI reaches the same catalog: `--data DIR` or `--database-url URL`. */
  readonly cliArgs: readonly string[];
  /** Closes the catalog and removes its data (the schema or the files). */
  dispose(): Promise<void>;
}

export async function openTestCatalog(prefix = 'cachier-test-'): Promise<TestCatalog> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  if (TEST_CATALOG === 'postgres') {
    const schema = await createTestSchema();
    const catalog = await openPostgresCatalog(schema.url);
    return {
      catalog, dataDir, cliArgs: ['--database-url', schema.url],
      async dispose() {
        await catalog.close();
        await schema.drop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const catalog = openSqliteCatalog(dataDir);
  return {
    catalog, dataDir, cliArgs: ['--data', dataDir],
    async dispose() {
      await catalog.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
