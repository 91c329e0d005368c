/**
 * `cachier credentials list|create|delete CACHE_ID`: a cache's credentials straight in the
 * catalog (SQLite --data or PostgreSQL --database-url), with or without a running server;
 * running nodes apply a change within a second. The way back for an operator whose tenant
 * lost its only password: passwords are stored hashed and shown once, so `create` mints a
 * new credential (every capability) and prints its password that once; `--primary` makes it
 * the cache's primary (what the dashboard's sign-in link acts as). `list` never prints a
 * password; `delete` refuses the primary (promote another first). `--json` prints the API's
 * shapes, as `cache create --json`.
 */
import { parseArgs } from 'node:util';
import { cacheServers, CredentialLimitError, serversOf, type Catalog, type CredentialRecord } from '../catalog/catalog.ts';
import { openCatalog } from '../catalog/open.ts';
import { credentialView } from '../api/views.ts';
import { UsageError } from './args.ts';

const USAGE = 'usage: cachier credentials list|create|delete CACHE_ID [CRED] [--data DIR | --database-url URL] [--primary] [--json]';

export async function runCredentials(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'list' && sub !== 'create' && sub !== 'delete') throw new UsageError(USAGE);
  const { values: o, positionals } = (() => {
    try {
      return parseArgs({
        args: rest,
        strict: true,
        allowPositionals: true,
        options: {
          data: { type: 'string', default: './data' },
          'database-url': { type: 'string' },
          primary: { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
        },
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  })();
  const [idText, cred, ...extra] = positionals;
  if (idText === undefined || !/^\d{1,15}$/.test(idText) || extra.length > 0) throw new UsageError(USAGE);
  if (sub === 'delete' ? cred === undefined : cred !== undefined) {
    throw new UsageError(sub === 'delete' ? 'usage: cachier credentials delete CACHE_ID CRED (its id or username)' : USAGE);
  }
  if (o.primary && sub !== 'create') throw new UsageError('--primary applies to credentials create only');

  const catalog = await openCatalog({ dataDir: o.data, databaseUrl: o['database-url'] });
  try {
    const cache = await catalog.getCache(Number(idText));
    if (!cache) throw new Error(`no cache ${idText}`);
    if (sub === 'list') return await list(catalog, cache.id, o.json!);
    if (sub === 'create') return await create(catalog, cache.id, o.primary!, o.json!);
    return await remove(catalog, cache.id, cred!, o.json!);
  } finally {
    await catalog.close();
  }
}

async function list(catalog: Catalog, cacheId: number, json: boolean): Promise<void> {
  const credentials = (await catalog.listCredentials(cacheId)).map(credentialView);
  if (json) {
    console.log(JSON.stringify(credentials));
    return;
  }
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  console.log('id\tusername\tprimary\twrite\tflush\tapi');
  for (const c of credentials) {
    console.log(`${c.id}\t${c.sasl_username}\t${yes(c.primary)}\t${yes(c.write_capability)}\t${yes(c.flush_capability)}\t${yes(c.api_capability)}`);
  }
}

async function create(catalog: Catalog, cacheId: number, primary: boolean, json: boolean): Promise<void> {
  const made = await catalog.createCredential(cacheId, { write: true, flush: true, api: true }).catch((e: unknown) => {
    throw e instanceof CredentialLimitError ? new Error(`${e.message}; delete one first (cachier credentials delete ${cacheId} CRED)`) : e;
  });
  let credential: CredentialRecord = made.credential;
  if (primary) credential = (await catalog.promoteCredential(credential.id)) ?? credential;
  const cache = await catalog.getCache(cacheId);
  const servers = cache ? await cacheServers(catalog, cache) : serversOf([]);
  if (json) {
    console.log(JSON.stringify({ ...credentialView(credential), username: credential.username, password: made.password, servers }));
    return;
  }
  console.log(`Created credential ${credential.id} of cache ${cacheId} with every capability${credential.primary ? ', now its primary' : ''}.`
    + ' Its password is shown only this once:');
  console.log(`MEMCACHIER_SERVERS=${servers.join(',')}`);
  console.log(`MEMCACHIER_USERNAME=${credential.username}`);
  console.log(`MEMCACHIER_PASSWORD=${made.password}`);
}

async function remove(catalog: Catalog, cacheId: number, ref: string, json: boolean): Promise<void> {
  const creds = await catalog.listCredentials(cacheId);
  const target = creds.find((c) => c.username === ref) ?? (/^\d+$/.test(ref) ? creds.find((c) => c.id === Number(ref)) : undefined);
  if (!target) throw new Error(`cache ${cacheId} has no credential ${ref}`);
  const result = await catalog.deleteCredential(target.id);
  if (result === 'primary') {
    throw new Error(`credential ${target.username} is the primary of cache ${cacheId}: promote another first (cachier credentials create ${cacheId} --primary)`);
  }
  if (result === 'not_found') throw new Error(`cache ${cacheId} has no credential ${ref}`);
  if (json) console.log(JSON.stringify({ id: target.id, cache_id: cacheId, sasl_username: target.username, deleted: true }));
  else console.log(`Deleted credential ${target.id} (${target.username}) of cache ${cacheId}; its connections are closed within a second.`);
}
