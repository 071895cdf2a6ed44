/**
 * The three ways a caller gets a token from a running local stack, as its users and clients do
 * it — for the demo, the load run, the bench and the end-to-end tests (one place, so they all
 * exercise the same flows):
 * - a user signs in with Cognito `InitiateAuth` (USER_PASSWORD_AUTH; cognito-local has no SRP);
 * - a machine client uses Cognito-style `client_credentials` with its secret, or SMART Backend
 *   Services `client_credentials` with a signed client assertion (private_key_jwt);
 * - the API server exchanges a user's token for an on-behalf-of token (RFC 8693).
 */
import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import type { StackInfo } from '../../bin/cli/stack-info';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** A token endpoint's answer: the status and the JSON body (a token or an RFC 6749 error). */
export interface TokenResponse {
  readonly status: number;
  readonly body: { access_token?: string; error?: string; error_description?: string; [key: string]: unknown };
}

/** A demo user's access token (Cognito InitiateAuth against cognito-local). */
export async function signIn(info: StackInfo, username: string): Promise<string> {
  const user = info.users.find((u) => u.username === username);
  if (!user) throw new Error(`stack.json has no user ${username}`);
  const cognito = new CognitoIdentityProviderClient({ endpoint: info.cognito.endpoint, region: info.cognito.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const out = await cognito.send(
    new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: info.cognito.webClientId, AuthParameters: { USERNAME: user.username, PASSWORD: user.password } }),
  );
  const token = out.AuthenticationResult?.AccessToken;
  if (!token) throw new Error(`sign-in of ${username} returned no access token`);
  return token;
}

/** A machine client's token from the Cognito-shaped client_credentials endpoint (HTTP Basic). */
export async function machineToken(info: StackInfo, name: string, scope?: string): Promise<string> {
  const client = info.machineClients.find((c) => c.name === name);
  if (!client) throw new Error(`stack.json has no machine client ${name}`);
  const res = await fetch(info.cognito.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }),
  });
  return tokenOf(`machine client ${name}`, { status: res.status, body: (await res.json()) as TokenResponse['body'] });
}

/** RFC 8693: trade a user's token (subject) and the API server's token (actor) at /auth/token. */
export async function exchangeToken(info: StackInfo, subjectToken: string, actorToken: string, extra: Record<string, string> = {}): Promise<TokenResponse> {
  return postForm(info.tokenExchangeUrl, {
    grant_type: TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN,
    actor_token: actorToken,
    actor_token_type: ACCESS_TOKEN,
    ...extra,
  });
}

/**
 * A SMART Backend Services client assertion signed with the demo backend client's ES384 key
 * (RFC 7523: iss = sub = client, aud = the token URL, exp ≤ 5 min, a fresh jti); `claims`
 * overrides any of them, for tests of the refusals.
 */
export function clientAssertion(info: StackInfo, claims: Record<string, unknown> = {}): string {
  const client = info.backendClients[0];
  if (!client) throw new Error('stack.json has no backend client');
  const b64url = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss: client.clientId, sub: client.clientId, aud: client.tokenUrl, exp: now + 60, jti: randomUUID(), ...claims };
  const input = `${b64url({ alg: client.alg, kid: client.kid, typ: 'JWT' })}.${b64url(payload)}`;
  const signature = sign('sha384', Buffer.from(input), { key: createPrivateKey(client.privateKeyPem), dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** Trade a client assertion for a system/ token at /auth/token (private_key_jwt). */
export async function backendServicesRequest(info: StackInfo, assertion: string, scope?: string): Promise<TokenResponse> {
  return postForm(info.tokenExchangeUrl, { grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: assertion, ...(scope ? { scope } : {}) });
}

/** The demo backend client's system/ token, or an error naming the refusal. */
export async function backendServicesToken(info: StackInfo, scope?: string): Promise<string> {
  return tokenOf('backend client', await backendServicesRequest(info, clientAssertion(info), scope));
}

/** The access token of a successful answer; otherwise an error with the RFC 6749 code. */
export function tokenOf(who: string, response: TokenResponse): string {
  if (response.status !== 200 || !response.body.access_token) {
    throw new Error(`token endpoint refused ${who}: ${response.body.error}: ${response.body.error_description ?? ''}`);
  }
  return response.body.access_token;
}

async function postForm(url: string, form: Record<string, string>): Promise<TokenResponse> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
  return { status: res.status, body: (await res.json()) as TokenResponse['body'] };
}
