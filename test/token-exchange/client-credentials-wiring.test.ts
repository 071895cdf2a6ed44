/**
 * The environment for SMART Backend Services clients, read by the token service and the
 * authorizer, and the Lambda entry wiring it: tables in dynalite, KMS replaced at the SDK
 * boundary by the in-process fake, a client assertion signed with a fresh ES384 key.
 */
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import * as kmsSdk from '@aws-sdk/client-kms';
import { configFromEnv, ENV } from '../../functions/adapters/authz-config';
import { EXCHANGE_ENV, tokenServiceConfigFromEnv } from '../../functions/token-exchange/config';
import { createClientTables, putBackendClient } from '../../functions/token-exchange/client-tables';
import type { ProxyHandler } from '../../functions/token-exchange/handler';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { startTestIssuer, TestIssuer } from '../support/jwt-issuer';
import { assertionClaims, clientCredentialsForm, clientKey, publicJwk, signAssertion } from './backend-support';
import { createFakeKms, FakeKms } from './fake-kms';
import { bodyOf, decodeJwt, proxyEvent } from './support';

const ISSUER = 'https://api.example.test/prod/auth';
const FHIR = 'https://api.example.test/prod/fhir';
const base = (over: Record<string, string | undefined> = {}) => ({
  [ENV.issuers]: JSON.stringify([{ kind: 'cognito', userPoolId: 'us-east-1_abc' }]),
  [ENV.userClientIds]: 'web',
  [ENV.machineClientIds]: 'api-server',
  [ENV.linksTable]: 'links',
  [ENV.settings]: JSON.stringify(DEFAULT_SETTINGS),
  [EXCHANGE_ENV.issuer]: ISSUER,
  [EXCHANGE_ENV.audience]: FHIR,
  [EXCHANGE_ENV.signingKeyId]: 'alias/fhirgate',
  ...over,
});

describe('configuration', () => {
  test('no client tables: the grant is off', () => {
    expect(tokenServiceConfigFromEnv(base()).clientCredentials).toBeUndefined();
  });

  test('both tables: on, with the token URL beside the JWKS by default', () => {
    const c = tokenServiceConfigFromEnv(base({ [EXCHANGE_ENV.clientsTable]: 'clients', [EXCHANGE_ENV.replayTable]: 'replay' }));
    expect(c.clientCredentials).toEqual({ clientsTable: 'clients', replayTable: 'replay', tokenUrl: `${ISSUER}/token` });
  });

  test('the token URL can be set (a custom domain in front of API Gateway)', () => {
    const c = tokenServiceConfigFromEnv(base({ [EXCHANGE_ENV.clientsTable]: 'c', [EXCHANGE_ENV.replayTable]: 'r', [EXCHANGE_ENV.tokenUrl]: 'https://fhir.example.com/auth/token' }));
    expect(c.clientCredentials?.tokenUrl).toBe('https://fhir.example.com/auth/token');
  });

  test.each([
    ['only the clients table', { [EXCHANGE_ENV.clientsTable]: 'c' }, /set together/],
    ['only the replay table', { [EXCHANGE_ENV.replayTable]: 'r' }, /set together/],
    ['a token URL without tables', { [EXCHANGE_ENV.tokenUrl]: 'https://x.example/token' }, /needs/],
    ['a plain-http token URL', { [EXCHANGE_ENV.clientsTable]: 'c', [EXCHANGE_ENV.replayTable]: 'r', [EXCHANGE_ENV.tokenUrl]: 'http://x.example/token' }, /https/],
  ])('refuses %s', (_name, over, message) => {
    expect(() => tokenServiceConfigFromEnv(base(over))).toThrow(message);
  });

  test('FHIRGATE_BACKEND_CLIENT_IDS is read by the authorizer (and so by the token service)', () => {
    expect(configFromEnv(base({ [ENV.backendClientIds]: 'sync-job, vendor' })).clients).toEqual({ userClientIds: ['web'], machineClientIds: ['api-server'], backendClientIds: ['sync-job', 'vendor'] });
    expect(configFromEnv(base()).clients.backendClientIds).toBeUndefined();
  });
});

describe('the Lambda entry', () => {
  let cognito: TestIssuer;
  let dynamo: TestDynamo;
  let saved: NodeJS.ProcessEnv | undefined;
  const key = clientKey('ES384');
  const TABLES = { clients: 'fhirgate-clients', replay: 'fhirgate-client-assertions' };
  const LOCAL_ISSUER = 'http://127.0.0.1:1/auth';

  beforeAll(async () => {
    cognito = await startTestIssuer();
    dynamo = await startDynalite();
    await createClientTables(dynamo.client, TABLES);
    await putBackendClient(dynamo.client, TABLES.clients, { clientId: 'sync-job', status: 'active', keys: { kind: 'jwks', jwks: { keys: [publicJwk(key)] } }, scopes: ['system/*.rs'] });
  });
  afterAll(async () => {
    await cognito.close();
    await dynamo.close();
  });
  beforeEach(() => {
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    if (saved) process.env = saved;
    saved = undefined;
  });

  function loadHandler(kms: FakeKms, over: Record<string, string> = {}): ProxyHandler {
    saved = { ...process.env };
    Object.assign(process.env, {
      [ENV.issuers]: JSON.stringify([{ kind: 'cognito-compatible', issuer: cognito.issuer, jwksUri: cognito.jwksUri }]),
      [ENV.userClientIds]: 'web',
      [ENV.machineClientIds]: 'api-server',
      [ENV.backendClientIds]: 'sync-job',
      [ENV.linksTable]: dynamo.tableName,
      [ENV.dynamoEndpoint]: dynamo.endpoint,
      [ENV.settings]: JSON.stringify(DEFAULT_SETTINGS),
      [EXCHANGE_ENV.issuer]: LOCAL_ISSUER,
      [EXCHANGE_ENV.audience]: FHIR,
      [EXCHANGE_ENV.signingKeyId]: kms.alias,
      [EXCHANGE_ENV.clientsTable]: TABLES.clients,
      [EXCHANGE_ENV.replayTable]: TABLES.replay,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      ...over,
    });
    try {
      let handler!: ProxyHandler;
      jest.isolateModules(() => {
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

  const body = () => clientCredentialsForm(signAssertion(key, assertionClaims('sync-job', `${LOCAL_ISSUER}/token`, Math.floor(Date.now() / 1000))));

  test('a registered client gets a KMS-signed system/ token; its jti cannot be replayed', async () => {
    const handler = loadHandler(createFakeKms());
    const form = body();
    const r = await handler(proxyEvent({ body: form }));
    expect(r.statusCode).toBe(200);
    const { header, payload } = decodeJwt(bodyOf(r).access_token);
    expect(payload).toMatchObject({ iss: LOCAL_ISSUER, sub: 'sync-job', client_id: 'sync-job', aud: FHIR, scope: 'system/*.rs' });
    expect(payload).not.toHaveProperty('act');
    const jwks = bodyOf(await handler(proxyEvent({ method: 'GET', resource: '/auth/jwks.json', body: null })));
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([header.kid]); // one key for both grants
    expect(bodyOf(await handler(proxyEvent({ body: form })))).toMatchObject({ error: 'invalid_client' });
  });

  test('without the tables, client_credentials is not offered', async () => {
    const handler = loadHandler(createFakeKms(), { [EXCHANGE_ENV.clientsTable]: '', [EXCHANGE_ENV.replayTable]: '' });
    expect(bodyOf(await handler(proxyEvent({ body: body() })))).toMatchObject({ error: 'unsupported_grant_type' });
  });
});
