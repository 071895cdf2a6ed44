/**
 * Public discovery documents, served without a token:
 * - `/.well-known/smart-configuration` (SMART App Launch 2.x §Conformance): where to get tokens,
 *   which scopes and capabilities fhirgate supports;
 * - `metadata`: the backend's CapabilityStatement with `rest.security` describing fhirgate's
 *   OAuth endpoints (SMART "oauth-uris" extension) and its implementation URL set to the public base.
 */

export interface DiscoveryConfig {
  /** The OpenID issuer of the user pool (Cognito: https://cognito-idp.{region}.amazonaws.com/{poolId}). */
  readonly issuer: string;
  readonly authorizationEndpoint?: string;
  readonly tokenEndpoint: string;
  readonly jwksUri?: string;
  /** fhirgate's RFC 8693 endpoint, once deployed. */
  readonly tokenExchangeEndpoint?: string;
  readonly scopesSupported: readonly string[];
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** The SMART configuration document. */
export function smartConfiguration(config: DiscoveryConfig): Record<string, unknown> {
  const grants = ['authorization_code', 'client_credentials'];
  if (config.tokenExchangeEndpoint) grants.push(TOKEN_EXCHANGE);
  return {
    issuer: config.issuer,
    ...(config.jwksUri ? { jwks_uri: config.jwksUri } : {}),
    ...(config.authorizationEndpoint ? { authorization_endpoint: config.authorizationEndpoint } : {}),
    token_endpoint: config.tokenEndpoint,
    ...(config.tokenExchangeEndpoint ? { 'fhirgate:token_exchange_endpoint': config.tokenExchangeEndpoint } : {}),
    grant_types_supported: grants,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: config.scopesSupported,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: [
      'launch-standalone',
      'client-public',
      'client-confidential-symmetric',
      'sso-openid-connect',
      'context-standalone-patient',
      'permission-patient',
      'permission-user',
      'permission-v1',
      'permission-v2',
    ],
  };
}

/** The backend CapabilityStatement with fhirgate's security section and public base. */
export function capabilityStatement(backend: unknown, config: DiscoveryConfig, publicBase: string): Record<string, unknown> {
  const source = typeof backend === 'object' && backend !== null ? (backend as Record<string, unknown>) : {};
  const security = {
    cors: true,
    service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
    description: 'OAuth 2.0 bearer tokens from Amazon Cognito (SMART App Launch 2 scopes); fhirgate confines each caller to its patients.',
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [
          { url: 'token', valueUri: config.tokenEndpoint },
          ...(config.authorizationEndpoint ? [{ url: 'authorize', valueUri: config.authorizationEndpoint }] : []),
        ],
      },
    ],
  };
  const rest = Array.isArray(source.rest) && source.rest.length > 0 ? (source.rest as Record<string, unknown>[]) : [{ mode: 'server' }];
  return {
    resourceType: 'CapabilityStatement',
    status: source.status ?? 'active',
    date: source.date ?? new Date(0).toISOString(),
    kind: 'instance',
    fhirVersion: source.fhirVersion ?? '4.0.1',
    format: ['json'],
    software: { name: 'fhirgate' },
    implementation: { description: 'fhirgate patient-scoped FHIR API', url: publicBase },
    rest: rest.map((r) => ({ ...r, security })),
  };
}
