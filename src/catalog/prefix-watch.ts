/**
 * The watched-prefix list as both catalogs store it on the cache row (a JSON array of
 * {id, name, createdAt}, oldest first) and the rules of watching, written once:
 * sqlite-introspection.ts and postgres-introspection.ts only read, lock and write the row.
 */
import { MAX_PREFIX_NAME_BYTES, MAX_WATCHED_PREFIXES, type PrefixSample, type WatchedPrefix } from './catalog.ts';

/** The stored column: text in SQLite, already parsed jsonb in PostgreSQL. */
export function readWatchedPrefixes(stored: unknown): WatchedPrefix[] {
  const list = (typeof stored === 'string' ? JSON.parse(stored) : stored ?? []) as { id: unknown; name: unknown; createdAt: unknown }[];
  return list.map((p) => ({ id: Number(p.id), name: String(p.name), createdAt: Number(p.createdAt) }));
}

/**
 * Why `name` cannot be a watched prefix's name, or undefined when it can. A lone surrogate
 * has no UTF-8 bytes of its own (it would be stored as U+FFFD's, a second watch of the same
 * bytes) and PostgreSQL's jsonb refuses it and U+0000: neither is a name.
 */
export function prefixNameProblem(name: string): string | undefined {
  if (!(name as string & { isWellFormed(): boolean }).isWellFormed()) return 'not well-formed Unicode (a lone surrogate)';
  if (name.includes('\u0000')) return 'contains U+0000 (NUL)';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0 || bytes > MAX_PREFIX_NAME_BYTES) return `${bytes} bytes`;
  return undefined;
}

export function checkPrefixName(name: string): void {
  const problem = prefixNameProblem(name);
  if (problem !== undefined) {
    throw new RangeError(`a watched prefix is 1 to ${MAX_PREFIX_NAME_BYTES} bytes of well-formed UTF-8 without NUL: ${problem}`);
  }
}

/** What watching `name` does to `list`: nothing (already watched, or full), or append a new one. */
export function planWatch(list: readonly WatchedPrefix[], name: string): { found: WatchedPrefix } | 'limit' | 'add' {
  const found = list.find((p) => p.name === name);
  if (found) return { found };
  return list.length >= MAX_WATCHED_PREFIXES ? 'limit' : 'add';
}

/** A stored history row (either catalog's column names; PostgreSQL's bigints arrive as strings). */
export interface PrefixRow {
  cache_id: number | string; prefix_id: number | string; server: string; ts: number | string;
  num_keys: number | string; total_size: number | string; hits: number | string; misses: number | string; mutations: number | string;
}

export const toPrefixSample = (r: PrefixRow): PrefixSample => ({
  cacheId: Number(r.cache_id), prefixId: Number(r.prefix_id), server: r.server, timestamp: Number(r.ts),
  keys: Number(r.num_keys), bytes: Number(r.total_size), hits: Number(r.hits), misses: Number(r.misses), mutations: Number(r.mutations),
});
