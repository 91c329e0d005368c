/**
 * The control plane's Prometheus metrics (`GET /metrics`, text format 0.0.4, prom-client).
 *
 * A scrape never reaches a node: the cache stats are the ones the history sampler last
 * fetched (sampler.ts `latest`), turned into text when scraped; everything else is a
 * counter or histogram kept in memory as things happen. So a scrape costs the same
 * whether the nodes answer or not, and its cost grows only with the series it prints.
 *
 * Cardinality:
 * - Cache stats: by default one series per (stat, server), summed over the caches
 *   (`cache="_all"`), so 30 × nodes series. With `--metrics-per-cache` one per
 *   (stat, cache, server): 30 × caches × nodes (120,000 for 1,000 caches on 4 nodes).
 * - Latency probes: per server. HTTP: per (method, route pattern, status): the route is
 *   Fastify's pattern (`/api/v1/:id/stats`), never the raw URL; unmatched URLs are
 *   `route="unmatched"`. Catalog errors: per catalog method. Alert deliveries: per outcome.
 *
 * The cache stats print as Prometheus types from memcached's meaning: counters (`_total`)
 * restart from zero when a node restarts or a cache's stats are reset, which Prometheus's
 * rate() treats as a counter reset; `time` is not exported (the sample time is
 * `cachier_sampler_last_round_timestamp_seconds`).
 */
import { Counter, Histogram, Registry, type Metric } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { STAT_NAMES, GAUGE_NAMES, type StatName } from '../shared/stat-names.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { HistorySampler, LatestStats } from './sampler.ts';
import type { DeliveryCounts } from './alerts/deliverer.ts';
import { API_ERRORS } from '../api/errors.ts';
import { decideMetricsAccess, type MetricsAccessOptions } from '../shared/metrics-access.ts';

export interface CacheMetricName {
  readonly stat: StatName;
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
}

const RENAMED: Partial<Record<StatName, string>> = {
  bytes: 'cachier_cache_bytes',
  bytes_read: 'cachier_cache_read_bytes_total',
  bytes_written: 'cachier_cache_written_bytes_total',
  curr_connections: 'cachier_cache_current_connections',
  curr_items: 'cachier_cache_current_items',
  limit_maxbytes: 'cachier_cache_limit_bytes',
  total_connections: 'cachier_cache_connections_total',
  total_items: 'cachier_cache_items_total',
};

/** The Prometheus name of each memcache stat (all but `time`), in STAT_NAMES order. */
export const CACHE_METRIC_NAMES: readonly CacheMetricName[] = STAT_NAMES.filter((s) => s !== 'time').map((stat) => {
  const type = (GAUGE_NAMES as readonly string[]).includes(stat) ? 'gauge' : 'counter';
  const name = RENAMED[stat] ?? `cachier_cache_${stat}_${type === 'counter' ? 'total' : ''}`.replace(/_$/, '');
  return { stat, name, type, help: `memcache stat ${stat} of the cache on the server, as the history sampler last read it` };
});

/** The `cache` label of series summed over every cache (without --metrics-per-cache). */
export const ALL_CACHES = '_all';

export interface ControlMetricsOptions {
  /** One series per cache (`--metrics-per-cache`); default summed over caches. */
  readonly perCache?: boolean;
  /** Include the process's memory figures; default true. */
  readonly processMetrics?: boolean;
}

/** What the metrics read from the running control plane; each part may be absent (tests, buildApp alone). */
export interface MetricsSources {
  sampler?: Pick<HistorySampler, 'latest' | 'counts'>;
  deliveries?: DeliveryCounts;
}

const PROBE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Sample = { labels: Record<string, string>; value: number };
/** One (cache, server) of the cache stats: its label string and stats. */
type Row = { readonly labels: string; readonly stats: Readonly<Record<StatName, number>> };

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function perCacheRows(latest: LatestStats): Row[] {
  const rows: Row[] = [];
  for (const [cacheId, servers] of latest.caches) {
    for (const [server, stats] of servers) rows.push({ labels: `{cache="${cacheId}",server="${escapeLabel(server)}"}`, stats });
  }
  return rows;
}

function summedRows(latest: LatestStats): Row[] {
  const sums = new Map<string, Record<StatName, number>>();
  for (const servers of latest.caches.values()) {
    for (const [server, stats] of servers) {
      let sum = sums.get(server);
      if (!sum) sums.set(server, (sum = Object.fromEntries(STAT_NAMES.map((n) => [n, 0])) as Record<StatName, number>));
      for (const n of STAT_NAMES) sum[n] += stats[n];
    }
  }
  return [...sums].map(([server, stats]) => ({ labels: `{cache="${ALL_CACHES}",server="${escapeLabel(server)}"}`, stats }));
}

/** A metric whose values are made at scrape time; prom-client only prints what `get` returns. */
function scrapeTimeMetric(name: string, type: 'counter' | 'gauge', help: string, values: () => Sample[]): Metric {
  return { name, help, type, get: async () => ({ name, help, type, values: values(), aggregator: 'sum' }) } as unknown as Metric;
}

export class ControlMetrics {
  readonly registry = new Registry();
  readonly sources: MetricsSources = {};
  readonly perCache: boolean;
  readonly probeSeconds: Histogram<'server'>;
  readonly probeFailures: Counter<'server'>;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpSeconds: Histogram<'method' | 'route' | 'status'>;
  readonly catalogErrors: Counter<'operation'>;
  /** The cache-stat rows of the sampler round last formatted. */
  private rows = new WeakMap<LatestStats, readonly Row[]>();

  constructor(opts: ControlMetricsOptions = {}) {
    this.perCache = opts.perCache ?? false;
    const registers = [this.registry];
    // Not prom-client's default metrics: three of them are gauges named _total, which promtool refuses.
    if (opts.processMetrics ?? true) {
      this.registry.registerMetric(scrapeTimeMetric('cachier_control_resident_memory_bytes', 'gauge', 'Resident set size of the process',
        () => [{ labels: {}, value: process.memoryUsage.rss() }]));
      this.registry.registerMetric(scrapeTimeMetric('cachier_control_heap_used_bytes', 'gauge', 'V8 heap in use in the process',
        () => [{ labels: {}, value: process.memoryUsage().heapUsed }]));
    }
    this.probeSeconds = new Histogram({
      name: 'cachier_latency_probe_seconds', help: 'Round trip of the control plane\'s latency probe (a memcache version request) per server',
      labelNames: ['server'], buckets: PROBE_BUCKETS, registers,
    });
    this.probeFailures = new Counter({
      name: 'cachier_latency_probe_failures_total', help: 'Latency probes a server did not answer in time or answered wrongly',
      labelNames: ['server'], registers,
    });
    this.httpRequests = new Counter({
      name: 'cachier_http_requests_total', help: 'HTTP requests answered by the control plane, by route pattern and status',
      labelNames: ['method', 'route', 'status'], registers,
    });
    this.httpSeconds = new Histogram({
      name: 'cachier_http_request_duration_seconds', help: 'Time to answer an HTTP request, by route pattern and status',
      labelNames: ['method', 'route', 'status'], buckets: HTTP_BUCKETS, registers,
    });
    this.catalogErrors = new Counter({
      name: 'cachier_catalog_errors_total', help: 'Catalog calls that failed, by catalog operation', labelNames: ['operation'], registers,
    });
    const sampler = (name: string, type: 'counter' | 'gauge', help: string, value: (s: NonNullable<MetricsSources['sampler']>) => number) =>
      this.registry.registerMetric(scrapeTimeMetric(name, type, help, () => {
        const s = this.sources.sampler;
        return s ? [{ labels: {}, value: value(s) }] : [];
      }));
    sampler('cachier_sampler_rounds_total', 'counter', 'History sampler rounds finished', (s) => s.counts.rounds);
    sampler('cachier_sampler_round_errors_total', 'counter', 'History sampler rounds that failed', (s) => s.counts.roundErrors);
    sampler('cachier_sampler_samples_total', 'counter', '(cache, server) samples the history sampler offered the catalog', (s) => s.counts.samples);
    sampler('cachier_sampler_node_failures_total', 'counter', '(cache, server) stats requests a node did not answer', (s) => s.counts.nodeFailures);
    sampler('cachier_sampler_thinned_samples_total', 'counter', 'History samples removed by the retention policy', (s) => s.counts.thinned);
    sampler('cachier_sampler_last_round_timestamp_seconds', 'gauge', 'When the last finished sampler round started (unix seconds; 0 before the first)', (s) => s.latest.at / 1000);
    sampler('cachier_sampler_caches', 'gauge', 'Caches in the last sampler round', (s) => s.latest.caches.size);
    this.registry.registerMetric(scrapeTimeMetric('cachier_alert_deliveries_total', 'counter',
      'Alert notification delivery attempts of this control plane, by outcome (failed: retried later; abandoned: given up)', () => {
        const d = this.sources.deliveries;
        if (!d) return [];
        return (['delivered', 'failed', 'abandoned'] as const).map((outcome) => ({ labels: { outcome }, value: d[outcome] }));
      }));
  }

  /**
   * The cache stats block, written here rather than through prom-client: with
   * --metrics-per-cache it is 30 × caches × servers lines, and prom-client's per-sample
   * label objects made one scrape of 1,000 caches × 4 servers take most of a second. The
   * label strings (or the sums over caches) are made once per sampler round and reused.
   */
  private cacheStatsText(): string {
    const latest = this.sources.sampler?.latest;
    if (!latest || latest.caches.size === 0) return '';
    let rows = this.rows.get(latest);
    if (!rows) {
      rows = this.perCache ? perCacheRows(latest) : summedRows(latest);
      this.rows = new WeakMap([[latest, rows]]);
    }
    const lines: string[] = [];
    for (const m of CACHE_METRIC_NAMES) {
      lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
      for (const r of rows) lines.push(`${m.name}${r.labels} ${r.stats[m.stat]}`);
    }
    return `\n${lines.join('\n')}\n`;
  }

  /** A latency probe's outcome (LatencyProber's onProbe). */
  observeProbe(server: string, ns: number | undefined): void {
    if (ns === undefined) this.probeFailures.inc({ server });
    else this.probeSeconds.observe({ server }, ns / 1e9);
  }

  /** The exposition text of one scrape. */
  async text(): Promise<string> {
    return (await this.registry.metrics()) + this.cacheStatsText();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * The catalog, with every failed call counted in `cachier_catalog_errors_total` by method
 * name (a bounded set: the Catalog interface). Results and errors pass through unchanged.
 */
export function countCatalogErrors(catalog: Catalog, metrics: ControlMetrics): Catalog {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(catalog, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      let fn = wrapped.get(prop);
      if (!fn) {
        const operation = prop;
        fn = function (this: unknown, ...args: unknown[]) {
          const r = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (r instanceof Promise) r.catch(() => metrics.catalogErrors.inc({ operation }));
          return r;
        };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}

/** Counts every answered request by route pattern (an onResponse hook on the root, so before any route). */
export function countHttpRequests(app: FastifyInstance, metrics: ControlMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    metrics.httpRequests.inc(labels);
    metrics.httpSeconds.observe(labels, reply.elapsedTime / 1000);
  });
}

/** GET /metrics behind `access` (src/shared/metrics-access.ts); the operator token also opens it. */
export function metricsRoute(app: FastifyInstance, metrics: ControlMetrics, access: MetricsAccessOptions, catalog: Catalog): void {
  app.get('/metrics', async (request, reply) => {
    const decision = await decideMetricsAccess(access, request.headers.authorization, (bearer) => catalog.verifyOperatorToken(bearer));
    if (decision === 'off') {
      return reply.code(404).type('application/json; charset=utf-8').send(JSON.stringify(API_ERRORS.NOT_FOUND.message));
    }
    if (decision === 'unauthorized') {
      return reply.code(401).header('www-authenticate', 'Bearer realm="cachier metrics"')
        .type('application/json; charset=utf-8').send(JSON.stringify('A metrics token (or the operator token) is required.'));
    }
    return reply.type(metrics.contentType).send(await metrics.text());
  });
}
