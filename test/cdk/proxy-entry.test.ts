/**
 * The proxy's Lambda entry behind the routes lib/api.ts creates. API Gateway fills
 * `pathParameters.proxy` only on `/fhir/{proxy+}`; the explicit public discovery routes arrive with
 * their path in `resource`; the OPTIONS preflight routes arrive with no authorizer context. This
 * loads functions/fhir-proxy/index.ts with a Lambda-like environment (a CORS allow-list included)
 * and sends it the events API Gateway would.
 */
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { PROXY_ENV } from '../../functions/fhir-proxy/config';
import { pathBelowFhirBase } from '../../functions/fhir-proxy/event';
import { gatewayEvent } from '../support/gateway-event';

type Entry = typeof import('../../functions/fhir-proxy/index');
const PORTAL = 'https://portal.example.com';
let entry: Entry;

beforeAll(() => {
  const env = {
    [PROXY_ENV.backendUrl]: 'http://127.0.0.1:9/r4', // never reached by these requests
    [PROXY_ENV.pagingKey]: randomBytes(32).toString('base64'),
    [PROXY_ENV.discovery]: JSON.stringify({ issuer: 'https://api.example/prod/auth', tokenEndpoint: 'https://api.example/prod/auth/token', jwksUri: 'https://api.example/prod/auth/jwks.json', backendServices: true, clientSecrets: true, scopesSupported: ['patient/*.rs'] }),
    [PROXY_ENV.corsOrigins]: PORTAL,
    [PROXY_ENV.settings]: JSON.stringify(DEFAULT_SETTINGS),
  };
  Object.assign(process.env, env);
  jest.isolateModules(() => {
    entry = require('../../functions/fhir-proxy/index') as Entry;
  });
  for (const key of Object.keys(env)) delete process.env[key];
});

/** An API Gateway REST proxy event for a route (resource template) and a concrete path. */
function event(method: string, resource: string, path: string, proxy?: string, headers: Record<string, string> = {}): APIGatewayProxyEvent {
  return gatewayEvent(method, resource, { path, headers, ...(proxy === undefined ? {} : { proxy }) });
}

test('GET /fhir/.well-known/smart-configuration (explicit public route) answers the SMART configuration', async () => {
  const res = await entry.handler(event('GET', '/fhir/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration'));
  expect(res.statusCode).toBe(200);
  expect(JSON.parse(res.body)).toMatchObject({ token_endpoint: 'https://api.example/prod/auth/token' });
});

test.each([
  // [route template, proxy path parameter, expected path below the FHIR base]
  ['/fhir/metadata', undefined, '/metadata'],
  ['/fhir/.well-known/smart-configuration', undefined, '/.well-known/smart-configuration'],
  ['/fhir/{proxy+}', 'Patient/pat-1', '/Patient/pat-1'],
  ['/fhir/{proxy+}', 'metadata', '/metadata'],
  ['/fhir', undefined, '/'],
])('route %s with proxy=%s is the request for %s', (resource, proxy, expected) => {
  expect(pathBelowFhirBase(event('GET', resource, `/fhir${expected}`, proxy))).toBe(expected);
});

test('a protected route without a principal is refused, never served', async () => {
  // What reaches the Lambda only if API Gateway were misconfigured: no authorizer context.
  const res = await entry.handler(event('GET', '/fhir/{proxy+}', '/fhir/Patient', 'Patient'));
  expect(res.statusCode).toBeGreaterThanOrEqual(400);
  expect(res.statusCode).toBeLessThan(500);
});

test.each([
  // [route template, proxy path parameter]: the OPTIONS routes lib/api.ts adds without the authorizer
  ['/fhir', undefined],
  ['/fhir/{proxy+}', 'Observation'],
  ['/fhir/metadata', undefined],
])('OPTIONS %s (proxy=%s) from the allowed origin, no token, no authorizer context → 204 preflight answer', async (resource, proxy) => {
  const path = proxy === undefined ? resource : `/fhir/${proxy}`;
  const res = await entry.handler(event('OPTIONS', resource, path, proxy, { Origin: PORTAL, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' }));
  expect(res.statusCode).toBe(204);
  expect(res.headers).toMatchObject({ 'access-control-allow-origin': PORTAL, vary: 'Origin' });
  expect(res.headers!['access-control-allow-headers']).toContain('authorization');
});

test('OPTIONS from another origin → no CORS headers (the browser refuses the real request)', async () => {
  const res = await entry.handler(event('OPTIONS', '/fhir/{proxy+}', '/fhir/Observation', 'Observation', { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' }));
  expect(Object.keys(res.headers ?? {}).filter((h) => h.startsWith('access-control-'))).toEqual([]);
});

test('an answer to the allowed origin exposes the FHIR headers a browser app reads', async () => {
  const res = await entry.handler(event('GET', '/fhir/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration', undefined, { origin: PORTAL }));
  expect(res.headers!['access-control-allow-origin']).toBe(PORTAL);
  expect(String(res.headers!['access-control-expose-headers']).split(', ')).toEqual(expect.arrayContaining(['location', 'etag', 'content-location', 'last-modified']));
});
