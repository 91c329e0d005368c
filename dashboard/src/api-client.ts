/**
 * The Analytics API over fetch, with the field names and paths exactly as the API
 * documents show them: v1 (`/api/v1/<id>/…`: login, stats, history, flush) and v2
 * (`/api/v2/caches/<id>/…`: info, credentials, rotate_sso, enable_cache, insight, alerts,
 * introspection).
 * Every call authenticates with HTTP Basic, or, signed in through a sign-in link (`sso`),
 * with the browser's session cookie; every call carries X-Requested-With, which the
 * server demands of cookie-authenticated changes (CSRF). Errors come back as
 * `ApiRequestError` carrying the status and the server's own message (v1 answers errors
 * as a JSON string, v2 as `{"message": …}`, e.g. "You are not authorized to perform this
 * action.").
 */
import type { HistoryResponse, LoginResponse, StatsResponse } from '../../src/api/v1.ts';
import type {
  V2CacheInfo, V2CapabilitiesView, V2CredentialList, V2CredentialView, V2NewCredentialView,
} from '../../src/api/v2.ts';
import type {
  V2AlertEvent, V2AlertInput, V2AlertUpdate, V2AlertView, V2DeliveryConfigInput, V2DeliveryConfigView, V2NewDeliveryConfigView,
  V2TestNotificationResult,
} from '../../src/api/v2-alerts.ts';
import { rfc3339, type InfluxSeries } from './insight-stats.ts';
import type { KeyListing, KeyStatsRow, PopularItems, RecentLogs, WatchedPrefix } from './introspection-data.ts';

export type { HistoryRecord, ServerStats, StatsResponse } from '../../src/api/v1.ts';
export type CacheInfo = V2CacheInfo;
export type CredentialView = V2CredentialView;
export type NewCredentialView = V2NewCredentialView;
export type CapabilitiesView = V2CapabilitiesView;
export type AlertView = V2AlertView;
export type AlertInput = V2AlertInput;
export type AlertUpdate = V2AlertUpdate;
export type DeliveryConfigView = V2DeliveryConfigView;
export type DeliveryConfigInput = V2DeliveryConfigInput;
export type NewDeliveryConfigView = V2NewDeliveryConfigView;
export type AlertEvent = V2AlertEvent;
export type TestNotificationResult = V2TestNotificationResult;

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

  // ---------------------------------------------------------------- v2

  /** Everything about the cache; answers for a disabled cache too (`enabled: false`). */
  info(): Promise<CacheInfo> {
    return this.request('GET', this.v2('info'));
  }

  credentials(): Promise<V2CredentialList> {
    return this.request('GET', this.v2('credentials'));
  }

  /** 201: the new credential, with the caller's capabilities and its password (shown this once only). */
  createCredential(): Promise<NewCredentialView> {
    return this.request('POST', this.v2('credentials'));
  }

  /** PATCH replaces all three capabilities (one left out would become false), so all three are sent. */
  setCapabilities(username: string, caps: Capabilities): Promise<CapabilitiesView> {
    return this.request('PATCH', this.v2(`credentials/${encodeURIComponent(username)}`), caps);
  }

  promoteCredential(username: string): Promise<CredentialView> {
    return this.request('POST', this.v2(`credentials/primary/${encodeURIComponent(username)}`));
  }

  async deleteCredential(username: string): Promise<void> {
    await this.request('DELETE', this.v2(`credentials/${encodeURIComponent(username)}`));
  }

  /** A new dashboard sign-in link; the old one, and every session it opened, stop working. */
  rotateSignInLink(): Promise<string> {
    return this.request('POST', this.v2('rotate_sso'));
  }

  /** Re-enables a cache disabled for inactivity (403 for one an operator disabled). */
  async enableCache(): Promise<void> {
    await this.request('POST', this.v2('enable_cache'));
  }

  /** Processed stats over [fromMs, toMs]: the whole cache (one series) or one series per server. */
  processedStats(names: readonly string[], fromMs: number, toMs: number, perServer: boolean): Promise<InfluxSeries[]> {
    const q = new URLSearchParams({ names: names.join(','), startTime: rfc3339(fromMs), endTime: rfc3339(toMs) });
    return this.request('GET', `${this.v2(perServer ? 'insight/processed_stats/per_server' : 'insight/processed_stats')}?${q}`);
  }

  /** Probe round trips per server: columns time, duration (mean), then cachier's p50, p99, max; nanoseconds. */
  latency(fromMs: number, toMs: number): Promise<InfluxSeries[]> {
    const q = new URLSearchParams({ startTime: rfc3339(fromMs), endTime: rfc3339(toMs) });
    return this.request('GET', `${this.v2('insight/latency')}?${q}`);
  }

  // ---- alerts

  alerts(): Promise<AlertView[]> {
    return this.request('GET', this.v2('alerts'));
  }

  /** 201: the new alert. */
  createAlert(alert: AlertInput): Promise<AlertView> {
    return this.request('POST', this.v2('alerts'), alert);
  }

  /** A partial update (fields left out are kept); 201, MemCachier's code. */
  updateAlert(id: number, patch: AlertUpdate): Promise<AlertView> {
    return this.request('PUT', this.v2(`alerts/${id}`), patch);
  }

  async deleteAlert(id: number): Promise<void> {
    await this.request('DELETE', this.v2(`alerts/${id}`));
  }

  alertConfigs(): Promise<DeliveryConfigView[]> {
    return this.request('GET', this.v2('alerts/configs'));
  }

  /** 201: the new target; a webhook's carries its signing `secret`, shown this once. */
  createAlertConfig(config: DeliveryConfigInput): Promise<NewDeliveryConfigView> {
    return this.request('POST', this.v2('alerts/configs'), config);
  }

  /** 400 while alerts use it ("The alert delivery config is used by alerts: <ids>."). */
  async deleteAlertConfig(id: number): Promise<void> {
    await this.request('DELETE', this.v2(`alerts/configs/${id}`));
  }

  /** cachier's own: sends a test notification now; 200 with whether the receiver took it. */
  testAlertConfig(id: number): Promise<TestNotificationResult> {
    return this.request('POST', this.v2(`alerts/configs/${id}/test`));
  }

  /** The last 100 firings, resolutions, reminders, delivery attempts and tests, newest first. */
  alertEvents(): Promise<AlertEvent[]> {
    return this.request('GET', this.v2('alerts/events'));
  }

  // ---- introspection (403 "Introspection is disabled for this cache." when it is off)

  /** Hot keys and popular prefixes of the last few minutes; of one watched prefix with `prefixId`. */
  popularItems(prefixId?: number): Promise<PopularItems> {
    return this.request('GET', this.v2(prefixId === undefined ? 'introspection/popular_items' : `introspection/prefixes/${prefixId}/popular_items`));
  }

  /** One row per server that knows the key: by its text (`key`) or, exactly, by its bytes (`key_base64`). */
  keyStats(key: { name: string } | { base64: string }): Promise<KeyStatsRow[]> {
    const q = 'base64' in key ? new URLSearchParams({ key_base64: key.base64 }) : new URLSearchParams({ key: key.name });
    return this.request('GET', `${this.v2('introspection/key_stats')}?${q}`);
  }

  /** The last `limit` requests of each server (1–1000). */
  recentLogs(limit: number): Promise<RecentLogs> {
    return this.request('GET', `${this.v2('introspection/recent_logs')}?${new URLSearchParams({ limit: String(limit) })}`);
  }

  watchedPrefixes(): Promise<WatchedPrefix[]> {
    return this.request('GET', this.v2('introspection/prefixes'));
  }

  /** 200 (MemCachier's code): the new watched prefix; 400 for a 51st. */
  watchPrefix(name: string): Promise<WatchedPrefix> {
    return this.request('POST', this.v2('introspection/prefixes'), { name });
  }

  async unwatchPrefix(id: number): Promise<void> {
    await this.request('DELETE', this.v2(`introspection/prefixes/${id}`));
  }

  /** The prefix's five series over [fromMs, toMs]. */
  prefixStats(id: number, fromMs: number, toMs: number): Promise<InfluxSeries[]> {
    const q = new URLSearchParams({ startTime: rfc3339(fromMs), endTime: rfc3339(toMs) });
    return this.request('GET', `${this.v2(`introspection/prefixes/${id}/stats`)}?${q}`);
  }

  /**
   * A page of the live key listing under a prefix (its text, or exactly its bytes); `cursor`
   * from the previous page, with the same prefix. Parameters left out when unset.
   */
  keys(query: { prefix?: string; prefixBase64?: string; cursor?: string; limit?: number }): Promise<KeyListing> {
    const q = new URLSearchParams();
    if (query.prefixBase64) q.set('prefix_base64', query.prefixBase64);
    else if (query.prefix) q.set('prefix', query.prefix);
    if (query.cursor) q.set('cursor', query.cursor);
    if (query.limit !== undefined) q.set('limit', String(query.limit));
    const qs = q.toString();
    return this.request('GET', this.v2('introspection/keys') + (qs ? `?${qs}` : ''));
  }

  private path(action: string): string {
    return `/api/v1/${this.cacheId}/${action}`;
  }

  private v2(action: string): string {
    return `/api/v2/caches/${this.cacheId}/${action}`;
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
    if (!response.ok) throw new ApiRequestError(response.status, errorMessage(parsed) ?? `${response.status} ${response.statusText}`.trim());
    return parsed as T;
  }
}

/** v1's error is a JSON string, v2's an object `{"message": …}`. */
function errorMessage(body: unknown): string | undefined {
  if (typeof body === 'string' && body !== '') return body;
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return undefined;
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
