/**
 * The Lambda entry wires the environment to the handler: the same variables the CDK stack and
 * the local stack set, a real JWKS over HTTP and dynalite behind them.
 */
import type { APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { configFromEnv, ENV } from '../../functions/authorizer/config';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { startTestIssuer, TestIssuer } from '../support/jwt-issuer';

let issuer: TestIssuer;
let dynamo: TestDynamo;

beforeAll(async () => {
  issuer = await startTestIssuer();
  dynamo = await startDynalite();
  await dynamo.putLink({ sub: 'u-alice', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] });
});
afterAll(async () => {
  await issuer.close();
  await dynamo.close();
});

function env(): Record<string, string> {
  return {
    [ENV.issuers]: JSON.stringify([{ kind: 'cognito-compatible', issuer: issuer.issuer, jwksUri: issuer.jwksUri }]),
    [ENV.userClientIds]: 'web',
    [ENV.machineClientIds]: 'api-server',
    [ENV.linksTable]: dynamo.tableName,
    [ENV.dynamoEndpoint]: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  };
}

test('the Lambda handler built from the environment allows a linked user', async () => {
  const saved = { ...process.env };
  Object.assign(process.env, env());
  try {
    let handler!: (e: APIGatewayTokenAuthorizerEvent) => Promise<{ context?: unknown }>;
    jest.isolateModules(() => {
      handler = require('../../functions/authorizer/index').handler;
    });
    const token = issuer.token({ sub: 'u-alice', username: 'u-alice', client_id: 'web' });
    const result = await handler({ type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn: 'arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/fhir/Patient' });
    expect(result.context).toMatchObject({ kind: 'patient', patients: 'pat-alice' });
  } finally {
    process.env = saved;
  }
});

describe('configFromEnv refuses a bad environment (the function must not start half-configured)', () => {
  test.each([
    ['no issuers', { [ENV.issuers]: '' }, /FHIRGATE_TRUSTED_ISSUERS is required/],
    ['issuers not an array', { [ENV.issuers]: '{}' }, /non-empty JSON array/],
    ['unknown issuer kind', { [ENV.issuers]: '[{"kind":"oidc","issuer":"x"}]' }, /not a trusted issuer/],
    ['no table', { [ENV.linksTable]: '' }, /FHIRGATE_LINKS_TABLE is required/],
    ['ttl out of range', { [ENV.linkCacheTtlSeconds]: '-1' }, /0\.\.3600/],
    ['invalid settings', { [ENV.settings]: '{"roles":{}}' }, /invalid fhirgate settings/],
  ])('%s', (_name, override, message) => {
    expect(() => configFromEnv({ ...env(), ...override })).toThrow(message);
  });
  test('defaults: 60 s link cache, default settings', () => {
    const c = configFromEnv(env());
    expect(c.linkCacheTtlSeconds).toBe(60);
    expect(c.clients).toEqual({ userClientIds: ['web'], machineClientIds: ['api-server'] });
  });
});
