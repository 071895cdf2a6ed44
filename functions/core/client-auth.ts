/**
 * Which client authentication a token request presents (RFC 6749 §2.3): none, a client id
 * alone, a client secret (HTTP Basic, RFC 6749 §2.3.1, or in the form), or a client assertion
 * (RFC 7521 §4.2, private_key_jwt). Pure: the caller verifies what it finds. A request that uses
 * more than one method, or that names two different clients, is refused: "The client MUST NOT
 * use more than one authentication method in each request" (RFC 6749 §2.3).
 */
import { OAuthError } from './oauth-error';
import type { FormParams } from './token-exchange';

export type PresentedClient =
  | { readonly kind: 'none' }
  /** `client_id` in the form and nothing that proves it (RFC 6749 §3.2.1: identification only). */
  | { readonly kind: 'id'; readonly clientId: string }
  | { readonly kind: 'secret'; readonly method: 'client_secret_basic' | 'client_secret_post'; readonly clientId: string; readonly secret: string }
  | { readonly kind: 'assertion'; readonly clientId?: string };

/** The client authentication in a token request's form and `Authorization` header values. */
export function presentedClient(params: FormParams, authorization: readonly string[]): PresentedClient {
  const first = (name: string) => params.find(([k]) => k === name)?.[1] || undefined; // RFC 6749 §3.1: empty = omitted
  if (authorization.length > 1) throw new OAuthError('invalid_request', 'send at most one Authorization header');
  const header = authorization[0];
  const formId = first('client_id');
  const formSecret = first('client_secret');
  const assertion = first('client_assertion') !== undefined || first('client_assertion_type') !== undefined;
  if (header !== undefined) {
    const basic = basicCredentials(header);
    if (formSecret !== undefined || assertion) throw new OAuthError('invalid_request', 'use one client authentication method: HTTP Basic, or the form, not both (RFC 6749 §2.3)');
    if (formId !== undefined && formId !== basic.clientId) throw new OAuthError('invalid_client', 'client_id does not match the client authenticated with HTTP Basic');
    return { kind: 'secret', method: 'client_secret_basic', ...basic };
  }
  if (formSecret !== undefined) {
    if (assertion) throw new OAuthError('invalid_request', 'use one client authentication method: client_secret or client_assertion, not both (RFC 6749 §2.3)');
    if (formId === undefined) throw new OAuthError('invalid_client', 'client_secret needs client_id');
    return { kind: 'secret', method: 'client_secret_post', clientId: formId, secret: formSecret };
  }
  if (assertion) return formId === undefined ? { kind: 'assertion' } : { kind: 'assertion', clientId: formId };
  return formId === undefined ? { kind: 'none' } : { kind: 'id', clientId: formId };
}

/**
 * RFC 6749 §2.3.1 / RFC 7617: `Basic base64(urlencode(id) ":" urlencode(secret))`. Anything else in
 * the header (a Bearer token, say) authenticates no client here and is refused as such.
 */
function basicCredentials(header: string): { clientId: string; secret: string } {
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!match) throw new OAuthError('invalid_client', 'the Authorization header must be HTTP Basic client credentials (RFC 6749 §2.3.1)');
  let decoded: string;
  try {
    const binary = atob(match[1]!);
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    throw new OAuthError('invalid_client', 'HTTP Basic credentials are not base64 UTF-8');
  }
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new OAuthError('invalid_client', 'HTTP Basic credentials must be client_id:client_secret');
  try {
    return { clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')), secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')) };
  } catch {
    throw new OAuthError('invalid_client', 'HTTP Basic credentials are not form-urlencoded (RFC 6749 §2.3.1)');
  }
}
