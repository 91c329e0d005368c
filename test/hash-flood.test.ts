// Hash flooding: keys built offline to share one hash under an unkeyed function
// (src/store/testing/unkeyed-hash.ts), stored over TCP into one cache, land in short chains, and another
// cache is served meanwhile. Functional checks and chain lengths only: no timings.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ArenaStore } from '../src/store/arena/arena-engine.ts';
import { fnvCollisions, fnvHash } from '../src/store/testing/unkeyed-hash.ts';
import { startTestNode, type TestNode } from './support/test-node.ts';

let t: TestNode;
before(async () => {
  t = await startTestNode();
});
after(() => t.close());

test('keys colliding under the old hash stay in short chains; other caches are served', async () => {
  const keys = fnvCollisions(4000, `${'x'.repeat(40)}:`);
  const h = fnvHash(keys[0]!, 0, keys[0]!.length);
  assert.ok(keys.every((k) => fnvHash(k, 0, k.length) === h));

  const cacheA = await t.createCache();
  const a = await t.textLogin(cacheA);
  const b = await t.textLogin(await t.createCache());

  let flood = '';
  for (const k of keys) flood += `set ${k} 0 0 1 noreply\r\nv\r\n`;
  flood += 'set done 0 0 1\r\n1\r\n';
  a.send(flood);
  // Another tenant's requests meanwhile.
  assert.equal(await b.text('set mine 0 0 2\r\nok\r\n'), 'STORED\r\n');
  assert.equal(await b.text('get mine\r\n', 'END\r\n'), 'VALUE mine 0 2\r\nok\r\nEND\r\n');
  assert.equal(await a.readUntil((x) => x.toString('latin1').endsWith('STORED\r\n'), 10_000).then(String), 'STORED\r\n');

  const store = t.node.tenants.get(cacheA.id)!.store as ArenaStore;
  assert.equal(store.items, keys.length + 1);
  const stats = store.engine.indexStats();
  assert.ok(stats.maxChain <= 12, `longest chain ${stats.maxChain}`);
  assert.equal(stats.rekeys, 0);

  const some = keys.slice(0, 200).map(String);
  const reply = await a.text(`get ${some.join(' ')}\r\n`, 'END\r\n');
  assert.equal(reply, `${some.map((k) => `VALUE ${k} 0 1\r\nv\r\n`).join('')}END\r\n`);
  assert.equal(await b.text('get mine\r\n', 'END\r\n'), 'VALUE mine 0 2\r\nok\r\nEND\r\n');
});
