/**
 * The proxy's Lambda entry behind the routes lib/api.ts creates. API Gateway fills
 * `pathParameters.proxy` only on `/fhir/{proxy+}`; the explicit public discovery routes arrive with
 * their path in `resource`. This loads functions/fhir-proxy/index.ts with a Lambda-like
 * environment and sends it the events API Gateway would.
 */
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { PROXY_ENV } from '../../functions/fhir-proxy/config';
import { pathBelowFhirBase } from '../../functions/fhir-proxy/event';

type Entry = typeof import('../../functions/fhir-proxy/index');
let entry: Entry;

beforeAll(() => {
  const env = {
    [PROXY_ENV.backendUrl]: 'http://127.0.0.1:9/r4', // never reached by these requests
    [PROXY_ENV.pagingKey]: randomBytes(32).toString('base64'),
    [PROXY_ENV.discovery]: JSON.stringify({ issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x', tokenEndpoint: 'https://auth.example/oauth2/token', scopesSupported: ['patient/*.rs'] }),
  };
  Object.assign(process.env, env);
  jest.isolateModules(() => {
    entry = require('../../functions/fhir-proxy/index') as Entry;
  });
  for (const key of Object.keys(env)) delete process.env[key];
});

/** An API Gateway REST proxy event for a route (resource template) and a concrete path. */
function event(method: string, resource: string, path: string, proxy?: string): APIGatewayProxyEvent {
  return {
    httpMethod: method,
    resource,
    path,
    pathParameters: proxy === undefined ? null : { proxy },
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    body: null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: { domainName: 'abc123.execute-api.us-east-1.amazonaws.com', stage: 'prod', requestId: 'r-1' } as APIGatewayProxyEvent['requestContext'],
  };
}

test('GET /fhir/.well-known/smart-configuration (explicit public route) answers the SMART configuration', async () => {
  const res = await entry.handler(event('GET', '/fhir/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration'));
  expect(res.statusCode).toBe(200);
  expect(JSON.parse(res.body)).toMatchObject({ token_endpoint: 'https://auth.example/oauth2/token' });
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
