/**
 * One PostgreSQL transaction on a pooled connection: BEGIN, `fn`, COMMIT, or ROLLBACK
 * when `fn` throws (the rollback's own failure is dropped so the caller sees `fn`'s
 * error); the connection goes back to the pool either way. For the catalog's parts
 * (access, alerts) whose writes need no retry; the main catalog retries deadlocks
 * itself (postgres.ts).
 */
import type pg from 'pg';
import type { PoolClient } from 'pg';

export async function inTransaction<T>(pool: pg.Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}
