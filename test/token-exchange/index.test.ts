/**
 * The Lambda entry wires the environment to the handler: Cognito-shaped tokens from a JWKS over
 * HTTPS (a throwaway certificate this file trusts: the entry fetches over HTTPS only), dynalite,
 * and a KMS client replaced at the SDK boundary by the in-process fake.
 */
import { globalAgent } from 'node:https';
import * as kmsSdk from '@aws-sdk/client-kms';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { ENV } from '../../functions/adapters/authz-config';
import { GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN } from '../../functions/core/token-exchange';
import { EXCHANGE_ENV } from '../../functions/token-exchange/config';
import type { ProxyHandler } from '../../functions/token-exchange/handler';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { startTestIssuer, TestIssuer } from '../support/jwt-issuer';
import { selfSignedCertificate } from '../support/tls';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { createFakeKms, FakeKms } from './fake-kms';
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
function loadHandler(kms: FakeKms): ProxyHandler {
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
