/**
 * `cachier cluster list|create NAME` and `cachier cache move ID --cluster NAME`: clusters
 * straight against the catalog, with or without a running server, as the operator API's
 * `/api/operator/clusters` and `PATCH /api/operator/caches/ID {"cluster"}`. A moved cache's
 * nodes follow within a second (the old ones drop its data and connections); its data is not
 * copied. `--json` prints the API's shapes.
 */
import { parseArgs } from 'node:util';
import { cacheServers } from '../catalog/catalog.ts';
import { isClusterName, UnknownClusterError } from '../catalog/clusters.ts';
import { openCatalog } from '../catalog/open.ts';
import { cacheView, clusterView } from '../api/views.ts';
import { formatSize } from '../shared/sizes.ts';
import { UsageError } from './args.ts';

const CATALOG_OPTIONS = {
  data: { type: 'string', default: './data' },
  'database-url': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

function parseWithPositionals<O extends Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export async function runCluster(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const usage = 'usage: cachier cluster list|create NAME [--data DIR | --database-url URL] [--json]';
  if (sub !== 'list' && sub !== 'create') throw new UsageError(usage);
  const { values: o, positionals } = parseWithPositionals(rest, CATALOG_OPTIONS);
  if (positionals.length !== (sub === 'create' ? 1 : 0)) throw new UsageError(usage);
  const name = positionals[0];
  if (name !== undefined && !isClusterName(name)) {
    throw new UsageError(`cluster "${name}": use 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  const catalog = await openCatalog({ dataDir: o.data, databaseUrl: o['database-url'] });
  try {
    if (name !== undefined) {
      const made = await catalog.createCluster(name);
      console.log(o.json ? JSON.stringify(clusterView(made)) : `Cluster ${made.name}: ${made.nodes} node${made.nodes === 1 ? '' : 's'}`
        + ` (start nodes in it with cachier node --cluster ${made.name})`);
      return;
    }
    const clusters = (await catalog.listClusters()).map(clusterView);
    if (o.json) return console.log(JSON.stringify(clusters));
    console.log('name\tnodes\tcapacity\tallocated\tunallocated');
    for (const c of clusters) {
      const size = (n: number) => (n < 0 ? `-${formatSize(-n)}` : n === 0 ? '0' : formatSize(n));
      console.log(`${c.name}\t${c.nodes}\t${size(c.capacity_bytes)}\t${size(c.allocated_bytes)}\t${size(c.unallocated_bytes)}`);
    }
  } finally {
    await catalog.close();
  }
}

export async function runCacheMove(argv: string[]): Promise<void> {
  const usage = 'usage: cachier cache move ID --cluster NAME [--data DIR | --database-url URL] [--json]';
  const { values: o, positionals } = parseWithPositionals(argv, { ...CATALOG_OPTIONS, cluster: { type: 'string' } });
  const idText = positionals[0];
  if (positionals.length !== 1 || !/^\d+$/.test(idText!) || o.cluster === undefined) throw new UsageError(usage);
  const id = Number(idText);
  const catalog = await openCatalog({ dataDir: o.data, databaseUrl: o['database-url'] });
  try {
    const from = await catalog.getCache(id);
    if (!from) throw new Error(`no cache ${id}`);
    const moved = await catalog.moveCache(id, o.cluster).catch((e: unknown) => {
      throw e instanceof UnknownClusterError ? new Error(`${e.message} (cachier cluster list; cachier cluster create NAME)`) : e;
    });
    if (!moved) throw new Error(`no cache ${id}`);
    const servers = await cacheServers(catalog, moved);
    if (o.json) return console.log(JSON.stringify(cacheView(moved, servers)));
    console.log(from.cluster === moved.cluster
      ? `Cache ${id} (${moved.name}) is on cluster ${moved.cluster} already`
      : `Cache ${id} (${moved.name}) moved from cluster ${from.cluster} to ${moved.cluster} (its data stays behind)`);
    if (servers.length === 0) console.log(`No node serves cluster ${moved.cluster} yet: start one with cachier node --cluster ${moved.cluster}`);
    else console.log(`MEMCACHIER_SERVERS=${servers.join(',')}`);
  } finally {
    await catalog.close();
  }
}
