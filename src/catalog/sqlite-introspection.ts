/**
 * Introspection in the SQLite catalog: watched prefixes on the cache row and their history.
 * SQLITE_INTROSPECTION_MIGRATION is part of one step of sqlite.ts's MIGRATIONS (which also
 * makes the cache row's trigger stamp the new columns, so nodes see them in changesSince).
 * Watching reads, counts and writes the row in one IMMEDIATE transaction, so another process
 * cannot slip a prefix in between; prefix ids come from a counter in `meta`.
 */
import type Database from 'better-sqlite3';
import type { PrefixSample, WatchedPrefix } from './catalog.ts';
import { checkPrefixName, planWatch, readWatchedPrefixes, toPrefixSample, type PrefixRow } from './prefix-watch.ts';

export const SQLITE_INTROSPECTION_MIGRATION = `
ALTER TABLE caches ADD COLUMN introspection INTEGER NOT NULL DEFAULT 1;
ALTER TABLE caches ADD COLUMN watched_prefixes TEXT NOT NULL DEFAULT '[]';
INSERT OR IGNORE INTO meta (key, value) VALUES ('watched_prefix_id', '0');
CREATE TABLE prefix_history (
  cache_id INTEGER NOT NULL, prefix_id INTEGER NOT NULL, server TEXT NOT NULL, slot INTEGER NOT NULL, ts INTEGER NOT NULL,
  num_keys INTEGER NOT NULL, total_size INTEGER NOT NULL, hits INTEGER NOT NULL, misses INTEGER NOT NULL, mutations INTEGER NOT NULL,
  PRIMARY KEY (cache_id, prefix_id, server, slot)
) WITHOUT ROWID;
CREATE INDEX prefix_history_cache_ts ON prefix_history (cache_id, prefix_id, ts);
CREATE INDEX prefix_history_ts ON prefix_history (ts);
`;

export class SqliteIntrospection {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      row: db.prepare('SELECT watched_prefixes FROM caches WHERE id = ? AND deleted = 0'),
      nextId: db.prepare("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'watched_prefix_id' RETURNING value"),
      write: db.prepare('UPDATE caches SET watched_prefixes = ? WHERE id = ?'),
      dropPrefix: db.prepare('DELETE FROM prefix_history WHERE cache_id = ? AND prefix_id = ?'),
      insert: db.prepare(`INSERT OR IGNORE INTO prefix_history
        (cache_id, prefix_id, server, slot, ts, num_keys, total_size, hits, misses, mutations) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      range: db.prepare(`SELECT * FROM prefix_history WHERE cache_id = ? AND prefix_id = ? AND ts >= ? AND ts <= ?
        ORDER BY ts, server`),
    };
  }

  watchPrefix(cacheId: number, name: string): WatchedPrefix | 'limit' | 'no_cache' {
    checkPrefixName(name);
    return this.db.transaction(() => {
      const row = this.stmt.row.get(cacheId) as { watched_prefixes: string } | undefined;
      if (!row) return 'no_cache' as const;
      const list = readWatchedPrefixes(row.watched_prefixes);
      const plan = planWatch(list, name);
      if (plan === 'limit') return plan;
      if (plan !== 'add') return plan.found;
      const { value } = this.stmt.nextId.get() as { value: string };
      const made: WatchedPrefix = { id: Number(value), name, createdAt: Date.now() };
      this.stmt.write.run(JSON.stringify([...list, made]), cacheId);
      return made;
    }).immediate();
  }

  unwatchPrefix(cacheId: number, prefixId: number): boolean {
    return this.db.transaction(() => {
      const row = this.stmt.row.get(cacheId) as { watched_prefixes: string } | undefined;
      if (!row) return false;
      const list = readWatchedPrefixes(row.watched_prefixes);
      const kept = list.filter((p) => p.id !== prefixId);
      if (kept.length === list.length) return false;
      this.stmt.write.run(JSON.stringify(kept), cacheId);
      this.stmt.dropPrefix.run(cacheId, prefixId);
      return true;
    }).immediate();
  }

  addPrefixHistory(rows: readonly PrefixSample[], slotMs: number): void {
    this.db.transaction(() => {
      for (const r of rows) {
        this.stmt.insert.run(r.cacheId, r.prefixId, r.server, Math.floor(r.timestamp / slotMs), r.timestamp,
          r.keys, r.bytes, r.hits, r.misses, r.mutations);
      }
    })();
  }

  prefixHistory(cacheId: number, prefixId: number, from: number, to: number): PrefixSample[] {
    return (this.stmt.range.all(cacheId, prefixId, from, to) as PrefixRow[]).map(toPrefixSample);
  }

  /** Within thinHistory's transaction: prefix samples live as long as raw history. */
  thin(rawMs: number, now: number): void {
    this.db.prepare('DELETE FROM prefix_history WHERE ts < ?').run(now - rawMs);
  }

  /** Within deleteCache's transaction. */
  dropCache(cacheId: number): void {
    this.db.prepare('DELETE FROM prefix_history WHERE cache_id = ?').run(cacheId);
  }
}
