/**
 * The admin endpoint's live key listing, `GET /caches/:id/introspection/keys`
 * (docs/introspection.md): a page of the cache's live keys in slot order, optionally
 * under a prefix, and an opaque cursor to go on from (null at the end). Each page is one
 * bounded TenantStore.walk call, so a listing never stalls the node; keys stored or
 * removed while a client pages may or may not show, a key present throughout shows once.
 */
import type { Tenant } from './tenants.ts';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
/** Longest key the protocols allow: a longer prefix matches nothing, and is a mistake. */
const MAX_PREFIX = 250;
/** The cursor is the slot the walk goes on from, in decimal (opaque to callers). */
const CURSOR = /^\d{1,10}$/;

export function serveKeyList(tenant: Tenant, params: URLSearchParams, now: number): { status: number; body: unknown } {
  if (tenant.introspection === null) return { status: 409, body: { error: 'introspection disabled' } };
  const limitText = params.get('limit');
  const limit = limitText === null ? DEFAULT_LIMIT : /^\d{1,4}$/.test(limitText) ? Number(limitText) : 0;
  if (limit < 1 || limit > MAX_LIMIT) return bad(`limit must be 1 to ${MAX_LIMIT}`);
  const prefixText = params.get('prefix');
  const prefix = prefixText === null ? undefined : strictBase64(prefixText);
  if (prefix === null || (prefix !== undefined && prefix.length > MAX_PREFIX)) return bad(`prefix must be base64 of at most ${MAX_PREFIX} bytes`);
  const cursorText = params.get('cursor');
  if (cursorText !== null && !CURSOR.test(cursorText)) return bad('cursor is not one this node gave');
  const cursor = cursorText === null ? 0 : Number(cursorText);

  const page = tenant.store.walk(cursor, limit, now, prefix !== undefined && prefix.length > 0 ? prefix : undefined);
  const keys = page.items.map((item) => ({
    key: item.key.toString('base64'),
    size: item.size,
    // A live item's exptime is after now, so ttl >= 1 unless it never expires.
    ttl: item.exptime === 0 ? -1 : Math.max(1, item.exptime - now),
  }));
  return { status: 200, body: { keys, cursor: page.next === null ? null : String(page.next) } };
}

function bad(error: string): { status: number; body: unknown } {
  return { status: 400, body: { error } };
}

/** Base64 (standard, or URL-safe without padding) that decodes and encodes back unchanged; null otherwise. */
function strictBase64(text: string): Buffer | null {
  if (/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    const b = Buffer.from(text, 'base64');
    return b.toString('base64') === text ? b : null;
  }
  if (/^[A-Za-z0-9_-]*$/.test(text)) {
    const b = Buffer.from(text, 'base64url');
    return b.toString('base64url') === text ? b : null;
  }
  return null;
}
