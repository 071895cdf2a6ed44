/**
 * What fhirgate's token service serves, and the two documents that advertise it: RFC 8414
 * authorization-server metadata (for `iss` = the token service) and the SMART configuration
 * (SMART App Launch 2.x §Conformance). Both are derived from one description, so a grant, an
 * authentication method or a capability is advertised only when something serves it, and the
 * two documents never disagree.
 *
 * App Launch (authorization_code + PKCE at fhirgate's authorization endpoint, refresh_token,
 * public clients, id_tokens) is the `appLaunch` field: advertised only where the token service
 * serves it.
 */

/** RFC 8693 §2.1. */
export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** SMART Backend Services: the algorithms servers SHALL support for client assertions. */
export const ASSERTION_SIGNING_ALGORITHMS: readonly string[] = ['RS384', 'ES384'];

/** The token service as deployed. */
export interface ServedOAuth {
  /** `iss` of the tokens fhirgate issues (`…/auth`). */
  readonly issuer: string;
  /** `POST …/auth/token`: every grant and method below is accepted there. */
  readonly tokenEndpoint: string;
  /** `GET …/auth/jwks.json`: fhirgate's ES256 signing keys. */
  readonly jwksUri: string;
  /** SMART Backend Services: `client_credentials` with a private_key_jwt assertion. */
  readonly backendServices: boolean;
  /**
   * `client_credentials` with a client secret (HTTP Basic or in the form), forwarded to Amazon
   * Cognito's token endpoint, which holds the secrets.
   */
  readonly clientSecrets: boolean;
  /**
   * SMART App Launch for public browser apps: `GET …/auth/authorize` (sign-in through Cognito, a
   * patient picker), `authorization_code` with PKCE S256 and rotating `refresh_token` at the token
   * endpoint, id_tokens with `fhirUser`. @default undefined: not served
   */
  readonly appLaunch?: { readonly authorizationEndpoint: string };
}

export interface ServedGrants {
  readonly grantTypes: readonly string[];
  readonly authMethods: readonly string[];
}

/** The grant types and client authentication methods `tokenEndpoint` accepts. */
export function servedGrants(served: ServedOAuth): ServedGrants {
  const grantTypes = [GRANT_TOKEN_EXCHANGE];
  const authMethods: string[] = [];
  if (served.backendServices || served.clientSecrets) grantTypes.push('client_credentials');
  if (served.appLaunch) grantTypes.push('authorization_code', 'refresh_token');
  // SMART apps are public clients: they authenticate with nothing (RFC 8414 §2 "none").
  if (served.appLaunch) authMethods.push('none');
  if (served.clientSecrets) authMethods.push('client_secret_basic', 'client_secret_post');
  if (served.backendServices) authMethods.push('private_key_jwt');
  return { grantTypes, authMethods };
}

/** The members both documents share: where the token service is and what its endpoint accepts. */
function tokenServiceMembers(served: ServedOAuth): Record<string, unknown> {
  const { grantTypes, authMethods } = servedGrants(served);
  return {
    issuer: served.issuer,
    jwks_uri: served.jwksUri,
    token_endpoint: served.tokenEndpoint,
    grant_types_supported: grantTypes,
    ...(authMethods.length > 0 ? { token_endpoint_auth_methods_supported: authMethods } : {}),
    ...(served.backendServices ? { token_endpoint_auth_signing_alg_values_supported: ASSERTION_SIGNING_ALGORITHMS } : {}),
    ...(served.appLaunch ? appLaunchMembers(served.appLaunch) : {}),
  };
}

/**
 * The authorization endpoint and what it accepts: codes only, PKCE S256 only (SMART App Launch 2
 * requires it; `plain` is refused), and id_tokens signed ES256 like the access tokens (OpenID
 * Connect Discovery §3 names both members REQUIRED).
 */
function appLaunchMembers(launch: NonNullable<ServedOAuth['appLaunch']>): Record<string, unknown> {
  return {
    authorization_endpoint: launch.authorizationEndpoint,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    id_token_signing_alg_values_supported: ['ES256'],
    subject_types_supported: ['public'],
  };
}

/** RFC 8414 §2 metadata for fhirgate's issuer. */
export function authorizationServerMetadata(served: ServedOAuth): Record<string, unknown> {
  // RFC 8414 §2: response_types_supported is REQUIRED and names what the authorization endpoint
  // returns. Without App Launch fhirgate has no authorization endpoint, so the list is empty rather
  // than a promise; with it, the App Launch members name `code`.
  return { response_types_supported: [], ...tokenServiceMembers(served) };
}

/** Where Amazon Cognito is, for first-party apps that sign users in with the Cognito SDK. */
export interface CognitoEndpoints {
  readonly issuer: string;
  readonly tokenEndpoint: string;
}

/**
 * The SMART configuration. `token_endpoint` is fhirgate's own: it accepts every advertised grant
 * and method (secret-based client_credentials is forwarded to Cognito). Capabilities list only
 * what is served: no `launch-*`, `client-public`, `context-*` or `sso-openid-connect`, because
 * there is no authorization endpoint (SMART App Launch 2.x §Conformance: "capabilities" describes
 * what the server supports; a client that finds `launch-standalone` goes looking for one).
 */
export function smartConfigurationDocument(served: ServedOAuth, scopesSupported: readonly string[], cognito?: CognitoEndpoints): Record<string, unknown> {
  return {
    ...tokenServiceMembers(served),
    scopes_supported: scopesSupported,
    capabilities: [
      // SMART App Launch 2.x §Capabilities, each served by the App Launch routes.
      ...(served.appLaunch ? ['launch-standalone', 'client-public', 'context-standalone-patient', 'sso-openid-connect', 'permission-offline', 'permission-online'] : []),
      ...(served.clientSecrets ? ['client-confidential-symmetric'] : []),
      ...(served.backendServices ? ['client-confidential-asymmetric'] : []),
      // Access tokens carrying patient/ and user/ scopes, in SMART v1 and v2 syntax, are enforced.
      'permission-patient',
      'permission-user',
      'permission-v1',
      'permission-v2',
    ],
    // First-party apps sign users in with Cognito itself (not an OAuth redirect flow fhirgate serves).
    ...(cognito ? { 'fhirgate:cognito_issuer': cognito.issuer, 'fhirgate:cognito_token_endpoint': cognito.tokenEndpoint } : {}),
  };
}
