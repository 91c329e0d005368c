/**
 * Idle caches (`start`/`control --disable-idle-days D`, off by default): a cache with no
 * memcache traffic for D days is disabled, its reason recorded as `idle`, so its owner
 * can re-enable it with the API v2's `enable_cache` (an operator-disabled cache cannot be).
 *
 * Traffic is read from the stats the history sampler already fetches every interval: per
 * (cache, server) the mark `bytes_read + total_connections` (every command a client sends
 * adds request bytes; a client that only connects and logs in adds a connection). The
 * cache had traffic in a round when any server's mark moved to a value other than zero
 * since the last round that saw that server: up means traffic; down to zero means the
 * counters were reset (reset_stats, a node restart) with nothing since; down to a
 * non-zero value means a reset followed by traffic. The first round that sees a cache
 * counts as traffic, so nothing is disabled right after an upgrade or a restart of the
 * control plane; `enable_cache` counts as traffic too. Failed logins (`auth_errors`) and
 * the control plane's own reads (admin port, latency probes) are not traffic.
 *
 * A round in which some server did not answer disables nothing (it cannot tell whether
 * that server saw traffic); marks and traffic are still recorded from what answered. The
 * catalog keeps marks and last traffic (access.ts: outside the caches table, so the rounds
 * never wake the nodes); disabling is one statement over every cache past the cutoff,
 * after which the nodes are asked to apply it at once (they close its connections).
 */
import type { Catalog } from '../catalog/catalog.ts';
import type { ActivityUpdate } from '../catalog/access.ts';
import type { NodeClient } from './node-client.ts';

const DAY_MS = 86_400_000;

/** One cache as one sampling round saw it. */
export interface CacheRound {
  readonly cacheId: number;
  /** Stats by server (host:port) of the servers that answered. */
  readonly stats: ReadonlyMap<string, Readonly<Record<string, number>>>;
  /** Whether some server did not answer. */
  readonly incomplete: boolean;
}

/** A server's traffic mark from its stats. */
export function trafficMark(stats: Readonly<Record<string, number>>): number {
  return (stats.bytes_read ?? 0) + (stats.total_connections ?? 0);
}

/** Whether any server's mark moved to a value other than zero (see the top of this file). */
export function sawTraffic(before: Readonly<Record<string, number>>, now: Readonly<Record<string, number>>): boolean {
  return Object.entries(now).some(([server, mark]) => {
    const was = before[server];
    return was === undefined ? mark > 0 : mark !== was && mark !== 0;
  });
}

export interface IdleOptions {
  readonly catalog: Catalog;
  readonly nodes: NodeClient;
  /** Disable caches idle this long; undefined records activity only. */
  readonly idleAfterMs?: number;
  /** Told of every cache disabled (default: one line on stdout). */
  readonly onDisabled?: (cacheIds: readonly number[], idleDays: number) => void;
}

export class IdleWatcher {
  constructor(private readonly opts: IdleOptions) {}

  static fromDays(opts: Omit<IdleOptions, 'idleAfterMs'> & { readonly days?: number }): IdleWatcher {
    return new IdleWatcher({ ...opts, idleAfterMs: opts.days === undefined ? undefined : opts.days * DAY_MS });
  }

  /** Records one round's activity; then, when enabled, disables idle caches. Returns the ids disabled. */
  async observe(now: number, round: readonly CacheRound[]): Promise<number[]> {
    const { catalog, nodes, idleAfterMs } = this.opts;
    const previous = await catalog.cacheActivity();
    const updates: ActivityUpdate[] = [];
    for (const seen of round) {
      if (seen.stats.size === 0) continue;
      const marks: Record<string, number> = {};
      for (const [server, stats] of seen.stats) marks[server] = trafficMark(stats);
      const prev = previous.get(seen.cacheId);
      const traffic = prev === undefined || sawTraffic(prev.marks, marks);
      updates.push({ cacheId: seen.cacheId, marks: { ...prev?.marks, ...marks }, ...(traffic ? { trafficAt: now } : {}) });
    }
    await catalog.recordActivity(updates);
    if (idleAfterMs === undefined || round.some((r) => r.incomplete)) return [];
    const disabled = await catalog.disableIdleCaches(now - idleAfterMs, now);
    if (disabled.length) {
      (this.opts.onDisabled ?? defaultReport)(disabled, idleAfterMs / DAY_MS);
      try {
        await nodes.syncAll();
      } catch {
        // best effort: nodes poll the catalog revision anyway
      }
    }
    return disabled;
  }
}

function defaultReport(ids: readonly number[], days: number): void {
  console.log(`cachier: disabled ${ids.length === 1 ? 'cache' : 'caches'} ${ids.join(', ')}: no memcache traffic for ${days} days (enable_cache re-enables)`);
}
