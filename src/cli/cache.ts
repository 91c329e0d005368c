/**
 * `cachier cache create|list|move`: provisioning straight against the catalog (SQLite --data or PostgreSQL --database-url).
 * A new cache goes to `--cluster`, else to the cluster with the most unallocated memory; `move` puts it on another.
 */
import { cacheServers } from '../catalog/catalog.ts';
import { UnknownClusterError } from '../catalog/clusters.ts';
import { openCatalog } from '../catalog/open.ts';
import { formatSize, parseSize } from '../shared/sizes.ts';
import { parse, UsageError } from './args.ts';
import { isCacheAdminSubcommand, runCacheAdmin } from './cache-admin.ts';
import { runCacheMove } from './cluster.ts';

export async function runCache(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'create') return create(rest);
  if (sub === 'list') return list(rest);
  if (sub === 'move') return runCacheMove(rest);
  if (isCacheAdminSubcommand(sub)) return runCacheAdmin(sub, rest);
  throw new UsageError('usage: cachier cache create|list|show|resize|disable|enable|delete|move [--data DIR | --database-url URL] [...]');
}

async function create(argv: string[]): Promise<void> {
  const o = parse(argv, {
    data: { type: 'string', default: './data' },
    'database-url': { type: 'string' },
    memory: { type: 'string', default: '64mb' },
    name: { type: 'string' },
    cluster: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  let memoryBytes: number;
  try {
    memoryBytes = parseSize(o.memory!);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const catalog = await openCatalog({ dataDir: o.data, databaseUrl: o['database-url'] });
  try {
    const { cache, credential, password } = await catalog.createCache({ name: o.name, memoryBytes, cluster: o.cluster }).catch((e: unknown) => {
      throw e instanceof UnknownClusterError ? new UsageError(`--cluster: ${e.message} (cachier cluster list; cachier cluster create NAME)`) : e;
    });
    const servers = await cacheServers(catalog, cache);
    const out = {
      id: cache.id, name: cache.name, memory: formatSize(cache.memoryBytes), memory_bytes: cache.memoryBytes,
      cluster: cache.cluster, servers, username: credential.username, password,
    };
    if (o.json) console.log(JSON.stringify(out));
    else {
      console.log(`Created cache ${cache.id} (${cache.name}, ${out.memory}) on cluster ${cache.cluster}`);
      console.log(`MEMCACHIER_SERVERS=${servers.join(',')}`);
      console.log(`MEMCACHIER_USERNAME=${credential.username}`);
      console.log(`MEMCACHIER_PASSWORD=${password}`);
    }
  } finally {
    await catalog.close();
  }
}

async function list(argv: string[]): Promise<void> {
  const o = parse(argv, {
    data: { type: 'string', default: './data' },
    'database-url': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const catalog = await openCatalog({ dataDir: o.data, databaseUrl: o['database-url'] });
  try {
    const caches = await catalog.listCaches();
    if (o.json) console.log(JSON.stringify(caches));
    else for (const c of caches) console.log(`${c.id}\t${c.name}\t${formatSize(c.memoryBytes)}\t${c.enabled ? 'enabled' : 'disabled'}\t${c.cluster}`);
  } finally {
    await catalog.close();
  }
}
