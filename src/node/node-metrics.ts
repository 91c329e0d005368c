/**
 * A node's Prometheus metrics (`GET /metrics` on its admin port, text format 0.0.4).
 *
 * Nothing here runs per memcache request: every figure is read when scraped from what
 * the node already counts (each cache's store counters, the connection slots, the login
 * throttle, the native loop's batch count), so the request path pays nothing for it.
 * Requests by command are the stores' own counters summed over the node's caches:
 * `get` counts keys requested (memcached's cmd_get), `incr`/`decr`/`cas` hits + misses
 * (+ badval), `auth` logins naming one of its caches; bytes are those of logged-in
 * connections (what the caches' bytes_read/bytes_written count).
 *
 * Process-wide figures (RSS, event-loop delay, and the login throttle that the nodes of
 * one `cachier start` share) are the same on every node of a process. Event-loop delay
 * is the median, 99th percentile and max of the last completed 10 s window
 * (event-loop-delay.ts), the same whoever scrapes and how often.
 * Labels are bounded: no cache id, no address, only the fixed command and state names.
 */
import { EventLoopDelayWindows } from './event-loop-delay.ts';
import { Registry, type Metric } from 'prom-client';
import type { Counters } from '../shared/stat-names.ts';
import { createCounters } from '../store/stats.ts';
import type { LoginThrottle } from '../shared/login-throttle.ts';
import type { ConnectionSlots } from './connection-slots.ts';
import type { Tenants } from './tenants.ts';

export interface NodeMetricsSources {
  readonly tenants: Tenants;
  readonly slots: ConnectionSlots;
  readonly throttle: LoginThrottle;
  /** The native socket loop's batch counts, when the port runs on it. */
  readonly native: () => { batches: number; batchEvents: number } | undefined;
  readonly io: () => 'native' | 'stream';
}

type Sample = { labels: Record<string, string>; value: number };

const COMMANDS: readonly [string, (c: Counters) => number][] = [
  ['get', (c) => c.cmd_get],
  ['set', (c) => c.cmd_set],
  ['delete', (c) => c.cmd_delete],
  ['touch', (c) => c.cmd_touch],
  ['flush', (c) => c.cmd_flush],
  ['incr', (c) => c.incr_hits + c.incr_misses],
  ['decr', (c) => c.decr_hits + c.decr_misses],
  ['cas', (c) => c.cas_hits + c.cas_misses + c.cas_badval],
  ['auth', (c) => c.auth_cmds],
];

/** Seconds of each event-loop delay window the gauges report. */
export const LOOP_DELAY_WINDOW_S = 10;
let loopDelay: EventLoopDelayWindows | undefined;
/** One event-loop delay monitor per process (its nodes share the loop), started with the first node's metrics. */
function eventLoopDelay(): EventLoopDelayWindows {
  return (loopDelay ??= new EventLoopDelayWindows(LOOP_DELAY_WINDOW_S * 1000));
}

/** What the admin endpoint serves: one scrape's text. */
export interface MetricsText {
  readonly contentType: string;
  text(): Promise<string>;
}

export function createNodeMetrics(src: NodeMetricsSources): MetricsText {
  const registry = new Registry();
  const delay = eventLoopDelay();
  const metric = (name: string, type: 'counter' | 'gauge', help: string, values: () => Sample[]) =>
    registry.registerMetric({ name, help, type, get: async () => ({ name, help, type, values: values(), aggregator: 'sum' }) } as unknown as Metric);
  const one = (value: number): Sample[] => [{ labels: {}, value }];

  // Sums of the caches' counters, computed once per scrape (by the first metric that asks).
  let summed: { counters: Counters; bytes: number; items: number; caches: number } | undefined;
  const sums = () => {
    if (summed) return summed;
    let counters: Counters | undefined;
    let bytes = 0;
    let items = 0;
    let caches = 0;
    for (const t of src.tenants.all()) {
      caches++;
      bytes += t.store.bytes;
      items += t.store.items;
      const c = t.store.counters;
      if (!counters) counters = { ...c };
      else for (const k of Object.keys(c) as (keyof Counters)[]) counters[k] += c[k];
    }
    summed = { counters: counters ?? createCounters(), bytes, items, caches };
    return summed;
  };

  metric('cachier_node_connections', 'gauge', 'Memcache connections open, by state (logged_in, waiting: not logged in yet)', () => [
    { labels: { state: 'logged_in' }, value: src.slots.size - src.slots.waiting },
    { labels: { state: 'waiting' }, value: src.slots.waiting },
  ]);
  metric('cachier_node_connections_refused_total', 'counter',
    'Connections turned away: node_limit (--max-connections), cache_limit (--max-cache-connections), displaced (waiting, pushed out by newcomers)', () => [
      { labels: { reason: 'node_limit' }, value: src.slots.counts.refused },
      { labels: { reason: 'cache_limit' }, value: src.slots.counts.refusedForCache },
      { labels: { reason: 'displaced' }, value: src.slots.counts.displaced },
    ]);
  metric('cachier_node_commands_total', 'counter', 'Memcache commands by command, summed over the node\'s caches (get: keys requested)',
    () => COMMANDS.map(([command, read]) => ({ labels: { command }, value: read(sums().counters) })));
  metric('cachier_node_read_bytes_total', 'counter', 'Bytes read from logged-in memcache connections', () => one(sums().counters.bytes_read));
  metric('cachier_node_written_bytes_total', 'counter', 'Bytes written to logged-in memcache connections', () => one(sums().counters.bytes_written));
  metric('cachier_node_caches', 'gauge', 'Caches this node holds', () => one(sums().caches));
  metric('cachier_node_items', 'gauge', 'Items held, over every cache', () => one(sums().items));
  metric('cachier_node_item_bytes', 'gauge', 'Bytes the items of every cache use (their stats\' bytes, summed)', () => one(sums().bytes));
  metric('cachier_node_login_failures_total', 'counter',
    'Failed logins of this process\'s login throttle: delayed (answered late) or dropped (too many waiting from the address)', () => [
      { labels: { outcome: 'delayed' }, value: src.throttle.counts.delayed },
      { labels: { outcome: 'dropped' }, value: src.throttle.counts.dropped },
    ]);
  metric('cachier_node_native_batches_total', 'counter', 'Batches of socket events the native loop handed to JavaScript (0 on Node sockets)',
    () => one(src.native()?.batches ?? 0));
  metric('cachier_node_native_batch_events_total', 'counter', 'Socket events in those batches', () => one(src.native()?.batchEvents ?? 0));
  metric('cachier_node_info', 'gauge', 'Always 1; io says what the memcache port runs on', () => [{ labels: { io: src.io() }, value: 1 }]);
  metric('cachier_node_resident_memory_bytes', 'gauge', 'Resident set size of the process', () => one(process.memoryUsage.rss()));
  // The last completed window's figures: reading them resets nothing (event-loop-delay.ts).
  metric('cachier_node_event_loop_delay_p50_seconds', 'gauge', `Median event-loop delay of the process over the last ${LOOP_DELAY_WINDOW_S} s window`,
    () => one(delay.read().p50Seconds));
  metric('cachier_node_event_loop_delay_p99_seconds', 'gauge', `99th percentile event-loop delay of the process over the last ${LOOP_DELAY_WINDOW_S} s window`,
    () => one(delay.read().p99Seconds));
  metric('cachier_node_event_loop_delay_max_seconds', 'gauge', `Longest event-loop delay of the process over the last ${LOOP_DELAY_WINDOW_S} s window`,
    () => one(delay.read().maxSeconds));
  return {
    contentType: registry.contentType,
    async text() {
      summed = undefined;
      return registry.metrics();
    },
  };
}
