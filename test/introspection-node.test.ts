// A node's introspection through its real ports: memcache traffic over TCP (ASCII and
// binary), read back from the admin endpoint's introspection routes with the cluster secret.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { req, saslPlain } from '../src/protocol/binary/testing/frames.ts';
import { adminJson } from './support/admin-client.ts';
import { startTestNode, type TestCache, type TestNode } from './support/test-node.ts';
import { PROMPTLY_MS, until } from './support/wait.ts';
import { ITEM_OVERHEAD } from '../src/store/item-cost.ts';
import { DEFAULT_INTROSPECTION_MEMORY } from '../src/introspection/registry.ts';

const waitFor = (what: string, attempt: () => Promise<boolean>) => until(what, Date.now() + PROMPTLY_MS * 3, attempt);

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

const names = (list: { key: string }[]) => list.map((e) => Buffer.from(e.key, 'base64').toString('latin1'));

describe('introspection on a node', () => {
  let t: TestNode;
  let a: TestCache;
  let b: TestCache;
  before(async () => {
    // Exact counts below: the node must not turn busy because this process's client keeps its loop busy.
    t = await startTestNode({ introspection: { enabled: true, memoryBytes: DEFAULT_INTROSPECTION_MEMORY, neverBusy: true } });
    a = await t.createCache();
    b = await t.createCache();
  });
  after(() => t.close());

  test('hot, missed and mutated keys and prefixes of each cache, never the other cache\'s', async () => {
    const ca = await t.textLogin(a);
    const cb = await t.textLogin(b);
    await ca.text('set views:home 0 0 2\r\nhi\r\n');
    for (let i = 0; i < 30; i++) await ca.text('get views:home\r\n', 'END\r\n');
    for (let i = 0; i < 12; i++) await ca.text('get prime:97\r\n', 'END\r\n');
    await ca.text('set counter:likes 0 0 1\r\n1\r\n');
    for (let i = 0; i < 5; i++) await ca.text('incr counter:likes 1\r\n');
    await cb.text('set secret:b 0 0 1\r\nx\r\n');
    for (let i = 0; i < 40; i++) await cb.text('get secret:b\r\n', 'END\r\n');

    const pa = await adminJson(t, `/caches/${a.id}/introspection/popular`);
    assert.equal(pa.status, 200);
    assert.equal(pa.body.windowMs, 180_000);
    assert.deepEqual(pa.body.hit, [{ key: b64('views:home'), count: 30 }]);
    assert.deepEqual(pa.body.miss, [{ key: b64('prime:97'), count: 12 }]);
    assert.deepEqual(names(pa.body.mutated), ['counter:likes', 'views:home']);
    assert.equal(pa.body.mutated[0].count, 6);
    assert.deepEqual(names(pa.body.prefixes), ['views', 'prime', 'counter']);
    const all = JSON.stringify(pa.body);
    assert.ok(!all.includes(b64('secret:b')) && !all.includes(b64('secret')), 'cache b\'s keys never show in a');
    const pb = await adminJson(t, `/caches/${b.id}/introspection/popular`);
    assert.deepEqual(names(pb.body.hit), ['secret:b']);
    assert.deepEqual(names(pb.body.prefixes), ['secret']);
    // Under a prefix only.
    const under = await adminJson(t, `/caches/${a.id}/introspection/popular?prefix=${encodeURIComponent(b64('prime'))}`);
    assert.deepEqual(names(under.body.miss), ['prime:97']);
    assert.deepEqual(under.body.hit, []);
  });

  test('key figures: size, presence and the window\'s counts', async () => {
    const k = await adminJson(t, `/caches/${a.id}/introspection/key?key=${encodeURIComponent(b64('views:home'))}`);
    assert.deepEqual(k.body, { key: b64('views:home'), inCache: true, size: 2, hits: 30, misses: 0, mutations: 1 });
    const m = await adminJson(t, `/caches/${a.id}/introspection/key?key=${encodeURIComponent(b64('prime:97'))}`);
    assert.deepEqual(m.body, { key: b64('prime:97'), inCache: false, size: 0, hits: 0, misses: 12, mutations: 0 });
    assert.equal((await adminJson(t, `/caches/${a.id}/introspection/key`)).status, 400);
    assert.equal((await adminJson(t, `/caches/${a.id}/introspection/key?key=${b64('x'.repeat(251))}`)).status, 400);
    assert.equal((await adminJson(t, `/caches/${a.id}/introspection/key?key=%00`)).status, 400);
  });

  test('recent requests: one line per key, every command family, oldest first, limit up to 1000', async () => {
    const c = await t.textLogin(a);
    await c.text('set r:1 0 0 3\r\nabc\r\n');
    await c.text('get r:1 r:2 r:1\r\n', 'END\r\n');
    await c.text('add r:1 0 0 1\r\nz\r\n');
    await c.text('delete r:2\r\n');
    await c.text('touch r:1 100\r\n');
    await c.text('stats\r\n', 'END\r\n');
    await c.text('incr r:1 1\r\n');
    const r = await adminJson(t, `/caches/${a.id}/introspection/recent?limit=9`);
    assert.equal(r.status, 200);
    const lines = r.body.lines.map((l: any) => `${l.command} ${l.status} ${Buffer.from(l.key, 'base64').toString()} ${l.size}`);
    assert.deepEqual(lines, [
      'SET STORED r:1 3', 'GET HIT r:1 3', 'GET MISS r:2 0', 'GET HIT r:1 3', 'ADD NOT_STORED r:1 1', 'DELETE NOT_FOUND r:2 0',
      'TOUCH TOUCHED r:1 0', 'STATS OK  0', 'INCR ERROR r:1 0',
    ]);
    const times = r.body.lines.map((l: any) => l.time);
    assert.ok(times.every((x: number, i: number) => i === 0 || x >= times[i - 1]) && Math.abs(times.at(-1) - Date.now()) < 60_000);
    for (let i = 0; i < 1100; i++) c.send('get many\r\n');
    await waitFor('1100 gets answered', async () => (await adminJson(t, `/caches/${a.id}/introspection/recent?limit=1000`)).body.lines.at(-1)?.key === b64('many') && (await adminJson(t, `/caches/${a.id}/introspection/recent?limit=1000`)).body.lines[0].key === b64('many'));
    assert.equal((await adminJson(t, `/caches/${a.id}/introspection/recent?limit=1000`)).body.lines.length, 1000);
    assert.equal((await adminJson(t, `/caches/${a.id}/introspection/recent`)).body.lines.length, 100);
    for (const bad of ['0', '1001', 'x', '-1']) assert.equal((await adminJson(t, `/caches/${a.id}/introspection/recent?limit=${bad}`)).status, 400);
    // Cache b's ring holds only b's requests.
    const rb = await adminJson(t, `/caches/${b.id}/introspection/recent?limit=1000`);
    assert.ok(rb.body.lines.every((l: any) => l.command === 'AUTH' || Buffer.from(l.key, 'base64').toString() === 'secret:b'));
    assert.equal(rb.body.lines[0].command, 'AUTH', 'a login shows');
  });

  test('a multi-get streamed over several replies (more than the reply queue holds) logs each key once, in order', async () => {
    const c = await t.textLogin(a);
    const value = 'v'.repeat(900 * 1024);
    for (let i = 0; i < 6; i++) await c.text(`set stream:${i} 0 0 ${value.length}\r\n${value}\r\n`);
    // 7 values of 900 KiB: the reply passes the 4 MiB queue, so the get goes on after the first part.
    const keys = ['stream:0', 'stream:1', 'stream:2', 'stream:3', 'stream:4', 'stream:5', 'stream:0', 'stream:none'];
    const reply = await c.text(`get ${keys.join(' ')}\r\n`, 'END\r\n');
    assert.equal(reply.length, 7 * (value.length + 2) + 7 * 'VALUE stream:0 0 921600\r\n'.length + 'END\r\n'.length);
    const r = await adminJson(t, `/caches/${a.id}/introspection/recent?limit=8`);
    assert.deepEqual(
      r.body.lines.map((l: any) => `${l.command} ${l.status} ${Buffer.from(l.key, 'base64').toString()} ${l.size}`),
      keys.map((k) => (k === 'stream:none' ? 'GET MISS stream:none 0' : `GET HIT ${k} ${value.length}`)),
    );
  });

  test('a get of more keys than the request ring holds counts its first keys too', async () => {
    const c = await t.textLogin(b);
    // 4,500 lines in all: under the sampler's first block (5,000), every key is counted exactly.
    const keys = ['long:first', ...Array.from({ length: 1499 }, (_, i) => `c:${i % 50}`)];
    for (let r = 0; r < 3; r++) await c.text(`get ${keys.join(' ')}\r\n`, 'END\r\n');
    const k = await adminJson(t, `/caches/${b.id}/introspection/key?key=${encodeURIComponent(b64('long:first'))}`);
    assert.equal(k.body.misses, 3, JSON.stringify(k.body));
    const p = await adminJson(t, `/caches/${b.id}/introspection/popular?limit=100`);
    const prefixes = p.body.prefixes.map((e: { key: string; count: number }) => [Buffer.from(e.key, 'base64').toString(), e.count]);
    assert.deepEqual(prefixes.find((e: [string, number]) => e[0] === 'long'), ['long', 3]);
    assert.deepEqual(prefixes.find((e: [string, number]) => e[0] === 'c'), ['c', 4497]);
  });

  test('binary protocol: keys of every byte value and 250-byte keys are counted and logged byte for byte', async () => {
    const c = await t.connect();
    c.send(saslPlain(a.username, a.password));
    await c.binary(1);
    const keys = [Buffer.from(Array.from({ length: 250 }, (_, i) => i)), Buffer.from([250, 251, 252, 253, 254, 255]), Buffer.alloc(250, 0x3a)];
    for (const k of keys) {
      c.send(req.set(k, Buffer.from('v')));
      c.send(req.get(k));
      c.send(req.get(k));
    }
    await c.binary(keys.length * 3);
    const p = await adminJson(t, `/caches/${a.id}/introspection/popular?limit=100`);
    for (const k of keys) {
      assert.ok(p.body.hit.some((e: any) => e.key === k.toString('base64') && e.count === 2), `hit key of ${k.length} bytes`);
    }
    const r = await adminJson(t, `/caches/${a.id}/introspection/recent?limit=9`);
    assert.deepEqual(r.body.lines.map((l: any) => l.key), keys.flatMap((k) => [k, k, k].map((x) => x.toString('base64'))));
  });

  test('requests the parser refuses are logged as ERROR lines of their command (key when valid); garbage is not', async () => {
    const cache = await t.createCache();
    const c = await t.textLogin(cache);
    const long = 'L'.repeat(251);
    assert.equal(await c.text(`set big 0 0 2097152\r\n${'x'.repeat(2_097_152)}\r\n`), 'SERVER_ERROR object too large for cache\r\n');
    assert.equal(await c.text(`get ${long}\r\n`), 'CLIENT_ERROR key too long\r\n');
    assert.equal(await c.text('incr n abc\r\n'), 'CLIENT_ERROR invalid numeric delta argument\r\n');
    assert.equal(await c.text('touch t soon\r\n'), 'CLIENT_ERROR invalid exptime argument\r\n');
    assert.equal(await c.text('bogus line\r\n'), 'ERROR\r\n');
    assert.equal(await c.text(`ms meta 1100000 T0\r\n${'y'.repeat(1_100_000)}\r\n`), 'SERVER_ERROR object too large for cache\r\n');
    assert.equal(await c.text(`mg ${long} v\r\n`), 'CLIENT_ERROR key too long\r\n');
    assert.equal(await c.text('get fine\r\n', 'END\r\n'), 'END\r\n', 'the connection stays usable');
    // Binary: a set whose value is over the item size, key and all, is refused before its body is read.
    const bc = await t.connect();
    bc.send(saslPlain(cache.username, cache.password));
    await bc.binary(1);
    bc.send(req.set(Buffer.from('bin'), Buffer.alloc(1 << 20, 0x7a)));
    assert.equal((await bc.binary(1))[0]!.status, 0x03);

    const r = await adminJson(t, `/caches/${cache.id}/introspection/recent?limit=1000`);
    const lines = r.body.lines.filter((l: any) => l.command !== 'AUTH')
      .map((l: any) => `${l.command} ${l.status} ${Buffer.from(l.key, 'base64').toString()}`);
    assert.deepEqual(lines, [
      'SET ERROR big', 'GET ERROR ', 'INCR ERROR n', 'TOUCH ERROR t', 'SET ERROR meta', 'GET ERROR ', 'GET MISS fine', 'SET ERROR bin',
    ]);
  });

  test('switched off for one cache by the operator: 409, and its store has no listener', async () => {
    await t.catalog.updateCache(b.id, { introspection: false });
    await t.node.sync.syncNow();
    assert.equal((await adminJson(t, `/caches/${b.id}/introspection/popular`)).status, 409);
    assert.equal(t.node.tenants.get(b.id)!.store.listener, null);
    await t.catalog.updateCache(b.id, { introspection: true });
    await t.node.sync.syncNow();
    assert.equal((await adminJson(t, `/caches/${b.id}/introspection/popular`)).status, 200);
    assert.equal((await adminJson(t, '/caches/999999/introspection/popular')).status, 404);
  });
});

describe('watched prefixes on a node', () => {
  let t: TestNode;
  let a: TestCache;
  before(async () => {
    t = await startTestNode();
    a = await t.createCache(512 << 20);
  });
  after(() => t.close());

  test('exact keys and bytes, with existing keys counted in by the walk while writes go on', async () => {
    const c = await t.textLogin(a);
    // 20,000 existing keys, half under user:, pipelined.
    let batch = '';
    for (let i = 0; i < 20_000; i++) {
      batch += `set ${i % 2 ? 'user' : 'page'}:${i} 0 0 ${String(i).length}\r\n${i}\r\n`;
      if (batch.length > 60_000 || i === 19_999) {
        const n = batch.split('\r\n').length / 2 - 0.5;
        c.send(batch);
        await c.readUntil((buf) => buf.toString().split('STORED\r\n').length > n);
        batch = '';
      }
    }
    const w = await t.catalog.watchPrefix(a.id, 'user:');
    assert.ok(typeof w === 'object');
    await t.node.sync.syncNow();
    // Writes during the walk: overwrite, delete, add under the prefix.
    await c.text('set user:1 0 0 5\r\nabcde\r\n');
    await c.text('delete user:3\r\n');
    await c.text('set user:new 0 0 1\r\nx\r\n');
    await c.text('get user:1 user:3 page:2\r\n', 'END\r\n');
    let counters: any;
    await waitFor('the walk to finish', async () => {
      counters = (await adminJson(t, `/caches/${a.id}/introspection/prefixes`)).body.prefixes[0];
      return counters && !counters.scanning;
    });
    // The truth, from a full dump of the cache's slots.
    let keys = 0;
    let bytes = 0;
    const store = t.node.tenants.get(a.id)!.store;
    for (let s = 0; s !== -1;) s = store.scanSlots(s, 10_000, (_slot, key, size) => {
      if (key.toString().startsWith('user:')) {
        keys++;
        bytes += size;
      }
    });
    assert.equal(counters.keys, keys);
    assert.equal(counters.keys, 10_000); // 10,000 - user:3 + user:new
    assert.equal(counters.bytes, bytes);
    assert.equal(counters.hits, 1);
    assert.equal(counters.misses, 1);
    assert.equal(counters.mutations, 3);
    assert.equal(counters.id, (w as { id: number }).id);
    await c.text('flush_all\r\n');
    const flushed = (await adminJson(t, `/caches/${a.id}/introspection/prefixes`)).body.prefixes[0];
    assert.equal(flushed.keys, 0);
    assert.equal(flushed.bytes, 0);
  });
});

describe('the background expiry crawler', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(() => t.close());

  test('a watched prefix\'s keys and bytes and the cache\'s curr_items fall back once TTL\'d keys expire, nobody reading them', async () => {
    const cache = await t.createCache();
    const c = await t.textLogin(cache);
    const w = await t.catalog.watchPrefix(cache.id, 'ttl:');
    assert.ok(typeof w === 'object');
    await t.node.sync.syncNow();
    const prefix = async () => (await adminJson(t, `/caches/${cache.id}/introspection/prefixes`)).body.prefixes[0];
    await waitFor('the prefix walk', async () => (await prefix())?.scanning === false);
    const stat = async (name: string) => Number(new RegExp(`STAT ${name} (\\d+)`).exec(await c.text('stats\r\n', 'END\r\n'))![1]);

    let batch = '';
    for (let i = 0; i < 300; i++) batch += `set ttl:${i} 0 2 5 noreply\r\nvalue\r\n`;
    for (let i = 0; i < 5; i++) batch += `set keep:${i} 0 0 5 noreply\r\nvalue\r\n`;
    assert.equal(await c.text(`${batch}set ttl:forever 0 0 5\r\nvalue\r\n`), 'STORED\r\n');
    // Stored in this second at the latest, so dead (exptime 2) by the start of the second after next.
    const deadBy = (Math.floor(Date.now() / 1000) + 2) * 1000;
    const size = (key: string) => key.length + 5 + ITEM_OVERHEAD;
    assert.deepEqual([(await prefix()).keys, await stat('curr_items')], [301, 306]);

    // The crawler passes over this small cache once a second: nobody reads the keys.
    await waitFor('expired keys reaped', async () => (await prefix()).keys === 1);
    const lateMs = Date.now() - deadBy;
    assert.ok(lateMs < 2000, `reaped ${lateMs} ms after the keys were dead`);
    const after = await prefix();
    assert.deepEqual({ keys: after.keys, bytes: after.bytes }, { keys: 1, bytes: size('ttl:forever') });
    assert.equal(await stat('curr_items'), 6);
    assert.equal(await stat('bytes'), 5 * size('keep:0') + size('ttl:forever'));
    assert.equal(await stat('expired'), 300, 'counted as expired, as a lazy expiry is');
    assert.equal(await stat('get_misses'), 0, 'nobody read them');
  });
});

describe('the node-wide cap and --no-introspection', () => {
  test('over the cap, the least recently active caches lose their window state first', async () => {
    const t = await startTestNode({ introspection: { enabled: true, memoryBytes: 1 << 20 } });
    try {
      const caches = [];
      for (let i = 0; i < 30; i++) caches.push(await t.createCache());
      for (const cache of caches) {
        const c = await t.textLogin(cache);
        await c.text(`get k:${cache.id}\r\n`, 'END\r\n');
      }
      const registry = t.node.tenants.introspection!;
      assert.ok(registry.memoryBytes <= 1 << 20, `${registry.memoryBytes} bytes held`);
      assert.ok(registry.dropped > 0);
      // The newest caches kept theirs, the oldest lost theirs.
      const last = caches.at(-1)!;
      const r = await adminJson(t, `/caches/${last.id}/introspection/recent`);
      assert.deepEqual(r.body.lines.map((l: any) => `${l.command} ${l.status}`), ['AUTH OK', 'GET MISS']);
      assert.equal((await adminJson(t, `/caches/${caches[0]!.id}/introspection/recent`)).body.lines.length, 0);
    } finally {
      await t.close();
    }
  });

  test('states that grow (250-byte keys fill the key ring and the sketches) stay under the cap at every moment', async () => {
    const cap = 1 << 20;
    const t = await startTestNode({ introspection: { enabled: true, memoryBytes: cap } });
    try {
      const clients = [];
      for (let i = 0; i < 12; i++) clients.push(await t.textLogin(await t.createCache()));
      const registry = t.node.tenants.introspection!;
      let highest = 0;
      const watch = setInterval(() => (highest = Math.max(highest, registry.memoryBytes)), 5);
      try {
        for (let round = 0; round < 4; round++) {
          await Promise.all(clients.map(async (c, i) => {
            const keys = Array.from({ length: 250 }, (_, j) => `${i}:${round}:${j}:`.padEnd(250, 'k'));
            for (let j = 0; j < keys.length; j += 25) await c.text(`get ${keys.slice(j, j + 25).join(' ')}\r\n`, 'END\r\n');
          }));
          highest = Math.max(highest, registry.memoryBytes);
        }
      } finally {
        clearInterval(watch);
      }
      assert.ok(highest <= cap, `${highest} bytes held at the most, cap ${cap}`);
      assert.ok(registry.dropped > 0, 'the cap had to drop states');
    } finally {
      await t.close();
    }
  });

  test('--no-introspection: every cache answers 409 and no store has a listener', async () => {
    const t = await startTestNode({ introspection: { enabled: false, memoryBytes: 0 } });
    try {
      const cache = await t.createCache();
      const c = await t.textLogin(cache);
      await c.text('get x\r\n', 'END\r\n');
      assert.equal((await adminJson(t, `/caches/${cache.id}/introspection/popular`)).status, 409);
      assert.equal(t.node.tenants.get(cache.id)!.store.listener, null);
    } finally {
      await t.close();
    }
  });
});
