/** Starts the control plane on a port: the app plus (later) the history sampler. */
import type { Catalog } from '../catalog/catalog.ts';
import { buildApp } from './app.ts';

export interface ControlPlaneOptions {
  readonly catalog: Catalog;
  readonly host: string;
  readonly port: number;
  readonly historyIntervalSeconds: number;
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<{ port: number; close(): Promise<void> }> {
  const app = buildApp({ catalog: opts.catalog });
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return { port, close: () => app.close() };
}
