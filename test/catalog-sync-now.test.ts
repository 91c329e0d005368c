// "Sync now" must see what changed before the call. A sync already under way may have read
// the catalog before a credential was created; a caller that asked for a sync after
// creating it (the control plane's admin call, the supervisor, the tests' syncNodes) used
// to share that run and then find no credential: a fresh login failed until the next poll
// (CI, PostgreSQL catalog: "login failed: CLIENT_ERROR authentication failed").
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Catalog } from '../src/catalog/catalog.ts';
import { createCacheNode, type ListeningCacheNode } from '../src/node/cache-node.ts';
import { RawClient } from './support/raw-client.ts';
import { openTestCatalog, type TestCatalog } from './support/test-catalog.ts';

let tc: TestCatalog | undefined;
let node: ListeningCacheNode | undefined;
const clients: RawClient[] = [];
after(async () => {
  for (const c of clients) c.end();
  await node?.close();
  await tc?.dispose();
});

test('a sync asked for while one is under way answers after a run that read the catalog after the call', async () => {
  tc = await openTestCatalog('cachier-sync-now-');
  const real = tc.catalog;
  // The real catalog, with a gate after changesSince has read it: the run under way has
  // read the catalog as it was and waits there while the test changes it.
  let gate: Promise<void> | undefined;
  let reads = 0;
  const gated = new Proxy(real, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      if (prop !== 'changesSince') return v.bind(target);
      return async (...args: unknown[]) => {
        const r = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        reads++;
        if (gate) await gate;
        return r;
      };
    },
  }) as Catalog;
  node = await createCacheNode({ catalog: gated }).listen({ host: '127.0.0.1', port: 0 });

  let open!: () => void;
  gate = new Promise((resolve) => (open = resolve));
  const readsBefore = reads;
  // A run (this call's, or the poll's that was under way) reads the catalog and waits.
  const underWay = node.sync.syncNow();
  while (reads === readsBefore) await new Promise((r) => setTimeout(r, 5));
  // The run under way has read the catalog; now the cache and its credential are made.
  const { credential, password } = await real.createCache({ memoryBytes: 16 << 20 });
  const asked = node.sync.syncNow();
  gate = undefined;
  open();
  await asked;

  const c = await RawClient.connect(node.port);
  clients.push(c);
  assert.equal(await c.text(`set ${credential.username} 0 0 ${password.length}\r\n${password}\r\n`), 'STORED\r\n');
  await underWay;
});
