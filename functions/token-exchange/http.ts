/**
 * API Gateway proxy events in and out for the token endpoint: the form body (RFC 6749 §3.2,
 * `application/x-www-form-urlencoded`) and JSON answers that no cache keeps (RFC 6749 §5.1).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { OAuthError } from '../core/oauth-error';
import type { FormParams } from '../core/token-exchange';
import { CLIENT_CHALLENGE } from '../common/www-authenticate';

/** A token request is a few KB; 64 KiB is far beyond any honest one. */
export const MAX_FORM_BYTES = 64 * 1024;

/** RFC 6749 §5.1: "Cache-Control: no-store" and "Pragma: no-cache" on every token response. */
const NO_STORE = { 'Content-Type': 'application/json;charset=UTF-8', 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/** The form parameters of a POST, in order, repeats kept (the core refuses repeats). */
export function formParams(event: APIGatewayProxyEvent): FormParams {
  const contentTypes = headerValues(event, 'content-type');
  if (contentTypes.length !== 1) throw new OAuthError('invalid_request', 'send exactly one Content-Type: application/x-www-form-urlencoded');
  const [media, ...parameters] = contentTypes[0]!.split(';').map((p) => p.trim().toLowerCase());
  if (media !== 'application/x-www-form-urlencoded') throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded (RFC 6749 §3.2)');
  const charset = parameters.find((p) => p.startsWith('charset='));
  if (charset !== undefined && charset.replace(/"/g, '') !== 'charset=utf-8') throw new OAuthError('invalid_request', 'the form must be UTF-8');
  // Parameters in the URL end up in access logs; RFC 6749 §3.2 puts them in the body.
  if (Object.keys(event.multiValueQueryStringParameters ?? event.queryStringParameters ?? {}).length > 0) {
    throw new OAuthError('invalid_request', 'send parameters in the form body, not the query string');
  }
  const body = event.body == null ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  if (body.length > MAX_FORM_BYTES) throw new OAuthError('invalid_request', `the form body is larger than ${MAX_FORM_BYTES} bytes`);
  return [...new URLSearchParams(body.toString('utf8')).entries()];
}

/** A JSON answer with the token endpoint's no-store headers. */
export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode, headers: { ...NO_STORE, ...headers }, body: JSON.stringify(body) };
}

/** An OAuth error response (RFC 6749 §5.2); `invalid_client` carries the client challenge. */
export function oauthErrorResponse(err: OAuthError): APIGatewayProxyResult {
  return jsonResponse(err.status, err.toJSON(), err.code === 'invalid_client' ? { 'WWW-Authenticate': CLIENT_CHALLENGE } : {});
}

/** Every value of a header (name lower-case), whatever its case, from both header maps API Gateway fills. */
export function headerValues(event: APIGatewayProxyEvent, name: string): string[] {
  const multi = Object.entries(event.multiValueHeaders ?? {}).filter(([k]) => k.toLowerCase() === name);
  if (multi.length > 0) return multi.flatMap(([, v]) => v ?? []);
  return Object.entries(event.headers ?? {})
    .filter(([k, v]) => k.toLowerCase() === name && v !== undefined)
    .map(([, v]) => v!);
}
