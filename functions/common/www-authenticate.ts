/**
 * The one definition of fhirgate's `WWW-Authenticate` challenges, used by the FHIR proxy, the
 * token service, the local API Gateway emulation and the CDK gateway responses (lib/api.ts), so
 * what a client parses is the same wherever the refusal comes from.
 *
 * RFC 6750 §3: a request without a token gets `Bearer realm=…` and no `error` (§3.1: "SHOULD
 * NOT include an error code"); a token that fails gets `error="invalid_token"` with 401; a valid
 * token whose scopes do not cover the request gets `error="insufficient_scope"` with 403. Both
 * with `Cache-Control: no-store` (the answer depends on the credential).
 * RFC 6749 §2.3.1 / §5.2: a token endpoint `invalid_client` answers with the `Basic` scheme.
 */

/** `realm` of every challenge (RFC 6750 §3, RFC 7235 §2.2). */
export const REALM = 'fhirgate';

export type BearerChallenge = 'missing' | 'invalid_token' | 'insufficient_scope';

/** `WWW-Authenticate` for a refused bearer request. `description` must be plain text (quotes are dropped). */
export function bearerChallenge(kind: BearerChallenge, description?: string): string {
  const parts = [`realm="${REALM}"`];
  if (kind !== 'missing') parts.push(`error="${kind}"`);
  // RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E: no quote, no backslash, ASCII.
  if (kind !== 'missing' && description) parts.push(`error_description="${description.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '').slice(0, 200)}"`);
  return `Bearer ${parts.join(', ')}`;
}

/** `WWW-Authenticate` for a token endpoint `invalid_client` (RFC 6749 §5.2). */
export const CLIENT_CHALLENGE = `Basic realm="${REALM}"`;

/** Headers of a refused bearer request: the challenge and no-store. */
export function bearerRefusalHeaders(kind: BearerChallenge, description?: string): Record<string, string> {
  return { 'www-authenticate': bearerChallenge(kind, description), 'cache-control': 'no-store' };
}

/**
 * The challenges API Gateway sends from its own gateway responses. It cannot tell a missing token
 * from a refused one (both are the UNAUTHORIZED response type, whose headers are static values:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.gatewayResponse.html),
 * so its 401 says `invalid_token`, the answer RFC 6750 §3.1 asks for when a token was sent.
 */
export const GATEWAY_CHALLENGES = {
  unauthorized: bearerChallenge('invalid_token'),
  accessDenied: bearerChallenge('insufficient_scope'),
} as const;
