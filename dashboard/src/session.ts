/**
 * The signed-in credential. The password is needed for every API call (HTTP Basic), so
 * it is kept for this tab's session only (sessionStorage, never localStorage or a
 * cookie) and removed on sign-out.
 */
export interface Session {
  readonly username: string;
  readonly password: string;
  readonly cacheId: number;
}

const KEY = 'cachier.session';

export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return undefined;
    const s = JSON.parse(raw) as Partial<Session>;
    if (typeof s.username !== 'string' || typeof s.password !== 'string' || typeof s.cacheId !== 'number') return undefined;
    return { username: s.username, password: s.password, cacheId: s.cacheId };
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
