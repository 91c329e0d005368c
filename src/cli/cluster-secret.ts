/**
 * `cachier cluster-secret rotate`: replaces the secret that nodes' admin endpoints demand
 * (and control planes present), straight in the catalog. Running nodes and control planes
 * follow within a second, no restart: nodes read it with the change the rotation makes,
 * control planes re-read it when a node refuses the old one. The new secret is not
 * printed: everything that needs it reads it from the catalog.
 */
import { openCatalog } from '../catalog/open.ts';
import { parse, UsageError } from './args.ts';

export async function runClusterSecret(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'rotate') throw new UsageError('usage: cachier cluster-secret rotate [--data DIR | --database-url URL]');
  const o = parse(rest, {
    data: { type: 'string', default: './data' },
    'database-url': { type: 'string' },
  });
  const catalog = await openCatalog({ dataDir: o.data, databaseUrl: o['database-url'] });
  try {
    await catalog.rotateClusterSecret();
    console.log('Rotated the cluster secret: running nodes and control planes use the new one within a second; the old one is refused.');
  } finally {
    await catalog.close();
  }
}
