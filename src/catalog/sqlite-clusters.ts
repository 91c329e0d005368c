/**
 * Clusters in the SQLite catalog (clusters.ts says what they are). SQLITE_CLUSTERS_MIGRATION
 * is one step of sqlite.ts's MIGRATIONS: the `clusters` table with `default` in it, the
 * cluster of every cache and node (existing ones are `default`), each node's pid and
 * capacity; the cache and node triggers learn the new columns, so moving a cache or a node
 * reaches every node through changesSince, and a new cluster moves the revision too.
 * Writes that check a cluster exists run in IMMEDIATE transactions (clusters are never
 * deleted, so what was checked stays true).
 */
import type Database from 'better-sqlite3';
import { checkClusterName, DEFAULT_CLUSTER, DEFAULT_NODE_CAPACITY, NODE_STALE_MS, UnknownClusterError, type ClusterRecord } from './clusters.ts';

/** `stampCaches` and `logNode`: the trigger bodies sqlite.ts uses for every cache and node change. */
export const sqliteClustersMigration = (bump: string, stampCaches: string, logNode: string): string => `
CREATE TABLE clusters (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
INSERT INTO clusters (name, created_at) VALUES ('${DEFAULT_CLUSTER}', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
CREATE TRIGGER clusters_ins AFTER INSERT ON clusters BEGIN ${bump} END;
ALTER TABLE caches ADD COLUMN cluster TEXT NOT NULL DEFAULT '${DEFAULT_CLUSTER}';
ALTER TABLE nodes ADD COLUMN cluster TEXT NOT NULL DEFAULT '${DEFAULT_CLUSTER}';
ALTER TABLE nodes ADD COLUMN pid INTEGER;
ALTER TABLE nodes ADD COLUMN capacity_bytes INTEGER NOT NULL DEFAULT ${DEFAULT_NODE_CAPACITY};
CREATE INDEX caches_cluster ON caches(cluster);
CREATE INDEX nodes_cluster ON nodes(cluster);
DROP TRIGGER caches_upd;
CREATE TRIGGER caches_upd AFTER UPDATE OF name, memory_bytes, enabled, created_at, deleted, introspection, watched_prefixes, cluster ON caches
  BEGIN ${stampCaches} END;
DROP TRIGGER nodes_upd;
CREATE TRIGGER nodes_upd AFTER UPDATE OF address, admin_address, cluster, capacity_bytes ON nodes
  WHEN OLD.address IS NOT NEW.address OR OLD.admin_address IS NOT NEW.admin_address
    OR OLD.cluster IS NOT NEW.cluster OR OLD.capacity_bytes IS NOT NEW.capacity_bytes
  BEGIN ${logNode} END;
`;

interface ClusterRow { name: string; created_at: number; nodes: number; capacity: number; allocated: number }

// Live nodes only (last_seen since @since): a dead node's memory serves nobody.
const SELECT_CLUSTERS = `SELECT c.name, c.created_at,
    (SELECT COUNT(*) FROM nodes n WHERE n.cluster = c.name AND n.last_seen >= @since) AS nodes,
    (SELECT COALESCE(SUM(n.capacity_bytes), 0) FROM nodes n WHERE n.cluster = c.name AND n.last_seen >= @since) AS capacity,
    (SELECT COALESCE(SUM(x.memory_bytes), 0) FROM caches x WHERE x.cluster = c.name AND x.deleted = 0) AS allocated
  FROM clusters c`;

const toCluster = (r: ClusterRow): ClusterRecord => ({
  name: r.name, createdAt: r.created_at, nodes: r.nodes, capacityBytes: r.capacity, allocatedBytes: r.allocated,
});

export class SqliteClusters {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      list: db.prepare(`${SELECT_CLUSTERS} ORDER BY c.name`),
      one: db.prepare(`${SELECT_CLUSTERS} WHERE c.name = @name`),
      insert: db.prepare('INSERT OR IGNORE INTO clusters (name, created_at) VALUES (?, ?)'),
      exists: db.prepare('SELECT 1 FROM clusters WHERE name = ?'),
      move: db.prepare('UPDATE caches SET cluster = ? WHERE id = ? AND deleted = 0 AND cluster <> ?'),
    };
  }

  list(): ClusterRecord[] {
    return (this.stmt.list.all({ since: Date.now() - NODE_STALE_MS }) as ClusterRow[]).map(toCluster);
  }

  create(name: string): ClusterRecord {
    checkClusterName(name);
    return this.db.transaction(() => {
      this.ensure(name);
      return toCluster(this.stmt.one.get({ name, since: Date.now() - NODE_STALE_MS }) as ClusterRow);
    }).immediate();
  }

  /** Within a transaction: makes the cluster if missing (a registering node's). */
  ensure(name: string): void {
    this.stmt.insert.run(name, Date.now());
  }

  /** Within a transaction: throws unless the cluster exists. */
  mustExist(name: string): void {
    if (!this.stmt.exists.get(name)) throw new UnknownClusterError(name);
  }

  /** Within a transaction: moves a live cache (nothing when it is there already). */
  move(id: number, cluster: string): void {
    this.mustExist(cluster);
    this.stmt.move.run(cluster, id, cluster);
  }
}
