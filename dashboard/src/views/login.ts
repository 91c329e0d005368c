/**
 * Sign-in: a credential's username and password, checked with the API's login call,
 * which also names the cache. Only credentials with api_capability get in.
 *
 * A disabled cache has no login (v1 answers 404 "No cache found."), but the API v2's
 * `info` and `enable_cache` still answer for it, given its id: after that 404 the form
 * asks for the cache ID, and with it opens the dashboard in its disabled state, where
 * Settings can re-enable it.
 */
import { ApiClient, ApiRequestError, type CacheInfo } from '../api-client.ts';
import { h } from '../dom.ts';
import type { Session } from '../session.ts';
import { brandMark } from './brand.ts';

export function loginView(onSignedIn: (session: Session, info?: CacheInfo) => void, notice?: string): HTMLElement {
  const username = h('input', {
    id: 'login-username', name: 'username', type: 'text', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false',
  });
  const password = h('input', {
    id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true,
  });
  const cacheInput = h('input', {
    id: 'login-cache-id', name: 'cache-id', type: 'text', inputmode: 'numeric', autocomplete: 'off', pattern: '[0-9]*',
    'aria-describedby': 'login-cache-help',
  });
  const cacheField = h('div', { class: 'field', id: 'login-cache-field', hidden: true },
    h('label', { for: 'login-cache-id' }, 'Cache ID'), cacheInput,
    h('p', { class: 'field-help', id: 'login-cache-help' },
      'To open a disabled cache’s settings and re-enable it. The ID is in the Settings screen and in the API’s paths.'));
  const error = h('p', { class: 'form-error', id: 'login-error', role: 'alert' });
  const submit = h('button', { class: 'btn btn-primary btn-block', type: 'submit' }, 'Sign in');
  if (notice) error.textContent = notice;
  error.hidden = !notice;

  const form = h('form', { class: 'login-form', novalidate: true, 'aria-describedby': 'login-help' },
    h('div', { class: 'field' }, h('label', { for: 'login-username' }, 'Username'), username),
    h('div', { class: 'field' }, h('label', { for: 'login-password' }, 'Password'), password),
    cacheField,
    error,
    submit,
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const u = username.value.trim();
    const p = password.value;
    if (!u || !p) {
      showError('Enter the username and password of a credential of your cache.');
      (u ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    error.hidden = true;
    try {
      const { cache_id } = await new ApiClient({ username: u, password: p }).login();
      password.value = '';
      onSignedIn({ username: u, password: p, cacheId: cache_id });
    } catch (e) {
      const status = e instanceof ApiRequestError ? e.status : 0;
      const message = e instanceof Error ? e.message : String(e);
      if (status === 404 && !cacheField.hidden && cacheInput.value.trim() !== '') {
        await openDisabled(u, p, cacheInput.value.trim());
      } else if (status === 404) {
        cacheField.hidden = false;
        showError(`${message} If the cache was disabled, enter its cache ID below to open its settings and re-enable it.`);
        cacheInput.focus();
      } else {
        showError(status === 403
          ? `${message} Check the username and password, and that this credential has the API capability.`
          : message);
        password.select();
      }
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });

  /** A disabled cache, by id: v2 `info` answers for it (and checks the credential is one of its own). */
  async function openDisabled(u: string, p: string, rawId: string): Promise<void> {
    if (!/^\d{1,15}$/.test(rawId)) {
      showError('A cache ID is a number.');
      cacheInput.select();
      return;
    }
    const session = { username: u, password: p, cacheId: Number(rawId) };
    try {
      const info = await new ApiClient(session, session.cacheId).info();
      password.value = '';
      onSignedIn(session, info);
    } catch (e) {
      const status = e instanceof ApiRequestError ? e.status : 0;
      const message = e instanceof Error ? e.message : String(e);
      showError(status === 403
        ? `${message} Check that the credential belongs to cache ${rawId} and has the API capability.`
        : message);
      cacheInput.select();
    }
  }

  function showError(message: string): void {
    error.textContent = message;
    error.hidden = false;
  }

  queueMicrotask(() => username.focus());

  return h('main', { class: 'login-page' },
    h('section', { class: 'login-card', 'aria-labelledby': 'login-title' },
      h('div', { class: 'login-brand' }, brandMark(), h('span', { class: 'brand-name' }, 'cachier')),
      h('h1', { id: 'login-title' }, 'Sign in to your cache'),
      h('p', { class: 'muted', id: 'login-help' },
        'Use a credential of your cache that has the API capability — the MEMCACHIER_USERNAME and MEMCACHIER_PASSWORD of your app work too.'),
      form,
      h('p', { class: 'fine-print' },
        'The password stays in this browser tab only and is forgotten when you sign out or close the tab.'),
    ),
  );
}
