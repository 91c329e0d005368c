/**
 * The credentials of a cache: list, create, update capabilities, promote to primary,
 * delete. `:cred` is a credential's numeric id or its sasl_username, only ever within the
 * cache of the path. Capabilities come from a JSON body, a form body or the query string
 * (body wins on conflict); one left out is true, the document's default. Every change
 * goes through the catalog, then nodes are told to sync at once (they would within 200 ms
 * anyway), so a 200 means the change is already in force on every reachable node.
 */
import type { FastifyRequest } from 'fastify';
import type { Catalog, Capabilities, CredentialRecord } from '../../catalog/catalog.ts';
import { ApiError } from '../../api/errors.ts';
import {
  CacheIdParams, CapabilitiesInput, CapabilitiesView, CredentialList, CredentialParams, CredentialView, NewCredentialView,
} from '../../api/v1.ts';
import { authOf } from '../auth.ts';
import type { Routes } from '../app.ts';
import { capabilitiesView, credentialView } from '../../api/views.ts';

type CapsRequest = { Params: CredentialParams; Body: CapabilitiesInput; Querystring: CapabilitiesInput };

export const credentialRoutes: Routes = (app, { catalog, nodes, guard }) => {
  const changed = async () => {
    try {
      await nodes.syncAll();
    } catch {
      // best effort: nodes poll the catalog revision anyway
    }
  };

  app.get<{ Params: CacheIdParams }>(
    '/api/v1/:id/credentials',
    { onRequest: guard, schema: { params: CacheIdParams, response: { 200: CredentialList } } },
    async (request): Promise<CredentialList> => {
      const { cache } = authOf(request);
      return (await catalog.listCredentials(cache.id)).map(credentialView);
    },
  );

  app.post<{ Params: CacheIdParams; Body: CapabilitiesInput; Querystring: CapabilitiesInput }>(
    '/api/v1/:id/credentials',
    {
      onRequest: guard,
      schema: { params: CacheIdParams, body: CapabilitiesInput, querystring: CapabilitiesInput, response: { 200: NewCredentialView } },
    },
    async (request): Promise<NewCredentialView> => {
      const { cache } = authOf(request);
      const { credential, password } = await catalog.createCredential(cache.id, capabilitiesFrom(request));
      await changed();
      return { ...credentialView(credential), sasl_password: password };
    },
  );

  const update = async (request: FastifyRequest<CapsRequest>): Promise<CapabilitiesView> => {
    const { cache } = authOf(request);
    const target = await resolveCredential(catalog, cache.id, request.params.cred);
    const updated = await catalog.updateCredential(target.id, capabilitiesFrom(request));
    if (!updated) throw new ApiError('NO_CREDENTIAL');
    await changed();
    return capabilitiesView(updated);
  };
  const updateOpts = {
    onRequest: guard,
    schema: { params: CredentialParams, body: CapabilitiesInput, querystring: CapabilitiesInput, response: { 200: CapabilitiesView } },
  };
  app.post<CapsRequest>('/api/v1/:id/credentials/:cred', updateOpts, update);
  app.patch<CapsRequest>('/api/v1/:id/credentials/:cred', updateOpts, update);

  app.post<{ Params: CredentialParams }>(
    '/api/v1/:id/credentials/primary/:cred',
    { onRequest: guard, schema: { params: CredentialParams, response: { 200: CredentialView } } },
    async (request): Promise<CredentialView> => {
      const { cache } = authOf(request);
      const target = await resolveCredential(catalog, cache.id, request.params.cred);
      const promoted = await catalog.promoteCredential(target.id);
      if (!promoted) throw new ApiError('NO_CREDENTIAL');
      await changed();
      return credentialView(promoted);
    },
  );

  const remove = { onRequest: guard, schema: { params: CredentialParams } };
  const removeHandler = async (request: FastifyRequest<{ Params: CredentialParams }>): Promise<void> => {
    const { cache } = authOf(request);
    const target = await resolveCredential(catalog, cache.id, request.params.cred);
    const result = await catalog.deleteCredential(target.id);
    if (result === 'primary') throw new ApiError('PRIMARY_CREDENTIAL');
    if (result === 'not_found') throw new ApiError('NO_CREDENTIAL');
    await changed();
  };
  for (const path of ['/api/v1/:id/credentials/:cred', '/api/v1/:id/credentials/primary/:cred']) {
    app.delete<{ Params: CredentialParams }>(path, remove, async (request, reply) => {
      await removeHandler(request);
      return reply.code(200).send();
    });
  }
};

/** Query string first, then the body over it; anything left out is true. */
function capabilitiesFrom(request: { body: CapabilitiesInput; query: CapabilitiesInput }): Capabilities {
  const given = { ...request.query, ...request.body };
  return {
    flush: given.flush_capability ?? true,
    write: given.write_capability ?? true,
    api: given.api_capability ?? true,
  };
}

/** A credential of this cache by sasl_username, else by numeric id. */
async function resolveCredential(catalog: Catalog, cacheId: number, ref: string): Promise<CredentialRecord> {
  const creds = await catalog.listCredentials(cacheId);
  const found = creds.find((c) => c.username === ref) ?? (/^\d+$/.test(ref) ? creds.find((c) => c.id === Number(ref)) : undefined);
  if (!found) throw new ApiError('NO_CREDENTIAL');
  return found;
}
