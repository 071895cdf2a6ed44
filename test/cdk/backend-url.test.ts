/**
 * The other backend: an existing FHIR R4 base URL (`-c backendUrl=…`) instead of a HealthLake
 * data store. Also the non-default Cognito choices (MFA required, ESSENTIALS plan), no WAF and
 * two CORS origins, so the conditional nag acknowledgements are exercised; and an allow-list of
 * backend (private_key_jwt) clients. Synthesized once, without bundling.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { ENV } from '../../functions/adapters/authz-config';
import { PROXY_ENV } from '../../functions/fhir-proxy/config';
import { apiMethods, gatewayResponses, nagViolations, resourcesOfType, Synthesized, synthesize } from './synth';

const BACKEND = 'https://fhir.example.org/r4';
const ORIGINS = ['https://portal.example.com', 'http://localhost:5173'];
let s: Synthesized;
beforeAll(() => {
  s = synthesize({ backendUrl: `${BACKEND}/`, mfa: 'required', featurePlan: 'essentials', authorizerCacheTtl: '0', linkCacheTtl: '30', stackName: 'FhirgateUrl', waf: 'false', corsOrigins: ORIGINS.join(', '), backendClientIds: 'etl-nightly, analytics.svc' });
});

const proxyEnv = () => s.template.toJSON().Resources[s.stack.getLogicalId(s.stack.proxy.function.node.defaultChild as CfnElement)].Properties.Environment.Variables;

test('no HealthLake data store and no key for one', () => {
  s.template.resourceCountIs('AWS::HealthLake::FHIRDatastore', 0);
  expect(s.stack.backend.key).toBeUndefined();
  expect(Object.keys(s.template.toJSON().Outputs)).not.toContain('HealthLakeDatastoreId');
});

test('the proxy forwards to the URL (trailing slash dropped), unsigned', () => {
  expect(proxyEnv()[PROXY_ENV.backendUrl]).toBe(BACKEND);
  expect(proxyEnv()[PROXY_ENV.sigv4Region]).toBeUndefined();
});

test('no HealthLake permission anywhere; the proxy keeps only logs, X-Ray and its paging key', () => {
  expect(JSON.stringify(s.template.toJSON())).not.toContain('healthlake:');
  const proxyPolicy = s.template.toJSON().Resources[s.stack.getLogicalId(s.stack.proxy.function.policy.node.defaultChild as CfnElement)];
  const actions = proxyPolicy.Properties.PolicyDocument.Statement.flatMap((st: { Action: string | string[] }) => [st.Action].flat()).sort();
  expect(actions).toEqual(['kms:GenerateMac', 'kms:VerifyMac', 'logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
});

test('context overrides reach the resources: MFA required, ESSENTIALS, authorizer cache off, link cache 30 s, no WAF', () => {
  s.template.hasResourceProperties('AWS::Cognito::UserPool', { MfaConfiguration: 'ON', UserPoolTier: 'ESSENTIALS' });
  const pool = resourcesOfType(s.template, 'AWS::Cognito::UserPool')[0]![1];
  expect(pool.UserPoolAddOns).toBeUndefined();
  s.template.hasResourceProperties('AWS::ApiGateway::Authorizer', { AuthorizerResultTtlInSeconds: 0 });
  s.template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  const authorizer = s.template.toJSON().Resources[s.stack.getLogicalId(s.stack.authorizer.function.node.defaultChild as CfnElement)];
  expect(authorizer.Properties.Environment.Variables.FHIRGATE_LINK_CACHE_TTL_SECONDS).toBe('30');
  expect(s.stack.stackName).toBe('FhirgateUrl');
});

test('two CORS origins: the proxy answers preflights for both, but API Gateway\'s own errors carry no CORS header (a static header cannot choose)', () => {
  expect(proxyEnv()[PROXY_ENV.corsOrigins]).toBe(ORIGINS.join(','));
  expect(apiMethods(s.template).filter((m) => m.verb === 'OPTIONS' && m.auth === 'NONE').length).toBe(4);
  for (const r of Object.values(gatewayResponses(s.template))) {
    expect(Object.keys(r.ResponseParameters).filter((h) => /access-control|vary/i.test(h))).toEqual([]);
  }
});

test('-c backendClientIds=…: the allow-list reaches the authorizer and the token service, and no other function', () => {
  const envOf = (fn: { node: { defaultChild?: unknown } }) => s.template.toJSON().Resources[s.stack.getLogicalId(fn.node.defaultChild as CfnElement)].Properties.Environment.Variables;
  expect(envOf(s.stack.authorizer.function)[ENV.backendClientIds]).toBe('etl-nightly,analytics.svc');
  expect(envOf(s.stack.tokenService.function)[ENV.backendClientIds]).toBe('etl-nightly,analytics.svc');
  expect(proxyEnv()[ENV.backendClientIds]).toBeUndefined();
});

test('still clean under both nag packs (the ESSENTIALS plan, missing WAF and OPTIONS preflights are acknowledged, MFA needs none)', () => {
  expect(nagViolations(s.app)).toEqual([]);
});
