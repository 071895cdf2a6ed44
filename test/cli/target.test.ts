/**
 * `--stack`: from a CloudFormation stack's outputs (the keys lib/fhirgate-stack.ts defines) to the
 * target the CLI uses — in particular the trust configuration `whoami` gives the authorizer's code.
 */
// The SDK clients are built (never called) in this process; keep its Node 20 notice out of the run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { STACK_OUTPUTS, takesEffectNote, targetFromOutputs, uncheckedPatientsWarning } from '../../bin/cli/target';

const BASE = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod';
const OUTPUTS = {
  UserPoolId: 'eu-west-1_AbCdEf123',
  WebClientId: 'web-client',
  ApiServerClientId: 'api-server-client',
  LinksTableName: 'fhirgate-links-XYZ',
  FhirBaseUrl: `${BASE}/fhir`,
  TokenExchangeUrl: `${BASE}/auth/token`,
  JwksUrl: `${BASE}/auth/jwks.json`,
  HealthLakeDatastoreId: 'ds0123',
};

function target(outputs: Record<string, string>) {
  const t = targetFromOutputs('fhirgate-prod', 'eu-west-1', '123456789012', outputs);
  t.close();
  return t;
}

test('the outputs of lib/fhirgate-stack.ts give the authorizer\'s trust: the pool, the exchange, the clients', () => {
  const t = target(OUTPUTS);
  expect(t).toMatchObject({ kind: 'aws', description: 'stack fhirgate-prod (eu-west-1)', region: 'eu-west-1', account: '123456789012', userPoolId: OUTPUTS.UserPoolId, linksTable: OUTPUTS.LinksTableName });
  expect(t.authorizer.issuers).toEqual([
    { kind: 'cognito', userPoolId: OUTPUTS.UserPoolId },
    // lib/api.ts: issuer `{base}/auth`, audience the FHIR base URL.
    { kind: 'fhirgate-exchange', issuer: `${BASE}/auth`, jwksUri: `${BASE}/auth/jwks.json`, audience: `${BASE}/fhir` },
  ]);
  expect(t.authorizer.clients).toEqual({ userClientIds: ['web-client'], machineClientIds: ['api-server-client'] });
  expect(t.authorizer.settings).toBe(DEFAULT_SETTINGS);
  // No FHIR store unless the operator names one; the warning names the HealthLake URL to pass.
  expect(t.fhirStoreUrl).toBeUndefined();
  expect(uncheckedPatientsWarning(t)).toBe('patient ids were NOT checked against the FHIR store (pass --fhir-url https://healthlake.eu-west-1.amazonaws.com/datastore/ds0123/r4 to check them)');
  expect(takesEffectNote(t)).toBe(
    'This change reaches every request within 360 s (with the default cache settings): the authorizer result cache TTL (300 s by default) + the link cache TTL (60 s by default).',
  );
});

test('optional outputs: more machine clients, the link cache TTL; without the exchange outputs only Cognito is trusted', () => {
  const { TokenExchangeUrl: _t, JwksUrl: _j, ...rest } = OUTPUTS;
  const t = target({ ...rest, [STACK_OUTPUTS.machineClientIds]: 'analytics-client, api-server-client', [STACK_OUTPUTS.linkCacheTtlSeconds]: '30' });
  expect(t.authorizer.issuers).toEqual([{ kind: 'cognito', userPoolId: OUTPUTS.UserPoolId }]);
  expect(t.authorizer.clients.machineClientIds).toEqual(['api-server-client', 'analytics-client']);
  expect(takesEffectNote(t)).toMatch(/^This change reaches every request within 330 s \(with the default cache settings\): .*\(300 s by default\) \+ the link cache TTL \(30 s\)\.$/);
  const both = target({ ...rest, [STACK_OUTPUTS.linkCacheTtlSeconds]: '30', [STACK_OUTPUTS.authorizerCacheTtlSeconds]: '60' });
  expect(takesEffectNote(both)).toBe('This change reaches every request within 90 s: the authorizer result cache TTL (60 s) + the link cache TTL (30 s).');
});

test.each(['UserPoolId', 'WebClientId', 'LinksTableName'])('a stack without %s is not a fhirgate stack', (key) => {
  const outputs: Record<string, string> = { ...OUTPUTS };
  delete outputs[key];
  expect(() => target(outputs)).toThrow(`stack fhirgate-prod has no output ${key}; is it a fhirgate stack?`);
});
