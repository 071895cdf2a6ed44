/**
 * The one typed settings object the CDK stack and the local stack share: who holds which SMART
 * scopes (the core `AuthzSettings`, validated by the same `parseSettings` the Lambdas run at cold
 * start), cache lifetimes, the exchanged-token lifetime, the FHIR backend and the browser origins
 * allowed by CORS (checked by the same `validateOrigins` the proxy runs), and the backend clients
 * (private_key_jwt) allowed to reach the FHIR API. Stack-only knobs
 * (Cognito, WAF, logging) live in `FhirgateStackProps`.
 */
import { AuthzSettings, DEFAULT_SETTINGS, parseSettings } from '../functions/core/settings';
import { MAX_EXCHANGE_LIFETIME_SECONDS } from '../functions/core/token-exchange';
import { validateOrigins } from '../functions/common/cors';

/** Where FHIR requests go after the PEP. */
export type BackendSettings =
  /** Create an AWS HealthLake FHIR R4 data store (SigV4, customer-managed KMS key). */
  | { readonly kind: 'healthlake'; readonly datastoreName?: string }
  /** Any FHIR R4 base URL (https); requests are not signed and no HealthLake permission is granted. */
  | { readonly kind: 'url'; readonly url: string };

export interface FhirgateSettings {
  /**
   * Roles, their default and ceiling SMART scopes, the machine ceiling and the shared
   * (non-compartment) resource types. Fed to the authorizer, the proxy and the token exchange.
   * @default DEFAULT_SETTINGS (functions/core/settings.ts)
   */
  readonly authz?: AuthzSettings;
  /**
   * Seconds API Gateway caches an authorizer result per token (0 disables the cache, max 3600).
   * Safe at any value because the authorizer's policy never depends on the path; a revoked link
   * keeps working for at most this long plus `linkCacheTtlSeconds`.
   * @default 300
   */
  readonly authorizerCacheTtlSeconds?: number;
  /**
   * Seconds the authorizer and the token exchange cache a link record (0..3600).
   * @default 60
   */
  readonly linkCacheTtlSeconds?: number;
  /**
   * Seconds an RFC 8693 exchanged token lives (1..300; also never beyond the subject token).
   * @default 300
   */
  readonly exchangedTokenLifetimeSeconds?: number;
  /**
   * The FHIR backend.
   * @default { kind: 'healthlake' }
   */
  readonly backend?: BackendSettings;
  /**
   * Origins of first-party browser frontends that call the FHIR API directly (CORS), exactly as a
   * browser sends them: `https://host[:port]`, or `http://localhost[:port]` /
   * `http://127.0.0.1[:port]` for development. Never `*`, and no credentials mode (the API takes
   * a bearer token, not cookies). Preflights (`OPTIONS`) are answered without a token by the proxy,
   * which echoes an allowed origin and gives any other origin no CORS headers.
   *
   * Limitation: the errors API Gateway produces itself (401 without a valid token, 403 from the
   * authorizer, throttling, 5xx) carry a static `Access-Control-Allow-Origin` only when exactly
   * one origin is listed. A static header cannot choose among several origins, and echoing the
   * request's `Origin` would allow every origin; with several origins a browser app sees such an
   * error as a network error (status 0), not as its OperationOutcome.
   * @default [] (no browser access)
   */
  readonly corsAllowedOrigins?: readonly string[];
  /**
   * SMART Backend Services clients (private_key_jwt, registered in the client registry with the
   * admin CLI) allowed to reach the FHIR API: the registry says who can authenticate, this
   * deployment allow-list says who may use their tokens. Set as `FHIRGATE_BACKEND_CLIENT_IDS` on
   * the authorizer and the token service. Each id is 1-128 RFC 3986 unreserved characters.
   * @default [] (no backend client may get a token or reach the FHIR API)
   */
  readonly backendClientIds?: readonly string[];
}

/** `FhirgateSettings` with every default filled in and every value checked. */
export interface ResolvedSettings {
  readonly authz: AuthzSettings;
  readonly authorizerCacheTtlSeconds: number;
  readonly linkCacheTtlSeconds: number;
  readonly exchangedTokenLifetimeSeconds: number;
  readonly backend: BackendSettings;
  readonly corsAllowedOrigins: readonly string[];
  readonly backendClientIds: readonly string[];
}

export const DEFAULT_FHIRGATE_SETTINGS: ResolvedSettings = {
  authz: DEFAULT_SETTINGS,
  authorizerCacheTtlSeconds: 300,
  linkCacheTtlSeconds: 60,
  exchangedTokenLifetimeSeconds: MAX_EXCHANGE_LIFETIME_SECONDS,
  backend: { kind: 'healthlake' },
  corsAllowedOrigins: [],
  backendClientIds: [],
};

/** Fill defaults and validate; throws TypeError naming the setting (`fhirgate settings: …`). */
export function resolveSettings(settings: FhirgateSettings = {}): ResolvedSettings {
  const fail = (message: string): never => {
    throw new TypeError(`fhirgate settings: ${message}`);
  };
  const seconds = (name: keyof ResolvedSettings, value: number | undefined, min: number, max: number): number => {
    const v = value ?? (DEFAULT_FHIRGATE_SETTINGS[name] as number);
    return Number.isInteger(v) && v >= min && v <= max ? v : fail(`${name} must be an integer ${min}..${max} (got ${String(value)})`);
  };
  let authz: AuthzSettings;
  try {
    // The Lambdas parse the same JSON at cold start: refuse here what they would refuse there.
    authz = parseSettings(JSON.parse(JSON.stringify(settings.authz ?? DEFAULT_SETTINGS)));
  } catch (err) {
    return fail(`authz: ${(err as Error).message}`);
  }
  let corsAllowedOrigins: string[];
  try {
    corsAllowedOrigins = validateOrigins(settings.corsAllowedOrigins ?? DEFAULT_FHIRGATE_SETTINGS.corsAllowedOrigins);
  } catch (err) {
    return fail(`corsAllowedOrigins: ${(err as Error).message}`);
  }
  return {
    authz,
    authorizerCacheTtlSeconds: seconds('authorizerCacheTtlSeconds', settings.authorizerCacheTtlSeconds, 0, 3600),
    linkCacheTtlSeconds: seconds('linkCacheTtlSeconds', settings.linkCacheTtlSeconds, 0, 3600),
    exchangedTokenLifetimeSeconds: seconds('exchangedTokenLifetimeSeconds', settings.exchangedTokenLifetimeSeconds, 1, MAX_EXCHANGE_LIFETIME_SECONDS),
    backend: resolveBackend(settings.backend ?? DEFAULT_FHIRGATE_SETTINGS.backend, fail),
    corsAllowedOrigins,
    backendClientIds: resolveBackendClientIds(settings.backendClientIds ?? DEFAULT_FHIRGATE_SETTINGS.backendClientIds, fail),
  };
}

/** A backend client id: RFC 3986 unreserved characters (it travels in form bodies and a comma-separated variable). */
const BACKEND_CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/;

function resolveBackendClientIds(ids: readonly string[], fail: (message: string) => never): string[] {
  if (!Array.isArray(ids)) fail('backendClientIds must be a list of client ids');
  const seen = new Set<string>();
  for (const id of ids) {
    if (typeof id !== 'string' || !BACKEND_CLIENT_ID.test(id)) fail(`backendClientIds: ${JSON.stringify(id)} must be 1-128 letters, digits or . _ ~ -`);
    if (seen.has(id)) fail(`backendClientIds: ${JSON.stringify(id)} is listed twice`);
    seen.add(id);
  }
  return [...ids];
}

function resolveBackend(backend: BackendSettings, fail: (message: string) => never): BackendSettings {
  if (backend.kind === 'healthlake') {
    const name = backend.datastoreName;
    if (name !== undefined && !/^[A-Za-z0-9_.:/=+\-@ ]{1,256}$/.test(name)) fail('backend.datastoreName is not a valid HealthLake data store name');
    return backend;
  }
  if (backend.kind !== 'url') return fail(`backend.kind must be 'healthlake' or 'url'`);
  let url: URL;
  try {
    url = new URL(backend.url);
  } catch {
    return fail(`backend.url must be an absolute URL (got ${JSON.stringify(backend.url)})`);
  }
  // PHI crosses this link: TLS only, and nothing the proxy would have to strip.
  if (url.protocol !== 'https:') fail('backend.url must be https');
  if (url.username || url.password || url.search || url.hash) fail('backend.url must not carry credentials, a query or a fragment');
  return { kind: 'url', url: url.href.replace(/\/+$/, '') };
}
