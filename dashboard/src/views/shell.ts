/**
 * The signed-in page: header (cache, user, sign out), the screen tabs, and the screen
 * shown. Screens are addressed by the URL hash (#/overview, #/history, #/credentials,
 * #/connect), so the back button and reloads keep the place. The shell owns the
 * cache monitor and what it knows of the signed-in credential (its capabilities).
 */
import { ApiClient, ApiRequestError, type CredentialView } from '../api-client.ts';
import { h } from '../dom.ts';
import { CacheMonitor } from '../monitor.ts';
import type { Session } from '../session.ts';
import { brandMark } from './brand.ts';
import { connectView } from './connect.ts';
import { credentialsView } from './credentials.ts';
import { historyView } from './history.ts';
import { overviewView } from './overview.ts';

export interface View {
  readonly el: HTMLElement;
  destroy(): void;
}

export interface AppContext {
  readonly session: Session;
  readonly api: ApiClient;
  readonly monitor: CacheMonitor;
  /** The signed-in credential as the credentials list shows it, once loaded. */
  me(): CredentialView | undefined;
  /** Re-reads the credentials list; returns it (and updates me()). */
  reloadCredentials(): Promise<CredentialView[]>;
  onCredentials(fn: (list: readonly CredentialView[]) => void): () => void;
  notify(message: string, kind?: 'success' | 'error' | 'info'): void;
  signOut(notice?: string): void;
}

const SCREENS = [
  { id: 'overview', label: 'Overview', make: overviewView },
  { id: 'history', label: 'History', make: historyView },
  { id: 'credentials', label: 'Credentials', make: credentialsView },
  { id: 'connect', label: 'Connect', make: connectView },
] as const;
type ScreenId = (typeof SCREENS)[number]['id'];

export function shellView(session: Session, onSignOut: (notice?: string) => void): View {
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
  const lostAccess = (e: ApiRequestError) =>
    signOut(e.status === 404 ? `${e.message} The cache was deleted or disabled.` : `${e.message} Sign in again.`);
  const monitor = new CacheMonitor(api, lostAccess);

  let credentials: CredentialView[] = [];
  const credentialListeners = new Set<(list: readonly CredentialView[]) => void>();
  const toasts = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });

  const ctx: AppContext = {
    session, api, monitor,
    me: () => credentials.find((c) => c.sasl_username === session.username),
    async reloadCredentials() {
      try {
        credentials = await api.credentials();
      } catch (e) {
        if (e instanceof ApiRequestError && (e.status === 403 || e.status === 404)) lostAccess(e);
        throw e;
      }
      for (const fn of credentialListeners) fn(credentials);
      return credentials;
    },
    onCredentials(fn) {
      credentialListeners.add(fn);
      return () => credentialListeners.delete(fn);
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

  let current: View | undefined;
  let currentId: ScreenId | undefined;
  function route(): void {
    const wanted = location.hash.replace(/^#\/?/, '') as ScreenId;
    const screen = SCREENS.find((s) => s.id === wanted) ?? SCREENS[0];
    if (screen.id !== wanted) history.replaceState(null, '', `#/${screen.id}`);
    if (screen.id === currentId) return;
    current?.destroy();
    currentId = screen.id;
    for (const [id, a] of tabs) {
      if (id === screen.id) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    current = screen.make(ctx);
    main.replaceChildren(current.el);
    document.title = `${screen.label} · cache ${session.cacheId} · cachier`;
  }

  window.addEventListener('hashchange', route);
  monitor.start();
  void ctx.reloadCredentials().catch(() => undefined);
  route();

  const el = h('div', { class: 'app' }, h('a', { class: 'skip-link', href: '#main' }, 'Skip to content'), header, main, toasts);
  return { el, destroy: () => signOut() };
}
