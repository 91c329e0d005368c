/**
 * Requests to a test node's admin endpoint as the control plane makes them: to
 * `node.adminAddress`, carrying the cluster secret from the node's catalog.
 */
import type { TestNode } from './test-node.ts';

/** `path` on the node's admin endpoint with `Authorization: Bearer <cluster secret>`. */
export async function adminFetch(t: Pick<TestNode, 'node' | 'catalog'>, path: string, init: { method?: string } = {}): Promise<Response> {
  const secret = await t.catalog.clusterSecret();
  return fetch(`http://${t.node.adminAddress}${path}`, { ...init, headers: { authorization: `Bearer ${secret}` } });
}

/** adminFetch, with its JSON body read. */
export async function adminJson(t: Pick<TestNode, 'node' | 'catalog'>, path: string, init: { method?: string } = {}): Promise<{ status: number; body: any }> {
  const r = await adminFetch(t, path, init);
  return { status: r.status, body: await r.json() };
}
