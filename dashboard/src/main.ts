/**
 * The cachier dashboard: sign in with a credential, then Overview, History, Credentials
 * and Connect, all through the Analytics API v1 of the control plane that serves it.
 */
import './styles.css';
import { ApiClient, ApiRequestError } from './api-client.ts';
import { h } from './dom.ts';
import { clearSession, loadSession, saveSession, type Session } from './session.ts';
import { loginView } from './views/login.ts';
import { shellView, type View } from './views/shell.ts';

const root = document.getElementById('app')!;
let shell: View | undefined;

function showLogin(notice?: string): void {
  shell = undefined;
  clearSession();
  document.title = 'Sign in · cachier';
  if (location.hash) history.replaceState(null, '', location.pathname);
  root.replaceChildren(loginView(signIn, notice));
}

function signIn(session: Session): void {
  saveSession(session);
  showApp(session);
}

function showApp(session: Session): void {
  shell = shellView(session, (notice) => showLogin(notice));
  root.replaceChildren(shell.el);
}

async function boot(): Promise<void> {
  const saved = loadSession();
  if (!saved) return showLogin();
  root.replaceChildren(h('div', { class: 'boot' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading…'));
  try {
    // The credential may have lost access, or the cache gone, since the tab last saw it.
    const { cache_id } = await new ApiClient(saved).login();
    signIn({ ...saved, cacheId: cache_id });
  } catch (e) {
    showLogin(e instanceof ApiRequestError ? `${e.message} Sign in again.` : String(e));
  }
}

void boot();
