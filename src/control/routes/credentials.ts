/**
 * The credentials of a cache: list, create, update capabilities, promote to primary,
 * delete. `:cred` is a credential's numeric id or its sasl_username, only ever within the
 * cache of the path. Capabilities come from a JSON body, a form body or the query string
 * (body wins on conflict). Every change goes through the catalog, then nodes are told to
 * sync at once (they would within 200 ms anyway), so a 200 means the change is already in
 * force on every reachable node.
 *
 * cachier's rule (stricter than MemCachier: no credential can escalate itself or anyone).
 * C is the calling credential (it holds api_capability, or the guard answered 403).
 * - Asked for: a capability given explicitly as true that C does not hold is a 403 "You
 *   are not authorized to perform this action." and nothing changes. One left out is the
 *   document's default, true, capped at C's: true if C holds it, false if not. For a
 *   credential with all three this is exactly the document's behaviour.
 * - Create: the new credential gets what is asked for as above, so at most C's
 *   capabilities (with no body: exactly C's).
 * - Update (POST/PATCH …/credentials/:cred): C must hold every capability the target
 *   holds now, else 403 and nothing changes: a credential cannot raise or lower one that
 *   has more than it. Then as above; a capability left out that C lacks is one the target
 *   lacks too, so it stays false. Any credential may lower its own capabilities.
 * - Promote and delete (both paths, itself included) need all three capabilities, else 403.
 * - Order: 400 for a malformed request, then 404 for an unknown credential on update (the
 *   target is needed to decide), then 403; promote and delete check C before the target.
 * - At most MAX_CREDENTIALS_PER_CACHE (100) credentials a cache, the primary included: the
 *   next create is a 400 and nothing is made (the catalog checks it atomically).
 * API v2 (routes/v2/credentials.ts) applies this same rule through the exported helpers
 * below; only its default differs (a capability left out of a v2 update is false).
 */
import type { FastifyRequest } from 'fastify';
import { CredentialLimitError, type Catalog, type Capabilities, type CredentialRecord } from '../../catalog/catalog.ts';
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
      const { cache, credential: caller } = authOf(request);
      const { credential, password } = await catalog.createCredential(cache.id, grantable(request, caller)).catch((e: unknown) => {
        throw e instanceof CredentialLimitError ? new ApiError('TOO_MANY_CREDENTIALS') : e;
      });
      await changed();
      return { ...credentialView(credential), sasl_password: password };
    },
  );

  const update = async (request: FastifyRequest<CapsRequest>): Promise<CapabilitiesView> => {
    const { cache, credential: caller } = authOf(request);
    const target = await resolveCredential(catalog, cache.id, request.params.cred);
    if (!covers(caller, target)) throw new ApiError('NOT_AUTHORIZED');
    const updated = await catalog.updateCredential(target.id, grantable(request, caller));
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
      const { cache, credential: caller } = authOf(request);
      if (!covers(caller, ALL)) throw new ApiError('NOT_AUTHORIZED');
      const target = await resolveCredential(catalog, cache.id, request.params.cred);
      const promoted = await catalog.promoteCredential(target.id);
      if (!promoted) throw new ApiError('NO_CREDENTIAL');
      await changed();
      return credentialView(promoted);
    },
  );

  const remove = { onRequest: guard, schema: { params: CredentialParams } };
  const removeHandler = async (request: FastifyRequest<{ Params: CredentialParams }>): Promise<void> => {
    const { cache, credential: caller } = authOf(request);
    if (!covers(caller, ALL)) throw new ApiError('NOT_AUTHORIZED');
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

const CAPS = ['write', 'flush', 'api'] as const;
const FIELD = { write: 'write_capability', flush: 'flush_capability', api: 'api_capability' } as const;
export const ALL: Capabilities = { write: true, flush: true, api: true };

/** Whether `caller` holds every capability `target` holds. */
export function covers(caller: Capabilities, target: Capabilities): boolean {
  return CAPS.every((cap) => caller[cap] || !target[cap]);
}

/**
 * The capabilities asked for (query string, then the body over it), never more than the
 * caller's: an explicit true it lacks is a 403, one left out is true only if it holds it.
 */
export function grantable(request: { body: CapabilitiesInput; query: CapabilitiesInput }, caller: Capabilities): Capabilities {
  const given: CapabilitiesInput = { ...request.query, ...request.body };
  const pick = (cap: (typeof CAPS)[number]): boolean => {
    const asked = given[FIELD[cap]];
    if (asked === true && !caller[cap]) throw new ApiError('NOT_AUTHORIZED');
    return asked ?? caller[cap];
  };
  return { write: pick('write'), flush: pick('flush'), api: pick('api') };
}

/** A credential of this cache by sasl_username, else by numeric id. */
export async function resolveCredential(catalog: Catalog, cacheId: number, ref: string): Promise<CredentialRecord> {
  const creds = await catalog.listCredentials(cacheId);
  const found = creds.find((c) => c.username === ref) ?? (/^\d+$/.test(ref) ? creds.find((c) => c.id === Number(ref)) : undefined);
  if (!found) throw new ApiError('NO_CREDENTIAL');
  return found;
}
