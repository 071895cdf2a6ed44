/**
 * The Lambda entry wires the environment to the handler through `wire.ts`: the same variables the
 * CDK stack sets, a real JWKS and dynalite behind them. The entry builds no emulator allowance:
 * it fetches JWKS over HTTPS only, so the positive case serves its JWKS over TLS with a throwaway
 * certificate the test trusts, and the same issuer over plain HTTP on loopback is refused.
 */
import { globalAgent } from 'node:https';
import type { APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { configFromEnv, ENV } from '../../functions/adapters/authz-config';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { startTestIssuer, TestIssuer } from '../support/jwt-issuer';
import { selfSignedCertificate } from '../support/tls';

let issuer: TestIssuer;
let tlsIssuer: TestIssuer;
let dynamo: TestDynamo;
const certificate = selfSignedCertificate();
const savedCa = globalAgent.options.ca;

beforeAll(async () => {
  issuer = await startTestIssuer();
  tlsIssuer = await startTestIssuer('/local_pool', { tls: certificate });
  // aws-jwt-verify's HTTPS fetcher uses the global agent: trust the test certificate (only) here.
  globalAgent.options.ca = certificate.cert;
  dynamo = await startDynalite();
  await dynamo.putLink({ sub: 'u-alice', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] });
});
afterAll(async () => {
  // Delete rather than assign undefined: the agent's options override each request's own `ca`.
  if (savedCa === undefined) delete globalAgent.options.ca;
  else globalAgent.options.ca = savedCa;
  await issuer.close();
  await tlsIssuer.close();
  await dynamo.close();
});

function env(from: TestIssuer = issuer): Record<string, string> {
  return {
    [ENV.issuers]: JSON.stringify([{ kind: 'cognito-compatible', issuer: from.issuer, jwksUri: from.jwksUri }]),
    [ENV.userClientIds]: 'web',
    [ENV.machineClientIds]: 'api-server',
    [ENV.linksTable]: dynamo.tableName,
    [ENV.dynamoEndpoint]: dynamo.endpoint,
    [ENV.settings]: JSON.stringify(DEFAULT_SETTINGS),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  };
}

type Handler = (e: APIGatewayTokenAuthorizerEvent) => Promise<{ context?: unknown }>;

/**
 * Load `functions/authorizer/index.ts` afresh with this environment (as a cold start would) and
 * run `use` with it; the environment stays set meanwhile (the AWS SDK reads it lazily).
 */
async function coldStart(variables: Record<string, string>, use: (handler: Handler) => Promise<void>): Promise<void> {
  const saved = { ...process.env };
  process.env = { ...saved, ...variables };
  try {
    let handler!: Handler;
    jest.isolateModules(() => {
      handler = require('../../functions/authorizer/index').handler;
    });
    await use(handler);
  } finally {
    process.env = saved;
  }
}

const event = (token: string): APIGatewayTokenAuthorizerEvent => ({
  type: 'TOKEN',
  authorizationToken: `Bearer ${token}`,
  methodArn: 'arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/fhir/Patient',
});

test('the Lambda handler built from the environment allows a linked user (JWKS over HTTPS)', async () => {
  await coldStart(env(tlsIssuer), async (handler) => {
    const result = await handler(event(tlsIssuer.token({ sub: 'u-alice', username: 'u-alice', client_id: 'web' })));
    expect(result.context).toMatchObject({ kind: 'patient', patients: 'pat-alice' });
  });
});

test('the Lambda handler never fetches a JWKS over plain HTTP, not even on loopback (emulator allowances are passed in, never built in)', async () => {
  await coldStart(env(issuer), async (handler) => {
    await expect(handler(event(issuer.token({ sub: 'u-alice', username: 'u-alice', client_id: 'web' })))).rejects.toThrow('Unauthorized');
  });
  expect(issuer.fetches).toBe(0);
});

test('a missing FHIRGATE_SETTINGS stops the cold start (no silent fall-back to defaults)', async () => {
  const { [ENV.settings]: _omitted, ...rest } = env();
  await expect(coldStart(rest, async () => undefined)).rejects.toThrow(`${ENV.settings} is required`);
});

describe('configFromEnv refuses a bad environment (the function must not start half-configured)', () => {
  test.each([
    ['no issuers', { [ENV.issuers]: '' }, /FHIRGATE_TRUSTED_ISSUERS is required/],
    ['issuers not an array', { [ENV.issuers]: '{}' }, /FHIRGATE_TRUSTED_ISSUERS at \(root\): expected Array/],
    ['no issuer listed', { [ENV.issuers]: '[]' }, /at least one trusted issuer/],
    ['unknown issuer kind', { [ENV.issuers]: '[{"kind":"oidc","issuer":"x"}]' }, /FHIRGATE_TRUSTED_ISSUERS at \[0\]\.kind: is not a trusted issuer/],
    ['no table', { [ENV.linksTable]: '' }, /FHIRGATE_LINKS_TABLE is required/],
    ['ttl out of range', { [ENV.linkCacheTtlSeconds]: '-1' }, /0\.\.3600/],
    ['invalid settings', { [ENV.settings]: '{"roles":{}}' }, /invalid fhirgate settings at roles.patient: is required/],
    ['no settings', { [ENV.settings]: '' }, /FHIRGATE_SETTINGS is required/],
  ])('%s', (_name, override, message) => {
    expect(() => configFromEnv({ ...env(), ...override })).toThrow(message);
  });
  test('defaults: 60 s link cache', () => {
    const c = configFromEnv(env());
    expect(c.linkCacheTtlSeconds).toBe(60);
    expect(c.clients).toEqual({ userClientIds: ['web'], machineClientIds: ['api-server'] });
  });
});
