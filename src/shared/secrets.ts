/**
 * Generated secrets and how they are kept. Passwords are generated with 128 bits of
 * entropy, so a salted SHA-256 is as strong as a slow hash against guessing while
 * keeping a login (one per connection) cheap on the node's event loop.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function generatePassword(): string {
  return randomBytes(16).toString('hex');
}

export function generateUsername(): string {
  return randomBytes(4).toString('hex').toUpperCase();
}

export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

export interface SecretHash {
  readonly salt: string;
  readonly hash: string;
}

export function hashSecret(secret: string, salt = randomBytes(16).toString('hex')): SecretHash {
  return { salt, hash: createHash('sha256').update(salt).update('\0').update(secret).digest('hex') };
}

/** Constant-time check of a secret against its stored salted hash. */
export function verifySecret(secret: string, stored: SecretHash): boolean {
  const candidate = Buffer.from(hashSecret(secret, stored.salt).hash, 'hex');
  const expected = Buffer.from(stored.hash, 'hex');
  return candidate.length === expected.length && timingSafeEqual(candidate, expected);
}
