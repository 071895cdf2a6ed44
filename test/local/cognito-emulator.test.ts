/**
 * The local Cognito over real HTTP on 127.0.0.1: cognito-local in a child process, provisioned
 * through the AWS SDK, plus the client_credentials endpoint. User and machine tokens are checked
 * with fhirgate's own verifier (one trusted issuer, JWKS fetched over HTTP) and classifier.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CognitoIdentityProviderClient,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminInitiateAuthCommand,
  AdminUserGlobalSignOutCommand,
  CreateUserPoolClientCommand,
  InitiateAuthCommand,
  ListUserPoolsCommand,
  NotAuthorizedException,
} from '@aws-sdk/client-cognito-identity-provider';
import { decomposeUnverifiedJwt } from 'aws-jwt-verify/jwt';
import { createLoopbackVerifier } from '../support/loopback-verifier';
import { TokenVerifier } from '../../functions/adapters/verifier';
import { classifyClaims } from '../../functions/core/principal';
import { TokenError } from '../../functions/core/errors';
import { LocalCognito, LocalCognitoOptions, startLocalCognito, startTokenEndpoint } from '../../local/cognito';
import { cognitoLocalSigner } from '../../local/cognito/signing-key';

const USERS: LocalCognitoOptions['users'] = [
  { username: 'alice', password: 'Alice-pass-1', group: 'patient' },
  { username: 'dana', password: 'Dana-pass-1!', group: 'guardian' },
  { username: 'doc', password: 'Doc-pass-1!x', group: 'practitioner' },
];
const API_SCOPES = ['system/Patient.rs', 'system/Observation.rs'];
const MACHINES: LocalCognitoOptions['machineClients'] = [
  { name: 'api-server', scopes: API_SCOPES },
  { name: 'analytics', scopes: ['system/Observation.rs'] },
];

interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

/** POST a token request; `form` is sent form-encoded unless `raw` is given. */
async function tokenRequest(
  url: string,
  init: { form?: Record<string, string>; raw?: string; basic?: [string, string]; headers?: Record<string, string>; method?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...init.headers };
  // RFC 6749 §2.3.1: id and secret are form-urlencoded, then joined and base64-encoded.
  if (init.basic) headers.authorization = `Basic ${Buffer.from(`${formEncode(init.basic[0])}:${formEncode(init.basic[1])}`).toString('base64')}`;
  const method = init.method ?? 'POST';
  const body = method === 'GET' ? undefined : (init.raw ?? new URLSearchParams(init.form ?? {}).toString());
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

const formEncode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

describe('local Cognito: cognito-local users and client_credentials machines under one issuer', () => {
  let dir: string;
  let cognito: LocalCognito;
  let sdk: CognitoIdentityProviderClient;
  let verifier: TokenVerifier;
  let startupMs: number;
  let apiServer: LocalCognito['machineClients'][number];
  let analytics: LocalCognito['machineClients'][number];

  const userToken = async (username: string, password: string, clientId = cognito.webClientId) => {
    const out = await sdk.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: clientId, AuthParameters: { USERNAME: username, PASSWORD: password } }));
    return out.AuthenticationResult!.AccessToken!;
  };
  const clients = () => ({ userClientIds: [cognito.webClientId], machineClientIds: cognito.machineClients.map((c) => c.clientId) });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fhirgate-cognito-'));
    const started = Date.now();
    cognito = await startLocalCognito({ dir, users: USERS, machineClients: MACHINES });
    startupMs = Date.now() - started;
    sdk = new CognitoIdentityProviderClient({ endpoint: cognito.endpoint, region: cognito.region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    apiServer = cognito.machineClients.find((c) => c.name === 'api-server')!;
    analytics = cognito.machineClients.find((c) => c.name === 'analytics')!;
    // The verifier configuration the local stack gives the authorizer: ONE trusted issuer for both token kinds.
    verifier = createLoopbackVerifier({
      issuers: [{ kind: 'cognito-compatible', issuer: cognito.issuer, jwksUri: cognito.jwksUri }],
      clientIds: [cognito.webClientId, ...cognito.machineClients.map((c) => c.clientId)],
    });
  });
  afterAll(async () => {
    sdk?.destroy();
    await cognito?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('startup and provisioning', () => {
    test('OIDC discovery names the issuer and JWKS the tokens carry (OpenID Connect Discovery 1.0 §4.3), not localhost:9229', async () => {
      const doc = (await (await fetch(`${cognito.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
      expect({ issuer: doc.issuer, jwks_uri: doc.jwks_uri }).toEqual({ issuer: cognito.issuer, jwks_uri: cognito.jwksUri });
      const token = await userToken('alice', USERS[0]!.password);
      expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).iss).toBe(doc.issuer);
      expect((await fetch(doc.jwks_uri)).status).toBe(200);
    });

    test('starts in well under the stack budget (30 s for everything)', () => {
      expect(startupMs).toBeLessThan(10_000);
    });

    test('everything listens on 127.0.0.1; issuer is <endpoint>/<userPoolId>; token endpoint on its own port', () => {
      expect(cognito.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(cognito.issuer).toBe(`${cognito.endpoint}/${cognito.userPoolId}`);
      expect(cognito.jwksUri).toBe(`${cognito.issuer}/.well-known/jwks.json`);
      expect(cognito.tokenUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oauth2\/token$/);
      expect(new URL(cognito.tokenUrl).port).not.toBe(new URL(cognito.endpoint).port);
    });

    test('each user comes back with the sub Cognito assigned; each machine client with an id and a secret', () => {
      expect(cognito.users.map((u) => [u.username, u.group])).toEqual(USERS.map((u) => [u.username, u.group]));
      for (const user of cognito.users) expect(user.sub).toMatch(/^[0-9a-f-]{36}$/);
      expect(cognito.machineClients.map((c) => [c.name, c.scopes])).toEqual(MACHINES.map((c) => [c.name, c.scopes]));
      for (const client of cognito.machineClients) {
        expect(client.clientId).toMatch(/^[\w+]+$/);
        expect(client.clientSecret.length).toBeGreaterThanOrEqual(16);
      }
    });

    test('GET <issuer>/.well-known/jwks.json → cognito-local key with the kid the client_credentials tokens use', async () => {
      const jwks = (await (await fetch(cognito.jwksUri)).json()) as { keys: { kid: string; alg: string }[] };
      expect(jwks.keys.map((k) => [k.kid, k.alg])).toEqual([[cognitoLocalSigner().kid, 'RS256']]);
    });

    test('a password the pool policy refuses is refused before anything starts', async () => {
      await expect(
        startLocalCognito({ dir: join(dir, 'never'), users: [{ username: 'weak', password: 'password', group: 'patient' }], machineClients: [] }),
      ).rejects.toThrow(TypeError);
    });
  });

  describe('user tokens (InitiateAuth USER_PASSWORD_AUTH through the AWS SDK)', () => {
    test.each(USERS.map((u) => [u.group, u] as const))('%s user → access token that the fhirgate verifier accepts', async (_group, user) => {
      const token = await userToken(user.username, user.password);
      const claims = await verifier.verify(token);
      const sub = cognito.users.find((u) => u.username === user.username)!.sub;
      expect(claims).toMatchObject({
        token_use: 'access',
        client_id: cognito.webClientId,
        username: user.username,
        sub,
        iss: cognito.issuer,
      });
      expect(claims['cognito:groups']).toContain(user.group);
      // Cognito's default access token lifetime, as set on the web client.
      expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
      expect(classifyClaims(claims, clients())).toMatchObject({ shape: 'user', sub, clientId: cognito.webClientId, groups: [user.group] });
    });

    test('wrong password → refused (real Cognito: NotAuthorizedException; cognito-local 5.3.0: InvalidPasswordException)', async () => {
      const refusal = await userToken('alice', 'Wrong-pass-1').then(
        () => undefined,
        (err: Error) => err,
      );
      expect(refusal).toBeInstanceOf(Error);
      expect(refusal instanceof NotAuthorizedException || refusal?.name === 'InvalidPasswordException').toBe(true);
    });

    test('signing in through a machine client is refused by fhirgate even though cognito-local allows it', async () => {
      // cognito-local ignores ExplicitAuthFlows and SECRET_HASH, so the sign-in may succeed there;
      // fhirgate must still refuse a user token minted for a machine client.
      let token: string;
      try {
        token = await userToken('alice', 'Alice-pass-1', apiServer.clientId);
      } catch {
        return; // the emulator refused: as real Cognito would
      }
      const claims = await verifier.verify(token);
      expect(() => classifyClaims(claims, clients())).toThrow(TokenError);
    });
  });

  describe('client_credentials tokens', () => {
    test('HTTP Basic → 200 {access_token, token_type: Bearer, expires_in: 3600}, no-store, verifies with the same verifier', async () => {
      const reply = await tokenRequest(cognito.tokenUrl, { basic: [apiServer.clientId, apiServer.clientSecret], form: { grant_type: 'client_credentials' } });
      expect(reply.status).toBe(200);
      expect(reply.headers.get('cache-control')).toBe('no-store');
      expect(reply.headers.get('pragma')).toBe('no-cache');
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
      expect(Object.keys(reply.body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
      expect(reply.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });

      const token: string = reply.body.access_token;
      const claims = await verifier.verify(token);
      expect(claims).toMatchObject({
        sub: apiServer.clientId,
        client_id: apiServer.clientId,
        token_use: 'access',
        scope: API_SCOPES.join(' '), // no scope requested → all the client's scopes
        iss: cognito.issuer,
        version: 2,
      });
      expect(claims).not.toHaveProperty('username');
      expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
      expect(claims.auth_time).toBe(claims.iat);
      expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
      expect(decomposeUnverifiedJwt(token).header).toEqual({ kid: cognitoLocalSigner().kid, alg: 'RS256' });
      expect(classifyClaims(claims, clients())).toMatchObject({ shape: 'machine', clientId: apiServer.clientId });
    });

    test('client_id and client_secret in the form → token for that client', async () => {
      const reply = await tokenRequest(cognito.tokenUrl, {
        form: { grant_type: 'client_credentials', client_id: analytics.clientId, client_secret: analytics.clientSecret },
      });
      expect(reply.status).toBe(200);
      const claims = await verifier.verify(reply.body.access_token);
      expect(claims).toMatchObject({ sub: analytics.clientId, client_id: analytics.clientId, scope: 'system/Observation.rs' });
      expect(claims).not.toHaveProperty('username');
    });

    test('scope=system/Observation.rs narrows the token to that scope', async () => {
      const reply = await tokenRequest(cognito.tokenUrl, {
        basic: [apiServer.clientId, apiServer.clientSecret],
        form: { grant_type: 'client_credentials', scope: 'system/Observation.rs' },
      });
      expect(reply.status).toBe(200);
      expect((await verifier.verify(reply.body.access_token)).scope).toBe('system/Observation.rs');
    });

    test('scope with both allowed scopes (and a repeat) → both, once each', async () => {
      const scope = 'system/Observation.rs system/Patient.rs system/Observation.rs';
      const reply = await tokenRequest(cognito.tokenUrl, { basic: [apiServer.clientId, apiServer.clientSecret], form: { grant_type: 'client_credentials', scope } });
      expect((await verifier.verify(reply.body.access_token)).scope).toBe('system/Observation.rs system/Patient.rs');
    });

    test('Basic credentials are form-urlencoded before base64 (RFC 6749 §2.3.1): %-escapes are decoded', async () => {
      const secret = apiServer.clientSecret;
      const escaped = `%${secret.charCodeAt(0).toString(16)}${secret.slice(1)}`;
      const header = `Basic ${Buffer.from(`${apiServer.clientId}:${escaped}`).toString('base64')}`;
      const reply = await tokenRequest(cognito.tokenUrl, { headers: { authorization: header }, form: { grant_type: 'client_credentials' } });
      expect(reply.status).toBe(200);
    });

    test('Basic plus a matching client_id in the form (RFC 6749 §3.2.1) → 200', async () => {
      const reply = await tokenRequest(cognito.tokenUrl, {
        basic: [apiServer.clientId, apiServer.clientSecret],
        form: { grant_type: 'client_credentials', client_id: apiServer.clientId },
      });
      expect(reply.status).toBe(200);
    });

    test('a machine client created later through the SDK can get tokens at once (clients are read from cognito-local)', async () => {
      const created = await sdk.send(
        new CreateUserPoolClientCommand({
          UserPoolId: cognito.userPoolId,
          ClientName: 'late',
          GenerateSecret: true,
          AllowedOAuthFlows: ['client_credentials'],
          AllowedOAuthScopes: ['system/Patient.rs'],
        }),
      );
      const { ClientId, ClientSecret } = created.UserPoolClient!;
      const reply = await tokenRequest(cognito.tokenUrl, { basic: [ClientId!, ClientSecret!], form: { grant_type: 'client_credentials' } });
      expect(reply.status).toBe(200);
      expect(decomposeUnverifiedJwt(reply.body.access_token).payload).toMatchObject({ sub: ClientId, scope: 'system/Patient.rs' });
    });
  });

  describe('client_credentials errors (RFC 6749 §5.2): JSON {error, error_description}, no-store', () => {
    type Case = {
      name: string;
      request: () => Parameters<typeof tokenRequest>[1];
      path?: string;
      status: number;
      error: string;
      challenge?: boolean;
    };
    const cc = { grant_type: 'client_credentials' };
    const cases: Case[] = [
      // Authorization: Basic api-server:wrong
      { name: 'wrong secret via Basic', request: () => ({ basic: [apiServer.clientId, 'wrong'], form: cc }), status: 401, error: 'invalid_client', challenge: true },
      // client_id=api-server&client_secret=wrong
      { name: 'wrong secret via form', request: () => ({ form: { ...cc, client_id: apiServer.clientId, client_secret: 'wrong' } }), status: 400, error: 'invalid_client' },
      // Authorization: Basic nosuchclient:secret
      { name: 'unknown client via Basic', request: () => ({ basic: ['nosuchclient', 'secret'], form: cc }), status: 401, error: 'invalid_client', challenge: true },
      // client_id=nosuchclient&client_secret=secret
      { name: 'unknown client via form', request: () => ({ form: { ...cc, client_id: 'nosuchclient', client_secret: 'secret' } }), status: 400, error: 'invalid_client' },
      // Authorization: Basic ../etc:x (not a Cognito client id shape)
      { name: 'client id of the wrong shape', request: () => ({ basic: ['../etc', 'x'], form: cc }), status: 401, error: 'invalid_client', challenge: true },
      // Authorization: Basic web: (the public web client has no secret)
      { name: 'public web client', request: () => ({ basic: [cognito.webClientId, ''], form: cc }), status: 401, error: 'invalid_client', challenge: true },
      // grant_type=client_credentials, no authentication at all
      { name: 'no client authentication', request: () => ({ form: cc }), status: 400, error: 'invalid_client' },
      // client_id only (a public client's identification, not authentication)
      { name: 'client_id without client_secret', request: () => ({ form: { ...cc, client_id: apiServer.clientId } }), status: 400, error: 'invalid_client' },
      // Authorization: Bearer …
      { name: 'Authorization scheme other than Basic', request: () => ({ headers: { authorization: 'Bearer abc' }, form: cc }), status: 401, error: 'invalid_client', challenge: true },
      // Authorization: Basic !!!
      { name: 'malformed Basic credentials', request: () => ({ headers: { authorization: 'Basic !!!' }, form: cc }), status: 401, error: 'invalid_client', challenge: true },
      // grant_type=password
      { name: 'grant_type=password', request: () => ({ basic: [apiServer.clientId, apiServer.clientSecret], form: { grant_type: 'password' } }), status: 400, error: 'unsupported_grant_type' },
      // grant_type=authorization_code from a client_credentials client (managed login serves only code-flow clients)
      { name: 'grant_type=authorization_code', request: () => ({ basic: [apiServer.clientId, apiServer.clientSecret], form: { grant_type: 'authorization_code' } }), status: 400, error: 'unauthorized_client' },
      // scope=system/Encounter.rs (not allowed for api-server)
      { name: 'scope outside the client allowance', request: () => ({ basic: [apiServer.clientId, apiServer.clientSecret], form: { ...cc, scope: 'system/Encounter.rs' } }), status: 400, error: 'invalid_scope' },
      // scope=system/Observation.rs system/Patient.rs for analytics (only Observation allowed)
      { name: 'scope partly outside the allowance', request: () => ({ basic: [analytics.clientId, analytics.clientSecret], form: { ...cc, scope: 'system/Observation.rs system/Patient.rs' } }), status: 400, error: 'invalid_scope' },
      // no grant_type
      { name: 'missing grant_type', request: () => ({ basic: [apiServer.clientId, apiServer.clientSecret], form: {} }), status: 400, error: 'invalid_request' },
      // Basic AND client_id/client_secret in the body (RFC 6749 §2.3: one method per request)
      {
        name: 'both Basic and form credentials',
        request: () => ({ basic: [apiServer.clientId, apiServer.clientSecret], form: { ...cc, client_id: apiServer.clientId, client_secret: apiServer.clientSecret } }),
        status: 400,
        error: 'invalid_request',
      },
      // Basic for api-server, client_id=analytics in the body
      { name: 'Basic and a different form client_id', request: () => ({ basic: [apiServer.clientId, apiServer.clientSecret], form: { ...cc, client_id: analytics.clientId } }), status: 400, error: 'invalid_request' },
      // grant_type=client_credentials&grant_type=client_credentials (RFC 6749 §3.2)
      { name: 'repeated parameter', request: () => ({ basic: [apiServer.clientId, apiServer.clientSecret], raw: 'grant_type=client_credentials&grant_type=client_credentials' }), status: 400, error: 'invalid_request' },
      // Content-Type: application/json
      {
        name: 'JSON body',
        request: () => ({ basic: [apiServer.clientId, apiServer.clientSecret], headers: { 'content-type': 'application/json' }, raw: JSON.stringify(cc) }),
        status: 400,
        error: 'invalid_request',
      },
      // GET /oauth2/token
      { name: 'GET', request: () => ({ method: 'GET' }), status: 405, error: 'invalid_request' },
      // POST /oauth2/userInfo on the token endpoint's port
      { name: 'unknown path', request: () => ({ form: cc }), path: '/oauth2/userInfo', status: 404, error: 'not_found' },
      // 70 KiB body
      { name: 'body over 64 KiB', request: () => ({ raw: `grant_type=client_credentials&pad=${'a'.repeat(70 * 1024)}` }), status: 413, error: 'invalid_request' },
    ];

    test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      const url = c.path ? new URL(c.path, cognito.tokenUrl).toString() : cognito.tokenUrl;
      const reply = await tokenRequest(url, c.request());
      expect(reply.status).toBe(c.status);
      expect(reply.body).toEqual({ error: c.error, error_description: expect.any(String) });
      expect(reply.headers.get('cache-control')).toBe('no-store');
      expect(reply.headers.get('pragma')).toBe('no-cache');
      if (c.challenge) expect(reply.headers.get('www-authenticate')).toMatch(/^Basic /);
      else expect(reply.headers.get('www-authenticate')).toBeNull();
      if (c.status === 405) expect(reply.headers.get('allow')).toBe('POST');
    });

    test('a client with a secret but without the client_credentials flow → unauthorized_client', async () => {
      const created = await sdk.send(new CreateUserPoolClientCommand({ UserPoolId: cognito.userPoolId, ClientName: 'no-cc', GenerateSecret: true }));
      const { ClientId, ClientSecret } = created.UserPoolClient!;
      const reply = await tokenRequest(cognito.tokenUrl, { basic: [ClientId!, ClientSecret!], form: { grant_type: 'client_credentials' } });
      expect(reply.status).toBe(400);
      expect(reply.body.error).toBe('unauthorized_client');
    });
  });

  describe('user lifecycle, as Amazon Cognito answers it (user-lifecycle.cjs)', () => {
    const pool = () => ({ UserPoolId: cognito.userPoolId, Username: 'doc' });
    const signIn = (flow: 'USER_PASSWORD_AUTH' | 'REFRESH_TOKEN_AUTH', params: Record<string, string>) =>
      sdk.send(new InitiateAuthCommand({ AuthFlow: flow, ClientId: cognito.webClientId, AuthParameters: params }));
    const password = { USERNAME: 'doc', PASSWORD: 'Doc-pass-1!x' };
    afterEach(() => sdk.send(new AdminEnableUserCommand(pool())));

    test('a disabled user cannot sign in, nor refresh a session begun before: NotAuthorizedException "User is disabled."', async () => {
      const before = await signIn('USER_PASSWORD_AUTH', password);
      const refreshToken = before.AuthenticationResult!.RefreshToken!;
      await sdk.send(new AdminDisableUserCommand(pool()));
      const refused = { name: 'NotAuthorizedException', message: 'User is disabled.' };
      await expect(signIn('USER_PASSWORD_AUTH', password)).rejects.toMatchObject(refused);
      await expect(signIn('REFRESH_TOKEN_AUTH', { REFRESH_TOKEN: refreshToken })).rejects.toMatchObject(refused);
      await expect(sdk.send(new AdminInitiateAuthCommand({ ...pool(), AuthFlow: 'ADMIN_USER_PASSWORD_AUTH', ClientId: cognito.webClientId, AuthParameters: password }))).rejects.toMatchObject(refused);
      // Enabled again: signs in (and the session from before works again: disabling alone does not sign out).
      await sdk.send(new AdminEnableUserCommand(pool()));
      expect((await signIn('USER_PASSWORD_AUTH', password)).AuthenticationResult?.AccessToken).toEqual(expect.any(String));
      expect((await signIn('REFRESH_TOKEN_AUTH', { REFRESH_TOKEN: refreshToken })).AuthenticationResult?.AccessToken).toEqual(expect.any(String));
    });

    test('AdminUserGlobalSignOut: every refresh token of the user dies; a new sign-in works', async () => {
      const first = (await signIn('USER_PASSWORD_AUTH', password)).AuthenticationResult!.RefreshToken!;
      const second = (await signIn('USER_PASSWORD_AUTH', password)).AuthenticationResult!.RefreshToken!;
      await sdk.send(new AdminUserGlobalSignOutCommand(pool()));
      for (const token of [first, second]) await expect(signIn('REFRESH_TOKEN_AUTH', { REFRESH_TOKEN: token })).rejects.toMatchObject({ name: 'NotAuthorizedException' });
      expect((await signIn('USER_PASSWORD_AUTH', password)).AuthenticationResult?.RefreshToken).toEqual(expect.any(String));
      await expect(sdk.send(new AdminUserGlobalSignOutCommand({ UserPoolId: cognito.userPoolId, Username: 'nobody' }))).rejects.toMatchObject({ name: 'UserNotFoundException' });
    });
  });
});

describe('token endpoint on its own: failures close', () => {
  test('a client lookup that fails → 500 server_error, never a token', async () => {
    const errors: unknown[] = [];
    const endpoint = await startTokenEndpoint({
      issuer: 'http://127.0.0.1:1/local_x',
      signer: cognitoLocalSigner(),
      clients: { find: () => Promise.reject(new Error('cognito-local is down')) },
      onError: (err) => errors.push(err),
    });
    try {
      const reply = await tokenRequest(endpoint.url, { basic: ['client1', 'secret'], form: { grant_type: 'client_credentials' } });
      expect(reply.status).toBe(500);
      expect(reply.body).toEqual({ error: 'server_error', error_description: expect.any(String) });
      expect(errors).toHaveLength(1);
    } finally {
      await endpoint.close();
    }
  });

  test('the injected clock sets iat/auth_time, and the client lifetime sets exp and expires_in', async () => {
    const endpoint = await startTokenEndpoint({
      issuer: 'http://127.0.0.1:1/local_x',
      signer: cognitoLocalSigner(),
      clients: { find: async (id) => ({ clientId: id, clientSecret: 's', allowedOAuthFlows: ['client_credentials'], allowedScopes: ['a/b'], accessTokenSeconds: 300 }) },
      now: () => 1_700_000_000_000,
    });
    try {
      const reply = await tokenRequest(endpoint.url, { basic: ['client1', 's'], form: { grant_type: 'client_credentials' } });
      expect(reply.body.expires_in).toBe(300);
      expect(decomposeUnverifiedJwt(reply.body.access_token).payload).toMatchObject({ iat: 1_700_000_000, auth_time: 1_700_000_000, exp: 1_700_000_300 });
    } finally {
      await endpoint.close();
    }
  });
});

describe('lifecycle', () => {
  test('explicit ports are used; close() leaves no process and no listener; a restart in the same dir starts clean', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fhirgate-cognito-'));
    try {
      const [port, tokenPort] = [await freePort(), await freePort()];
      const first = await startLocalCognito({ dir, port, tokenPort, users: USERS.slice(0, 1), machineClients: MACHINES.slice(0, 1) });
      expect(first.endpoint).toBe(`http://127.0.0.1:${port}`);
      expect(first.tokenUrl).toBe(`http://127.0.0.1:${tokenPort}/oauth2/token`);
      expect(isRunning(first.pid)).toBe(true);
      await first.close();
      await first.close(); // idempotent
      expect(() => process.kill(first.pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
      await expect(fetch(`${first.endpoint}/health`)).rejects.toThrow();
      await expect(fetch(first.tokenUrl, { method: 'POST' })).rejects.toThrow();

      // Same directory again: the old pool is gone, not reloaded.
      const second = await startLocalCognito({ dir, users: USERS.slice(0, 1), machineClients: [] });
      try {
        const sdk = new CognitoIdentityProviderClient({ endpoint: second.endpoint, region: second.region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
        const pools = await sdk.send(new ListUserPoolsCommand({ MaxResults: 10 }));
        sdk.destroy();
        expect(pools.UserPools?.map((p) => p.Id)).toEqual([second.userPoolId]);
        expect(second.userPoolId).not.toBe(first.userPoolId);
      } finally {
        await second.close();
      }
      expect(isRunning(second.pid)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a port already in use → startup fails with the reason', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    const dir = mkdtempSync(join(tmpdir(), 'fhirgate-cognito-'));
    try {
      await expect(startLocalCognito({ dir, port, users: [], machineClients: [] })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
