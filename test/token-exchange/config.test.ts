/**
 * The token service's environment: the authorizer's shared variables plus its own.
 */
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { ENV } from '../../functions/adapters/authz-config';
import { EXCHANGE_ENV, subjectIssuers, tokenServiceConfigFromEnv } from '../../functions/token-exchange/config';

const EXCHANGE_ISSUER = 'https://api.example.test/prod/auth';
const FHIR = 'https://api.example.test/prod/fhir';
const issuers = [
  { kind: 'cognito', userPoolId: 'us-east-1_abc' },
  { kind: 'fhirgate-exchange', issuer: EXCHANGE_ISSUER, jwksUri: `${EXCHANGE_ISSUER}/jwks.json`, audience: FHIR },
];
const env = (over: Record<string, string | undefined> = {}) => ({
  [ENV.issuers]: JSON.stringify(issuers),
  [ENV.userClientIds]: 'web',
  [ENV.machineClientIds]: 'api-server',
  [ENV.linksTable]: 'links',
  [ENV.settings]: JSON.stringify(DEFAULT_SETTINGS),
  [EXCHANGE_ENV.issuer]: EXCHANGE_ISSUER,
  [EXCHANGE_ENV.audience]: FHIR,
  [EXCHANGE_ENV.signingKeyId]: 'alias/fhirgate-token-exchange',
  ...over,
});

test('defaults: fhirgate/delegate, patient/*.rs, 300 s; the exchange issuer is not trusted for subject or actor tokens', () => {
  const c = tokenServiceConfigFromEnv(env());
  expect(c.policy).toEqual({ issuer: EXCHANGE_ISSUER, audience: FHIR, delegationScope: 'fhirgate/delegate', delegableScopes: ['patient/*.rs'], lifetimeSeconds: 300 });
  expect(c.authz.issuers).toEqual([{ kind: 'cognito', userPoolId: 'us-east-1_abc' }]);
  expect(c.signingKeyId).toBe('alias/fhirgate-token-exchange');
  expect(c.retiringKeyIds).toEqual([]);
});

test('every exchange setting can be set', () => {
  const c = tokenServiceConfigFromEnv(
    env({
      [EXCHANGE_ENV.delegationScope]: 'api/act-for-user',
      [EXCHANGE_ENV.delegableScopes]: 'patient/Observation.rs  patient/Condition.r',
      [EXCHANGE_ENV.lifetimeSeconds]: '120',
      [EXCHANGE_ENV.retiringKeyIds]: 'arn:aws:kms:us-east-1:123456789012:key/old-1, arn:aws:kms:us-east-1:123456789012:key/old-2',
    }),
  );
  expect(c.policy).toMatchObject({ delegationScope: 'api/act-for-user', delegableScopes: ['patient/Observation.rs', 'patient/Condition.r'], lifetimeSeconds: 120 });
  expect(c.retiringKeyIds).toHaveLength(2);
});

test.each([
  ['no exchange issuer', { [EXCHANGE_ENV.issuer]: undefined }, /FHIRGATE_EXCHANGE_ISSUER is required/],
  ['no FHIR base URL', { [EXCHANGE_ENV.audience]: undefined }, /FHIRGATE_FHIR_BASE_URL is required/],
  ['no signing key', { [EXCHANGE_ENV.signingKeyId]: undefined }, /FHIRGATE_SIGNING_KEY_ID is required/],
  ['plain http issuer off loopback', { [EXCHANGE_ENV.issuer]: 'http://api.example.test/auth' }, /must be https/],
  ['relative FHIR base', { [EXCHANGE_ENV.audience]: '/fhir' }, /absolute URL/],
  ['lifetime above 300', { [EXCHANGE_ENV.lifetimeSeconds]: '301' }, /1\.\.300/],
  ['lifetime 0', { [EXCHANGE_ENV.lifetimeSeconds]: '0' }, /1\.\.300/],
  ['user/ delegable', { [EXCHANGE_ENV.delegableScopes]: 'user/*.rs' }, /patient\/ resource scopes/],
  ['system/ delegable', { [EXCHANGE_ENV.delegableScopes]: 'system/*.rs' }, /patient\/ resource scopes/],
  ['delegation scope with a space', { [EXCHANGE_ENV.delegationScope]: 'a b' }, /scope-token/],
  ['only the exchange issuer trusted', { [ENV.issuers]: JSON.stringify([issuers[1]]) }, /at least one Cognito issuer/],
])('refuses %s', (_name, over, message) => {
  expect(() => tokenServiceConfigFromEnv(env(over))).toThrow(message);
});

test('loopback http is allowed (local stack)', () => {
  expect(tokenServiceConfigFromEnv(env({ [EXCHANGE_ENV.issuer]: 'http://127.0.0.1:4000/auth' })).policy.issuer).toBe('http://127.0.0.1:4000/auth');
});

test('subjectIssuers also drops a Cognito-kind entry that claims the exchange issuer URL', () => {
  expect(
    subjectIssuers(
      [
        { kind: 'cognito-compatible', issuer: EXCHANGE_ISSUER, jwksUri: 'x' },
        { kind: 'cognito-compatible', issuer: 'http://127.0.0.1:9/pool', jwksUri: 'y' },
      ],
      EXCHANGE_ISSUER,
    ),
  ).toEqual([{ kind: 'cognito-compatible', issuer: 'http://127.0.0.1:9/pool', jwksUri: 'y' }]);
});
