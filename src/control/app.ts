/**
 * The control plane's HTTP app: the Analytics API v1 under /api, the operator API under
 * /api/operator. `buildApp` never listens, so tests drive it with `inject()` or a real
 * port as they like; `main.ts` listens and runs the sampler.
 *
 * Every error leaves as `status` + a JSON string body, as the document shows them
 * (`"You are not authorized to perform this action."`), validation errors as 400.
 *
 * Each request is one log line when it ends (logRequest): its id (the caller's
 * X-Request-Id when it is a short plain token, else a fresh UUID; answered in the same
 * header), method, route pattern (never the URL: a query or an sso path may carry a
 * secret), status, milliseconds and the cache it named. Headers and bodies are never logged.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Catalog } from '../catalog/catalog.ts';
import type { Logger } from '../shared/logger.ts';
import { API_ERRORS, ApiError } from '../api/errors.ts';
import { LoginThrottle } from '../shared/login-throttle.ts';
import { basicAuthenticator, cacheGuard, tokenAuthenticator, type BasicAuthenticator, type TokenAuthenticator } from './auth.ts';
import { registerBodyParsers } from './body-parsers.ts';
import { registerDashboard } from './dashboard.ts';
import { NodeClient } from './node-client.ts';
import { credentialRoutes } from './routes/credentials.ts';
import { flushRoutes } from './routes/flush.ts';
import { historyRoutes } from './routes/history.ts';
import { loginRoutes } from './routes/login.ts';
import { operatorRoutes } from './routes/operator.ts';
import { operatorAlertRoutes } from './routes/operator-alerts.ts';
import { statsRoutes } from './routes/stats.ts';
import { registerV2 } from './routes/v2/index.ts';
import { basicOrSession, hasSessionCookie, sessionResolver, ssoRoutes } from './sessions.ts';
import { registerOpenApi } from './openapi.ts';
import { readinessRoutes, type LocalNode } from './readiness.ts';
import { AlertSenders } from './alerts/senders.ts';
import type { AlertSendDeps } from './routes/v2/index.ts';
import { ControlMetrics, countHttpRequests, metricsRoute } from './metrics.ts';
import type { MetricsAccessOptions } from '../shared/metrics-access.ts';

export interface AppDeps {
  readonly catalog: Catalog;
  /** Reaches the nodes' admin endpoints; one is made from the catalog if not given. */
  readonly nodes?: NodeClient;
  /** Throttles failed Basic logins; a fresh one by default. */
  readonly loginThrottle?: LoginThrottle;
  /** Serve HTTPS with this PEM certificate chain and key. */
  readonly https?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** The cache nodes this process runs (`cachier start`), for /readyz and the operator's node states; none by default. */
  readonly localNodes?: () => readonly LocalNode[];
  /** How alert notifications are sent (the test-notification route); a default without SMTP that refuses private targets. */
  readonly alerts?: AlertSendDeps;
  /** The control plane's log (request lines, errors); none by default. */
  readonly logger?: Logger;
  /** What GET /metrics serves (metrics.ts); a fresh one without process metrics by default. */
  readonly metrics?: ControlMetrics;
  /** Who may read /metrics (src/shared/metrics-access.ts); default: no token, loopback (open). */
  readonly metricsAccess?: MetricsAccessOptions;
}

/** What every route module receives. */
export interface RouteDeps {
  readonly catalog: Catalog;
  readonly nodes: NodeClient;
  /** onRequest hook of /api/v1/:id/… routes: sets request.cacheAuth or answers 404/403/429. */
  readonly guard: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Checks a Basic credential through the login throttle. */
  readonly authenticate: BasicAuthenticator;
  /** Checks a bearer API token through the login throttle. */
  readonly authenticateToken: TokenAuthenticator;
  /** The cache nodes this process runs (readiness.ts). */
  readonly localNodes: () => readonly LocalNode[];
}

export type Routes = (app: FastifyInstance, deps: RouteDeps) => void;

const HTTP_IDLE_TIMEOUT_MS = 30_000;
const HTTP_MAX_CONNECTIONS = 1024;

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    // Fastify's own request lines are off: logRequest writes one line per request.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestId,
    // Parse errors are answered as Node does, logged without the raw bytes (they hold the headers).
    clientErrorHandler: answerClientError,
    // Idle or trickling connections are dropped: they would hold the process's file
    // descriptors, which the cache nodes of `cachier start` share.
    connectionTimeout: HTTP_IDLE_TIMEOUT_MS,
    keepAliveTimeout: 5_000,
    requestTimeout: HTTP_IDLE_TIMEOUT_MS,
    // Reject unknown fields (a misspelt capability) instead of silently dropping them.
    ajv: { customOptions: { removeAdditional: false } },
    ...(deps.https ? { https: { cert: deps.https.cert, key: deps.https.key } } : {}),
  }) as unknown as FastifyInstance;
  app.server.maxConnections = HTTP_MAX_CONNECTIONS;
  const throttle = deps.loginThrottle ?? new LoginThrottle();
  const basic = basicAuthenticator(deps.catalog, throttle);
  // Basic, or else the dashboard's session cookie from a sign-in link (sessions.ts).
  const authenticate = basicOrSession(basic, deps.catalog);
  // Scoped API tokens (Bearer) on the cache routes of v1 and v2: token-scopes.ts.
  const authenticateToken = tokenAuthenticator(deps.catalog, throttle);
  const routeDeps: RouteDeps = {
    catalog: deps.catalog,
    nodes: deps.nodes ?? new NodeClient({ catalog: deps.catalog }),
    guard: cacheGuard(deps.catalog, authenticate, authenticateToken),
    authenticate,
    authenticateToken,
    localNodes: deps.localNodes ?? (() => []),
  };

  const metrics = deps.metrics ?? new ControlMetrics({ processMetrics: false });
  countHttpRequests(app, metrics);

  app.decorateRequest('cacheAuth', null);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => logRequest(request, reply));
  registerBodyParsers(app);
  // A POST without a body (curl -X POST) validates as an empty object. A JSON `null` is a
  // body, not the absence of one: the schemas refuse it (a PATCH of null is no full replace).
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined) request.body = {};
  });
  app.setErrorHandler(answerError);
  app.setNotFoundHandler((_request, reply) => sendMessage(reply, API_ERRORS.NOT_FOUND.status, API_ERRORS.NOT_FOUND.message));

  // GET /api/openapi.json, generated from the route schemas: its collector loads first and
  // every route is added after it (app.after), so the document lists them all.
  registerOpenApi(app);
  app.after(() => {
    app.get('/healthz', { schema: { response: { 200: { type: 'object', properties: { ok: { const: true } }, required: ['ok'] } } } }, async () => ({ ok: true }));
    // Ready when the catalog answers and every local node listens (readiness.ts).
    readinessRoutes(app, routeDeps);
    // Prometheus metrics, from memory only (metrics.ts).
    metricsRoute(app, metrics, deps.metricsAccess ?? { token: undefined, host: '127.0.0.1' }, deps.catalog);
    for (const routes of [loginRoutes, statsRoutes, historyRoutes, flushRoutes, credentialRoutes, operatorRoutes, operatorAlertRoutes]) {
      routes(app, routeDeps);
    }
    // API v2 under /api/v2/caches/:cache_id/, its own scope (errors as {"message": …}).
    registerV2(app, {
      catalog: routeDeps.catalog, nodes: routeDeps.nodes, authenticate: basic, authenticateToken,
      session: sessionResolver(deps.catalog), hasSessionCookie,
      alerts: deps.alerts ?? { senders: new AlertSenders(), dashboardUrl: () => '' },
    });
    // The dashboard sign-in link /sso/<id>/<token> and sign-out.
    ssoRoutes(app, { catalog: deps.catalog, throttle });
    // The web dashboard at `/`, bundled in memory when the server starts listening.
    app.register(registerDashboard);
  });
  return app;
}

/** A caller's X-Request-Id is kept when it is a short plain token (a load balancer's); anything else gets a fresh id. */
const CALLER_REQUEST_ID = /^[\w.:-]{1,64}$/;
function requestId(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && CALLER_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Probes that load balancers and orchestrators call every few seconds: logged at debug when they succeed. */
const PROBE_ROUTES = new Set(['/healthz', '/readyz']);
const CACHE_ID = /^\d{1,10}$/;

/** The request's one log line (see the top of the file). */
function logRequest(request: FastifyRequest, reply: FastifyReply): void {
  const route = request.routeOptions.url ?? null;
  const status = reply.statusCode;
  const level = status >= 500 ? 'error' : route !== null && PROBE_ROUTES.has(route) && status < 400 ? 'debug' : 'info';
  const params = (request.params ?? {}) as Record<string, unknown>;
  const named = params.cache_id ?? params.id;
  const cache = request.cacheAuth?.cache.id ?? (typeof named === 'string' && CACHE_ID.test(named) ? Number(named) : undefined);
  request.log[level]({
    event: 'http_request', method: request.method, route, status, ms: Math.round(reply.elapsedTime * 10) / 10,
    ...(cache === undefined ? {} : { cache }),
  }, 'request completed');
}

function answerClientError(this: FastifyInstance, err: NodeJS.ErrnoException, socket: import('node:net').Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  this.log.debug({ event: 'http_client_error', code: err.code }, 'malformed HTTP request');
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy(err);
}

function answerError(error: FastifyError | ApiError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof ApiError) return sendMessage(reply, error.status, error.message);
  const { validation, validationContext, statusCode } = error as FastifyError;
  if (validation) {
    const first = validation[0];
    const unknown = first?.keyword === 'additionalProperties' ? (first.params as { additionalProperty?: string }).additionalProperty : undefined;
    const detail = unknown === undefined ? error.message : `${validationContext ?? 'request'} has unknown field "${unknown}"`;
    return sendMessage(reply, 400, `${API_ERRORS.BAD_REQUEST.message}: ${detail}`);
  }
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return sendMessage(reply, statusCode, statusCode === 400 ? `${API_ERRORS.BAD_REQUEST.message}: ${error.message}` : error.message);
  }
  request.log.error({ event: 'http_error', err: error }, 'request failed');
  return sendMessage(reply, 500, API_ERRORS.SERVER_ERROR.message);
}

/** The API's error form: a JSON string. */
function sendMessage(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(message));
}
