/**
 * The control plane's HTTP app. `buildApp` never listens, so tests drive it with
 * `inject()` or a real port as they like.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Catalog } from '../catalog/catalog.ts';

export interface AppDeps {
  readonly catalog: Catalog;
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ ok: true, caches: (await deps.catalog.listCaches()).length }));
  return app;
}
