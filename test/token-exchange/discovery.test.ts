/**
 * How SMART clients find the token service (functions/fhir-proxy/discovery.ts): the SMART
 * configuration document with and without the private_key_jwt endpoint, and with and without an
 * App Launch authorization endpoint (which decides what `token_endpoint` names).
 */
import { capabilityStatement, DiscoveryConfig, smartConfiguration } from '../../functions/fhir-proxy/discovery';

const COGNITO: DiscoveryConfig = {
  issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool',
  tokenEndpoint: 'https://auth.example.com/oauth2/token',
  jwksUri: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool/.well-known/jwks.json',
  tokenExchangeEndpoint: 'https://api.example.com/prod/auth/token',
  scopesSupported: ['openid', 'system/*.rs'],
};
const APP_LAUNCH: DiscoveryConfig = { ...COGNITO, authorizationEndpoint: 'https://auth.example.com/oauth2/authorize' };
const BACKEND = 'https://api.example.com/prod/auth/token';

test('without the backend endpoint nothing changes: Cognito, client secrets, no asymmetric capability', () => {
  const doc = smartConfiguration(APP_LAUNCH);
  expect(doc).toMatchObject({ token_endpoint: COGNITO.tokenEndpoint, token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'] });
  expect(doc).not.toHaveProperty('token_endpoint_auth_signing_alg_values_supported');
  expect(doc).not.toHaveProperty('fhirgate:backend_token_endpoint');
  expect(doc.capabilities).not.toContain('client-confidential-asymmetric');
});

test('App Launch offered: token_endpoint stays Cognito (codes are redeemed there); the backend endpoint is named beside it', () => {
  const doc = smartConfiguration({ ...APP_LAUNCH, backendTokenEndpoint: BACKEND });
  expect(doc).toMatchObject({
    token_endpoint: COGNITO.tokenEndpoint,
    'fhirgate:backend_token_endpoint': BACKEND,
    'fhirgate:token_exchange_endpoint': COGNITO.tokenExchangeEndpoint,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    grant_types_supported: ['authorization_code', 'client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
  });
  expect(doc.capabilities).toEqual(expect.arrayContaining(['client-confidential-symmetric', 'client-confidential-asymmetric', 'launch-standalone']));
  expect(doc).not.toHaveProperty('fhirgate:cognito_token_endpoint');
});

test('no App Launch: token_endpoint is fhirgate\'s, which takes private_key_jwt only; Cognito\'s stays discoverable', () => {
  const doc = smartConfiguration({ ...COGNITO, backendTokenEndpoint: BACKEND });
  expect(doc).toMatchObject({
    token_endpoint: BACKEND,
    'fhirgate:cognito_token_endpoint': COGNITO.tokenEndpoint,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
  });
  expect(doc.capabilities).toContain('client-confidential-asymmetric');
  // The CapabilityStatement's oauth-uris say the same.
  const cs = capabilityStatement({}, { ...COGNITO, backendTokenEndpoint: BACKEND }, 'https://api.example.com/prod/fhir') as { rest: { security: { extension: { extension: { url: string; valueUri: string }[] }[] } }[] };
  expect(cs.rest[0]!.security.extension[0]!.extension).toContainEqual({ url: 'token', valueUri: BACKEND });
});
