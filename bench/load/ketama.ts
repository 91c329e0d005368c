/**
 * Consistent hashing of keys over several servers the way ketama clients do it
 * (libmemcached's MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED with equal weights, pylibmc, spymemcached):
 * every server owns 160 points of a 32-bit ring, four from each MD5 of `host:port-N`
 * (N = 0…39, each digest read as four little-endian words); a key belongs to the first
 * point at or after the first little-endian word of its own MD5, wrapping past the top.
 * The scaling bench spreads its keys this way because MemCachier's clients do.
 */
import { createHash } from 'node:crypto';

const DIGESTS_PER_SERVER = 40;

export class Ketama {
  /** Ring positions, ascending, and the index of the server owning each. */
  private readonly hashes: Uint32Array;
  private readonly owners: Uint16Array;

  constructor(servers: readonly string[]) {
    const points: [number, number][] = [];
    servers.forEach((name, owner) => {
      for (let n = 0; n < DIGESTS_PER_SERVER; n++) {
        const digest = createHash('md5').update(`${name}-${n}`).digest();
        for (let w = 0; w < 4; w++) points.push([digest.readUInt32LE(w * 4), owner]);
      }
    });
    points.sort((a, b) => a[0] - b[0]);
    this.hashes = Uint32Array.from(points, (p) => p[0]);
    this.owners = Uint16Array.from(points, (p) => p[1]);
  }

  /** The index (into the constructor's list) of the server `key` goes to. */
  serverFor(key: string | Buffer): number {
    const h = createHash('md5').update(key).digest().readUInt32LE(0);
    let lo = 0;
    let hi = this.hashes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.hashes[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === this.hashes.length ? 0 : lo]!;
  }
}
