/**
 * A throw-away PostgreSQL schema for tests: `cachier_test_<random>` in the database at
 * CACHIER_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), dropped
 * with everything in it afterwards, so parallel runs and a developer's own data never meet.
 *
 * When the variable is unset and nothing answers at the default, PostgreSQL tests skip
 * (a fresh machine has no server); when it is set, an unreachable server is a failure.
 * `CACHIER_TEST_DATABASE_URL=off` skips them on purpose.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';
const configured = process.env.CACHIER_TEST_DATABASE_URL;
export const TEST_DATABASE_URL = configured && configured !== 'off' ? configured : DEFAULT_URL;

export interface TestSchema {
  readonly schema: string;
  /** TEST_DATABASE_URL with `schema=<schema>` added: what `--database-url` takes. */
  readonly url: string;
  /** Runs SQL in the schema (its own short connection). */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

let availability: Promise<string | undefined> | undefined;

/** Undefined when PostgreSQL answers; otherwise why its tests are skipped. Throws when it was asked for and is down. */
export function postgresSkipReason(): Promise<string | undefined> {
  availability ??= (async () => {
    if (configured === 'off') return 'CACHIER_TEST_DATABASE_URL=off';
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return undefined;
    } catch (e) {
      if (configured) throw new Error(`CACHIER_TEST_DATABASE_URL=${configured} is unreachable: ${(e as Error).message}`);
      return `no PostgreSQL at ${DEFAULT_URL} (${(e as Error).message}); set CACHIER_TEST_DATABASE_URL to run these tests`;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return availability;
}

export async function createTestSchema(): Promise<TestSchema> {
  const schema = `cachier_test_${randomBytes(6).toString('hex')}`;
  const run = async <R extends pg.QueryResultRow>(text: string, params: unknown[] = [], inSchema = true): Promise<R[]> => {
    const client = new pg.Client({
      connectionString: TEST_DATABASE_URL,
      connectionTimeoutMillis: 5000,
      ...(inSchema ? { options: `-c search_path=${schema}` } : {}),
    });
    client.on('error', () => {});
    await client.connect();
    try {
      return (await client.query<R>(text, params)).rows;
    } finally {
      await client.end().catch(() => {});
    }
  };
  await run(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`, [], false);
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('schema', schema);
  return {
    schema,
    url: url.toString(),
    sql: run,
    async drop() {
      if (process.env.CACHIER_TEST_KEEP) return;
      await run(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`, [], false);
    },
  };
}
