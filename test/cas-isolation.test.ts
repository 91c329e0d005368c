// CAS values per cache: with one node-wide counter a tenant would see, from the gap
// between two `gets`, how many writes other tenants made meanwhile.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, type TestNode } from './support/test-node.ts';
import type { RawClient } from './support/raw-client.ts';

let t: TestNode;
before(async () => {
  t = await startTestNode();
});
after(() => t.close());

async function gets(c: RawClient, key: string): Promise<number> {
  const r = await c.text(`gets ${key}\r\n`, 'END\r\n');
  const m = /^VALUE \S+ \d+ \d+ (\d+)\r\n/.exec(r);
  assert.ok(m, `gets answered ${JSON.stringify(r)}`);
  return Number(m[1]);
}

test("a cache's CAS values do not move with another cache's writes", async () => {
  const a = await t.textLogin(await t.createCache());
  const b = await t.textLogin(await t.createCache());

  assert.equal(await a.text('set k 0 0 1\r\na\r\n'), 'STORED\r\n');
  const first = await gets(a, 'k');

  // 100 writes in B, pipelined in one send.
  let burst = '';
  for (let i = 0; i < 100; i++) burst += `set b${i} 0 0 1\r\nb\r\n`;
  await b.text(burst, 'STORED\r\n'.repeat(100));
  const inB = await gets(b, 'b99');

  assert.equal(await a.text('set k 0 0 1\r\nA\r\n'), 'STORED\r\n');
  assert.equal(await gets(a, 'k'), first + 1, "one write in A moves A's CAS by exactly one");
  // B counted its own 100 writes from where it started, whatever A did.
  assert.equal(inB, 100);

  // The CAS still does its job within a cache.
  assert.equal(await a.text(`cas k 0 0 1 ${first}\r\nx\r\n`), 'EXISTS\r\n');
  assert.equal(await a.text(`cas k 0 0 1 ${first + 1}\r\ny\r\n`), 'STORED\r\n');
  assert.equal(await a.text('get k\r\n', 'END\r\n'), 'VALUE k 0 1\r\ny\r\nEND\r\n');
});
