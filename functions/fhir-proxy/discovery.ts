/**
 * Public discovery documents, served without a token:
 * - `/.well-known/smart-configuration` (SMART App Launch 2.x §Conformance): where to get tokens,
 *   which scopes and capabilities fhirgate supports;
 *
 * Two token endpoints, one `token_endpoint`. Cognito's serves users (authorization_code) and
 * secret-holding machine clients; fhirgate's `/auth/token` serves the RFC 8693 exchange and SMART
 * Backend Services private_key_jwt clients, which Cognito cannot authenticate. SMART clients read
 * `token_endpoint`, so it names the one their flow needs:
 * - an authorization endpoint is advertised (App Launch offered): Cognito's, because a code can
 *   only be redeemed where it was issued; fhirgate's is `fhirgate:backend_token_endpoint`, and a
 *   backend client is configured with that URL (it registers out of band anyway);
 * - no authorization endpoint (the usual fhirgate deployment: first-party apps sign in with the
 *   Cognito SDK, discovery is read by backend clients): fhirgate's, so a conformant Backend
 *   Services client finds the endpoint that accepts its assertion with no extra configuration.
 *   Cognito's then stays `fhirgate:cognito_token_endpoint` for client-secret machine clients.
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
  /**
   * fhirgate's `/auth/token` when it accepts SMART Backend Services private_key_jwt clients
   * (the token service has its client tables). Usually the same URL as `tokenExchangeEndpoint`.
   */
  readonly backendTokenEndpoint?: string;
  readonly scopesSupported: readonly string[];
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** SMART Backend Services: the algorithms servers SHALL support for client assertions. */
const ASSERTION_ALGORITHMS = ['RS384', 'ES384'];

/** The SMART configuration document. */
export function smartConfiguration(config: DiscoveryConfig): Record<string, unknown> {
  const grants = ['authorization_code', 'client_credentials'];
  if (config.tokenExchangeEndpoint) grants.push(TOKEN_EXCHANGE);
  const backend = config.backendTokenEndpoint;
  return {
    issuer: config.issuer,
    ...(config.jwksUri ? { jwks_uri: config.jwksUri } : {}),
    ...(config.authorizationEndpoint ? { authorization_endpoint: config.authorizationEndpoint } : {}),
    token_endpoint: tokenEndpointOf(config),
    ...(config.tokenExchangeEndpoint ? { 'fhirgate:token_exchange_endpoint': config.tokenExchangeEndpoint } : {}),
    ...(backend ? { 'fhirgate:backend_token_endpoint': backend } : {}),
    ...(backend && !config.authorizationEndpoint ? { 'fhirgate:cognito_token_endpoint': config.tokenEndpoint } : {}),
    grant_types_supported: grants,
    // For `token_endpoint`: Cognito takes client secrets; fhirgate's /auth/token takes assertions only.
    token_endpoint_auth_methods_supported: tokenEndpointOf(config) === backend ? ['private_key_jwt'] : ['client_secret_basic', 'client_secret_post', ...(backend ? ['private_key_jwt'] : [])],
    ...(backend ? { token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS } : {}),
    scopes_supported: config.scopesSupported,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: [
      'launch-standalone',
      'client-public',
      'client-confidential-symmetric',
      ...(backend ? ['client-confidential-asymmetric'] : []),
      'sso-openid-connect',
      'context-standalone-patient',
      'permission-patient',
      'permission-user',
      'permission-v1',
      'permission-v2',
    ],
  };
}

/** `token_endpoint`: fhirgate's for backend clients unless App Launch needs Cognito's (see the file comment). */
function tokenEndpointOf(config: DiscoveryConfig): string {
  return config.backendTokenEndpoint && !config.authorizationEndpoint ? config.backendTokenEndpoint : config.tokenEndpoint;
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
          { url: 'token', valueUri: tokenEndpointOf(config) },
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
