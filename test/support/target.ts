// What a compatibility test talks to. Normally a real `cachier start` cluster with a
// fresh cache; with CACHIER_COMPAT_TARGET=memcached, stock memcached processes
// instead (SASL-enabled when saslpasswd2 is installed), to prove that the client
// scripts and assertions are right before blaming the server.
import fs from 'node:fs';
import { createCache, makeDataDir, startCluster, type Cluster, type CreatedCache } from './cluster.ts';
import { startMemcached, SASLPASSWD2, type Memcached } from './memcached.ts';
import { RawClient } from './raw-client.ts';
import { IN_CI } from './required-tool.ts';
import { PROMPTLY_MS, until } from './wait.ts';

export type TargetKind = 'cachier' | 'memcached';
export const TARGET_KIND: TargetKind = process.env.CACHIER_COMPAT_TARGET === 'memcached' ? 'memcached' : 'cachier';

export interface Target {
  kind: TargetKind;
  servers: string[];
  /** Empty when the target does not authenticate (anonymous mode, or memcached without SASL). */
  username: string;
  password: string;
  /** True when a wrong password must be refused. */
  authenticates: boolean;
  cluster?: Cluster;
  cache?: CreatedCache;
  stop(): Promise<void>;
}

export interface TargetOptions {
  nodes?: number;
  /** Serve unauthenticated connections (cachier --anonymous-cache; memcached without SASL). */
  anonymous?: boolean;
  /**
   * Create the cache after the cluster is up (so its `servers` are the cluster's nodes)
   * and wait for the change to propagate. Default: create it before starting.
   */
  createAfterStart?: boolean;
}

export async function openTarget(opts: TargetOptions = {}): Promise<Target> {
  const nodes = opts.nodes ?? 1;
  if (TARGET_KIND === 'memcached') {
    // Without saslpasswd2 the self-check would quietly run without logins; CI has it.
    if (!opts.anonymous && IN_CI && !fs.existsSync(SASLPASSWD2)) throw new Error(`${SASLPASSWD2} missing (sasl2-bin); CI=true, so the self-check fails instead of skipping logins`);
    const sasl = !opts.anonymous && fs.existsSync(SASLPASSWD2) ? { username: 'compat-user', password: 'compat-pass' } : undefined;
    const started: Memcached[] = [];
    try {
      for (let i = 0; i < nodes; i++) started.push(await startMemcached({ sasl }));
    } catch (e) {
      await Promise.all(started.map((m) => m.stop()));
      throw e;
    }
    return {
      kind: 'memcached',
      servers: started.map((m) => m.server),
      username: sasl?.username ?? '',
      password: sasl?.password ?? '',
      authenticates: !!sasl,
      stop: async () => {
        await Promise.all(started.map((m) => m.stop()));
      },
    };
  }

  const dataDir = makeDataDir();
  let cache: CreatedCache | undefined;
  let cluster: Cluster;
  if (opts.createAfterStart) {
    cluster = await startCluster({ dataDir, nodes });
    try {
      cache = await createCache(dataDir);
      // The new cache's credential logs in on every node: the change reached them all.
      const login = `set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\n`;
      for (const port of cluster.ports) {
        await until(`the new cache on :${port}`, Date.now() + PROMPTLY_MS, async () => {
          const c = await RawClient.connect(port);
          try {
            return (await c.text(login)) === 'STORED\r\n' || undefined;
          } finally {
            c.end();
          }
        });
      }
    } catch (e) {
      await cluster.stop();
      throw e;
    }
  } else {
    cache = await createCache(dataDir);
    cluster = await startCluster({
      dataDir,
      nodes,
      anonymousCacheId: opts.anonymous ? cache.id : undefined,
    });
  }
  return {
    kind: 'cachier',
    // A cache created before any node ran lists the default node address, so the
    // cluster's own addresses are the ones to use then.
    servers: opts.createAfterStart ? cache.servers : cluster.servers,
    username: opts.anonymous ? '' : cache.username,
    password: opts.anonymous ? '' : cache.password,
    authenticates: !opts.anonymous,
    cluster,
    cache,
    stop: () => cluster.stop(),
  };
}

/** Extra context for assertion messages: the server's output when a test fails. */
export function serverLog(t: Target): string {
  if (!t.cluster) return '';
  const tail = (s: string) => s.split('\n').slice(-40).join('\n');
  return `\n--- cachier stdout (tail) ---\n${tail(t.cluster.stdout())}\n--- cachier stderr (tail) ---\n${tail(t.cluster.stderr())}`;
}
