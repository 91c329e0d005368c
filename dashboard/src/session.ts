/**
 * The signed-in credential. The password is needed for every API call (HTTP Basic), so
 * it is kept for this tab's session only (sessionStorage, never localStorage or a
 * cookie) and removed on sign-out. Signed in through a sign-in link (`/sso/<id>/<token>`)
 * there is no password: `sso` is set, the browser's HttpOnly session cookie authenticates
 * every call, and `username` is the cache's primary credential, which the session acts as.
 */
export interface Session {
  readonly username: string;
  readonly password: string;
  readonly cacheId: number;
  readonly sso?: boolean;
}

const KEY = 'cachier.session';

export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return undefined;
    const s = JSON.parse(raw) as Partial<Session>;
    if (typeof s.username !== 'string' || typeof s.password !== 'string' || typeof s.cacheId !== 'number') return undefined;
    return { username: s.username, password: s.password, cacheId: s.cacheId, ...(s.sso === true ? { sso: true } : {}) };
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

/** Whether a sign-in link may have left a session cookie (the readable `cachier_sso=1` hint; the session itself is HttpOnly). */
export function hasLinkSession(): boolean {
  return document.cookie.split(';').some((c) => c.trim() === 'cachier_sso=1');
}

/** Ends a sign-in link's session on the server and forgets the hint. */
export async function endLinkSession(): Promise<void> {
  document.cookie = 'cachier_sso=; Path=/; Max-Age=0; SameSite=Strict';
  try {
    await fetch('/sso/sign-out', { method: 'POST', headers: { 'x-requested-with': 'cachier-dashboard' }, credentials: 'same-origin' });
  } catch {
    // The cookie expires anyway.
  }
}
