/**
 * SMART Backend Services client authentication (private_key_jwt, RFC 7523 §2.2 and §3) and the
 * `system/` token it earns. Pure: the assertion's signature is verified by the caller (against
 * the client's registered keys), the registration arrives fetched, and the clock and the issued
 * `jti` arrive as values.
 *
 * Order of checks (the token service follows it): form → assertion header → claimed client →
 * claims (aud, exp, jti; cheap, before any key is fetched) → registration (known, active, `jku`)
 * → signature (adapter) → claims again, now verified → allow-list → `jti` not seen before
 * (adapter) → scopes → lifetime. Every authentication failure is `invalid_client` (401), as
 * SMART Backend Services and RFC 7521 §4.2.1 require.
 */
import { OAuthError, OAuthErrorCode } from './oauth-error';
import type { ClientAllowList } from './principal';
import { coveredBy, intersectScopes, minimalScopes, scopesOfContext } from './scope-check';
import { formatScope, parseScopeString, ResourceScope } from './scopes';
import { FormParams, MAX_ISSUED_SCOPE_LENGTH } from './token-exchange';

/** RFC 6749 §4.4.2. */
export const GRANT_TYPE_CLIENT_CREDENTIALS = 'client_credentials';
/** RFC 7523 §2.2: the only client assertion type accepted. */
export const CLIENT_ASSERTION_TYPE_JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** SMART Backend Services: servers SHALL support RS384 and ES384; fhirgate accepts nothing else. */
export const ASSERTION_ALGORITHMS = ['RS384', 'ES384'] as const;
export type AssertionAlgorithm = (typeof ASSERTION_ALGORITHMS)[number];
/** An assertion is a few hundred bytes; anything beyond this is refused unparsed. */
export const MAX_ASSERTION_LENGTH = 8192;
/** SMART Backend Services: `exp` "no more than five minutes in the future". */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
/** Issued `system/` tokens live at most this long, and get no refresh token. */
export const MAX_BACKEND_TOKEN_LIFETIME_SECONDS = 300;
/** Bounds on values that become DynamoDB keys and log fields. */
export const MAX_CLIENT_ID_LENGTH = 255;
export const MAX_JTI_LENGTH = 255;
/** An inline JWKS in the registry holds a few keys, not a key store. */
export const MAX_INLINE_KEYS = 10;

/** A well-formed client_credentials request; the assertion not yet verified. */
export interface ClientCredentialsRequest {
  readonly assertion: string;
  readonly scope?: string;
  /** RFC 7521 §4.2: optional, and when sent it must name the assertion's client. */
  readonly clientId?: string;
  /** RFC 8707 `resource` values (only the FHIR API is a valid one). */
  readonly resources: readonly string[];
}

/** The parts of an assertion read before its signature is checked (refusal only, never trust). */
export interface UnverifiedAssertion {
  readonly alg: AssertionAlgorithm;
  readonly kid: string;
  readonly jku?: string;
  /** `iss` (= `sub`): which registration's keys to verify with. */
  readonly clientId: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

export type ClientStatus = 'active' | 'revoked';

/** Where a client's public keys are: a JWKS URL it serves (rotation without us), or a JWKS stored with it. */
export type ClientKeys =
  | { readonly kind: 'jwks_uri'; readonly uri: string }
  | { readonly kind: 'jwks'; readonly jwks: { readonly keys: readonly Readonly<Record<string, unknown>>[] } };

/** A registered backend client (the client registry table; see token-exchange/client-tables.ts). */
export interface BackendClient {
  readonly clientId: string;
  readonly status: ClientStatus;
  readonly keys: ClientKeys;
  /** The most this client may be issued: `system/` resource scopes only. */
  readonly scopes: readonly string[];
  readonly name?: string;
}

/** What the token service needs to know to issue a `system/` token. */
export interface BackendPolicy {
  /** `iss` of issued tokens: the same issuer (and key) as exchanged tokens. */
  readonly issuer: string;
  /** `aud` of issued tokens: the FHIR base URL. */
  readonly audience: string;
  /** 1..300 seconds. */
  readonly lifetimeSeconds: number;
}

/** Claims of an issued `system/` token (RFC 9068 §2.2). Never `act`, `patient` or `fhirUser`. */
export interface BackendTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly client_id: string;
  readonly scope: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
}

export interface BackendGrantInput {
  readonly client: BackendClient;
  readonly request: ClientCredentialsRequest;
  /** `settings.systemCeilingScopes`: what any machine may hold (the authorizer caps to it too). */
  readonly ceiling: readonly string[];
  readonly policy: BackendPolicy;
  /** Seconds since the epoch. */
  readonly now: number;
  readonly jti: string;
}

/** RFC 8707 §2: `resource` may repeat; RFC 6749 §3.2: nothing else may. */
const REPEATABLE = new Set(['resource']);
/** Printable ASCII without space: client ids and `jti`s are opaque, but they key tables and logs. */
const OPAQUE_ID = /^[\x21-\x7E]+$/;
/** JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2, §6.4). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Validate the form of a client_credentials request (RFC 6749 §4.4.2, RFC 7523 §2.2). */
export function parseClientCredentialsRequest(params: FormParams): ClientCredentialsRequest {
  const values = new Map<string, string[]>();
  for (const [name, value] of params) values.set(name, [...(values.get(name) ?? []), value]);
  for (const [name, list] of values) {
    if (list.length > 1 && !REPEATABLE.has(name)) throw bad('invalid_request', `parameter "${name}" is repeated`);
  }
  const one = (name: string): string | undefined => values.get(name)?.[0] || undefined; // RFC 6749 §3.1: empty = omitted
  if (one('grant_type') !== GRANT_TYPE_CLIENT_CREDENTIALS) throw bad('unsupported_grant_type', `grant_type must be ${GRANT_TYPE_CLIENT_CREDENTIALS}`);
  // RFC 6749 §2.3: one authentication method per request. Client secrets belong to Cognito's endpoint.
  if (one('client_secret') !== undefined) throw bad('invalid_request', 'client_secret is not accepted here: authenticate with a client_assertion (private_key_jwt)');
  const type = one('client_assertion_type');
  if (type === undefined) throw bad('invalid_request', 'parameter "client_assertion_type" is required');
  if (type !== CLIENT_ASSERTION_TYPE_JWT_BEARER) throw bad('invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE_JWT_BEARER}`);
  const assertion = one('client_assertion');
  if (assertion === undefined) throw bad('invalid_request', 'parameter "client_assertion" is required');
  if (assertion.length > MAX_ASSERTION_LENGTH) throw bad('invalid_request', `client_assertion is longer than ${MAX_ASSERTION_LENGTH} characters`);
  return { assertion, scope: one('scope'), clientId: one('client_id'), resources: (values.get('resource') ?? []).filter((r) => r !== '') };
}

/**
 * Decode the assertion and read what selects the keys: `alg` (RS384/ES384 only), `kid`
 * (required: keys are looked up by it), `jku`, and the client named by `iss` = `sub`.
 */
export function readAssertion(request: ClientCredentialsRequest): UnverifiedAssertion {
  const parts = request.assertion.split('.');
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p))) throw bad('invalid_client', 'client_assertion is not a compact JWS');
  const header = jsonObject(parts[0]!, 'header');
  const payload = jsonObject(parts[1]!, 'payload');
  const alg = header.alg;
  if (!ASSERTION_ALGORITHMS.includes(alg as AssertionAlgorithm)) {
    throw bad('invalid_client', `client_assertion alg ${JSON.stringify(alg)} is not accepted; use ${ASSERTION_ALGORITHMS.join(' or ')}`);
  }
  if (parts[2] === '') throw bad('invalid_client', 'client_assertion is not signed');
  const kid = header.kid;
  if (typeof kid !== 'string' || kid === '' || kid.length > 256) throw bad('invalid_client', 'client_assertion header needs a "kid"');
  // RFC 7515 §4.1.11: an extension we do not understand must not be ignored.
  if ('crit' in header) throw bad('invalid_client', 'client_assertion header "crit" is not supported');
  const jku = header.jku;
  if (jku !== undefined && typeof jku !== 'string') throw bad('invalid_client', 'client_assertion header "jku" must be a URL');
  const iss = payload.iss;
  if (typeof iss !== 'string' || iss.length > MAX_CLIENT_ID_LENGTH || !OPAQUE_ID.test(iss)) throw bad('invalid_client', 'client_assertion "iss" must be the client id');
  // RFC 7523 §3 / SMART: iss and sub are both the client id.
  if (payload.sub !== iss) throw bad('invalid_client', 'client_assertion "sub" must equal "iss" (the client id)');
  if (request.clientId !== undefined && request.clientId !== iss) throw bad('invalid_client', 'client_id does not name the client of the assertion');
  return { alg: alg as AssertionAlgorithm, kid, ...(jku !== undefined ? { jku } : {}), clientId: iss, payload };
}

/**
 * The claims rules (RFC 7523 §3, SMART Backend Services): `iss` = `sub` = the client, `aud` this
 * token endpoint or this server's issuer identifier (a string, or a one-element array), `exp` in
 * the future and no more than five minutes ahead, `nbf` (when present) passed, and a `jti`.
 * Returns what the replay check needs.
 */
export function checkAssertionClaims(
  payload: Readonly<Record<string, unknown>>,
  expected: { readonly clientId: string; readonly tokenUrl: string; readonly issuer?: string; readonly now: number },
): { readonly jti: string; readonly exp: number } {
  const { clientId, tokenUrl, now } = expected;
  if (payload.iss !== clientId || payload.sub !== clientId) throw bad('invalid_client', 'client_assertion "iss" and "sub" must be the client id');
  const aud = payload.aud;
  const audiences = Array.isArray(aud) ? aud : [aud];
  // RFC 7523 §3 item 3: "the token endpoint URL of the authorization server MAY be used" and the
  // issuer identifier identifies the server too (what oauth4webapi and openid-client send by
  // default). Exactly one of those two and nothing else: an assertion also meant for another
  // server could be replayed there.
  const ours = expected.issuer === undefined ? [tokenUrl] : [tokenUrl, expected.issuer];
  if (audiences.length !== 1 || !ours.includes(audiences[0] as string)) throw bad('invalid_client', `client_assertion "aud" must be ${ours.join(' or ')}`);
  const exp = payload.exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw bad('invalid_client', 'client_assertion needs a numeric "exp"');
  if (exp <= now) throw bad('invalid_client', 'client_assertion has expired');
  if (exp - now > MAX_ASSERTION_LIFETIME_SECONDS) {
    throw bad('invalid_client', `client_assertion "exp" is more than ${MAX_ASSERTION_LIFETIME_SECONDS} seconds ahead`);
  }
  const nbf = payload.nbf;
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now)) throw bad('invalid_client', 'client_assertion is not valid yet ("nbf")');
  if (payload.iat !== undefined && typeof payload.iat !== 'number') throw bad('invalid_client', 'client_assertion "iat" must be a number');
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length > MAX_JTI_LENGTH || !OPAQUE_ID.test(jti)) {
    throw bad('invalid_client', `client_assertion needs a "jti" of 1..${MAX_JTI_LENGTH} printable characters`);
  }
  return { jti, exp };
}

/** The registration may authenticate: active, and a `jku` (never fetched) only naming the registered JWKS URL. */
export function checkRegistration(assertion: UnverifiedAssertion, client: BackendClient): void {
  if (client.status !== 'active') throw bad('invalid_client', 'the client is revoked');
  if (assertion.jku !== undefined && (client.keys.kind !== 'jwks_uri' || client.keys.uri !== assertion.jku)) {
    throw bad('invalid_client', 'client_assertion "jku" is not the JWKS URL registered for this client');
  }
}

/** An authenticated client that the authorizer would not accept gets no token (RFC 6749 §5.2 `unauthorized_client`). */
export function checkClientAllowed(clientId: string, clients: ClientAllowList): void {
  if (!(clients.backendClientIds ?? []).includes(clientId)) {
    throw bad('unauthorized_client', 'the client is registered but not enabled for the FHIR API (FHIRGATE_BACKEND_CLIENT_IDS)');
  }
}

/** Decide the grant: which `system/` scopes, how long. Throws OAuthError. */
export function decideBackendGrant(input: BackendGrantInput): { readonly claims: BackendTokenClaims; readonly expiresIn: number } {
  const { client, request, policy, now } = input;
  const ours = withoutTrailingSlash(policy.audience);
  if (request.resources.some((r) => withoutTrailingSlash(r) !== ours)) throw bad('invalid_target', `tokens are issued only for ${policy.audience}`);
  const grantable = minimalScopes(intersectScopes(trusted(client.scopes), scopesOfContext(trusted(input.ceiling), ['system'])));
  let scopes = grantable;
  if (request.scope !== undefined) {
    const requested = requestedScopes(request.scope);
    const beyond = requested.find((r) => !coveredBy(r, grantable));
    if (beyond) throw bad('invalid_scope', `scope "${preview(beyond.raw)}" is not allowed for this client`);
    scopes = minimalScopes(requested);
  }
  if (scopes.length === 0) throw bad('invalid_scope', 'no system/ scope can be issued to this client');
  const scope = scopes.map(formatScope).join(' ');
  if (scope.length > MAX_ISSUED_SCOPE_LENGTH) throw bad('invalid_scope', 'too many scopes requested');
  const lifetime = Math.min(policy.lifetimeSeconds, MAX_BACKEND_TOKEN_LIFETIME_SECONDS);
  const claims: BackendTokenClaims = {
    iss: policy.issuer,
    sub: client.clientId, // RFC 9068 §2.2: with no resource owner, sub is the client
    aud: policy.audience,
    client_id: client.clientId,
    scope,
    jti: input.jti,
    iat: now,
    exp: now + lifetime,
  };
  return { claims, expiresIn: lifetime };
}

/**
 * Validate an untrusted registration (a registry item as plain values, or CLI input). `jwks` may
 * be the JSON text or the object; exactly one of `jwksUri` and `jwks`.
 */
export function parseBackendClient(item: Readonly<Record<string, unknown>>): { ok: true; client: BackendClient } | { ok: false; reason: string } {
  const fail = (reason: string) => ({ ok: false as const, reason });
  const { clientId, status, jwksUri, jwks, scopes, name } = item;
  if (typeof clientId !== 'string' || clientId.length > MAX_CLIENT_ID_LENGTH || !OPAQUE_ID.test(clientId)) return fail('clientId must be 1..255 printable characters');
  if (status !== 'active' && status !== 'revoked') return fail('status must be "active" or "revoked"');
  if ((jwksUri === undefined) === (jwks === undefined)) return fail('exactly one of jwksUri and jwks is required');
  let keys: ClientKeys;
  if (jwksUri !== undefined) {
    if (typeof jwksUri !== 'string' || !fetchableUrl(jwksUri)) return fail('jwksUri must be an https URL (or http on loopback)');
    keys = { kind: 'jwks_uri', uri: jwksUri };
  } else {
    const parsed = publicJwks(jwks);
    if (typeof parsed === 'string') return fail(parsed);
    keys = { kind: 'jwks', jwks: parsed };
  }
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => typeof s === 'string')) return fail('scopes must be a non-empty list');
  const set = parseScopeString(scopes.join(' '));
  if (set.errors.length > 0 || set.resource.length !== scopes.length || set.resource.some((s) => s.context !== 'system')) {
    return fail('scopes must be system/ resource scopes');
  }
  if (name !== undefined && typeof name !== 'string') return fail('name must be a string');
  return { ok: true, client: { clientId, status, keys, scopes: [...scopes] as string[], ...(name !== undefined ? { name } : {}) } };
}

/** A public JWKS object, or why not: keys with a `kid`, RSA or EC, and no private members. */
function publicJwks(value: unknown): { keys: Readonly<Record<string, unknown>>[] } | string {
  let jwks = value;
  if (typeof value === 'string') {
    try {
      jwks = JSON.parse(value);
    } catch {
      return 'jwks is not JSON';
    }
  }
  const keys = typeof jwks === 'object' && jwks !== null ? (jwks as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_INLINE_KEYS) return `jwks must have 1..${MAX_INLINE_KEYS} keys`;
  for (const key of keys as unknown[]) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) return 'every JWK must be an object';
    const k = key as Record<string, unknown>;
    if (typeof k.kid !== 'string' || k.kid === '') return 'every JWK needs a "kid"';
    if (k.kty !== 'RSA' && k.kty !== 'EC') return 'JWKs must be RSA or EC keys';
    if (PRIVATE_JWK_MEMBERS.some((m) => m in k)) return 'jwks must hold public keys only (a private key was pasted)';
  }
  return { keys: keys as Record<string, unknown>[] };
}

/** The `scope` parameter: `system/` resource scopes only. */
function requestedScopes(text: string): ResourceScope[] {
  const set = parseScopeString(text);
  const first = set.errors[0];
  if (first) throw bad('invalid_scope', `invalid scope "${preview(first.raw)}": ${first.reason}`);
  const other = [...set.smart, ...set.foreign][0] ?? set.resource.find((s) => s.context !== 'system')?.raw;
  if (other !== undefined) throw bad('invalid_scope', `scope "${preview(other)}" cannot be granted to a backend client; only system/ scopes can`);
  return [...set.resource];
}


/** Scopes from configuration or a validated registration: system/ resource scopes only. */
function trusted(scopes: readonly string[]): ResourceScope[] {
  return scopesOfContext(parseScopeString(scopes.join(' ')).resource, ['system']);
}

function jsonObject(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    // Strict UTF-8: a decoder that replaced bad bytes could make two parsers read different claims.
    const binary = atob(segment.replace(/-/g, '+').replace(/_/g, '/'));
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  } catch {
    throw bad('invalid_client', `client_assertion ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('invalid_client', `client_assertion ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** https, or http to this machine (the local stack and tests). */
function fetchableUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname));
  } catch {
    return false;
  }
}

function withoutTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

function preview(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function bad(code: OAuthErrorCode, description: string): OAuthError {
  return new OAuthError(code, description);
}
