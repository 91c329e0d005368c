/**
 * v2 credentials: `GET|POST credentials`, `PATCH|DELETE credentials/:username`,
 * `POST credentials/primary/:username`. A credential is named by its sasl_username.
 *
 * cachier's capability rule is v1's (src/control/routes/credentials.ts explains it and
 * holds the helpers used here): no credential grants what it lacks; an update needs the
 * caller to hold every capability the target holds; promote and delete need all three.
 * What differs in v2:
 * - PATCH replaces all three: a capability left out is false (never more than asked, so
 *   it never escalates); the answer is the three flags.
 * - POST takes no body and answers 201 with the new credential, its capabilities the
 *   caller's own, and its `sasl_password` — the only time the password is ever shown.
 * - Deleting the primary is 409 "Promote another credential first.".
 * As in v1, every change is in the catalog and the nodes are asked to apply it before
 * the answer, and a cache has at most 100 credentials (400, nothing made).
 */
import { CredentialLimitError } from '../../../catalog/catalog.ts';
import { V2Error } from '../../../api/v2-errors.ts';
import {
  V2CapabilitiesInput, V2CapabilitiesView, V2CacheParams, V2CredentialList, V2CredentialParams, V2CredentialView, V2EmptyBody,
  V2NewCredentialView, V2NoContent,
} from '../../../api/v2.ts';
import { ALL, covers, grantable, resolveCredential } from '../credentials.ts';
import { v2CapabilitiesView, v2CredentialView } from './views.ts';
import type { V2Routes } from './index.ts';

type ByUsername = { Params: V2CredentialParams };

const CAPABILITY_FIELDS = ['write_capability', 'flush_capability', 'api_capability'] as const;

export const credentialRoutesV2: V2Routes = (app, { catalog, authOf, nodesChanged }) => {
  app.get<{ Params: V2CacheParams }>(
    '/credentials',
    { schema: { response: { 200: V2CredentialList } } },
    async (request): Promise<V2CredentialList> => {
      const { cache } = authOf(request);
      return (await catalog.listCredentials(cache.id)).map(v2CredentialView);
    },
  );

  app.post<{ Params: V2CacheParams; Body: V2EmptyBody }>(
    '/credentials',
    { schema: { body: V2EmptyBody, response: { 201: V2NewCredentialView } } },
    async (request, reply): Promise<V2NewCredentialView> => {
      const { cache, credential: caller } = authOf(request);
      const caps = { write: caller.write, flush: caller.flush, api: caller.api };
      const { credential, password } = await catalog.createCredential(cache.id, caps).catch((e: unknown) => {
        throw e instanceof CredentialLimitError ? new V2Error('TOO_MANY_CREDENTIALS') : e;
      });
      await nodesChanged();
      reply.code(201);
      return { ...v2CredentialView(credential), sasl_password: password };
    },
  );

  app.patch<ByUsername & { Body: V2CapabilitiesInput }>(
    '/credentials/:username',
    {
      schema: { params: V2CredentialParams, body: V2CapabilitiesInput, response: { 200: V2CapabilitiesView } },
      // The validator would coerce null and 0 to false, 1 and [true] to true: a capability is
      // a boolean, or the string "true" or "false" (as v1's document sends it), nothing else.
      preValidation: async (request) => {
        const body = request.body as Record<string, unknown> | null;
        if (body && typeof body === 'object' && !Array.isArray(body)) {
          for (const field of CAPABILITY_FIELDS) {
            const v = (body as Record<string, unknown>)[field];
            if (v !== undefined && typeof v !== 'boolean' && v !== 'true' && v !== 'false') {
              throw new V2Error('BAD_REQUEST', `${field} must be true or false, not ${String(JSON.stringify(v)).slice(0, 40)}`);
            }
          }
        }
      },
    },
    async (request): Promise<V2CapabilitiesView> => {
      const { cache, credential: caller } = authOf(request);
      const target = await resolveCredential(catalog, cache.id, request.params.username);
      if (!covers(caller, target)) throw new V2Error('FORBIDDEN');
      // A full replace: every capability explicit, left out = false; asking for one the
      // caller lacks is a 403 from the shared rule.
      const body = {
        write_capability: request.body.write_capability ?? false,
        flush_capability: request.body.flush_capability ?? false,
        api_capability: request.body.api_capability ?? false,
      };
      const updated = await catalog.updateCredential(target.id, grantable({ body, query: {} }, caller));
      if (!updated) throw new V2Error('CREDENTIAL_NOT_FOUND');
      await nodesChanged();
      return v2CapabilitiesView(updated);
    },
  );

  app.delete<ByUsername>(
    '/credentials/:username',
    { schema: { params: V2CredentialParams, response: { 200: V2NoContent } } },
    async (request, reply) => {
      const { cache, credential: caller } = authOf(request);
      if (!covers(caller, ALL)) throw new V2Error('FORBIDDEN');
      const target = await resolveCredential(catalog, cache.id, request.params.username);
      const result = await catalog.deleteCredential(target.id);
      if (result === 'primary') throw new V2Error('PRIMARY_CREDENTIAL');
      if (result === 'not_found') throw new V2Error('CREDENTIAL_NOT_FOUND');
      await nodesChanged();
      return reply.code(200).send();
    },
  );

  app.post<ByUsername & { Body: V2EmptyBody }>(
    '/credentials/primary/:username',
    { schema: { params: V2CredentialParams, body: V2EmptyBody, response: { 200: V2CredentialView } } },
    async (request): Promise<V2CredentialView> => {
      const { cache, credential: caller } = authOf(request);
      if (!covers(caller, ALL)) throw new V2Error('FORBIDDEN');
      const target = await resolveCredential(catalog, cache.id, request.params.username);
      const promoted = await catalog.promoteCredential(target.id);
      if (!promoted) throw new V2Error('CREDENTIAL_NOT_FOUND');
      await nodesChanged();
      return v2CredentialView(promoted);
    },
  );
};
