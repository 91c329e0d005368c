/**
 * `GET /readyz`: whether this control plane can serve, for a load balancer or an
 * orchestrator's readiness probe (`/healthz` only says the process answers HTTP).
 *
 * Ready (200) when the catalog answers a read within CATALOG_DEADLINE_MS and every cache
 * node this process runs (`cachier start`; none for `cachier control`) is listening on its
 * memcache port and admin endpoint. Otherwise 503 with `ready: false` and a `reason` naming
 * what failed (the catalog, or the nodes not listening). The catalog's own error goes to the
 * log only: /readyz answers anyone, and a database error can name hosts and users. The same node states are
 * in `GET /api/operator/nodes` (routes/operator.ts): `local`, and `state` listening or
 * stopped for this process's nodes, unknown for other machines' (their `last_seen` says
 * when they last registered).
 */
import type { FastifyInstance } from 'fastify';
import type { Catalog } from '../catalog/catalog.ts';

/** A cache node run by this process, as readiness sees it (src/node/cache-node.ts fits). */
export interface LocalNode {
  readonly address: string;
  readonly listening: boolean;
}

export type NodeState = 'listening' | 'stopped' | 'unknown';

export const CATALOG_DEADLINE_MS = 2000;

const Readiness = {
  type: 'object',
  properties: {
    ready: { type: 'boolean' },
    /** Why not ready; absent when ready. */
    reason: { type: 'string' },
    catalog: { enum: ['ok', 'failed'] },
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        properties: { address: { type: 'string' }, state: { enum: ['listening', 'stopped'] } },
        required: ['address', 'state'],
      },
    },
  },
  required: ['ready', 'catalog', 'nodes'],
} as const;

export interface ReadinessReport {
  ready: boolean;
  /** The catalog's error, for the log; never sent. */
  catalogError?: string;
  reason?: string;
  catalog: 'ok' | 'failed';
  nodes: { address: string; state: 'listening' | 'stopped' }[];
}

export async function checkReadiness(catalog: Catalog, localNodes: readonly LocalNode[]): Promise<ReadinessReport> {
  const nodes = localNodes.map((n) => ({ address: n.address, state: n.listening ? 'listening' as const : 'stopped' as const }));
  const reasons: string[] = [];
  let catalogState: 'ok' | 'failed' = 'ok';
  let catalogError: string | undefined;
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      catalog.revision(),
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(new Error(`no answer within ${CATALOG_DEADLINE_MS} ms`));
        }, CATALOG_DEADLINE_MS);
      }),
    ]);
  } catch (e) {
    catalogState = 'failed';
    catalogError = (e as Error).message;
    reasons.push(timedOut ? `catalog: ${catalogError}` : 'catalog: failed (its error is in the control plane\'s log)');
  } finally {
    clearTimeout(timer);
  }
  const stopped = nodes.filter((n) => n.state !== 'listening').map((n) => n.address);
  if (stopped.length) reasons.push(`not listening: ${stopped.join(',')}`);
  const report: ReadinessReport = reasons.length ? { ready: false, reason: reasons.join('; '), catalog: catalogState, nodes } : { ready: true, catalog: catalogState, nodes };
  if (catalogError !== undefined && !timedOut) report.catalogError = catalogError;
  return report;
}

/** This process's state of a node the catalog lists. */
export function nodeState(address: string, localNodes: readonly LocalNode[]): { local: boolean; state: NodeState } {
  const local = localNodes.find((n) => n.address === address);
  return local ? { local: true, state: local.listening ? 'listening' : 'stopped' } : { local: false, state: 'unknown' };
}

export function readinessRoutes(app: FastifyInstance, deps: { catalog: Catalog; localNodes: () => readonly LocalNode[] }): void {
  app.get('/readyz', { schema: { response: { 200: Readiness, 503: Readiness } } }, async (request, reply) => {
    const { catalogError, ...report } = await checkReadiness(deps.catalog, deps.localNodes());
    if (catalogError !== undefined) request.log.warn({ event: 'readyz_catalog_failed', error: catalogError }, 'readiness: the catalog failed');
    return reply.code(report.ready ? 200 : 503).header('cache-control', 'no-store').send(report);
  });
}
