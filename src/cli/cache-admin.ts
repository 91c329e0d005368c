/**
 * `cachier cache show|resize|disable|enable|delete ID`: managing caches straight against
 * the catalog, with or without a running server (running nodes pick changes up within a
 * second by polling the catalog). The same operations as the operator HTTP API.
 * The cache is named by a positional ID or `--id ID`; `--json` prints the API's shapes.
 */
import { parseArgs } from 'node:util';
import { cacheServers, type CacheRecord, type Catalog } from '../catalog/catalog.ts';
import { openCatalog } from '../catalog/open.ts';
import { cacheView, credentialView } from '../api/views.ts';
import { formatSize, parseSize } from '../shared/sizes.ts';
import { UsageError } from './args.ts';

export const CACHE_ADMIN_SUBCOMMANDS = ['show', 'resize', 'disable', 'enable', 'delete'] as const;
type Sub = (typeof CACHE_ADMIN_SUBCOMMANDS)[number];

export function isCacheAdminSubcommand(sub: string | undefined): sub is Sub {
  return (CACHE_ADMIN_SUBCOMMANDS as readonly (string | undefined)[]).includes(sub);
}

export async function runCacheAdmin(sub: Sub, argv: string[]): Promise<void> {
  const { values: o, positionals } = (() => {
    try {
      return parseArgs({
        args: argv,
        strict: true,
        allowPositionals: true,
        options: {
          data: { type: 'string', default: './data' },
          'database-url': { type: 'string' },
          id: { type: 'string' },
          memory: { type: 'string' },
          json: { type: 'boolean', default: false },
        },
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  })();
  const idText = o.id ?? positionals[0];
  if (idText === undefined || !/^\d+$/.test(idText) || positionals.length > (o.id === undefined ? 1 : 0)) {
    throw new UsageError(`usage: cachier cache ${sub} ID [--data DIR]${sub === 'resize' ? ' --memory SIZE' : ''} [--json]`);
  }
  const id = Number(idText);
  let memoryBytes: number | undefined;
  if (sub === 'resize') {
    if (o.memory === undefined) throw new UsageError('cache resize needs --memory SIZE (e.g. 128mb)');
    try {
      memoryBytes = parseSize(o.memory);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  } else if (o.memory !== undefined) {
    throw new UsageError(`--memory applies to cache resize only`);
  }

  const catalog = await openCatalog({ dataDir: o.data, databaseUrl: o['database-url'] });
  try {
    const cache = await catalog.getCache(id);
    if (!cache) throw new Error(`no cache ${id}`);
    const print = (text: string, json: unknown) => console.log(o.json ? JSON.stringify(json) : text);
    if (sub === 'show') return await show(catalog, cache, o.json!);
    if (sub === 'delete') {
      await catalog.deleteCache(id);
      return print(`Deleted cache ${id} (${cache.name})`, { id, deleted: true });
    }
    const patch = sub === 'resize' ? { memoryBytes } : { enabled: sub === 'enable' };
    const updated = (await catalog.updateCache(id, patch))!;
    const view = cacheView(updated, await cacheServers(catalog, updated));
    if (sub === 'resize') print(`Cache ${id} (${updated.name}) resized to ${formatSize(updated.memoryBytes)}`, view);
    else print(`Cache ${id} (${updated.name}) ${updated.enabled ? 'enabled' : 'disabled'}`, view);
  } finally {
    await catalog.close();
  }
}

async function show(catalog: Catalog, cache: CacheRecord, json: boolean): Promise<void> {
  const servers = await cacheServers(catalog, cache);
  const credentials = (await catalog.listCredentials(cache.id)).map(credentialView);
  if (json) {
    console.log(JSON.stringify({ ...cacheView(cache, servers), credentials }));
    return;
  }
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  console.log(`Cache ${cache.id} (${cache.name}): ${formatSize(cache.memoryBytes)}, ${cache.enabled ? 'enabled' : 'disabled'}, cluster ${cache.cluster}`);
  console.log(`MEMCACHIER_SERVERS=${servers.join(',')}`);
  console.log('credentials:');
  console.log('  id\tusername\tprimary\twrite\tflush\tapi');
  for (const c of credentials) {
    console.log(`  ${c.id}\t${c.sasl_username}\t${yes(c.primary)}\t${yes(c.write_capability)}\t${yes(c.flush_capability)}\t${yes(c.api_capability)}`);
  }
}
