/**
 * What fhirgate advertises about its token service (functions/core/oauth-metadata.ts): every grant
 * and client authentication method named in RFC 8414 metadata or the SMART configuration is one
 * that `token_endpoint` serves, and nothing from App Launch (which is not served) is claimed.
 */
import { authorizationServerMetadata, ServedOAuth, servedGrants, smartConfigurationDocument } from '../../functions/core/oauth-metadata';

const BASE = 'https://api.example.com/prod';
const ALL: ServedOAuth = { issuer: `${BASE}/auth`, tokenEndpoint: `${BASE}/auth/token`, jwksUri: `${BASE}/auth/jwks.json`, backendServices: true, clientSecrets: true };
const EXCHANGE_ONLY: ServedOAuth = { ...ALL, backendServices: false, clientSecrets: false };
const COGNITO = { issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool', tokenEndpoint: 'https://auth.example.com/oauth2/token' };

test.each<[string, ServedOAuth, string[], string[]]>([
  // the AWS and local configuration: /auth/token takes assertions and forwards client secrets to Cognito
  ['everything', ALL, ['urn:ietf:params:oauth:grant-type:token-exchange', 'client_credentials'], ['client_secret_basic', 'client_secret_post', 'private_key_jwt']],
  ['private_key_jwt only', { ...ALL, clientSecrets: false }, ['urn:ietf:params:oauth:grant-type:token-exchange', 'client_credentials'], ['private_key_jwt']],
  ['client secrets only', { ...ALL, backendServices: false }, ['urn:ietf:params:oauth:grant-type:token-exchange', 'client_credentials'], ['client_secret_basic', 'client_secret_post']],
  ['the exchange alone: no client_credentials at all', EXCHANGE_ONLY, ['urn:ietf:params:oauth:grant-type:token-exchange'], []],
])('%s', (_name, served, grants, methods) => {
  expect(servedGrants(served)).toEqual({ grantTypes: grants, authMethods: methods });
  const metadata = authorizationServerMetadata(served);
  const smart = smartConfigurationDocument(served, ['system/*.rs'], COGNITO);
  for (const doc of [metadata, smart]) {
    expect(doc.grant_types_supported).toEqual(grants);
    expect(doc.token_endpoint_auth_methods_supported).toEqual(methods.length > 0 ? methods : undefined);
    expect(doc.token_endpoint).toBe(ALL.tokenEndpoint);
    expect(doc.issuer).toBe(ALL.issuer);
    expect(doc.jwks_uri).toBe(ALL.jwksUri);
  }
});

test('RFC 8414: the issuer, fhirgate\'s own JWKS, no authorization endpoint, assertion algorithms only with private_key_jwt', () => {
  expect(authorizationServerMetadata(ALL)).toEqual({
    issuer: ALL.issuer,
    token_endpoint: ALL.tokenEndpoint,
    jwks_uri: ALL.jwksUri,
    grant_types_supported: ['urn:ietf:params:oauth:grant-type:token-exchange', 'client_credentials'],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
  });
  expect(authorizationServerMetadata({ ...ALL, backendServices: false })).not.toHaveProperty('token_endpoint_auth_signing_alg_values_supported');
});

test('SMART configuration: only served capabilities; no App Launch, no authorization_code, no authorization endpoint', () => {
  const doc = smartConfigurationDocument(ALL, ['system/*.rs'], COGNITO);
  expect(doc.capabilities).toEqual(['client-confidential-symmetric', 'client-confidential-asymmetric', 'permission-patient', 'permission-user', 'permission-v1', 'permission-v2']);
  for (const unserved of ['launch-standalone', 'launch-ehr', 'client-public', 'context-standalone-patient', 'sso-openid-connect']) expect(doc.capabilities).not.toContain(unserved);
  expect(doc).not.toHaveProperty('authorization_endpoint');
  expect(doc.grant_types_supported).not.toContain('authorization_code');
  expect(doc['fhirgate:cognito_token_endpoint']).toBe(COGNITO.tokenEndpoint);
  expect((smartConfigurationDocument(EXCHANGE_ONLY, []) as { capabilities: string[] }).capabilities).not.toContain('client-confidential-asymmetric');
});

test('with App Launch served: the authorization endpoint, code and refresh grants, public clients, S256, ES256 id_tokens, the launch capabilities', () => {
  const served = { ...ALL, appLaunch: { authorizationEndpoint: 'https://api.example.com/prod/auth/authorize' } };
  const doc = smartConfigurationDocument(served, ['launch/patient', 'patient/*.rs']) as Record<string, any>;
  expect(doc).toMatchObject({ authorization_endpoint: served.appLaunch.authorizationEndpoint, response_types_supported: ['code'], code_challenge_methods_supported: ['S256'], id_token_signing_alg_values_supported: ['ES256'] });
  expect(doc.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
  expect(doc.token_endpoint_auth_methods_supported).toContain('none');
  expect(doc.capabilities).toEqual(expect.arrayContaining(['launch-standalone', 'client-public', 'context-standalone-patient', 'sso-openid-connect', 'permission-offline', 'permission-v2']));
  // RFC 8414 metadata and the SMART configuration agree on the shared members.
  const rfc8414 = authorizationServerMetadata(served) as Record<string, unknown>;
  for (const member of ['authorization_endpoint', 'response_types_supported', 'grant_types_supported', 'token_endpoint_auth_methods_supported']) expect(rfc8414[member]).toEqual(doc[member]);
});
