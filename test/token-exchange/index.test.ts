/**
 * The Lambda entry wires the environment to the handler: Cognito-shaped tokens from a JWKS over
 * HTTPS (a throwaway certificate this file trusts: the entry fetches over HTTPS only), dynalite,
 * and a KMS client replaced at the SDK boundary by the in-process fake.
 */
import { createServer, IncomingHttpHeaders } from 'node:http';
import { globalAgent } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as kmsSdk from '@aws-sdk/client-kms';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { ENV } from '../../functions/adapters/authz-config';
import { GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN } from '../../functions/core/token-exchange';
import { APP_LAUNCH_ENV } from '../../functions/token-exchange/app-launch-config';
import { putApp } from '../../functions/token-exchange/app-registry';
import { createAppTables } from '../../functions/token-exchange/app-tables';
import { EXCHANGE_ENV } from '../../functions/token-exchange/config';
import type { ProxyHandler } from '../../functions/token-exchange/handler';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { startTestIssuer, TestIssuer } from '../support/jwt-issuer';
import { selfSignedCertificate } from '../support/tls';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { createFakeKms, FakeKms } from './fake-kms';
import { pkcePair } from '../support/app-launch-client';
import { bodyOf, decodeJwt, form, proxyEvent } from './support';

let cognito: TestIssuer;
let dynamo: TestDynamo;
const certificate = selfSignedCertificate();
const savedCa = globalAgent.options.ca;

beforeAll(async () => {
  cognito = await startTestIssuer('/local_pool', { tls: certificate });
  // aws-jwt-verify's HTTPS fetcher uses the global agent: trust the test certificate (only) here.
  globalAgent.options.ca = certificate.cert;
  dynamo = await startDynalite();
  await dynamo.putLink({ sub: 'u-alice', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] });
});
afterAll(async () => {
  // Delete rather than assign undefined: the agent's options override each request's own `ca`.
  if (savedCa === undefined) delete globalAgent.options.ca;
  else globalAgent.options.ca = savedCa;
  await cognito.close();
  await dynamo.close();
});

// The SDK clients read region and credentials lazily, at the first call: keep the environment until the test ends.
let saved: NodeJS.ProcessEnv | undefined;
beforeEach(() => {
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true); // the JSON log lines
});
afterEach(() => {
  jest.restoreAllMocks();
  if (saved) process.env = saved;
  saved = undefined;
});

/** Load index.ts fresh with this environment and this fake behind `new KMSClient()`. */
function loadHandler(kms: FakeKms, extraEnv: Record<string, string> = {}): ProxyHandler {
  saved = { ...process.env };
  Object.assign(process.env, {
    [ENV.issuers]: JSON.stringify([
      { kind: 'cognito-compatible', issuer: cognito.issuer, jwksUri: cognito.jwksUri },
      { kind: 'fhirgate-exchange', issuer: 'http://127.0.0.1:1/auth', jwksUri: 'http://127.0.0.1:1/auth/jwks.json', audience: 'https://api.example.test/fhir' },
    ]),
    [ENV.userClientIds]: 'web',
    [ENV.machineClientIds]: 'api-server',
    [ENV.linksTable]: dynamo.tableName,
    [ENV.dynamoEndpoint]: dynamo.endpoint,
    [ENV.settings]: JSON.stringify(DEFAULT_SETTINGS),
    [EXCHANGE_ENV.issuer]: 'http://127.0.0.1:1/auth',
    [EXCHANGE_ENV.audience]: 'https://api.example.test/fhir',
    [EXCHANGE_ENV.signingKeyId]: kms.alias,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    ...extraEnv,
  });
  try {
    let handler!: ProxyHandler;
    jest.isolateModules(() => {
      // The same SDK module instance the fake knows (so `instanceof SignCommand` holds), with KMSClient swapped.
      jest.doMock('@aws-sdk/client-kms', () => ({
        ...kmsSdk,
        KMSClient: class {
          send = (command: never) => kms.send(command);
        },
      }));
      handler = require('../../functions/token-exchange/index').handler;
    });
    return handler;
  } finally {
    jest.dontMock('@aws-sdk/client-kms');
  }
}

const exchangeBody = () =>
  form([
    ['grant_type', GRANT_TYPE_TOKEN_EXCHANGE],
    ['subject_token', cognito.token({ sub: 'u-alice', username: 'u-alice', client_id: 'web' })],
    ['subject_token_type', TOKEN_TYPE_ACCESS_TOKEN],
    ['actor_token', cognito.token({ sub: 'api-server', client_id: 'api-server', scope: 'fhirgate/delegate' })],
    ['actor_token_type', TOKEN_TYPE_ACCESS_TOKEN],
  ]);

test('the Lambda handler built from the environment exchanges with a KMS-signed token and publishes the KMS key', async () => {
  const kms = createFakeKms();
  const handler = loadHandler(kms);
  const r: APIGatewayProxyResult = await handler(proxyEvent({ body: exchangeBody() }));
  expect(r.statusCode).toBe(200);
  const { header, payload } = decodeJwt(bodyOf(r).access_token);
  expect(payload).toMatchObject({ iss: 'http://127.0.0.1:1/auth', sub: 'u-alice', act: { sub: 'api-server' }, patient: 'pat-alice' });
  const jwks = bodyOf(await handler(proxyEvent({ method: 'GET', resource: '/auth/jwks.json', body: null })));
  expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([header.kid]);
});

test('FHIRGATE_CORS_ORIGINS (the stack sets the proxy\'s allow-list): the token endpoint answers that browser origin, and no other', async () => {
  const handler = loadHandler(createFakeKms(), { FHIRGATE_CORS_ORIGINS: 'https://portal.example.test' });
  const fromPage = (origin: string) => handler(proxyEvent({ body: exchangeBody(), headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: origin } }));
  expect((await fromPage('https://portal.example.test')).headers).toMatchObject({ 'access-control-allow-origin': 'https://portal.example.test' });
  expect((await fromPage('https://evil.example.test')).headers).not.toHaveProperty('access-control-allow-origin');
});

test('KMS down at the first request → 503; the next request retries and succeeds', async () => {
  const kms = createFakeKms();
  const handler = loadHandler(kms);
  kms.failing = true;
  const down = await handler(proxyEvent({ body: exchangeBody() }));
  expect(down.statusCode).toBe(503);
  expect(bodyOf(down)).toMatchObject({ error: 'temporarily_unavailable' });
  kms.failing = false;
  expect((await handler(proxyEvent({ body: exchangeBody() }))).statusCode).toBe(200);
});

describe('SMART App Launch with the broker secret in Secrets Manager (as the CDK stack configures it)', () => {
  const APPS = { apps: 'fhirgate-apps', launch: 'fhirgate-launch' };
  const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:fhirgate-broker-AbCdEf';
  const COGNITO_DOMAIN = 'https://fhirgate-123456789012.auth.us-east-1.amazoncognito.com';
  /** The Parameters and Secrets extension, as far as the entry sees it: localhost, the layer's port. */
  let extension: { port: number; seen: IncomingHttpHeaders[]; url: string[]; up: boolean; close(): void };

  beforeAll(async () => {
    await createAppTables(dynamo.client, APPS);
    await putApp(dynamo.client, APPS.apps, { clientId: 'patient-portal', name: 'Portal', status: 'active', redirectUris: ['https://portal.example.test/'], scopes: ['openid', 'fhirUser', 'launch/patient', 'patient/*.rs'] });
    const seen: IncomingHttpHeaders[] = [];
    const url: string[] = [];
    const state = { up: true };
    const server = createServer((req, res) => {
      seen.push(req.headers);
      url.push(req.url!);
      if (!state.up) return void res.writeHead(500).end('{}');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ARN: SECRET_ARN, SecretString: 'broker-secret-value' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    extension = Object.assign(state, { port: (server.address() as AddressInfo).port, seen, url, close: () => server.close() });
  });
  afterAll(() => extension.close());

  const launchEnv = () => ({
    [APP_LAUNCH_ENV.appsTable]: APPS.apps,
    [APP_LAUNCH_ENV.launchTable]: APPS.launch,
    [APP_LAUNCH_ENV.cognitoDomain]: COGNITO_DOMAIN,
    [APP_LAUNCH_ENV.brokerClientId]: 'broker',
    [APP_LAUNCH_ENV.brokerSecretId]: SECRET_ARN,
    // What the ParamsAndSecrets layer sets, and what Lambda sets for every execution environment.
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(extension.port),
    AWS_SESSION_TOKEN: 'session-token-of-this-environment',
  });
  const authorize = (handler: ProxyHandler) =>
    handler(
      proxyEvent({
        method: 'GET',
        resource: '/auth/authorize',
        body: null,
        query: {
          response_type: 'code',
          client_id: 'patient-portal',
          redirect_uri: 'https://portal.example.test/',
          scope: 'openid fhirUser launch/patient patient/*.rs',
          state: 's1',
          aud: 'https://api.example.test/fhir',
          code_challenge: pkcePair().challenge,
          code_challenge_method: 'S256',
        },
      }),
    );

  test('authorize reads the secret through the extension (session token header) and sends the browser to Cognito managed login', async () => {
    const handler = loadHandler(createFakeKms(), launchEnv());
    const r = await authorize(handler);
    expect(r.statusCode).toBe(302);
    const login = new URL(String(r.headers!.Location));
    expect(`${login.origin}${login.pathname}`).toBe(`${COGNITO_DOMAIN}/oauth2/authorize`);
    expect(login.searchParams.get('client_id')).toBe('broker');
    expect(login.searchParams.get('redirect_uri')).toBe('http://127.0.0.1:1/auth/callback');
    expect(extension.url.at(-1)).toBe(`/secretsmanager/get?secretId=${encodeURIComponent(SECRET_ARN)}`);
    expect(extension.seen.at(-1)!['x-aws-parameters-secrets-token']).toBe('session-token-of-this-environment');
    // …and the metadata now advertises the authorization endpoint beside the token endpoint.
    const oidc = bodyOf(await handler(proxyEvent({ method: 'GET', resource: '/auth/.well-known/openid-configuration', body: null })));
    expect(oidc).toMatchObject({ authorization_endpoint: 'http://127.0.0.1:1/auth/authorize', code_challenge_methods_supported: ['S256'] });
  });

  test('the extension failing → temporarily_unavailable back to the app, not a crash; the next request succeeds', async () => {
    const handler = loadHandler(createFakeKms(), launchEnv());
    extension.up = false;
    try {
      const down = await authorize(handler);
      expect(down.statusCode).toBe(302);
      expect(Object.fromEntries(new URL(String(down.headers!.Location)).searchParams)).toEqual({ error: 'temporarily_unavailable', state: 's1' });
    } finally {
      extension.up = true;
    }
    expect(new URL(String((await authorize(handler)).headers!.Location)).origin).toBe(COGNITO_DOMAIN);
  });

  test('the secret value itself is not needed in the environment; half a configuration fails the cold start', () => {
    const { [APP_LAUNCH_ENV.brokerSecretId]: _id, ...half } = launchEnv();
    expect(() => loadHandler(createFakeKms(), half)).toThrow(/FHIRGATE_BROKER_CLIENT_SECRET or FHIRGATE_BROKER_SECRET_ID/);
  });
});
