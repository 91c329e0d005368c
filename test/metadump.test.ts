// `lru_crawler metadump` over a real socket: memcached 1.6's line format, each cache sees
// only its own keys, only credentials with api_capability and only with introspection on,
// binary keys URL-encoded, and a big cache streams without stalling the node's other
// connections.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ITEM_OVERHEAD } from '../src/store/item-cost.ts';
import { startTestNode, type TestNode } from './support/test-node.ts';
import type { RawClient } from './support/raw-client.ts';
import { PROMPTLY_MS } from './support/wait.ts';

let t: TestNode;
before(async () => {
  t = await startTestNode();
});
after(() => t.close());

const DUMP = 'lru_crawler metadump all\r\n';

/** memcached's metadump key encoding, written out independently of the node's. */
function uriEncode(key: Buffer): string {
  let s = '';
  for (const c of key) s += /[A-Za-z0-9._~-]/.test(String.fromCharCode(c)) ? String.fromCharCode(c) : `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
  return s;
}
function uriDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(s.charCodeAt(i));
    }
  }
  return Buffer.from(out);
}

interface Line { key: Buffer; fields: Record<string, string> }

/** Parses a metadump reply: item lines (bare LF, as memcached), then END CRLF. */
function parseDump(text: string): Line[] {
  assert.ok(text.endsWith('END\r\n'), `ends with END: ${JSON.stringify(text.slice(-50))}`);
  const body = text.slice(0, -'END\r\n'.length);
  if (body === '') return [];
  assert.ok(body.endsWith('\n') && !body.includes('\r'), 'item lines end in a bare LF');
  return body.slice(0, -1).split('\n').map((l) => {
    const fields: Record<string, string> = {};
    for (const part of l.split(' ')) {
      const eq = part.indexOf('=');
      fields[part.slice(0, eq)] = part.slice(eq + 1);
    }
    assert.deepEqual(Object.keys(fields), ['key', 'exp', 'la', 'cas', 'fetch', 'cls', 'size'], l);
    return { key: uriDecode(fields.key!), fields };
  });
}

/**
 * Reads a whole dump from the client's socket, taking it from the client's own reader
 * meanwhile (which re-copies what it holds on every chunk, and the node runs in this very
 * process); resolves with the text and the time its END arrived.
 */
function readDump(c: RawClient, timeoutMs = 60_000): Promise<{ text: string; at: number }> {
  const socket = c.socket;
  const own = socket.listeners('data') as ((d: Buffer) => void)[];
  socket.removeAllListeners('data');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let tail = Buffer.alloc(0);
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      for (const f of own) socket.on('data', f);
    };
    const timer = setTimeout(() => { done(); reject(new Error('dump did not end')); }, timeoutMs);
    const onData = (d: Buffer) => {
      chunks.push(d);
      tail = Buffer.concat([tail, d.subarray(-5)]).subarray(-5);
      if (tail.toString('latin1') === 'END\r\n') {
        done();
        resolve({ text: Buffer.concat(chunks).toString('latin1'), at: performance.now() });
      }
    };
    socket.on('data', onData);
  });
}

/** Stores many items at once with noreply sets, then waits for them with one `mn`. */
async function fill(c: RawClient, n: number, key = (i: number) => `key:${i}`, value = 'v'): Promise<void> {
  const batch = 5000;
  for (let i = 0; i < n; i += batch) {
    let s = '';
    for (let j = i; j < Math.min(n, i + batch); j++) s += `set ${key(j)} 0 0 ${value.length} noreply\r\n${value}\r\n`;
    assert.equal(await c.text(`${s}mn\r\n`), 'MN\r\n');
  }
}

async function dumpOf(c: RawClient): Promise<Line[]> {
  const got = readDump(c);
  c.send(DUMP);
  return parseDump((await got).text);
}

test('each cache on a node dumps only its own keys, with memcached 1.6 fields', async () => {
  const a = await t.createCache();
  const b = await t.createCache();
  const ca = await t.textLogin(a);
  const cb = await t.textLogin(b);
  assert.equal(await ca.text('set alpha 5 0 5\r\nhello\r\nset ttl 0 100 2\r\nhi\r\nget alpha\r\n', 'END\r\n'),
    'STORED\r\nSTORED\r\nVALUE alpha 5 5\r\nhello\r\nEND\r\n');
  const now = Math.floor(Date.now() / 1000);
  await fill(cb, 50, (i) => `b-only-${i}`);

  const linesA = await dumpOf(ca);
  assert.deepEqual(linesA.map((l) => l.key.toString()).sort(), ['alpha', 'ttl']);
  const cas = /VALUE alpha 5 5 (\d+)/.exec(await ca.text('gets alpha\r\n', 'END\r\n'))![1];
  const alpha = linesA.find((l) => l.key.toString() === 'alpha')!.fields;
  assert.deepEqual({ ...alpha, la: undefined },
    { key: 'alpha', exp: '-1', la: undefined, cas, fetch: 'yes', cls: '1', size: String(5 + 5 + ITEM_OVERHEAD) });
  assert.ok(Math.abs(Number(alpha.la) - now) <= 2, `la ${alpha.la} is absolute unix time`);
  const ttl = linesA.find((l) => l.key.toString() === 'ttl')!.fields;
  assert.equal(ttl.fetch, 'no');
  assert.ok(Math.abs(Number(ttl.exp) - (now + 100)) <= 2, `exp ${ttl.exp} is absolute unix time`);

  const linesB = await dumpOf(cb);
  assert.deepEqual(linesB.map((l) => l.key.toString()).sort(), Array.from({ length: 50 }, (_, i) => `b-only-${i}`).sort());
  // `hash` is the same walk here; a class list with 1 (every item's class) too; one without it is empty.
  const hash = readDump(ca);
  ca.send('lru_crawler metadump hash\r\n');
  const hashText = (await hash).text;
  assert.equal(parseDump(hashText).length, 2, hashText);
  assert.equal(parseDump(await ca.text('lru_crawler metadump 1,2\r\n', 'END\r\n')).length, 2);
  assert.equal(await ca.text('lru_crawler metadump 2,3\r\n'), 'END\r\n');
  // Deleted and expired items are not listed.
  assert.equal(await ca.text('delete alpha\r\ntouch ttl -1\r\n', 'TOUCHED\r\n'), 'DELETED\r\nTOUCHED\r\n');
  assert.equal(await ca.text(DUMP), 'END\r\n');
});

test('binary keys are URL-encoded; 250-byte keys', async () => {
  const cache = await t.createCache();
  const c = await t.textLogin(cache);
  // Every byte a text key may hold: no space, no control characters.
  const bytes: number[] = [];
  for (let x = 0x21; x <= 0xff; x++) if (x !== 0x7f) bytes.push(x);
  const allBytes = Buffer.from(bytes);
  const long = Buffer.from('k'.repeat(240) + '%~.-_ab/+='.slice(0, 10));
  const longBinary = Buffer.alloc(250, 0xe9);
  assert.equal(long.length, 250);
  for (const key of [allBytes, long, longBinary]) {
    assert.equal(await c.text(Buffer.concat([Buffer.from('set '), key, Buffer.from(' 0 0 1\r\nx\r\n')])), 'STORED\r\n');
  }
  const got = readDump(c);
  c.send(DUMP);
  const text = (await got).text;
  for (const key of [allBytes, long, longBinary]) assert.ok(text.includes(`key=${uriEncode(key)} `), `encoded ${uriEncode(key).slice(0, 40)}`);
  const keys = parseDump(text).map((l) => l.key);
  assert.equal(keys.length, 3);
  for (const key of [allBytes, long, longBinary]) assert.ok(keys.some((k) => k.equals(key)));
  // The encoding leaves only letters, digits and -._~ bare.
  for (const l of parseDump(text)) assert.match(l.fields.key!, /^([A-Za-z0-9._~-]|%[0-9A-F]{2})+$/);
});

test('a pipelined request after a streamed dump is answered after its END', async () => {
  const cache = await t.createCache();
  const c = await t.textLogin(cache);
  await fill(c, 5000);
  const got = c.readUntil((b) => b.toString('latin1').endsWith('VALUE key:1 0 1\r\nv\r\nEND\r\n'), PROMPTLY_MS);
  c.send(`${DUMP}get key:1\r\n`);
  const text = (await got).toString('latin1');
  const end = text.indexOf('END\r\n');
  assert.equal(parseDump(text.slice(0, end + 5)).length, 5000);
  assert.equal(text.slice(end + 5), 'VALUE key:1 0 1\r\nv\r\nEND\r\n');
});

test('the dump needs a login; other lru_crawler subcommands are ERROR, bad classes BADCLASS', async () => {
  const anon = await t.connect();
  assert.equal(await anon.text(DUMP), 'CLIENT_ERROR authentication required\r\n');
  const cache = await t.createCache();
  const c = await t.textLogin(cache);
  assert.equal(await c.text('set mine 0 0 1\r\n1\r\n'), 'STORED\r\n');
  assert.equal(parseDump(await c.text(DUMP, 'END\r\n')).length, 1, 'a credential with api_capability dumps its own cache');
  for (const sub of ['crawl all', 'mgdump all', 'enable', 'disable', 'tocrawl 5', 'sleep 10', 'metadump', 'metadump all extra', 'nonsense']) {
    assert.equal(await c.text(`lru_crawler ${sub}\r\n`), 'ERROR\r\n', sub);
  }
  for (const cls of ['0', '64', 'abc']) assert.equal(await c.text(`lru_crawler metadump ${cls}\r\n`), 'BADCLASS invalid class id\r\n');
  assert.equal(await c.text('get mine\r\n', 'END\r\n'), 'VALUE mine 0 1\r\n1\r\nEND\r\n', 'the connection stays usable');
});

test('the dump needs api_capability and introspection on for the cache and the node; anonymous mode may dump', async () => {
  const cache = await t.createCache();
  const c = await t.textLogin(cache);
  assert.equal(await c.text('set mine 0 0 1\r\n1\r\n'), 'STORED\r\n');
  // Keys are introspection: a credential without api_capability (even one that may write and flush) is refused.
  const noApi = await t.textLogin(await t.addCredential(cache.id, { write: true, flush: true, api: false }));
  for (const sub of ['all', 'hash', '1']) {
    assert.equal(await noApi.text(`lru_crawler metadump ${sub}\r\n`), 'CLIENT_ERROR permission denied: credential lacks api capability\r\n', sub);
  }
  assert.equal(await noApi.text('get mine\r\n', 'END\r\n'), 'VALUE mine 0 1\r\n1\r\nEND\r\n', 'the connection stays usable');
  const apiOnly = await t.textLogin(await t.addCredential(cache.id, { write: false, flush: false, api: true }));
  assert.equal(parseDump(await apiOnly.text(DUMP, 'END\r\n')).length, 1, 'api_capability is what it takes');

  // The operator switches introspection off for the cache: nobody lists its keys, then on again.
  await t.catalog.updateCache(cache.id, { introspection: false });
  await t.node.sync.syncNow();
  assert.equal(await c.text(DUMP), 'SERVER_ERROR introspection is disabled for this cache\r\n');
  assert.equal(await c.text('get mine\r\n', 'END\r\n'), 'VALUE mine 0 1\r\n1\r\nEND\r\n');
  await t.catalog.updateCache(cache.id, { introspection: true });
  await t.node.sync.syncNow();
  assert.equal(parseDump(await c.text(DUMP, 'END\r\n')).length, 1);

  // --no-introspection: no cache of the node is listed.
  const off = await startTestNode({ introspection: { enabled: false, memoryBytes: 64 << 20 } });
  try {
    const oc = await off.textLogin(await off.createCache());
    assert.equal(await oc.text('set k 0 0 1\r\n1\r\n'), 'STORED\r\n');
    assert.equal(await oc.text(DUMP), 'SERVER_ERROR introspection is disabled for this cache\r\n');
  } finally {
    await off.close();
  }

  // --anonymous-cache: connections that never log in have every capability, the dump included.
  const anon = await startTestNode({ anonymous: true });
  try {
    const a = await anon.connect();
    assert.equal(await a.text('set k 0 0 1\r\n1\r\n'), 'STORED\r\n');
    assert.deepEqual(parseDump(await a.text(DUMP, 'END\r\n')).map((l) => l.key.toString()), ['k']);
  } finally {
    await anon.close();
  }
});

test('a 100,000-item dump is complete while another connection on the node is answered in between', async () => {
  const big = await t.createCache(256 << 20);
  const other = await t.createCache();
  const c = await t.textLogin(big);
  const n = 100_000;
  await fill(c, n);
  const o = await t.textLogin(other);
  assert.equal(await o.text('set probe 0 0 1\r\np\r\n'), 'STORED\r\n');

  const start = performance.now();
  const dump = readDump(c);
  c.send(DUMP);
  let ended = false;
  let endedAt = 0;
  void dump.then((d) => { ended = true; endedAt = d.at; });
  // One get at a time on the other cache's connection until the dump's END arrives.
  const answeredAt: number[] = [];
  let slowest = 0;
  while (!ended) {
    const sent = performance.now();
    assert.equal(await o.text('get probe\r\n', 'END\r\n'), 'VALUE probe 0 1\r\np\r\nEND\r\n');
    const at = performance.now();
    slowest = Math.max(slowest, at - sent);
    if (!ended) answeredAt.push(at);
  }
  const { text } = await dump;
  const lines = parseDump(text);
  assert.equal(lines.length, n);
  assert.equal(new Set(lines.map((l) => l.fields.key)).size, n, 'each key once');
  const during = answeredAt.filter((at) => at < endedAt).length;
  const took = endedAt - start;
  // The dump goes in parts of well under a millisecond and the other connection gets a turn
  // between two parts. A dump in one go would let at most one get through and hold it for
  // about the whole dump; measured against the dump's own length, so a loaded machine
  // (2 shared cores) does not fail it.
  assert.ok(during >= 10, `${during} gets answered during a ${took.toFixed(0)} ms dump`);
  assert.ok(slowest < took * 0.75, `slowest get ${slowest.toFixed(1)} ms during a ${took.toFixed(0)} ms dump`);
  console.log(`# dump of ${n} items: ${took.toFixed(0)} ms, ${during} gets answered meanwhile, slowest ${slowest.toFixed(1)} ms`);
});
