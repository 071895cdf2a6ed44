/**
 * CORS on the token service: a SMART app in a browser redeems its code and refreshes with `fetch`
 * from its own origin (fhirclient: POST, `content-type: application/x-www-form-urlencoded`,
 * `accept: application/json`), and oauth4webapi reads the metadata the same way. API Gateway adds
 * nothing to a Lambda proxy answer, so the token service answers CORS itself, with the proxy's
 * allow-list (FHIRGATE_CORS_ORIGINS): the token endpoint, the JWKS and the metadata, refusals
 * included; never the sign-in routes (navigations). An origin not on the list gets no CORS header.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import type { TokenVerifier } from '../../functions/adapters/verifier';
import { EXCHANGE_ENV, tokenServiceConfigFromEnv } from '../../functions/token-exchange/config';
import { createTokenServiceHandler, ProxyHandler, TOKEN_SERVICE_ROUTES } from '../../functions/token-exchange/handler';
import { createLocalSigner } from '../../functions/token-exchange/local-signer';
import { recordTokenRequest } from '../../functions/token-exchange/metrics';
import { ENV } from '../../functions/adapters/authz-config';
import { form, proxyEvent } from './support';

const PORTAL = 'https://portal.example.test';
const ISSUER = 'https://api.example.test/prod/auth';

function service(allowedOrigins: readonly string[] | undefined): ProxyHandler {
  const verifier: TokenVerifier = { verify: async () => ({}), verifyToken: async () => ({ claims: {}, issuer: { kind: 'cognito', userPoolId: 'eu-west-1_x' } }), hydrate: async () => undefined };
  return createTokenServiceHandler({
    verifier,
    links: { get: async () => undefined },
    clients: { userClientIds: ['web'], machineClientIds: ['api-server'] },
    settings: DEFAULT_SETTINGS,
    policy: { issuer: ISSUER, audience: 'https://api.example.test/prod/fhir', delegationScope: 'fhirgate/delegate', delegableScopes: ['patient/*.rs'], lifetimeSeconds: 300 },
    signer: createLocalSigner(),
    log: () => undefined,
    ...(allowedOrigins ? { cors: { allowedOrigins } } : {}),
  });
}

/** A browser's request from `origin`, as fhirclient sends its code redemption. */
const fromPage = (origin: string, over: Parameters<typeof proxyEvent>[0] = {}) =>
  proxyEvent({ headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', Origin: origin }, body: form([['grant_type', 'authorization_code'], ['code', 'x']]), ...over });
const acao = (r: APIGatewayProxyResult) => r.headers?.['access-control-allow-origin'];

test('the token endpoint answers an allowed origin with CORS headers — its refusals too (the app must read the OAuth error)', async () => {
  const r = await service([PORTAL])(fromPage(PORTAL));
  expect(r.statusCode).toBe(400); // no App Launch here: unsupported_grant_type, readable by the page
  expect(acao(r)).toBe(PORTAL);
  expect(r.headers?.vary).toBe('Origin');
});

test('an origin not on the list, or no list: no CORS header (the browser keeps the answer from the page)', async () => {
  expect(acao(await service([PORTAL])(fromPage('https://evil.example.test')))).toBeUndefined();
  expect(acao(await service(undefined)(fromPage(PORTAL)))).toBeUndefined();
});

test('a preflight to /auth/token (a client sending a non-safelisted header) is answered without reaching the grant', async () => {
  const r = await service([PORTAL])(fromPage(PORTAL, { method: 'OPTIONS', body: null, headers: { Origin: PORTAL, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' } }));
  expect(r.statusCode).toBe(204);
  expect(r.headers).toMatchObject({ 'access-control-allow-origin': PORTAL, 'access-control-allow-methods': expect.stringContaining('POST'), 'access-control-allow-headers': expect.stringContaining('content-type') });
  const other = await service([PORTAL])(fromPage('https://evil.example.test', { method: 'OPTIONS', body: null }));
  expect(acao(other)).toBeUndefined();
});

test.each([TOKEN_SERVICE_ROUTES.jwks, TOKEN_SERVICE_ROUTES.issuerMetadata])('GET %s: CORS for an allowed origin (oauth4webapi discovers from the page)', async (resource) => {
  const r = await service([PORTAL])(proxyEvent({ method: 'GET', resource, body: null, headers: { Origin: PORTAL } }));
  expect(r.statusCode).toBe(200);
  expect(acao(r)).toBe(PORTAL);
});

test('the allow-list is read from FHIRGATE_CORS_ORIGINS (the proxy\'s variable); a bad origin stops the function', () => {
  const env = {
    [ENV.issuers]: JSON.stringify([{ kind: 'cognito', userPoolId: 'eu-west-1_x' }]),
    [ENV.linksTable]: 'links',
    [ENV.settings]: JSON.stringify(DEFAULT_SETTINGS),
    [EXCHANGE_ENV.issuer]: ISSUER,
    [EXCHANGE_ENV.audience]: 'https://api.example.test/prod/fhir',
    [EXCHANGE_ENV.signingKeyId]: 'k',
  };
  expect(EXCHANGE_ENV.corsOrigins).toBe('FHIRGATE_CORS_ORIGINS');
  expect(tokenServiceConfigFromEnv(env).corsAllowedOrigins).toEqual([]);
  expect(tokenServiceConfigFromEnv({ ...env, [EXCHANGE_ENV.corsOrigins]: `${PORTAL}, http://localhost:5173` }).corsAllowedOrigins).toEqual([PORTAL, 'http://localhost:5173']);
  expect(() => tokenServiceConfigFromEnv({ ...env, [EXCHANGE_ENV.corsOrigins]: '*' })).toThrow(/FHIRGATE_CORS_ORIGINS: allowed origin "\*" is a wildcard/);
});

test('metrics count POST /auth/token only (not the picker\'s form POST), App Launch grants by name', () => {
  const recorded: unknown[][] = [];
  const metrics = { record: (...args: unknown[]) => void recorded.push(args) } as unknown as Parameters<typeof recordTokenRequest>[0];
  recordTokenRequest(metrics, proxyEvent({ resource: TOKEN_SERVICE_ROUTES.picker, body: 'patient=p1' }), { statusCode: 302, body: '' });
  expect(recorded).toEqual([]);
  recordTokenRequest(metrics, proxyEvent({ body: form([['grant_type', 'refresh_token']]) }), { statusCode: 200, body: '{}' });
  recordTokenRequest(metrics, proxyEvent({ body: form([['grant_type', 'authorization_code']]) }), { statusCode: 400, body: '{"error":"invalid_grant"}' });
  expect(recorded).toEqual([
    ['TokensIssued', 'Count', 1, { grant: 'refresh_token' }],
    ['TokenRefusals', 'Count', 1, { grant: 'authorization_code', error: 'invalid_grant' }],
  ]);
});
