/**
 * CORS for first-party frontends that call the FHIR API directly, and the token endpoint of
 * fhirgate's authorization server (a SMART app redeems its code with `fetch`) (Fetch standard,
 * "CORS protocol"). Origins are an explicit allow-list from configuration: never `*`, and no
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

/** The variable both the proxy and the token service read their allow-list from (comma-separated). */
export const CORS_ORIGINS_ENV = 'FHIRGATE_CORS_ORIGINS';

/** The allow-list from a comma-separated variable: blanks around entries ignored; unset or empty is none. TypeError naming the variable. */
export function originsFromEnv(value: string | undefined, name: string = CORS_ORIGINS_ENV): string[] {
  const entries = (value ?? '').split(',').map((o) => o.trim()).filter((o) => o !== '');
  try {
    return validateOrigins(entries);
  } catch (err) {
    throw new TypeError(`${name}: ${(err as Error).message}`);
  }
}

/** Hosts a plain-http origin may name: a developer's own machine, never anything on a network. */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1'];

/**
 * Check an allow-list from configuration and return it as a new array; TypeError naming the
 * first bad entry. Each entry is an origin exactly as a browser serializes it in the `Origin`
 * header (`https://host[:port]`, or `http://localhost|127.0.0.1[:port]`; lower case, no default
 * port, no path, query, fragment or userinfo), since CORS compares origins as strings. `*` is
 * refused anywhere: the API never answers "any origin".
 */
export function validateOrigins(list: unknown): string[] {
  if (!Array.isArray(list)) throw new TypeError('allowed origins must be a list of strings');
  const seen = new Set<string>();
  for (const origin of list as unknown[]) {
    if (typeof origin !== 'string') throw new TypeError(`allowed origin ${String(origin)} is not a string`);
    const bad = (why: string): never => {
      throw new TypeError(`allowed origin ${JSON.stringify(origin)} ${why}`);
    };
    if (origin.includes('*')) bad('is a wildcard: list each origin exactly');
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return bad('is not an origin like https://app.example.com');
    }
    if (url.username || url.password) bad('must not carry userinfo');
    if (url.protocol === 'http:' && !LOOPBACK_HOSTS.includes(url.hostname)) bad('must be https (plain http only for localhost and 127.0.0.1)');
    if (url.protocol !== 'https:' && url.protocol !== 'http:') bad('must be https');
    if (!/^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/.test(url.hostname)) bad('must name a DNS host or an IPv4 address');
    // `new URL` adds the "/" path itself; anything else in the string beyond the origin is refused.
    if (url.pathname !== '/' || url.search || url.hash || origin.endsWith('/')) bad('must be scheme://host[:port] only, without a path, query, fragment or trailing slash');
    if (url.origin !== origin) bad(`must be written as a browser sends it: ${url.origin}`);
    if (seen.has(origin)) bad('is listed twice');
    seen.add(origin);
  }
  return [...seen];
}
