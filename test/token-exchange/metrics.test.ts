/** Token issuance metrics: issued and refused per grant type, the RFC 6749 error code, nothing else. */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { Metrics } from '../../functions/common/metrics';
import { recordTokenRequest } from '../../functions/token-exchange/metrics';

function recorder() {
  const seen: [string, number, Record<string, string>][] = [];
  const metrics: Metrics = { record: (name, _unit, value, dims = {}) => seen.push([name, value, { ...dims }]) };
  return { seen, metrics };
}
const post = (form: Record<string, string>, base64 = false) => {
  const body = new URLSearchParams(form).toString();
  return { httpMethod: 'POST', resource: '/auth/token', body: base64 ? Buffer.from(body).toString('base64') : body, isBase64Encoded: base64 } as APIGatewayProxyEvent;
};

test('issued and refused, per grant, with the error code; the JWKS route is not counted', () => {
  const { seen, metrics } = recorder();
  const subjectToken = 'eyJhbGciOiJSUzI1NiJ9.secret.sig';
  recordTokenRequest(metrics, post({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: subjectToken }), { statusCode: 200, body: '{"access_token":"x"}' });
  recordTokenRequest(metrics, post({ grant_type: 'client_credentials' }, true), { statusCode: 400, body: '{"error":"invalid_client","error_description":"no such client"}' });
  recordTokenRequest(metrics, post({ grant_type: 'password' }), { statusCode: 400, body: '{"error":"unsupported_grant_type"}' });
  recordTokenRequest(metrics, { httpMethod: 'GET', body: null } as APIGatewayProxyEvent, { statusCode: 200, body: '{"keys":[]}' });
  expect(seen).toEqual([
    ['TokensIssued', 1, { grant: 'token-exchange' }],
    ['TokenRefusals', 1, { grant: 'client_credentials', error: 'invalid_client' }],
    ['TokenRefusals', 1, { grant: 'other', error: 'unsupported_grant_type' }],
  ]);
  expect(JSON.stringify(seen)).not.toContain(subjectToken);
});
