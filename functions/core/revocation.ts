/**
 * The revocation window: the longest time from an operator's action (disable or delete a user,
 * remove a link, revoke a client) to the last request it lets through. Pure arithmetic over the
 * deployment's cache settings, so the CLI (`fhirgate whoami`, every change it makes) and the docs
 * state the same figure.
 *
 * Two caches stand between an action and a refusal:
 * - API Gateway caches the authorizer's answer per token for the authorizer cache TTL, and serves
 *   a cached Allow without calling the authorizer (nor looking at the token's `exp`);
 * - the authorizer caches each link record for the link cache TTL.
 * A token whose holder is checked online (every user token, every on-behalf-of token: the link is
 * read on each authorizer call, `activeLink` in principal.ts) is therefore refused within the sum.
 * A token nothing checks online (a Cognito machine client's, a backend client's `system/` token)
 * lives until its `exp`, and then the authorizer cache may still serve it.
 */
import type { PrincipalKind } from './principal';

export interface CacheTtls {
  /** Seconds API Gateway caches an authorizer answer per token (0: no cache). */
  readonly authorizerCacheTtlSeconds: number;
  /** Seconds the authorizer caches a link record (0: no cache). */
  readonly linkCacheTtlSeconds: number;
}

export interface RevocationWindow {
  /** The bound, in seconds from the operator's action. */
  readonly seconds: number;
  /** True when the principal's link is read on every authorizer call (users, on-behalf-of). */
  readonly checkedOnline: boolean;
  /** How the bound is made up, for people. */
  readonly explanation: string;
}

/** Seconds until a change to a user's link (disable, delete, unlink) stops every request of theirs. */
export function linkRevocationSeconds(ttls: CacheTtls): number {
  return ttls.authorizerCacheTtlSeconds + ttls.linkCacheTtlSeconds;
}

/**
 * The window for one principal. `tokenSecondsLeft` is the remaining lifetime of the token in
 * hand (for principals not checked online it is what bounds the window).
 */
export function revocationWindow(kind: PrincipalKind, ttls: CacheTtls, tokenSecondsLeft: number): RevocationWindow {
  const a = ttls.authorizerCacheTtlSeconds;
  if (kind === 'system') {
    const left = Math.max(0, Math.ceil(tokenSecondsLeft));
    return {
      seconds: left + a,
      checkedOnline: false,
      explanation: `not checked online: the token's remaining lifetime (${left} s) + the authorizer cache TTL (${a} s)`,
    };
  }
  return {
    seconds: linkRevocationSeconds(ttls),
    checkedOnline: true,
    explanation: `the authorizer cache TTL (${a} s) + the link cache TTL (${ttls.linkCacheTtlSeconds} s)`,
  };
}
