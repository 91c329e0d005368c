// A cache lives within its limit on a node, evicts only its own items, and never calcifies.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, type TestCache, type TestNode } from './support/test-node.ts';
import type { RawClient } from './support/raw-client.ts';

const LIMIT = 1 << 20; // 1 MiB plan on a one-node cluster
let t: TestNode;
let small: TestCache;
let neighbour: TestCache;
before(async () => {
  t = await startTestNode();
  small = await t.createCache(LIMIT);
  neighbour = await t.createCache(LIMIT);
});
after(() => t.close());

const stat = async (c: RawClient, name: string) =>
  Number(new RegExp(`STAT ${name} (\\d+)`).exec(await c.text('stats\r\n', 'END\r\n'))![1]);

/** Pipelines many sets and waits for every STORED. */
async function fill(c: RawClient, prefix: string, count: number, size: number): Promise<void> {
  const value = 'v'.repeat(size);
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    let req = '';
    for (let j = 0; j < n; j++) req += `set ${prefix}${i + j} 0 0 ${size}\r\n${value}\r\n`;
    const out = await c.text(req, 'STORED\r\n'.repeat(1));
    // Reads may come back in pieces: keep reading until all n replies arrived.
    let got = out.split('STORED\r\n').length - 1;
    while (got < n) got += (await c.text('', 'STORED\r\n')).split('STORED\r\n').length - 1;
    assert.equal(got, n);
  }
}

test('writing three times the limit keeps bytes within limit_maxbytes and counts evictions', async () => {
  const c = await t.textLogin(small);
  const other = await t.textLogin(neighbour);
  await other.text('set mine 0 0 4\r\nkeep\r\n');
  assert.equal(await stat(c, 'limit_maxbytes'), LIMIT);
  await fill(c, 'k', Math.ceil((3 * LIMIT) / 100), 100);
  const bytes = await stat(c, 'bytes');
  assert.ok(bytes <= LIMIT, `bytes ${bytes} > limit ${LIMIT}`);
  assert.ok(bytes > LIMIT * 0.8, `cache should be nearly full, bytes ${bytes}`);
  assert.ok((await stat(c, 'evictions')) > 0);
  assert.equal(await stat(other, 'evictions'), 0);
  assert.equal(await other.text('get mine\r\n', 'END\r\n'), 'VALUE mine 0 4\r\nkeep\r\nEND\r\n');
  // The most recent items survive.
  const last = Math.ceil((3 * LIMIT) / 100) - 1;
  assert.match(await c.text(`get k${last}\r\n`, 'END\r\n'), /^VALUE /);
});

test('after filling with 100 B values, 10 KB values still store and stay retrievable', async () => {
  const c = await t.textLogin(small);
  await fill(c, 'small', 20000, 100);
  await fill(c, 'big', 300, 10 * 1024);
  for (let i = 290; i < 300; i++) {
    const r = await c.text(`get big${i}\r\n`, 'END\r\n');
    assert.match(r, new RegExp(`^VALUE big${i} 0 10240\\r\\n`), `big${i}`);
  }
  assert.ok((await stat(c, 'bytes')) <= LIMIT);
});
