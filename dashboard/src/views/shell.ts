/**
 * The signed-in page: header (cache, user, sign out), the screen tabs, and the screen
 * shown. Screens are addressed by the URL hash (#/overview, #/insight, #/introspection,
 * #/history, #/alerts, #/settings, #/connect), with the screen's own choices after a `?` (#/insight?stats=…),
 * so the back button, reloads and shared links keep the place. #/credentials, the old
 * address of the credentials screen, opens its panel in Settings. The shell owns the
 * cache monitor, what it knows of the cache (v2 `info`) and of the signed-in credential.
 *
 * A disabled cache (v2 answers 404 for everything but `info` and `enable_cache`): the
 * shell stops polling, says so in a banner, and shows Settings — where it can be
 * re-enabled — in place of the other screens until it is enabled again.
 */
import { ApiClient, ApiRequestError, type CacheInfo, type CredentialView } from '../api-client.ts';
import { h } from '../dom.ts';
import { CacheMonitor } from '../monitor.ts';
import type { Session } from '../session.ts';
import { alertsView } from './alerts.ts';
import { brandMark } from './brand.ts';
import { connectView } from './connect.ts';
import { historyView } from './history.ts';
import { insightView } from './insight.ts';
import { introspectionView } from './introspection.ts';
import { overviewView } from './overview.ts';
import { settingsView } from './settings.ts';

export interface View {
  readonly el: HTMLElement;
  destroy(): void;
}

export interface AppContext {
  readonly session: Session;
  readonly api: ApiClient;
  readonly monitor: CacheMonitor;
  /** The signed-in credential as the credentials list shows it, once loaded (signed in by link: the primary). */
  me(): CredentialView | undefined;
  /** Re-reads the credentials list; returns it (and updates me()). */
  reloadCredentials(): Promise<CredentialView[]>;
  onCredentials(fn: (list: readonly CredentialView[]) => void): () => void;
  /** The cache as v2 `info` describes it, once loaded. */
  info(): CacheInfo | undefined;
  /** Re-reads `info` (and leaves or enters the disabled state with it). */
  reloadInfo(): Promise<CacheInfo>;
  onInfo(fn: (info: CacheInfo) => void): () => void;
  /** The cache is disabled: only `info` and `enable_cache` answer. */
  disabled(): boolean;
  /**
   * A read refused because the page lost access — 401 (session gone), 403 (no API
   * capability any more), 404 (cache deleted or disabled) — is handled here (sign-out, or
   * the disabled state); true when `error` was one.
   */
  lostAccess(error: unknown): boolean;
  /** The screen's own part of the address: #/screen?<query>. */
  query(): URLSearchParams;
  /** Replaces it without a new history entry. */
  setQuery(query: URLSearchParams): void;
  notify(message: string, kind?: 'success' | 'error' | 'info'): void;
  signOut(notice?: string): void;
}

const SCREENS = [
  { id: 'overview', label: 'Overview', make: overviewView },
  { id: 'insight', label: 'Insight', make: insightView },
  { id: 'introspection', label: 'Introspection', make: introspectionView },
  { id: 'history', label: 'History', make: historyView },
  { id: 'alerts', label: 'Alerts', make: alertsView },
  { id: 'settings', label: 'Settings', make: settingsView },
  { id: 'connect', label: 'Connect', make: connectView },
] as const;
type ScreenId = (typeof SCREENS)[number]['id'];
/** Old addresses: where they live now. */
const MOVED: Record<string, string> = { credentials: 'settings?panel=credentials' };

export interface ShellOptions {
  /** The cache's info when the caller already read it (a disabled cache starts disabled, without polling). */
  readonly info?: CacheInfo;
}

export function shellView(session: Session, onSignOut: (notice?: string) => void, opts: ShellOptions = {}): View {
  const api = new ApiClient(session, session.cacheId);
  let signedOut = false;
  const signOut = (notice?: string) => {
    if (signedOut) return;
    signedOut = true;
    monitor.stop();
    window.removeEventListener('hashchange', route);
    current?.destroy();
    onSignOut(notice);
  };
  const monitor = new CacheMonitor(api, (e) => void lostAccess(e));

  let credentials: CredentialView[] = [];
  const credentialListeners = new Set<(list: readonly CredentialView[]) => void>();
  let info: CacheInfo | undefined = opts.info;
  const infoListeners = new Set<(info: CacheInfo) => void>();
  let disabled = opts.info?.enabled === false;
  const toasts = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });

  function setInfo(next: CacheInfo): void {
    info = next;
    if (disabled !== !next.enabled) setDisabled(!next.enabled);
    for (const fn of infoListeners) fn(next);
  }

  function setDisabled(on: boolean): void {
    disabled = on;
    banner.hidden = !on;
    if (on) monitor.stop();
    else {
      monitor.start();
      void ctx.reloadCredentials().catch(() => undefined);
    }
    // The screen shown may change (Settings in place of the others, or back).
    currentId = undefined;
    route();
  }

  /** One check at a time: a failed poll of stats and of history come together. */
  let checking: Promise<void> | undefined;
  function lostAccess(error: unknown): boolean {
    if (!(error instanceof ApiRequestError) || ![401, 403, 404].includes(error.status)) return false;
    if (error.status !== 404) {
      signOut(`${error.message} Sign in again.`);
      return true;
    }
    // `info` answers for a disabled cache: then this is the disabled state, not a lost cache.
    checking ??= api.info().then(setInfo, () => signOut(`${error.message} The cache was deleted or disabled.`))
      .finally(() => (checking = undefined));
    return true;
  }

  const ctx: AppContext = {
    session, api, monitor,
    me: () => (session.sso ? credentials.find((c) => c.primary) : credentials.find((c) => c.sasl_username === session.username)),
    async reloadCredentials() {
      try {
        credentials = await api.credentials();
      } catch (e) {
        lostAccess(e);
        throw e;
      }
      for (const fn of credentialListeners) fn(credentials);
      return credentials;
    },
    onCredentials(fn) {
      credentialListeners.add(fn);
      return () => credentialListeners.delete(fn);
    },
    info: () => info,
    async reloadInfo() {
      let next: CacheInfo;
      try {
        next = await api.info();
      } catch (e) {
        lostAccess(e);
        throw e;
      }
      setInfo(next);
      return next;
    },
    onInfo(fn) {
      infoListeners.add(fn);
      return () => infoListeners.delete(fn);
    },
    disabled: () => disabled,
    lostAccess,
    query: () => new URLSearchParams(location.hash.split('?')[1] ?? ''),
    setQuery(query) {
      const q = query.toString();
      history.replaceState(null, '', `#/${currentId ?? 'overview'}${q ? `?${q}` : ''}`);
    },
    notify(message, kind = 'info') {
      const toast = h('div', { class: `toast toast-${kind}` }, message);
      toasts.append(toast);
      setTimeout(() => toast.classList.add('toast-out'), 3500);
      setTimeout(() => toast.remove(), 4000);
    },
    signOut,
  };

  const tabs = new Map<ScreenId, HTMLAnchorElement>();
  const nav = h('nav', { class: 'tabs', 'aria-label': 'Dashboard sections' },
    SCREENS.map((s) => {
      const a = h('a', { href: `#/${s.id}`, class: 'tab', id: `tab-${s.id}` }, s.label);
      tabs.set(s.id, a);
      return a;
    }));
  const main = h('main', { class: 'content', id: 'main', tabindex: '-1' });

  const header = h('header', { class: 'topbar' },
    h('div', { class: 'topbar-inner' },
      h('a', { class: 'brand', href: '#/overview', 'aria-label': 'cachier overview' }, brandMark(), h('span', { class: 'brand-name' }, 'cachier')),
      h('span', { class: 'cache-pill', title: 'The cache_id of the Analytics API' }, `Cache ${session.cacheId}`),
      h('div', { class: 'topbar-user' },
        h('span', { class: 'user-name', title: 'Signed in as' },
          h('span', { class: 'sr-only' }, 'Signed in as '), session.username),
        h('button', { class: 'btn btn-ghost btn-sm', type: 'button', id: 'sign-out', onclick: () => signOut() }, 'Sign out'),
      ),
    ),
    h('div', { class: 'topbar-tabs' }, nav),
  );

  const banner = h('div', { class: 'banner', id: 'disabled-banner', role: 'status', hidden: !disabled },
    h('div', { class: 'banner-inner' },
      h('strong', {}, `Cache ${session.cacheId} is disabled.`),
      h('span', {}, ' Memcache logins fail and its stats are not available until it is enabled again. '),
      h('a', { href: '#/settings', id: 'disabled-banner-settings' }, 'Re-enable it in Settings')));

  let current: View | undefined;
  let currentId: ScreenId | undefined;
  function route(): void {
    const [path = '', query] = location.hash.replace(/^#\/?/, '').split('?');
    const moved = MOVED[path];
    if (moved) {
      history.replaceState(null, '', `#/${moved}`);
      return route();
    }
    const screen = SCREENS.find((s) => s.id === path) ?? SCREENS[0];
    if (screen.id !== path) history.replaceState(null, '', `#/${screen.id}${query ? `?${query}` : ''}`);
    if (screen.id === currentId) return;
    current?.destroy();
    currentId = screen.id;
    for (const [id, a] of tabs) {
      if (id === screen.id) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    current = disabled && screen.id !== 'settings' ? disabledScreen(screen.label, session.cacheId) : screen.make(ctx);
    main.replaceChildren(current.el);
    document.title = `${screen.label} · cache ${session.cacheId} · cachier`;
  }

  window.addEventListener('hashchange', route);
  if (!disabled) {
    monitor.start();
    void ctx.reloadCredentials().catch(() => undefined);
  }
  if (!info) void ctx.reloadInfo().catch(() => undefined);
  route();

  const el = h('div', { class: 'app' }, h('a', { class: 'skip-link', href: '#main' }, 'Skip to content'), header, banner, main, toasts);
  return { el, destroy: () => signOut() };
}

/** What a screen other than Settings shows while the cache is disabled. */
function disabledScreen(label: string, cacheId: number): View {
  const el = h('div', { class: 'screen screen-disabled' },
    h('div', { class: 'page-head' }, h('div', { class: 'page-titles' }, h('h1', { class: 'page-title' }, label))),
    h('section', { class: 'card panel empty-state', id: 'disabled-screen' },
      h('h2', { class: 'empty-title' }, `Cache ${cacheId} is disabled`),
      h('p', { class: 'muted' }, `${label} needs the cache enabled: while it is disabled, its servers refuse logins and report no stats.`),
      h('a', { class: 'btn btn-primary', href: '#/settings' }, 'Open Settings')));
  return { el, destroy: () => undefined };
}
