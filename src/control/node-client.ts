/**
 * The control plane's side of each node's admin endpoint: a cache's stats, flush,
 * "sync now", and introspection (docs/introspection.md; answers checked and merged in
 * introspection-merge.ts). A call about one cache goes to the nodes of that cache's cluster
 * (syncAll to every node), all in parallel, each with a short deadline, and reports which
 * nodes (by client address, the stats key) failed to answer, so a dead node costs one
 * deadline, not one per node.
 *
 * The cluster secret is read from the catalog once and kept; after a rotation a node
 * answers 401 to the old one, and the call re-reads the secret and retries once, within
 * the same deadline. (A node that has not seen the rotation yet catches up itself.)
 */
import type { Catalog, NodeRecord } from '../catalog/catalog.ts';
import type { ServerStats } from '../api/v1.ts';
import { STAT_NAMES } from '../shared/stat-names.ts';
import type { WatchedPrefixCounters } from '../shared/prefix-counters.ts';
import {
  parseKeysPage, parseKeyStats, parsePopular, parsePrefixes, parseRecent,
  type NodeKeysPage, type NodeKeyStats, type NodePopular, type NodeRecentLine,
} from './introspection-merge.ts';

export interface NodeClientOptions {
  readonly catalog: Catalog;
  /** Deadline for one node's answer, body included. Default 1500 ms. */
  readonly timeoutMs?: number;
  /** Deadline for a node's "sync now" (best effort, so short). Default 500 ms. */
  readonly syncTimeoutMs?: number;
}

/** The result of one call fanned out to every node. */
export interface FanOut<T> {
  /** By node address, in the catalog's node order. */
  readonly ok: ReadonlyMap<string, T>;
  /** Addresses of nodes that failed or did not answer in time. */
  readonly failed: readonly string[];
  /** Of those, the ones that answered with an HTTP error, and its status (409: introspection off there). */
  readonly statuses: ReadonlyMap<string, number>;
}

/** A node answered, with an error status. */
export class NodeHttpError extends Error {
  constructor(readonly address: string, readonly status: number) {
    super(`${address}: HTTP ${status}`);
  }
}

export class NodeClient {
  private readonly catalog: Catalog;
  private readonly timeoutMs: number;
  private readonly syncTimeoutMs: number;
  /** The cluster secret as last read from the catalog. */
  private adminKey: Promise<string> | undefined;
  /** Bumped when a node's 401 makes us read the secret again. */
  private generation = 0;

  constructor(opts: NodeClientOptions) {
    this.catalog = opts.catalog;
    this.timeoutMs = opts.timeoutMs ?? 1500;
    this.syncTimeoutMs = opts.syncTimeoutMs ?? 500;
  }

  /** One cache's stats from every node. */
  async stats(cacheId: number, nodes?: readonly NodeRecord[]): Promise<FanOut<ServerStats>> {
    return this.fanOut(nodes ?? await this.nodesOf(cacheId), async (node) => toStats(await this.call(node, 'GET', `/caches/${cacheId}/stats`)));
  }

  /** Flushes one cache on every node. */
  async flush(cacheId: number): Promise<FanOut<true>> {
    return this.fanOut(await this.nodesOf(cacheId), async (node) => {
      await this.call(node, 'POST', `/caches/${cacheId}/flush`);
      return true as const;
    });
  }

  /** Zeroes one cache's counters on every node (gauges kept), as memcache `stats reset`. */
  async resetStats(cacheId: number): Promise<FanOut<true>> {
    return this.fanOut(await this.nodesOf(cacheId), async (node) => {
      await this.call(node, 'POST', `/caches/${cacheId}/reset_stats`);
      return true as const;
    });
  }

  /**
   * Asks every node to apply the catalog now rather than at its next poll. Best effort:
   * nodes poll anyway, so a failure here only costs the poll interval.
   */
  async syncAll(): Promise<FanOut<true>> {
    return this.fanOut(undefined, async (node) => {
      await this.call(node, 'POST', '/sync', this.syncTimeoutMs);
      return true as const;
    });
  }

  /** Each node's popular keys of one cache; with `prefix`, only keys under it. */
  async popular(cacheId: number, limit: number, prefix?: Buffer): Promise<FanOut<NodePopular>> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (prefix) q.set('prefix', prefix.toString('base64'));
    return this.fanOut(await this.nodesOf(cacheId), async (node) => parsePopular(await this.call(node, 'GET', `/caches/${cacheId}/introspection/popular?${q}`)));
  }

  /** One key's size and window counts on each node. */
  async keyStats(cacheId: number, key: Buffer): Promise<FanOut<NodeKeyStats>> {
    const q = new URLSearchParams({ key: key.toString('base64') });
    return this.fanOut(await this.nodesOf(cacheId), async (node) => parseKeyStats(await this.call(node, 'GET', `/caches/${cacheId}/introspection/key?${q}`)));
  }

  /** The last `limit` requests of one cache on each node, oldest first. */
  async recent(cacheId: number, limit: number): Promise<FanOut<NodeRecentLine[]>> {
    return this.fanOut(await this.nodesOf(cacheId), async (node) => parseRecent(await this.call(node, 'GET', `/caches/${cacheId}/introspection/recent?limit=${limit}`)));
  }

  /** The cumulative counters of one cache's watched prefixes on each node. */
  async prefixCounters(cacheId: number, nodes?: readonly NodeRecord[]): Promise<FanOut<WatchedPrefixCounters[]>> {
    return this.fanOut(nodes ?? await this.nodesOf(cacheId), async (node) => parsePrefixes(await this.call(node, 'GET', `/caches/${cacheId}/introspection/prefixes`)));
  }

  /** A page of one cache's keys from each node asked, each with its own cursor and limit. */
  async keysPages(
    cacheId: number, prefix: Buffer, asks: readonly { node: NodeRecord; cursor: string | undefined; limit: number }[],
  ): Promise<FanOut<NodeKeysPage>> {
    const byAddress = new Map(asks.map((a) => [a.node.address, a]));
    return this.fanOut(asks.map((a) => a.node), async (node) => {
      const ask = byAddress.get(node.address)!;
      const q = new URLSearchParams({ limit: String(ask.limit) });
      if (prefix.length) q.set('prefix', prefix.toString('base64'));
      if (ask.cursor !== undefined) q.set('cursor', ask.cursor);
      return parseKeysPage(await this.call(node, 'GET', `/caches/${cacheId}/introspection/keys?${q}`));
    });
  }

  /** The nodes that serve a cache: those of its cluster (none for a cache that is gone). */
  private async nodesOf(cacheId: number): Promise<NodeRecord[]> {
    const cache = await this.catalog.getCache(cacheId);
    return cache ? this.catalog.listNodes(cache.cluster) : [];
  }

  private async fanOut<T>(given: readonly NodeRecord[] | undefined, fn: (node: NodeRecord) => Promise<T>): Promise<FanOut<T>> {
    const nodes = given ?? (await this.catalog.listNodes());
    const results = await Promise.allSettled(nodes.map(fn));
    const ok = new Map<string, T>();
    const failed: string[] = [];
    const statuses = new Map<string, number>();
    results.forEach((r, i) => {
      const address = nodes[i]!.address;
      if (r.status === 'fulfilled') ok.set(address, r.value);
      else {
        failed.push(address);
        if (r.reason instanceof NodeHttpError) statuses.set(address, r.reason.status);
      }
    });
    return { ok, failed, statuses };
  }

  private async call(node: NodeRecord, method: 'GET' | 'POST', path: string, timeoutMs = this.timeoutMs): Promise<unknown> {
    const signal = AbortSignal.timeout(timeoutMs);
    const send = (secret: string) => fetch(`http://${node.adminAddress}${path}`, {
      method, headers: { authorization: `Bearer ${secret}` }, signal,
    });
    const generation = this.generation;
    let res = await send(await this.currentSecret());
    if (res.status === 401) {
      await res.body?.cancel();
      // Read again once for all calls refused since the last read, then retry.
      if (this.generation === generation) {
        this.generation++;
        this.adminKey = undefined;
      }
      res = await send(await this.currentSecret());
    }
    if (!res.ok) {
      await res.text().catch(() => '');
      throw new NodeHttpError(node.address, res.status);
    }
    return (await res.json()) as unknown;
  }

  private currentSecret(): Promise<string> {
    if (!this.adminKey) {
      const read = this.catalog.clusterSecret();
      this.adminKey = read;
      // A failed read (catalog down) is not kept: the next call tries again.
      read.catch(() => {
        if (this.adminKey === read) this.adminKey = undefined;
      });
    }
    return this.adminKey;
  }
}

function toStats(body: unknown): ServerStats {
  if (typeof body !== 'object' || body === null) throw new Error('stats: not an object');
  const src = body as Record<string, unknown>;
  const out = {} as Record<string, number>;
  for (const name of STAT_NAMES) {
    const v = src[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`stats: ${name} missing`);
    out[name] = v;
  }
  return out as ServerStats;
}
