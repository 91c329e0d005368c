/**
 * The cachier dashboard: sign in with a credential, then Overview, Insight, History,
 * Settings (with the credentials) and Connect, all through the Analytics API (v1 and v2)
 * of the control plane that serves it.
 */
import './styles.css';
import { ApiClient, ApiRequestError, type CacheInfo } from './api-client.ts';
import { h } from './dom.ts';
import { clearSession, endLinkSession, hasLinkSession, loadSession, saveSession, type Session } from './session.ts';
import { loginView } from './views/login.ts';
import { shellView, type View } from './views/shell.ts';

const root = document.getElementById('app')!;
let shell: View | undefined;

function showLogin(notice?: string): void {
  shell = undefined;
  const byLink = loadSession()?.sso === true || hasLinkSession();
  clearSession();
  if (byLink) void endLinkSession();
  document.title = 'Sign in · cachier';
  if (location.hash) history.replaceState(null, '', location.pathname);
  root.replaceChildren(loginView(signIn, notice));
}

/** `info`: the cache's, when already read (a disabled cache opens in its disabled state). */
function signIn(session: Session, info?: CacheInfo): void {
  saveSession(session);
  showApp(session, info);
}

function showApp(session: Session, info?: CacheInfo): void {
  shell = shellView(session, (notice) => showLogin(notice), { info });
  root.replaceChildren(shell.el);
}

async function boot(): Promise<void> {
  const saved = loadSession();
  if (!saved && !hasLinkSession()) return showLogin();
  root.replaceChildren(h('div', { class: 'boot' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading…'));
  try {
    if (!saved) return signIn(await linkSession());
    // The credential may have lost access, or the cache gone, since the tab last saw it.
    const { cache_id } = await new ApiClient(saved).login().catch(async (e: unknown) => {
      // Disabled since (v1 has no login for it): v2's info still answers, and Settings can re-enable it.
      if (!(e instanceof ApiRequestError && e.status === 404)) throw e;
      const info = await new ApiClient(saved, saved.cacheId).info().catch(() => undefined);
      if (info?.enabled !== false) throw e;
      signIn(saved, info);
      return { cache_id: undefined };
    });
    if (cache_id !== undefined) signIn({ ...saved, cacheId: cache_id });
  } catch (e) {
    showLogin(e instanceof ApiRequestError ? `${e.message} Sign in again.` : String(e));
  }
}

/** Signed in by a sign-in link (/sso/<id>/<token>): the session cookie acts as the cache's primary credential. */
async function linkSession(): Promise<Session> {
  const link = { username: '', password: '', sso: true };
  const { cache_id } = await new ApiClient(link).login();
  const primary = (await new ApiClient(link, cache_id).credentials()).find((c) => c.primary);
  return { ...link, username: primary?.sasl_username ?? '', cacheId: cache_id };
}

void boot();
