/**
 * The hashing and randomness App Launch needs, kept out of the pure core: RFC 7636 §4.2 S256,
 * 256-bit opaque values (codes, refresh tokens, session ids; RFC 6749 §10.10 "the probability of
 * an attacker guessing generated tokens … MUST be less than or equal to 2^(-128)"), and the
 * SHA-256 under which codes and refresh tokens are stored.
 */
import { createHash, randomBytes } from 'node:crypto';

/** BASE64URL(SHA256(ASCII(code_verifier))), RFC 7636 §4.2. */
export function s256(codeVerifier: string): string {
  return createHash('sha256').update(codeVerifier, 'ascii').digest('base64url');
}

/** A fresh 256-bit opaque value, base64url. */
export function opaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The storage key of a code or refresh token: its SHA-256, hex. */
export function storageHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
