/**
 * Memory and speed of the store over each engine (the arena a node runs, the Map engine
 * of the tests): 1,000,000 items of 100-byte values under keys like `key:0000001`, the
 * shape memcached's own per-item numbers are usually quoted for. Each store runs in a child process of its own, so one's freed
 * memory cannot flatter the other's RSS.
 *
 *   node --expose-gc --import tsx bench/store/set-get.bench.ts [--items=N] [--store=map|arena]
 *
 * Reports per store: RSS growth per item and V8 heap growth per item (both after gc,
 * over a baseline taken after the harness's own allocations), sets/s (1M fresh keys),
 * gets/s (every key once in a random order, then once in stored order; all hits), and
 * the random-order rates per CPU-second of the process (steadier on a shared machine).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createArenaStore } from '../../src/store/arena/arena-engine.ts';
import { createMapStore } from '../../src/store/testing/map-engine.ts';
import type { TenantStore } from '../../src/store/tenant-store.ts';

const NOW = 1_700_000_000;
const VALUE_SIZE = 100;
const STORES = ['map', 'arena'] as const;
type StoreName = (typeof STORES)[number];

interface Result {
  readonly store: StoreName;
  readonly items: number;
  readonly rssPerItem: number;
  readonly heapPerItem: number;
  readonly externalPerItem: number;
  readonly bytesStat: number;
  readonly setsPerSec: number;
  readonly getsPerSec: number;
  /** Gets in the order the keys were stored (neighbours in memory). */
  readonly seqGetsPerSec: number;
  /** The same rates per second of this process's CPU time (less swayed by a busy machine). */
  readonly setsPerCpuSec: number;
  readonly getsPerCpuSec: number;
}

function arg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) g();
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return d.user + d.system;
}

function makeStore(name: StoreName): TenantStore {
  let cas = 0;
  const options = { limit: 2 * 1024 * 1024 * 1024, maxItemSize: 1024 * 1024, nextCas: () => ++cas };
  return name === 'map' ? createMapStore(options) : createArenaStore(options);
}

/** Writes `key:NNNNNNN` into buf (11 bytes) without allocating. */
function writeKey(buf: Buffer, i: number): void {
  for (let p = 10; p >= 4; p--) {
    buf[p] = 0x30 + (i % 10);
    i = Math.floor(i / 10);
  }
}

function measure(name: StoreName, items: number): Result {
  const key = Buffer.from('key:0000000', 'latin1');
  const template = Buffer.alloc(VALUE_SIZE, 0x76);
  const order = new Uint32Array(items);
  for (let i = 0; i < items; i++) order[i] = i;
  for (let i = items - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  gc();
  const before = process.memoryUsage();
  const store = makeStore(name);

  let t0 = process.hrtime.bigint();
  let cpu0 = process.cpuUsage();
  for (let i = 0; i < items; i++) {
    writeKey(key, i + 1);
    // A fresh value per set, as the wire parser hands over (the Map store keeps it).
    store.store({ mode: 'set', key, value: Buffer.from(template), flags: 0, exptime: 0 }, NOW);
  }
  const setNs = Number(process.hrtime.bigint() - t0);
  const setCpuUs = cpuSince(cpu0);
  if (store.items !== items) throw new Error(`${name}: ${store.items} items stored of ${items}`);

  gc();
  const after = process.memoryUsage();

  // Gets: a short warm-up so the timed passes see optimized code, then every key once in
  // a random order (each lookup a cache miss, as a large cache sees) and once in the
  // order stored.
  let sink = 0;
  const getAll = (count: number, at: (n: number) => number): void => {
    for (let n = 0; n < count; n++) {
      writeKey(key, at(n) + 1);
      const item = store.get(key, NOW);
      if (item === null) throw new Error(`${name}: miss`);
      sink += item.value[n % VALUE_SIZE]!;
    }
  };
  getAll(Math.min(items, 100_000), (n) => order[n]!);
  t0 = process.hrtime.bigint();
  cpu0 = process.cpuUsage();
  getAll(items, (n) => order[n]!);
  const getNs = Number(process.hrtime.bigint() - t0);
  const getCpuUs = cpuSince(cpu0);
  const t1 = process.hrtime.bigint();
  getAll(items, (n) => n);
  const seqGetNs = Number(process.hrtime.bigint() - t1);
  if (sink !== (items * 2 + Math.min(items, 100_000)) * 0x76) throw new Error('bad values');

  return {
    store: name,
    items,
    rssPerItem: (after.rss - before.rss) / items,
    heapPerItem: (after.heapUsed - before.heapUsed) / items,
    externalPerItem: (after.external - before.external) / items,
    bytesStat: store.bytes / items,
    setsPerSec: items / (setNs / 1e9),
    getsPerSec: items / (getNs / 1e9),
    seqGetsPerSec: items / (seqGetNs / 1e9),
    setsPerCpuSec: items / (setCpuUs / 1e6),
    getsPerCpuSec: items / (getCpuUs / 1e6),
  };
}

const items = Number(arg('items') ?? 1_000_000);
const only = arg('store') as StoreName | undefined;
if (only !== undefined) {
  // Child: one store, one JSON line.
  console.log(JSON.stringify(measure(only, items)));
} else {
  const self = fileURLToPath(import.meta.url);
  const rows: Result[] = [];
  for (const name of STORES) {
    const child = spawnSync(process.execPath, [...process.execArgv, self, `--store=${name}`, `--items=${items}`], {
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(`${name} run failed:\n${child.stderr}`);
    rows.push(JSON.parse(child.stdout.trim().split('\n').pop()!) as Result);
  }
  const f = (n: number, d = 1): string => n.toFixed(d);
  const fmt = (n: number, width: number): string => Math.round(n).toLocaleString('en-US').padStart(width);
  console.log(`${items} items, ${VALUE_SIZE}-byte values, 11-byte keys (node ${process.version})`);
  console.log('store    RSS B/item  heap B/item  external B/item  `bytes`/item     sets/s  gets/s random  gets/s in order  sets/cpu-s  gets/cpu-s random');
  for (const r of rows) {
    console.log(
      `${r.store.padEnd(8)} ${f(r.rssPerItem).padStart(10)} ${f(r.heapPerItem).padStart(12)} ${f(r.externalPerItem).padStart(16)}`
      + ` ${f(r.bytesStat).padStart(13)} ${fmt(r.setsPerSec, 10)} ${fmt(r.getsPerSec, 14)} ${fmt(r.seqGetsPerSec, 16)}`
      + ` ${fmt(r.setsPerCpuSec, 11)} ${fmt(r.getsPerCpuSec, 18)}`,
    );
  }
}
