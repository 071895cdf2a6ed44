/**
 * OAuth 2.0 client authentication at the token endpoint (RFC 6749 §2.3): HTTP Basic or the
 * `client_id`/`client_secret` form parameters, never both in one request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { OAuthError } from './oauth-error';

export interface ClientCredentials {
  readonly method: 'basic' | 'form';
  readonly clientId: string;
  readonly clientSecret: string;
}

/** Cognito app client ids: `[\w+]+`, at most 128 characters. */
const CLIENT_ID = /^[\w+]{1,128}$/;

/** Read the client's credentials from the request; throws OAuthError when absent or malformed. */
export function readClientCredentials(authorization: string | undefined, form: URLSearchParams): ClientCredentials {
  const formId = form.get('client_id') ?? undefined;
  const formSecret = form.get('client_secret') ?? undefined;
  if (authorization !== undefined) {
    // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
    if (formSecret !== undefined) throw new OAuthError('invalid_request', 'use either HTTP Basic or client_secret in the body, not both');
    const basic = parseBasic(authorization);
    // §3.2.1 lets a client name itself with client_id next to its authentication; it must be the same client.
    if (formId !== undefined && formId !== basic.clientId) throw new OAuthError('invalid_request', 'client_id does not match the HTTP Basic credentials');
    return basic;
  }
  if (formId === undefined && formSecret === undefined) throw new OAuthError('invalid_client', 'client authentication is required');
  if (formId === undefined) throw new OAuthError('invalid_request', 'client_secret without client_id');
  // A public client (no secret) cannot use client_credentials (RFC 6749 §4.4: confidential clients only).
  if (formSecret === undefined) throw new OAuthError('invalid_client', 'client_secret is required');
  checkClientId(formId, false);
  return { method: 'form', clientId: formId, clientSecret: formSecret };
}

/** Constant-time comparison of a presented secret with the stored one (hashes equalize lengths). */
export function secretMatches(presented: string, stored: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(stored));
}

/** `Authorization: Basic base64(urlencode(client_id) ":" urlencode(client_secret))` (RFC 6749 §2.3.1, RFC 7617). */
function parseBasic(authorization: string): ClientCredentials {
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
  if (!match) throw new OAuthError('invalid_client', 'unsupported or malformed Authorization header; use HTTP Basic', { basic: true });
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError('invalid_client', 'HTTP Basic credentials have no ":"', { basic: true });
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  if (clientId === undefined || clientSecret === undefined) {
    throw new OAuthError('invalid_client', 'HTTP Basic credentials are not form-urlencoded', { basic: true });
  }
  checkClientId(clientId, true);
  return { method: 'basic', clientId, clientSecret };
}

/** application/x-www-form-urlencoded decoding of one value; undefined when the escapes are broken. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function checkClientId(clientId: string, basic: boolean): void {
  if (!CLIENT_ID.test(clientId)) throw new OAuthError('invalid_client', 'client authentication failed', { basic });
}
