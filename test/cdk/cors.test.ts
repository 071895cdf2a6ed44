/**
 * CORS on the deployed API with one allowed origin (`-c corsOrigins=https://portal.example.com`):
 * unauthenticated OPTIONS preflight routes to the proxy on every FHIR resource, the allow-list in
 * the proxy's environment, and API Gateway's own errors readable by that one origin. Several
 * origins are in backend-url.test.ts; none (the default) in stack.test.ts. Synthesized once,
 * without bundling.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { ENV } from '../../functions/adapters/authz-config';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { PROXY_ENV } from '../../functions/fhir-proxy/config';
import { EXCHANGE_ENV, tokenServiceConfigFromEnv } from '../../functions/token-exchange/config';
import { acknowledgements, apiMethods, gatewayResponses, nagViolations, Synthesized, synthesize } from './synth';

const PORTAL = 'https://portal.example.com';
const FHIR_RESOURCES = ['/fhir', '/fhir/{proxy+}', '/fhir/.well-known/smart-configuration', '/fhir/metadata'].sort();
let s: Synthesized;
beforeAll(() => {
  s = synthesize({ corsOrigins: PORTAL });
});

/** The variables tokenServiceConfigFromEnv requires, with plain values. */
const tokenServiceEnv = () => ({
  [ENV.issuers]: JSON.stringify([{ kind: 'cognito', userPoolId: 'eu-west-1_x' }]),
  [ENV.linksTable]: 'links',
  [ENV.settings]: JSON.stringify(DEFAULT_SETTINGS),
  [EXCHANGE_ENV.issuer]: 'https://api.example.com/prod/auth',
  [EXCHANGE_ENV.audience]: 'https://api.example.com/prod/fhir',
  [EXCHANGE_ENV.signingKeyId]: 'k',
});
const proxyId = () => s.stack.getLogicalId(s.stack.proxy.function.node.defaultChild as CfnElement);

test('OPTIONS on every FHIR resource, without the authorizer, to the proxy (which answers preflights itself)', () => {
  const options = apiMethods(s.template).filter((m) => m.verb === 'OPTIONS');
  expect(options.map((m) => m.path).sort()).toEqual(FHIR_RESOURCES);
  for (const m of options) {
    expect({ path: m.path, auth: m.auth, authorizer: m.authorizer }).toEqual({ path: m.path, auth: 'NONE', authorizer: undefined });
    expect(m.target).toContain(proxyId());
  }
});

test('every other FHIR method keeps its authorizer; no OPTIONS outside /fhir', () => {
  const table = apiMethods(s.template).filter((m) => m.verb !== 'OPTIONS').map((m) => `${m.verb} ${m.path} ${m.auth}`).sort();
  expect(table).toEqual([
    'ANY /auth/token NONE',
    'ANY /fhir CUSTOM',
    'ANY /fhir/{proxy+} CUSTOM',
    'GET /auth/.well-known/oauth-authorization-server NONE',
    'GET /auth/.well-known/openid-configuration NONE',
    'GET /auth/authorize NONE',
    'GET /auth/callback NONE',
    'GET /auth/jwks.json NONE',
    'GET /fhir/.well-known/smart-configuration NONE',
    'GET /fhir/metadata NONE',
    'POST /auth/picker NONE',
  ]);
});

test('the proxy function gets the allow-list in FHIRGATE_CORS_ORIGINS', () => {
  const env = s.template.toJSON().Resources[proxyId()].Properties.Environment.Variables;
  expect(env[PROXY_ENV.corsOrigins]).toBe(PORTAL);
});

test('…and the token service the same one: a SMART app in the page redeems its code with fetch (ANY /auth/token takes its preflight)', () => {
  const tokenService = s.stack.getLogicalId(s.stack.tokenService.function.node.defaultChild as CfnElement);
  const env = s.template.toJSON().Resources[tokenService].Properties.Environment.Variables;
  expect(env[EXCHANGE_ENV.corsOrigins]).toBe(PORTAL);
  expect(tokenServiceConfigFromEnv({ ...tokenServiceEnv(), [EXCHANGE_ENV.corsOrigins]: env[EXCHANGE_ENV.corsOrigins] }).corsAllowedOrigins).toEqual([PORTAL]);
  // Without CORS origins (the default), the token service answers no browser (stack.test.ts lists its variables).
  expect(apiMethods(s.template).find((m) => m.path === '/auth/token')!.verb).toBe('ANY');
});

test('API Gateway\'s own errors (401, 403, 404, 4XX, 5XX) carry the one origin, never *, no credentials', () => {
  const responses = gatewayResponses(s.template);
  expect(responses.UNAUTHORIZED!.ResponseParameters['gatewayresponse.header.Access-Control-Allow-Origin']).toBe(`'${PORTAL}'`);
  for (const [type, r] of Object.entries(responses)) {
    expect({ type, origin: r.ResponseParameters['gatewayresponse.header.Access-Control-Allow-Origin'], vary: r.ResponseParameters['gatewayresponse.header.Vary'] }).toEqual({
      type,
      origin: `'${PORTAL}'`,
      vary: "'Origin'",
    });
    expect(Object.keys(r.ResponseParameters).filter((h) => /credentials/i.test(h))).toEqual([]);
  }
});

test('cdk-nag: nothing unacknowledged; the OPTIONS acknowledgements are for real findings and say why', () => {
  expect(nagViolations(s.app)).toEqual([]);
  const raw = nagViolations(s.app, { ignoreAcknowledgements: true });
  const acks = acknowledgements(s.app).filter((a) => a.path.endsWith('/OPTIONS'));
  // APIG4 (no authorization) on each; cdk-nag's COG4 (Cognito authorizer) exempts OPTIONS itself.
  expect(acks.map((a) => a.rule)).toEqual(FHIR_RESOURCES.map(() => 'AwsSolutions-APIG4'));
  for (const ack of acks) {
    expect(raw.some((v) => v.rule === ack.rule && v.paths.some((p) => p.startsWith(ack.path)))).toBe(true);
    expect(ack.reason).toMatch(/preflight/);
    expect(ack.reason).toMatch(/fhirgate FHIR proxy/);
  }
});
