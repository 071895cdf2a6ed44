/**
 * Token issuance metrics: `TokensIssued` and `TokenRefusals` per grant type (and the RFC 6749
 * §5.2 error code for refusals). Read from the request form and the answer only; nothing about
 * the tokens or who they are for.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Metrics } from '../common/metrics';

const GRANTS: Readonly<Record<string, string>> = {
  'urn:ietf:params:oauth:grant-type:token-exchange': 'token-exchange',
  client_credentials: 'client_credentials',
  authorization_code: 'authorization_code',
  refresh_token: 'refresh_token',
};

/** Record one `POST /auth/token` outcome; other routes (the JWKS, the patient picker's form POST) are not counted. */
export function recordTokenRequest(metrics: Metrics, event: APIGatewayProxyEvent, result: APIGatewayProxyResult): void {
  if (event.httpMethod !== 'POST' || (event.resource || event.path) !== '/auth/token') return;
  let grant = 'other';
  try {
    const body = event.body == null ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    grant = GRANTS[new URLSearchParams(body).get('grant_type') ?? ''] ?? 'other';
  } catch {
    // an unreadable form is counted as 'other'
  }
  if (result.statusCode === 200) {
    metrics.record('TokensIssued', 'Count', 1, { grant });
    return;
  }
  let error = 'unknown';
  try {
    const parsed = JSON.parse(result.body) as { error?: unknown };
    if (typeof parsed.error === 'string' && /^[a-z_]{1,40}$/.test(parsed.error)) error = parsed.error;
  } catch {
    // not JSON: 'unknown'
  }
  metrics.record('TokenRefusals', 'Count', 1, { grant, error });
}
