/**
 * The headers an error response carries (functions/fhir-proxy/responses.ts errorResponse): `Allow`
 * on every 405 (RFC 9110 §15.5.6), a Bearer challenge on 401 and on a 403 for missing scopes
 * (RFC 6750 §3), nothing extra elsewhere.
 */
import { AccessDeniedError, RequestError, TokenError } from '../../functions/core/errors';
import { parseFhirRequest } from '../../functions/core/fhir-request';
import { errorResponse } from '../../functions/fhir-proxy/responses';

const refusal = (method: string, path: string) => {
  try {
    parseFhirRequest({ method, path, query: [], headers: {} });
  } catch (err) {
    return errorResponse(err);
  }
  throw new Error('parsed');
};

test.each([
  // [request, Allow]
  ['DELETE /metadata', 'GET'],
  ['GET /Patient/_search', 'POST'],
  ['POST /Patient/1', 'GET, PUT, PATCH, DELETE'],
  ['HEAD /Patient/1', 'GET, POST, PUT, PATCH, DELETE'],
])('%s → 405 with Allow: %s', (line, allow) => {
  const [method, path] = line.split(' ');
  const r = refusal(method!, path!);
  expect({ status: r.status, allow: r.headers.allow }).toEqual({ status: 405, allow });
});

test('a 401 says invalid_token; a 403 for missing scopes says insufficient_scope; other 403s and 400s carry no challenge', () => {
  expect(errorResponse(new TokenError('ERR_TOKEN_INVALID', 'bad')).headers['www-authenticate']).toBe('Bearer realm="fhirgate", error="invalid_token", error_description="bad"');
  const scope = errorResponse(new AccessDeniedError('ERR_SCOPE_INSUFFICIENT', "scopes do not grant 'r' on Observation"));
  expect(scope.headers['www-authenticate']).toBe(`Bearer realm="fhirgate", error="insufficient_scope", error_description="scopes do not grant 'r' on Observation"`);
  expect(scope.headers['cache-control']).toBe('no-store');
  expect(errorResponse(new AccessDeniedError('ERR_FORBIDDEN', 'no')).headers['www-authenticate']).toBeUndefined();
  expect(errorResponse(new RequestError('ERR_BAD_REQUEST', 'no')).headers).toEqual({ 'content-type': 'application/fhir+json' });
});
