/**
 * Every error the API v2 answers with (`/api/v2/caches/:cache_id/…`), declared once:
 * status and text. v2 sends them as a JSON object `{"message": "<text>"}` (the shape of the
 * framework behind MemCachier's v2), never as v1's bare JSON string. Texts are
 * MemCachier's where its documents give one ("Cache not found.", "The specified cache ID
 * is invalid (not a number).", "Bad user"); code checks the code, never the text.
 */
import { API_ERRORS, ApiError, type ApiErrorCode } from './errors.ts';
import { MAX_PREFIX_NAME_BYTES, MAX_WATCHED_PREFIXES } from '../catalog/catalog.ts';

export const V2_ERRORS = {
  /** No Authorization header and no dashboard session. */
  AUTH_REQUIRED: { status: 401, message: 'Authentication required: HTTP Basic with a credential of this cache.' },
  /** Malformed Basic header, unknown username or wrong password (alike: no username oracle). */
  BAD_USER: { status: 401, message: 'Bad user' },
  /** A dashboard session cookie that is unknown, expired, or from a rotated sign-in link. */
  BAD_SESSION: { status: 401, message: 'The dashboard session has expired; open the sign-in link again.' },
  /** A valid credential of another cache, or without api_capability, or asking for more than it holds. */
  FORBIDDEN: { status: 403, message: 'You are not authorized to perform this action.' },
  /** A mutation through a cookie session without the X-Requested-With header (CSRF defence). */
  CSRF: { status: 403, message: 'Requests signed in by a dashboard session must send the X-Requested-With header.' },
  /** A bearer API token that is malformed, unknown, wrong, expired, revoked or of a deleted cache (alike). */
  BAD_TOKEN: { status: 401, message: 'Invalid API token (unknown, expired or revoked).' },
  /** A valid API token of this cache on a route its scopes do not cover (src/control/token-scopes.ts). */
  TOKEN_SCOPE: { status: 403, message: "This API token's scopes do not allow this call." },
  /** The token routes take a credential with all three capabilities, never a token. */
  TOKENS_NEED_CREDENTIAL: { status: 403, message: 'API tokens are managed with a credential that has all three capabilities.' },
  TOKEN_NOT_FOUND: { status: 404, message: 'API token not found.' },
  TOO_MANY_TOKENS: { status: 400, message: 'A cache can have at most 100 API tokens; revoke one first.' },
  BAD_CACHE_ID: { status: 400, message: 'The specified cache ID is invalid (not a number).' },
  CACHE_NOT_FOUND: { status: 404, message: 'Cache not found.' },
  CREDENTIAL_NOT_FOUND: { status: 404, message: 'Credential not found.' },
  PRIMARY_CREDENTIAL: { status: 409, message: 'Promote another credential first.' },
  TOO_MANY_CREDENTIALS: { status: 400, message: API_ERRORS.TOO_MANY_CREDENTIALS.message },
  ENABLE_NOT_ALLOWED: { status: 403, message: 'Not allowed to enable this cache.' },
  SWITCH_NOT_ALLOWED: { status: 403, message: 'Not allowed to switch the cluster of this cache: no other cluster has live nodes.' },
  BAD_REQUEST: { status: 400, message: 'Bad request' },
  /** Insight (src/control/routes/v2/insight.ts): `names` missing or empty, too many, not among the 36, a bad time range. */
  NAMES_REQUIRED: { status: 400, message: 'query parameter names is required' },
  UNKNOWN_STAT_NAMES: { status: 400, message: 'Unknown processed stat names' },
  TOO_MANY_STAT_NAMES: { status: 400, message: 'Too many processed stat names' },
  BAD_TIME_RANGE: { status: 400, message: 'Invalid time range' },
  /** Alerts (src/control/routes/v2/alerts.ts); the two "requires a type" texts are MemCachier's. */
  ALERT_TYPE_REQUIRED: { status: 400, message: 'The alert could not be added. An alert requires a type.' },
  ALERT_CONFIG_TYPE_REQUIRED: { status: 400, message: 'The alert delivery config could not be added. An alert delivery config requires a type.' },
  ALERT_BAD_CONFIG: { status: 400, message: 'The alert delivery config does not exist for this cache' },
  ALERT_BAD_INPUT: { status: 400, message: 'The alert could not be saved' },
  ALERT_NOT_ADDED: { status: 400, message: 'The alert could not be added' },
  ALERT_CONFIG_BAD_INPUT: { status: 400, message: 'The alert delivery config could not be added' },
  ALERT_CONFIG_IN_USE: { status: 400, message: 'The alert delivery config is used by alerts' },
  ALERT_NOT_FOUND: { status: 404, message: 'Alert not found.' },
  ALERT_CONFIG_NOT_FOUND: { status: 404, message: 'Alert delivery config not found.' },
  ALERT_TESTS_LIMITED: { status: 429, message: 'Too many test notifications: at most 10 a minute per cache.' },
  /** Introspection (src/control/routes/v2/introspection.ts); the 403's text is the decisions'. */
  INTROSPECTION_DISABLED: { status: 403, message: 'Introspection is disabled for this cache.' },
  KEY_REQUIRED: { status: 400, message: 'query parameter key is required' },
  BAD_KEY: { status: 400, message: 'Invalid key' },
  BAD_PREFIX_NAME: { status: 400, message: `The prefix name must be 1 to ${MAX_PREFIX_NAME_BYTES} bytes of UTF-8.` },
  TOO_MANY_PREFIXES: { status: 400, message: `A cache can watch at most ${MAX_WATCHED_PREFIXES} prefixes; unwatch one first.` },
  PREFIX_NOT_FOUND: { status: 404, message: 'Prefix not found.' },
  BAD_CURSOR: { status: 400, message: 'Invalid cursor' },
  BODY_TOO_LARGE: { status: 413, message: 'Request body is too large.' },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  LOGIN_THROTTLED: { status: 429, message: API_ERRORS.LOGIN_THROTTLED.message },
  SERVER_ERROR: { status: 500, message: 'Server error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type V2ErrorCode = keyof typeof V2_ERRORS;

/** Thrown by v2 routes; the v2 scope's error handler answers it as `{"message": …}`. */
export class V2Error extends Error {
  readonly status: number;

  constructor(readonly code: V2ErrorCode, detail?: string) {
    super(detail === undefined ? V2_ERRORS[code].message : `${V2_ERRORS[code].message}: ${detail}`);
    this.status = V2_ERRORS[code].status;
  }
}

/** The spec's 500 for stats and the like: `Server error: host:port,host:port`. */
export function v2ServerError(failedServers: readonly string[]): V2Error {
  return new V2Error('SERVER_ERROR', failedServers.join(','));
}

/**
 * A v1 ApiError thrown by shared code (auth, throttling, catalog helpers) in v2's terms:
 * same status, v2's text where v2 has its own.
 */
const FROM_V1: Partial<Record<ApiErrorCode, V2ErrorCode>> = {
  NOT_AUTHORIZED: 'FORBIDDEN',
  NO_CACHE: 'CACHE_NOT_FOUND',
  NO_CREDENTIAL: 'CREDENTIAL_NOT_FOUND',
  PRIMARY_CREDENTIAL: 'PRIMARY_CREDENTIAL',
  TOO_MANY_CREDENTIALS: 'TOO_MANY_CREDENTIALS',
  LOGIN_THROTTLED: 'LOGIN_THROTTLED',
  NOT_FOUND: 'NOT_FOUND',
};

export function v2FromApiError(e: ApiError): { status: number; message: string } {
  const code = FROM_V1[e.code];
  if (code === undefined) return { status: e.status, message: e.message };
  const v1Text = API_ERRORS[e.code].message;
  const rest = e.message.startsWith(v1Text) ? e.message.slice(v1Text.length) : '';
  return { status: V2_ERRORS[code].status, message: V2_ERRORS[code].message + rest };
}
