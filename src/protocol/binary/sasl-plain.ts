/**
 * SASL PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`. Each part is at most 255
 * bytes of UTF-8 without NUL; authcid and passwd are not empty. Anything else is refused
 * whole (null), so a malformed message can never authenticate as a prefix of itself.
 */
const MAX_PART = 255;
const MAX_MESSAGE = 3 * MAX_PART + 2;
const NUL = 0;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface SaslPlainCredentials {
  readonly authzid: string;
  readonly username: string;
  readonly password: string;
}

export function parseSaslPlain(data: Buffer): SaslPlainCredentials | null {
  if (data.length > MAX_MESSAGE) return null;
  const first = data.indexOf(NUL);
  if (first < 0) return null;
  const second = data.indexOf(NUL, first + 1);
  if (second < 0 || data.indexOf(NUL, second + 1) >= 0) return null;
  const authzid = data.subarray(0, first);
  const username = data.subarray(first + 1, second);
  const password = data.subarray(second + 1);
  if (username.length === 0 || password.length === 0) return null;
  if (authzid.length > MAX_PART || username.length > MAX_PART || password.length > MAX_PART) return null;
  try {
    return { authzid: utf8.decode(authzid), username: utf8.decode(username), password: utf8.decode(password) };
  } catch {
    // Invalid UTF-8: refuse rather than let U+FFFD make different bytes compare equal.
    return null;
  }
}
