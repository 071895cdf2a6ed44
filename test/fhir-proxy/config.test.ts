/**
 * The proxy's environment → configuration, for the CORS allow-list (FHIRGATE_CORS_ORIGINS): the
 * stack writes it comma-separated; a bad entry stops the function at cold start with a TypeError
 * naming the variable, so no request is ever answered with a half-understood allow-list.
 */
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { proxyConfigFromEnv, PROXY_ENV } from '../../functions/fhir-proxy/config';

const BASE = {
  [PROXY_ENV.backendUrl]: 'https://fhir.example.org/r4',
  [PROXY_ENV.pagingKmsKeyId]: 'arn:aws:kms:us-east-1:111122223333:key/0000',
  [PROXY_ENV.settings]: JSON.stringify(DEFAULT_SETTINGS),
  [PROXY_ENV.discovery]: JSON.stringify({ issuer: 'https://issuer', tokenEndpoint: 'https://issuer/token', jwksUri: 'https://issuer/jwks.json', backendServices: false, clientSecrets: false, scopesSupported: [] }),
};
const origins = (value?: string) => proxyConfigFromEnv(value === undefined ? BASE : { ...BASE, [PROXY_ENV.corsOrigins]: value }).corsAllowedOrigins;

test('the variable is FHIRGATE_CORS_ORIGINS (the name the local stack reads too)', () => {
  expect(PROXY_ENV.corsOrigins).toBe('FHIRGATE_CORS_ORIGINS');
});

test.each<[string, string | undefined, string[]]>([
  ['unset: no browser access', undefined, []],
  ['empty: no browser access', '', []],
  ['one https origin', 'https://portal.example.com', ['https://portal.example.com']],
  ['a port, and blanks around entries', ' https://portal.example.com:8443 , http://localhost:5173 ', ['https://portal.example.com:8443', 'http://localhost:5173']],
  ['http on 127.0.0.1 (development)', 'http://127.0.0.1:5173', ['http://127.0.0.1:5173']],
])('%s (FHIRGATE_CORS_ORIGINS=%j)', (_name, value, expected) => {
  expect(origins(value)).toEqual(expected);
});

test.each<[string, string, RegExp]>([
  ['the wildcard', '*', /wildcard/],
  ['a wildcard subdomain', 'https://*.example.com', /wildcard/],
  ['a path', 'https://portal.example.com/app', /without a path/],
  ['a trailing slash (browsers never send one)', 'https://portal.example.com/', /trailing slash/],
  ['a query', 'https://portal.example.com?x=1', /query/],
  ['a fragment', 'https://portal.example.com#top', /fragment/],
  ['userinfo', 'https://user:pw@portal.example.com', /userinfo/],
  ['plain http to a host on the network', 'http://portal.example.com', /must be https/],
  ['another scheme', 'ftp://portal.example.com', /must be https/],
  ['a bare host name', 'portal.example.com', /not an origin/],
  ['upper case (compared as strings with the Origin header)', 'https://Portal.example.com', /as a browser sends it: https:\/\/portal\.example\.com/],
  ['the default port spelled out', 'https://portal.example.com:443', /as a browser sends it/],
  ['a duplicate', 'https://portal.example.com,https://portal.example.com', /listed twice/],
  ['a quote, which would break the static gateway header', "https://port'al.example.com", /DNS host/],
])('refuses %s with a TypeError naming the variable', (_name, value, reason) => {
  expect(() => origins(value)).toThrow(TypeError);
  expect(() => origins(value)).toThrow(/^FHIRGATE_CORS_ORIGINS: allowed origin /);
  expect(() => origins(value)).toThrow(reason);
});
