/**
 * The token service's App Launch settings from its Lambda environment: off when nothing is set,
 * a start failure (TypeError naming the variable) when half set or malformed, the broker secret as
 * a value or as a Secrets Manager secret id (exactly one), and per-role write scopes only as
 * `patient/` scopes.
 */
import { APP_LAUNCH_ENV as E, appLaunchConfigFromEnv } from '../../functions/token-exchange/app-launch-config';

const FULL = {
  [E.appsTable]: 'apps',
  [E.launchTable]: 'launch',
  [E.cognitoDomain]: 'https://auth.example.com',
  [E.brokerClientId]: 'broker',
  [E.brokerClientSecret]: 'secret',
};
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:broker-AbCdEf';
const { [E.brokerClientSecret]: _value, ...WITHOUT_SECRET } = FULL;

test('nothing set: App Launch is not offered', () => {
  expect(appLaunchConfigFromEnv({})).toBeUndefined();
});

test('all set: read-only for every role by default, 5-minute access tokens', () => {
  const config = appLaunchConfigFromEnv(FULL)!;
  expect(config).toMatchObject({ appsTable: 'apps', launchTable: 'launch', brokerClientId: 'broker', brokerSecret: { value: 'secret' } });
  expect(config.policy.roleScopes).toEqual({ patient: ['patient/*.rs'], guardian: ['patient/*.rs'], practitioner: ['patient/*.rs'] });
  expect(config.policy.accessTokenSeconds).toBe(300);
});

test('the broker secret by Secrets Manager id (the CDK stack): no value in the environment', () => {
  const config = appLaunchConfigFromEnv({ ...WITHOUT_SECRET, [E.brokerSecretId]: SECRET_ARN })!;
  expect(config.brokerSecret).toEqual({ secretId: SECRET_ARN });
});

test('a deployment lets patients create their own Observations', () => {
  const config = appLaunchConfigFromEnv({ ...FULL, [E.roleScopes]: JSON.stringify({ patient: ['patient/*.rs', 'patient/Observation.c'] }) })!;
  expect(config.policy.roleScopes.patient).toEqual(['patient/*.rs', 'patient/Observation.c']);
  expect(config.policy.roleScopes.guardian).toEqual(['patient/*.rs']);
});

test.each([
  ['half a configuration', { [E.appsTable]: 'apps' }, /needs .*FHIRGATE_LAUNCH_TABLE/],
  ['only a secret id', { [E.brokerSecretId]: SECRET_ARN }, /needs FHIRGATE_APPS_TABLE, FHIRGATE_LAUNCH_TABLE, FHIRGATE_COGNITO_DOMAIN, FHIRGATE_BROKER_CLIENT_ID as well/],
  ['everything but the broker secret', WITHOUT_SECRET, /needs FHIRGATE_BROKER_CLIENT_SECRET or FHIRGATE_BROKER_SECRET_ID as well/],
  ['both the secret value and a secret id', { ...FULL, [E.brokerSecretId]: SECRET_ARN }, /FHIRGATE_BROKER_CLIENT_SECRET or FHIRGATE_BROKER_SECRET_ID, not both/],
  ['a domain with a path', { ...FULL, [E.cognitoDomain]: 'https://auth.example.com/login' }, /FHIRGATE_COGNITO_DOMAIN/],
  ['a domain over http', { ...FULL, [E.cognitoDomain]: 'http://auth.example.com' }, /FHIRGATE_COGNITO_DOMAIN/],
  ['a user/ scope for a role', { ...FULL, [E.roleScopes]: JSON.stringify({ practitioner: ['user/*.rs'] }) }, /patient\/ scopes only/],
  ['an unknown role', { ...FULL, [E.roleScopes]: JSON.stringify({ admin: ['patient/*.rs'] }) }, /unknown role admin/],
  ['access tokens over an hour', { ...FULL, [E.accessTokenSeconds]: '7200' }, /FHIRGATE_APP_ACCESS_TOKEN_SECONDS/],
])('%s: the function does not start', (_name, env, message) => {
  expect(() => appLaunchConfigFromEnv(env)).toThrow(message);
});
