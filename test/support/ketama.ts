/**
 * Ketama consistent hashing as memcache clients use it (libmemcached's weighted ketama,
 * pylibmc's `ketama`): each server is placed at 160 points on a 32-bit ring, four per MD5
 * of `host:port-i`; a key goes to the first point at or after the little-endian first
 * word of its MD5, wrapping. For tests that spread a cache's keys over its nodes the way
 * MemCachier's clients do, with any client that lets us pick the server (memjs's getServer).
 */
import { createHash } from 'node:crypto';

const DIGESTS_PER_SERVER = 40;

export class KetamaRing {
  private readonly points: { hash: number; server: number }[] = [];

  constructor(readonly servers: readonly string[]) {
    servers.forEach((server, index) => {
      for (let i = 0; i < DIGESTS_PER_SERVER; i++) {
        const d = createHash('md5').update(`${server}-${i}`).digest();
        for (let h = 0; h < 4; h++) this.points.push({ hash: d.readUInt32LE(h * 4), server: index });
      }
    });
    this.points.sort((a, b) => a.hash - b.hash);
  }

  /** Index in `servers` of the server that holds `key`. */
  serverOf(key: string): number {
    const hash = createHash('md5').update(key).digest().readUInt32LE(0);
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]!.hash < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.points[lo === this.points.length ? 0 : lo]!.server;
  }
}
