/**
 * API v2: `/api/v2/caches/:cache_id/…`, one encapsulated Fastify plugin. Everything that
 * makes v2 differ from v1 is set here once, for every route any module adds:
 *
 * - the guard (guard.ts) runs as the scope's onRequest hook, before the body is read:
 *   400 for a non-numeric id, 401 + `WWW-Authenticate: Basic realm="cachier"`, 403, 404
 *   "Cache not found." — a route cannot forget it. Routes that must also answer for a
 *   disabled cache set `config: { allowDisabledCache: true }`.
 * - errors leave as `{"message": "…"}` (src/api/v2-errors.ts), validation errors as 400,
 *   bodies over the parser's limit as 413;
 * - every route's schema gets `params` (V2CacheParams), a query string of no parameters
 *   and (but for GET) an empty body when it declares none, so an unknown query parameter or
 *   a body where none is taken is a 400 and changes nothing; and the error body as its
 *   4xx/5xx response, so the OpenAPI document describes them.
 *
 * Adding routes: a file in this folder exporting a `V2Routes` (`(app, deps) => void`)
 * that registers paths relative to the cache (`app.get('/stats', …)`), listed in
 * V2_MODULES below. Handlers read the caller with `deps.authOf(request)`.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Catalog } from '../../../catalog/catalog.ts';
import { ApiError } from '../../../api/errors.ts';
import { V2_ERRORS, V2Error, v2FromApiError } from '../../../api/v2-errors.ts';
import { V2CacheParams, V2EmptyBody, V2ErrorBody, V2NoQuery } from '../../../api/v2.ts';
import type { BasicAuthenticator, CacheAuth, TokenAuthenticator } from '../../auth.ts';
import type { NodeClient } from '../../node-client.ts';
import { authOf, v2Guard, type SessionResolver } from './guard.ts';
import { commandRoutes } from './commands.ts';
import { credentialRoutesV2 } from './credentials.ts';
import { infoRoutes } from './info.ts';
import { tokenRoutes } from './tokens.ts';
import { managementRoutes } from './management.ts';
import { insightRoutes } from './insight.ts';
import { alertRoutes } from './alerts.ts';
import { introspectionRoutes } from './introspection.ts';
import type { AlertSenders } from '../../alerts/senders.ts';

export const V2_PREFIX = '/api/v2/caches/:cache_id';

/** What every v2 route module receives. */
export interface V2Deps {
  readonly catalog: Catalog;
  readonly nodes: NodeClient;
  /** The guard's result inside a handler: the cache and the calling credential. */
  readonly authOf: (request: FastifyRequest) => CacheAuth;
  /** Asks every node to apply the catalog now (best effort; they poll anyway). */
  readonly nodesChanged: () => Promise<void>;
  /** How notifications go out (the test notification; whether private targets are allowed). */
  readonly alerts: AlertSendDeps;
}

export interface AlertSendDeps {
  readonly senders: AlertSenders;
  /** The dashboard link notifications carry. */
  readonly dashboardUrl: () => string;
}

export type V2Routes = (app: FastifyInstance, deps: V2Deps) => void;

/** The v2 route modules, one file each; paths are relative to the cache (`/insight/processed_stats`, …). */
const V2_MODULES: readonly V2Routes[] = [
  infoRoutes,
  tokenRoutes,
  credentialRoutesV2,
  commandRoutes,
  managementRoutes,
  insightRoutes,
  alertRoutes,
  introspectionRoutes,
];

export interface V2PluginDeps {
  readonly catalog: Catalog;
  readonly nodes: NodeClient;
  readonly authenticate: BasicAuthenticator;
  /** Scoped API tokens (Bearer); see src/control/token-scopes.ts. */
  readonly authenticateToken?: TokenAuthenticator;
  readonly session?: SessionResolver;
  readonly hasSessionCookie?: (request: FastifyRequest) => boolean;
  readonly alerts: AlertSendDeps;
}

/** Registers the v2 scope on `app`. */
export function registerV2(app: FastifyInstance, deps: V2PluginDeps): void {
  app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      const schema = (route.schema ??= {}) as {
        params?: unknown; querystring?: unknown; body?: unknown; response?: Record<string | number, unknown>; tags?: string[];
      };
      schema.params ??= V2CacheParams;
      // Nothing a route does not read is ignored: an unknown query parameter (v1's
      // capabilities in the query string, say) or a body where none is taken is a 400.
      schema.querystring ??= V2NoQuery;
      if (![route.method].flat().every((m) => m === 'GET' || m === 'HEAD')) schema.body ??= V2EmptyBody;
      schema.response = { '4xx': V2ErrorBody, '5xx': V2ErrorBody, ...schema.response };
      schema.tags ??= ['v2'];
    });
    scope.addHook('onRequest', v2Guard(deps));
    scope.setErrorHandler(answerV2Error);
    scope.setNotFoundHandler((_request, reply) => sendV2(reply, V2_ERRORS.NOT_FOUND.status, V2_ERRORS.NOT_FOUND.message));
    const routeDeps: V2Deps = {
      catalog: deps.catalog,
      nodes: deps.nodes,
      authOf,
      alerts: deps.alerts,
      nodesChanged: async () => {
        try {
          await deps.nodes.syncAll();
        } catch {
          // best effort: nodes poll the catalog revision anyway
        }
      },
    };
    for (const routes of V2_MODULES) routes(scope, routeDeps);
  }, { prefix: V2_PREFIX });
}

function answerV2Error(error: FastifyError | ApiError | V2Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof V2Error) return sendV2(reply, error.status, error.message);
  if (error instanceof ApiError) {
    const { status, message } = v2FromApiError(error);
    return sendV2(reply, status, message);
  }
  const { validation, validationContext, statusCode, code } = error as FastifyError;
  if (validation) {
    const first = validation[0];
    const unknown = first?.keyword === 'additionalProperties' ? (first.params as { additionalProperty?: string }).additionalProperty : undefined;
    const detail = unknown === undefined ? error.message : `${validationContext ?? 'request'} has unknown field "${unknown}"`;
    return sendV2(reply, 400, `${V2_ERRORS.BAD_REQUEST.message}: ${detail}`);
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || statusCode === 413) return sendV2(reply, 413, V2_ERRORS.BODY_TOO_LARGE.message);
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return sendV2(reply, statusCode, statusCode === 400 ? `${V2_ERRORS.BAD_REQUEST.message}: ${error.message}` : error.message);
  }
  request.log.error({ event: 'http_error', err: error }, 'request failed');
  return sendV2(reply, 500, V2_ERRORS.SERVER_ERROR.message);
}

function sendV2(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ message });
}
