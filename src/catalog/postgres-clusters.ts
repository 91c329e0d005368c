/**
 * Clusters in the PostgreSQL catalog, the same as sqlite-clusters.ts (the reference).
 * postgresClustersMigration is one step of postgres.ts's MIGRATIONS. Caches are stamped by
 * their BEFORE UPDATE trigger already, so a moved cache reaches nodes with nothing more;
 * the node trigger learns the cluster and capacity columns; a new cluster bumps the revision
 * (and notifies) from a trigger of its own. Foreign keys keep caches and nodes on clusters
 * that exist; clusters are never deleted.
 */
import type pg from 'pg';
import type { PoolClient } from 'pg';
import { checkClusterName, DEFAULT_CLUSTER, DEFAULT_NODE_CAPACITY, NODE_STALE_MS, UnknownClusterError, type ClusterRecord } from './clusters.ts';

/** `channel`: the NOTIFY channel of postgres.ts (passed in: that module imports this one). */
export const postgresClustersMigration = (channel: string): string => `
CREATE TABLE IF NOT EXISTS clusters (name text PRIMARY KEY, created_at bigint NOT NULL);
INSERT INTO clusters (name, created_at) VALUES ('${DEFAULT_CLUSTER}', (extract(epoch FROM now()) * 1000)::bigint)
  ON CONFLICT DO NOTHING;
ALTER TABLE caches ADD COLUMN IF NOT EXISTS cluster text NOT NULL DEFAULT '${DEFAULT_CLUSTER}' REFERENCES clusters(name);
ALTER TABLE nodes ADD COLUMN IF NOT EXISTS cluster text NOT NULL DEFAULT '${DEFAULT_CLUSTER}' REFERENCES clusters(name);
ALTER TABLE nodes ADD COLUMN IF NOT EXISTS pid integer;
ALTER TABLE nodes ADD COLUMN IF NOT EXISTS capacity_bytes bigint NOT NULL DEFAULT ${DEFAULT_NODE_CAPACITY};
CREATE INDEX IF NOT EXISTS caches_cluster ON caches (cluster);
CREATE INDEX IF NOT EXISTS nodes_cluster ON nodes (cluster);

CREATE OR REPLACE FUNCTION catalog_bumped() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('UPDATE %I.catalog_revision SET value = value + 1', TG_TABLE_SCHEMA);
  PERFORM pg_notify('${channel}', TG_TABLE_SCHEMA);
  RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS clusters_added ON clusters;
CREATE TRIGGER clusters_added AFTER INSERT ON clusters FOR EACH ROW EXECUTE FUNCTION catalog_bumped();
DROP TRIGGER IF EXISTS nodes_moved ON nodes;
CREATE TRIGGER nodes_moved AFTER UPDATE ON nodes
  FOR EACH ROW WHEN (OLD.address IS DISTINCT FROM NEW.address OR OLD.admin_address IS DISTINCT FROM NEW.admin_address
    OR OLD.cluster IS DISTINCT FROM NEW.cluster OR OLD.capacity_bytes IS DISTINCT FROM NEW.capacity_bytes)
  EXECUTE FUNCTION catalog_change_logged('node');
`;

interface ClusterRow { name: string; created_at: string; nodes: number; capacity: string; allocated: string }

// Live nodes only (last_seen since $1): a dead node's memory serves nobody.
const SELECT_CLUSTERS = `SELECT c.name, c.created_at,
    (SELECT COUNT(*)::integer FROM nodes n WHERE n.cluster = c.name AND n.last_seen >= $1) AS nodes,
    (SELECT COALESCE(SUM(n.capacity_bytes), 0) FROM nodes n WHERE n.cluster = c.name AND n.last_seen >= $1) AS capacity,
    (SELECT COALESCE(SUM(x.memory_bytes), 0) FROM caches x WHERE x.cluster = c.name AND NOT x.deleted) AS allocated
  FROM clusters c`;

const toCluster = (r: ClusterRow): ClusterRecord => ({
  name: r.name, createdAt: Number(r.created_at), nodes: r.nodes, capacityBytes: Number(r.capacity), allocatedBytes: Number(r.allocated),
});

export class PostgresClusters {
  constructor(private readonly pool: pg.Pool) {}

  async list(c: pg.Pool | PoolClient = this.pool): Promise<ClusterRecord[]> {
    return (await c.query<ClusterRow>(`${SELECT_CLUSTERS} ORDER BY c.name`, [Date.now() - NODE_STALE_MS])).rows.map(toCluster);
  }

  async create(name: string): Promise<ClusterRecord> {
    checkClusterName(name);
    await this.ensure(this.pool, name);
    return toCluster((await this.pool.query<ClusterRow>(`${SELECT_CLUSTERS} WHERE c.name = $2`, [Date.now() - NODE_STALE_MS, name])).rows[0]!);
  }

  /** Makes the cluster if missing (a registering node's). */
  async ensure(c: pg.Pool | PoolClient, name: string): Promise<void> {
    await c.query('INSERT INTO clusters (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [name, Date.now()]);
  }

  async mustExist(c: PoolClient, name: string): Promise<void> {
    if ((await c.query('SELECT 1 FROM clusters WHERE name = $1', [name])).rowCount === 0) throw new UnknownClusterError(name);
  }

  /** Within a transaction: moves a live cache (nothing when it is there already). */
  async move(c: PoolClient, id: number, cluster: string): Promise<void> {
    await this.mustExist(c, cluster);
    await c.query('UPDATE caches SET cluster = $2 WHERE id = $1 AND NOT deleted AND cluster <> $2', [id, cluster]);
  }
}
