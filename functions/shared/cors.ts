/**
 * CORS for first-party frontends that call the FHIR API directly (Fetch standard, "CORS
 * protocol"). Origins are an explicit allow-list from configuration: never `*`, and no
 * credentials mode — the API is called with a bearer token, not cookies. A request from an origin
 * not on the list gets no CORS headers at all, so the browser refuses to hand the response to it.
 */

export interface CorsConfig {
  /** Exact origins (`https://portal.example.com`, `http://127.0.0.1:5173`). */
  readonly allowedOrigins: readonly string[];
  /** Seconds a browser may cache a preflight. @default 600 */
  readonly maxAgeSeconds?: number;
}

/** Request headers a FHIR client sends. */
const ALLOWED_HEADERS = ['authorization', 'content-type', 'if-match', 'if-none-exist', 'if-none-match', 'prefer'];
const ALLOWED_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** FHIR response headers a browser app needs to read (Location after create, ETag for If-Match). */
const EXPOSED_HEADERS = ['location', 'content-location', 'etag', 'last-modified'];

/** True when the origin is on the allow-list (exact string match). */
export function isAllowedOrigin(origin: string | undefined, config: CorsConfig | undefined): origin is string {
  return origin !== undefined && config !== undefined && config.allowedOrigins.includes(origin);
}

/** Headers for an actual (non-preflight) response; empty for a missing or disallowed origin. */
export function corsHeaders(origin: string | undefined, config: CorsConfig | undefined): Record<string, string> {
  if (!isAllowedOrigin(origin, config)) return {};
  return { 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED_HEADERS.join(', '), vary: 'Origin' };
}

/** The answer to a preflight `OPTIONS` (no token needed): 204, with CORS headers only for an allowed origin. */
export function preflight(origin: string | undefined, config: CorsConfig | undefined): { status: number; headers: Record<string, string> } {
  if (!isAllowedOrigin(origin, config)) return { status: 204, headers: { vary: 'Origin' } };
  return {
    status: 204,
    headers: {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': ALLOWED_METHODS.join(', '),
      'access-control-allow-headers': ALLOWED_HEADERS.join(', '),
      'access-control-max-age': String(config!.maxAgeSeconds ?? 600),
      vary: 'Origin',
    },
  };
}
