/**
 * Every error the control plane's HTTP API answers with, declared once: its HTTP status
 * and its text. The Analytics API sends the text as a JSON string (the document shows
 * the quoted text), e.g. `"You are not authorized to perform this action."`. Code checks
 * the code, never the message text.
 */
export const API_ERRORS = {
  NOT_AUTHORIZED: { status: 403, message: 'You are not authorized to perform this action.' },
  NO_CACHE: { status: 404, message: 'No cache found.' },
  NO_CREDENTIAL: { status: 404, message: 'No credential found.' },
  PRIMARY_CREDENTIAL: {
    status: 409,
    message: 'The primary credential cannot be deleted. Promote another credential to primary first.',
  },
  BAD_REQUEST: { status: 400, message: 'Bad request' },
  /** MAX_CREDENTIALS_PER_CACHE in catalog.ts. */
  TOO_MANY_CREDENTIALS: { status: 400, message: 'A cache can have at most 100 credentials; delete one first.' },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  OPERATOR_TOKEN: { status: 401, message: 'Operator token required (Authorization: Bearer <token>).' },
  CACHE_NAME_TAKEN: { status: 409, message: 'A cache with that name already exists.' },
  SERVER_ERROR: { status: 500, message: 'Server error' },
  /** Too many failed Basic logins from one source waiting for their answer (see shared/login-throttle.ts). */
  LOGIN_THROTTLED: { status: 429, message: 'Too many failed logins; try again later.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** Thrown by routes; the app's error handler answers it as status + JSON string. */
export class ApiError extends Error {
  readonly status: number;

  constructor(readonly code: ApiErrorCode, detail?: string) {
    super(detail === undefined ? API_ERRORS[code].message : `${API_ERRORS[code].message}: ${detail}`);
    this.status = API_ERRORS[code].status;
  }
}

/** The document's 500 for stats and flush: `Server error: host:port,host:port`. */
export function serverError(failedServers: readonly string[]): ApiError {
  return new ApiError('SERVER_ERROR', failedServers.join(','));
}
