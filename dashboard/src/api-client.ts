/**
 * The Analytics API v1 over fetch, with the field names and paths exactly as the API
 * document shows them. Every call authenticates with HTTP Basic, or, signed in through a
 * sign-in link (`sso`), with the browser's session cookie; every call carries
 * X-Requested-With, which the server demands of cookie-authenticated changes (CSRF). Errors come back as
 * `ApiRequestError` carrying the status and the server's own message (the API answers
 * errors as a JSON string, e.g. "You are not authorized to perform this action.").
 */
import type {
  CapabilitiesView, CredentialList, CredentialView, HistoryResponse, LoginResponse, NewCredentialView, StatsResponse,
} from '../../src/api/v1.ts';

export type { CapabilitiesView, CredentialView, HistoryRecord, NewCredentialView, ServerStats, StatsResponse } from '../../src/api/v1.ts';

export type Capability = 'write_capability' | 'flush_capability' | 'api_capability';
export type Capabilities = Record<Capability, boolean>;

export class ApiRequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

interface Credential {
  readonly username: string;
  readonly password: string;
  /** Signed in by a sign-in link: the session cookie authenticates, no Basic header. */
  readonly sso?: boolean;
}

export class ApiClient {
  private readonly auth: string | undefined;

  /** `cacheId` is the cache_id from `login()`; 0 until then. */
  constructor(credential: Credential, readonly cacheId = 0) {
    this.auth = credential.sso ? undefined : `Basic ${base64(`${credential.username}:${credential.password}`)}`;
  }

  login(): Promise<LoginResponse> {
    return this.request('GET', '/api/v1/login');
  }

  stats(): Promise<StatsResponse> {
    return this.request('GET', this.path('stats'));
  }

  /**
   * Records oldest first: with `sinceMs`, those with `since <= timestamp`; with `stepMs`,
   * only each server's last record per `stepMs` bucket (the API's downsampling); with
   * `limit`, only the newest that many.
   */
  history(query: { sinceMs?: number; stepMs?: number; limit?: number } = {}): Promise<HistoryResponse> {
    const params = new URLSearchParams();
    if (query.sinceMs !== undefined) params.set('since', String(Math.max(0, Math.floor(query.sinceMs))));
    if (query.stepMs !== undefined) params.set('step', String(Math.floor(query.stepMs)));
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const q = params.toString();
    return this.request('GET', this.path('history') + (q ? `?${q}` : ''));
  }

  async flush(): Promise<void> {
    await this.request('POST', this.path('flush'));
  }

  credentials(): Promise<CredentialList> {
    return this.request('GET', this.path('credentials'));
  }

  createCredential(): Promise<NewCredentialView> {
    return this.request('POST', this.path('credentials'));
  }

  /** Sends all three capabilities: one left out would be set to true (the document's default). */
  updateCredential(cred: CredentialView, caps: Capabilities): Promise<CapabilitiesView> {
    return this.request('POST', this.path(`credentials/${credRef(cred)}`), caps);
  }

  promoteCredential(cred: CredentialView): Promise<CredentialView> {
    return this.request('POST', this.path(`credentials/primary/${credRef(cred)}`));
  }

  /** The document's form: DELETE …/credentials/primary/<cred>. */
  async deleteCredential(cred: CredentialView): Promise<void> {
    await this.request('DELETE', this.path(`credentials/primary/${credRef(cred)}`));
  }

  private path(action: string): string {
    return `/api/v1/${this.cacheId}/${action}`;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', 'x-requested-with': 'cachier-dashboard' };
    if (this.auth !== undefined) headers.authorization = this.auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: this.auth === undefined ? 'same-origin' : 'omit',
      });
    } catch {
      throw new ApiRequestError(0, 'Cannot reach the cachier control plane. Check that it is running.');
    }
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!response.ok) {
      const message = typeof parsed === 'string' && parsed !== '' ? parsed : `${response.status} ${response.statusText}`.trim();
      throw new ApiRequestError(response.status, message);
    }
    return parsed as T;
  }
}

/** The `<cred_id>` path segment: the API takes the numeric id or the sasl_username. */
function credRef(cred: CredentialView): string {
  return encodeURIComponent(cred.sasl_username);
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
