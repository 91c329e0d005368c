/**
 * The admin endpoint's introspection routes (docs/introspection.md): a cache's hot keys,
 * one key's figures, its last requests and its watched prefixes' counters, for the control
 * plane to merge over the cache's nodes. Keys travel as base64 (they are any bytes).
 */
import type { Tenant } from './tenants.ts';

export interface AdminAnswer {
  readonly status: number;
  readonly body: unknown;
}

const DISABLED: AdminAnswer = { status: 409, body: { error: 'introspection disabled' } };
const MAX_LIMIT = 1000;

type Route = 'popular' | 'key' | 'recent' | 'prefixes';

export function isIntrospectionRoute(what: string): what is Route {
  return what === 'popular' || what === 'key' || what === 'recent' || what === 'prefixes';
}

export function serveIntrospection(tenant: Tenant, what: Route, params: URLSearchParams, now: number): AdminAnswer {
  const ci = tenant.introspection;
  if (ci === null) return DISABLED;
  const ms = Date.now();
  switch (what) {
    case 'popular': {
      const limit = limitParam(params, 20, 100);
      const prefix = base64Param(params, 'prefix');
      if (limit === null || prefix === null) return bad('limit must be 1 to 100; prefix base64');
      const lists = ci.popular(limit, ms, prefix);
      const entries = (list: readonly { key: string; count: number }[]) =>
        list.map((e) => ({ key: Buffer.from(e.key, 'latin1').toString('base64'), count: e.count }));
      return {
        status: 200,
        body: {
          windowMs: 180_000,
          hit: entries(lists.hit), miss: entries(lists.miss), mutated: entries(lists.mutated), prefixes: entries(lists.prefixes),
        },
      };
    }
    case 'key': {
      const key = base64Param(params, 'key');
      if (key === null || key === undefined || key.length === 0 || key.length > 250) return bad('key: 1 to 250 bytes, base64');
      const item = tenant.store.peek(key, now);
      const counts = ci.keyCounts(key, ms);
      return {
        status: 200,
        body: { key: key.toString('base64'), inCache: item !== null, size: item === null ? 0 : item.value.length, ...counts },
      };
    }
    case 'recent': {
      const limit = limitParam(params, 100, MAX_LIMIT);
      if (limit === null) return bad(`limit must be 1 to ${MAX_LIMIT}`);
      const lines = ci.recent(limit).map((l) => ({
        time: l.time, command: l.command, status: l.status, key: l.key.toString('base64'), size: l.size,
      }));
      return { status: 200, body: { lines } };
    }
    case 'prefixes':
      return { status: 200, body: { prefixes: ci.watched.counters() } };
  }
}

function bad(error: string): AdminAnswer {
  return { status: 400, body: { error } };
}

/** undefined when absent, null when malformed. */
function base64Param(params: URLSearchParams, name: string): Buffer | undefined | null {
  const v = params.get(name);
  if (v === null) return undefined;
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) return null;
  return Buffer.from(v, 'base64');
}

function limitParam(params: URLSearchParams, fallback: number, max: number): number | null {
  const v = params.get('limit');
  if (v === null) return fallback;
  if (!/^\d{1,4}$/.test(v)) return null;
  const n = Number(v);
  return n >= 1 && n <= max ? n : null;
}
