/**
 * What one scrape of the control plane's /metrics costs with many caches: a control plane
 * app (buildApp, the real route) whose sampler's last round holds CACHES caches × NODES
 * servers of stats, scraped over HTTP on loopback; prints the median and worst time of
 * one scrape and its size, summed over caches (the default) and with --metrics-per-cache.
 * A scrape only formats what the sampler last fetched, so no node runs here.
 *
 *   node --import tsx scripts/metrics-scrape-cost.ts     # 1,000 caches × 4 nodes, 30 scrapes each
 *   node --import tsx scripts/metrics-scrape-cost.ts --caches 5000 --nodes 8 --scrapes 10
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../src/control/app.ts';
import { ControlMetrics } from '../src/control/metrics.ts';
import { STAT_NAMES } from '../src/shared/stat-names.ts';
import type { ServerStats } from '../src/api/v1.ts';
import { openSqliteCatalog } from '../src/catalog/sqlite.ts';

const { values } = parseArgs({ options: { caches: { type: 'string', default: '1000' }, nodes: { type: 'string', default: '4' }, scrapes: { type: 'string', default: '30' } } });
const caches = Number(values.caches);
const nodes = Number(values.nodes);
const scrapes = Number(values.scrapes);

function latest() {
  const byCache = new Map<number, Map<string, ServerStats>>();
  for (let c = 1; c <= caches; c++) {
    const servers = new Map<string, ServerStats>();
    for (let n = 0; n < nodes; n++) {
      servers.set(`10.0.0.${n + 1}:11211`, Object.fromEntries(STAT_NAMES.map((s, i) => [s, c * 1000 + n * 100 + i])) as unknown as ServerStats);
    }
    byCache.set(c, servers);
  }
  return { at: Date.now(), caches: byCache };
}

const dir = mkdtempSync(join(tmpdir(), 'cachier-scrape-cost-'));
const catalog = openSqliteCatalog(dir);
try {
  const round = latest();
  for (const perCache of [false, true]) {
    const metrics = new ControlMetrics({ perCache });
    metrics.sources.sampler = { latest: round, counts: { rounds: 1, roundErrors: 0, samples: caches * nodes, nodeFailures: 0, thins: 0, thinned: 0 } };
    const app = buildApp({ catalog, metrics });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/metrics`;
    const times: number[] = [];
    let bytes = 0;
    let series = 0;
    for (let i = 0; i < scrapes + 3; i++) {
      const t0 = process.hrtime.bigint();
      const body = await (await fetch(url)).text();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (i >= 3) times.push(ms); // the first scrapes warm the JIT up
      bytes = body.length;
      series = body.split('\n').filter((l) => l.startsWith('cachier_cache_')).length;
    }
    await app.close();
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    console.log(`${caches} caches × ${nodes} nodes, ${perCache ? '--metrics-per-cache' : 'summed over caches'}: `
      + `one scrape ${median.toFixed(1)} ms median, ${times.at(-1)!.toFixed(1)} ms worst of ${scrapes}; `
      + `${series} cache series, ${bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(0)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`}`);
  }
} finally {
  await catalog.close();
  rmSync(dir, { recursive: true, force: true });
}
