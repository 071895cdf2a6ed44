/**
 * `.local/stack.json`: what a running local stack offers, for tools, tests and people.
 * Keys may be added, never renamed (docs/local-stack.md). Written by the local stack, read by the
 * CLI (`--local`), tests and tools; it lives here so that the CLI needs nothing from `local/`.
 */
export interface StackInfo {
  readonly fhirBaseUrl: string;
  readonly backendFhirBaseUrl: string;
  /** fhirgate's RFC 8693 token endpoint (POST, form-encoded); its JWKS is at …/auth/jwks.json. */
  readonly tokenExchangeUrl: string;
  /** `iss` of exchanged tokens. */
  readonly exchangeIssuer: string;
  /** The example patient portal (examples/patient-portal), served by the stack. */
  readonly portalUrl: string;
  /** Origins the API answers CORS requests from: the portal's, then FHIRGATE_CORS_ORIGINS. */
  readonly corsAllowedOrigins: readonly string[];
  readonly cognito: {
    readonly endpoint: string;
    readonly region: string;
    readonly userPoolId: string;
    readonly issuer: string;
    readonly jwksUri: string;
    readonly tokenUrl: string;
    readonly webClientId: string;
  };
  readonly dynamodb: {
    readonly endpoint: string;
    readonly linksTable: string;
    readonly clientsTable: string;
    readonly replayTable: string;
    /** SMART apps (`fhirgate apps`) and launch state (codes, refresh tokens). */
    readonly appsTable: string;
    readonly launchTable: string;
  };
  /** SMART App Launch apps registered at start (public clients: no secret). */
  readonly apps: readonly { clientId: string; name: string; redirectUris: readonly string[]; scopes: readonly string[] }[];
  /**
   * SMART Backend Services clients (private_key_jwt) registered in the local client registry.
   * Their private keys are here because this is a local demo; a real client never shares one.
   */
  readonly backendClients: readonly { clientId: string; kid: string; alg: 'ES384'; privateKeyPem: string; scopes: readonly string[]; tokenUrl: string }[];
  readonly machineClients: readonly { name: string; clientId: string; clientSecret: string; scopes: readonly string[] }[];
  readonly users: readonly { username: string; password: string; role: string; fhirUser: string; patients: readonly string[]; sub: string }[];
  readonly patients: readonly { id: string; name: string }[];
  /**
   * A link change reaches a caller within authorizerCacheTtlSeconds + linkCacheTtlSeconds: API
   * Gateway keeps the authorizer's answer per token, and the authorizer keeps link records.
   */
  readonly authorizerCacheTtlSeconds: number;
  readonly linkCacheTtlSeconds: number;
  /** Processes of the stack's tree (the stack itself and its emulator children). */
  readonly processes: readonly { name: string; pid: number }[];
}
