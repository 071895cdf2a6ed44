/**
 * RFC 8693 token exchange rules: the API server (actor) presents a signed-in user's access token
 * (subject) and its own machine token, and gets a short-lived token for ONE of the user's
 * patients, carrying no more than both of them hold. Pure: tokens arrive verified, the link
 * record arrives fetched, the clock and the `jti` arrive as values.
 *
 * Order of checks (the handler follows it): request shape → target → actor → subject → link →
 * patient → scope → lifetime. The actor is judged before the subject so that a caller without a
 * delegating machine token learns nothing about a user token it holds.
 */
import { AccessDeniedError, FhirgateError } from './errors';
import { FHIR_ID, parseFhirUser } from './ids';
import { OAuthError, OAuthErrorCode } from './oauth-error';
import { ClassifiedToken, ClientAllowList, classifyClaims, LinkRecord, Principal, userPrincipal } from './principal';
import { coveredBy, intersectScopes, minimalScopes, scopesOfContext } from './scope-check';
import { formatScope, parseScopeString, ResourceScope } from './scopes';
import type { AuthzSettings } from './settings';

/** RFC 8693 §2.1 `grant_type`. */
export const GRANT_TYPE_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** RFC 8693 §3: the only token type fhirgate accepts and issues. */
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
/** Exchanged tokens live at most five minutes (docs/patterns/on-behalf-of.md). */
export const MAX_EXCHANGE_LIFETIME_SECONDS = 300;
export const DEFAULT_DELEGATION_SCOPE = 'fhirgate/delegate';
export const DEFAULT_DELEGABLE_SCOPES: readonly string[] = ['patient/*.rs'];
/** An issued scope string longer than this is refused: the token must stay small (authorizer limit 8 KiB). */
export const MAX_ISSUED_SCOPE_LENGTH = 2048;

/** What the exchange may issue, from configuration. */
export interface ExchangePolicy {
  /** `iss` of issued tokens, e.g. `https://api.example.com/prod/auth`. */
  readonly issuer: string;
  /** `aud` of issued tokens: the public FHIR base URL (RFC 8707 resource / RFC 8693 audience). */
  readonly audience: string;
  /** The Cognito custom scope an actor's machine token must carry. @default 'fhirgate/delegate' */
  readonly delegationScope: string;
  /** The most any actor may be delegated, `patient/` scopes only. @default ['patient/*.rs'] */
  readonly delegableScopes: readonly string[];
  /** Seconds an issued token lives, 1..300 (clamped further by the subject and actor `exp`). @default 300 */
  readonly lifetimeSeconds: number;
}

/** A well-formed exchange request (RFC 8693 §2.1), tokens not yet verified. */
export interface ExchangeRequest {
  readonly subjectToken: string;
  readonly actorToken: string;
  readonly scope?: string;
  /** Every `resource` and `audience` value (RFC 8693 §2.1 allows several of each). */
  readonly targets: readonly string[];
  /** fhirgate extension: which of the user's patients the token is for. */
  readonly patient?: string;
}

export type FormParams = readonly (readonly [string, string])[];

/** The verified subject: a user's access token. */
export type ExchangeSubject = Extract<ClassifiedToken, { shape: 'user' }> & { readonly exp: number };

/** The verified actor: a machine token allowed to delegate. */
export interface ExchangeActor {
  readonly clientId: string;
  readonly exp: number;
}

/** Claims of an issued token (RFC 9068 §2.2 plus RFC 8693 §4.1 `act` and SMART `patient`/`fhirUser`). */
export interface ExchangedClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly client_id: string;
  readonly act: { readonly sub: string };
  readonly scope: string;
  readonly patient: string;
  readonly fhirUser?: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
}

export interface ExchangeGrant {
  readonly claims: ExchangedClaims;
  readonly expiresIn: number;
}

export interface ExchangeInput {
  readonly request: ExchangeRequest;
  readonly subject: ExchangeSubject;
  readonly actor: ExchangeActor;
  readonly link: LinkRecord | undefined;
  readonly settings: AuthzSettings;
  readonly policy: ExchangePolicy;
  /** Seconds since the epoch. */
  readonly now: number;
  readonly jti: string;
}

/** RFC 8693 §2.1 and RFC 8707: these two may be repeated; every other parameter may not. */
const REPEATABLE = new Set(['resource', 'audience']);

/** Validate the form parameters of a token request (RFC 6749 §3.2, RFC 8693 §2.1). */
export function parseExchangeRequest(params: FormParams): ExchangeRequest {
  const values = new Map<string, string[]>();
  for (const [name, value] of params) values.set(name, [...(values.get(name) ?? []), value]);
  for (const [name, list] of values) {
    // RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once."
    if (list.length > 1 && !REPEATABLE.has(name)) throw bad('invalid_request', `parameter "${name}" is repeated`);
  }
  // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
  const one = (name: string): string | undefined => (values.get(name)?.[0] || undefined);
  const required = (name: string): string => one(name) ?? fail('invalid_request', `parameter "${name}" is required`);

  const grantType = one('grant_type');
  if (grantType === undefined) throw bad('invalid_request', 'parameter "grant_type" is required');
  if (grantType !== GRANT_TYPE_TOKEN_EXCHANGE) throw bad('unsupported_grant_type', `only ${GRANT_TYPE_TOKEN_EXCHANGE} is supported`);

  const subjectToken = required('subject_token');
  const actorToken = required('actor_token'); // fhirgate only delegates: no actor, no exchange
  for (const name of ['subject_token_type', 'actor_token_type']) {
    if (required(name) !== TOKEN_TYPE_ACCESS_TOKEN) throw bad('invalid_request', `${name} must be ${TOKEN_TYPE_ACCESS_TOKEN}`);
  }
  const requested = one('requested_token_type');
  if (requested !== undefined && requested !== TOKEN_TYPE_ACCESS_TOKEN) {
    throw bad('invalid_request', `requested_token_type must be ${TOKEN_TYPE_ACCESS_TOKEN}`);
  }
  const patient = one('patient');
  if (patient !== undefined && !FHIR_ID.test(patient)) throw bad('invalid_request', 'patient must be a FHIR id');
  const targets = [...(values.get('resource') ?? []), ...(values.get('audience') ?? [])].filter((t) => t !== '');
  return { subjectToken, actorToken, scope: one('scope'), targets, patient };
}

/** RFC 8693 §2.2.2: a `resource` or `audience` other than the FHIR API is `invalid_target`. */
export function checkTarget(request: ExchangeRequest, policy: ExchangePolicy): void {
  const ours = withoutTrailingSlash(policy.audience);
  for (const target of request.targets) {
    if (withoutTrailingSlash(target) !== ours) throw bad('invalid_target', `tokens are issued only for ${policy.audience}`);
  }
}

/**
 * The actor: a machine (client_credentials) access token of an allowed machine client that
 * carries the delegation scope. A token that is not that is `invalid_request` (RFC 8693 §2.2.2:
 * an actor_token "invalid for any reason, or unacceptable based on policy"); a machine client
 * without the delegation scope is `unauthorized_client` (RFC 6749 §5.2).
 */
export function actorOf(claims: Readonly<Record<string, unknown>>, clients: ClientAllowList, policy: ExchangePolicy): ExchangeActor {
  refuseExchanged(claims, policy, 'actor_token', 'invalid_request');
  if (claims.token_use !== 'access') throw bad('invalid_request', 'actor_token is not an access token');
  const token = classified(claims, clients, 'actor_token', 'invalid_request');
  if (token.shape !== 'machine') throw bad('invalid_request', 'actor_token must be a machine (client_credentials) token');
  const granted = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
  if (!granted.includes(policy.delegationScope)) {
    throw bad('unauthorized_client', `the actor's token lacks the "${policy.delegationScope}" scope, so it may not act for users`);
  }
  return { clientId: token.clientId, exp: expOf(claims, 'actor_token', 'invalid_request') };
}

/** The subject: a user's access token from an allowed user-facing client; anything else is `invalid_grant`. */
export function subjectOf(claims: Readonly<Record<string, unknown>>, clients: ClientAllowList, policy: ExchangePolicy): ExchangeSubject {
  refuseExchanged(claims, policy, 'subject_token', 'invalid_grant');
  if (claims.token_use !== 'access') throw bad('invalid_grant', 'subject_token is not an access token (ID tokens are refused)');
  const token = classified(claims, clients, 'subject_token', 'invalid_grant');
  if (token.shape !== 'user') throw bad('invalid_grant', "subject_token is a machine token; the exchange acts for a signed-in user");
  return { ...token, exp: expOf(claims, 'subject_token', 'invalid_grant') };
}

/** Decide the exchange: which patient, which scopes, how long. Throws OAuthError. */
export function decideExchange(input: ExchangeInput): ExchangeGrant {
  const { request, subject, actor, policy, now } = input;
  if (subject.exp <= now) throw bad('invalid_grant', 'subject_token has expired');
  if (actor.exp <= now) throw bad('invalid_request', 'actor_token has expired');

  const user = effectiveUser(subject, input.link, input.settings);
  const patient = selectPatient(user, request.patient);

  // The user's scopes exactly as the authorizer computes them, patient context only: a `user/`
  // scope is about every patient on a panel and a delegated token is about one; `system/` scopes
  // cannot reach here (classifyClaims refuses them on user tokens).
  const grantable = minimalScopes(intersectScopes(scopesOfContext(user.scopes, ['patient']), trustedScopes(policy.delegableScopes)));
  let scopes = grantable;
  if (request.scope !== undefined) {
    const requested = requestedScopes(request.scope);
    const beyond = requested.find((r) => !coveredBy(r, grantable));
    if (beyond) throw bad('invalid_scope', `scope "${beyond.raw}" exceeds what the user holds and the actor may be delegated`);
    // requested ⊆ grantable, so requested ∩ grantable = requested; issue it in canonical v2 text.
    scopes = minimalScopes(requested);
  }
  if (scopes.length === 0) {
    // README "on behalf of": practitioners work with their own token; their user/ scopes cover a panel and are never re-issued as patient/ ones.
    const why = user.kind === 'practitioner' ? ": a practitioner's user/ scopes cover a panel and are not delegated (give the role patient/ scopes to allow it)" : '';
    throw bad('invalid_scope', `no patient/ scope can be delegated for this user${why}`);
  }
  const scope = scopes.map(formatScope).join(' ');
  if (scope.length > MAX_ISSUED_SCOPE_LENGTH) throw bad('invalid_scope', 'too many scopes requested');

  // Never beyond the user's own token, nor the actor's (docs/patterns/on-behalf-of.md: at most 5 minutes, never past the user's own token).
  const exp = Math.min(now + policy.lifetimeSeconds, subject.exp, actor.exp);
  const claims: ExchangedClaims = {
    iss: policy.issuer,
    sub: subject.sub,
    aud: policy.audience,
    client_id: actor.clientId, // RFC 9068 §2.2: the client the token was issued to
    act: { sub: actor.clientId }, // RFC 8693 §4.1: who acts for `sub`
    scope,
    patient,
    ...(user.fhirUser !== undefined ? { fhirUser: user.fhirUser } : {}),
    jti: input.jti,
    iat: now,
    exp,
  };
  return { claims, expiresIn: exp - now };
}

/** Validate a policy handed to the exchange (configuration, so mistakes are TypeErrors). */
export function checkExchangePolicy(policy: ExchangePolicy): ExchangePolicy {
  const lifetime = policy.lifetimeSeconds;
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > MAX_EXCHANGE_LIFETIME_SECONDS) {
    throw new TypeError(`exchange lifetime must be 1..${MAX_EXCHANGE_LIFETIME_SECONDS} seconds`);
  }
  if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(policy.delegationScope)) throw new TypeError('delegation scope must be one RFC 6749 scope-token');
  const delegable = trustedScopes(policy.delegableScopes);
  if (delegable.length !== policy.delegableScopes.length || delegable.some((s) => s.context !== 'patient')) {
    throw new TypeError('delegable scopes must be patient/ resource scopes');
  }
  if (policy.issuer === '' || policy.audience === '') throw new TypeError('exchange issuer and audience are required');
  return policy;
}

/** The user principal the authorizer would build; refusals become OAuth errors. */
function effectiveUser(subject: ExchangeSubject, link: LinkRecord | undefined, settings: AuthzSettings): Principal {
  try {
    return userPrincipal(subject, link, settings);
  } catch (err) {
    if (err instanceof AccessDeniedError && err.code === 'ERR_SCOPE_INSUFFICIENT') throw bad('invalid_scope', err.message, err.code);
    if (err instanceof FhirgateError) throw bad('invalid_grant', `the user may not use the FHIR API: ${err.message}`, err.code);
    throw err;
  }
}

/** The requested patient if the user holds it; else their own, or their only one. */
function selectPatient(user: Principal, requested: string | undefined): string {
  const { patients } = user;
  if (requested !== undefined) {
    // Asking for a patient the user cannot act for asks for more than the resource owner holds.
    if (!patients.includes(requested)) throw bad('invalid_scope', `the user may not act for patient ${requested}`);
    return requested;
  }
  const self = user.fhirUser === undefined ? undefined : parseFhirUser(user.fhirUser);
  if (self?.resourceType === 'Patient' && patients.includes(self.id)) return self.id;
  if (patients.length === 1) return patients[0]!;
  if (patients.length === 0) throw bad('invalid_grant', 'the user is linked to no patient');
  throw bad('invalid_request', `the user may act for ${patients.length} patients; choose one with the "patient" parameter`);
}

/** The `scope` parameter: patient/ resource scopes only; anything else cannot be delegated. */
function requestedScopes(text: string): ResourceScope[] {
  const set = parseScopeString(text);
  const first = set.errors[0];
  if (first) throw bad('invalid_scope', `invalid scope "${preview(first.raw)}": ${first.reason}`);
  const other = [...set.smart, ...set.foreign][0] ?? set.resource.find((s) => s.context !== 'patient')?.raw;
  if (other !== undefined) throw bad('invalid_scope', `scope "${preview(other)}" cannot be delegated; only patient/ scopes can`);
  return [...set.resource];
}


/** Tokens fhirgate issued are never exchanged again: the exchange trusts only Cognito (no chaining). */
function refuseExchanged(claims: Readonly<Record<string, unknown>>, policy: ExchangePolicy, param: string, code: OAuthErrorCode): void {
  if (claims.iss === policy.issuer || 'act' in claims) throw bad(code, `${param} is a delegated token; exchanged tokens cannot be exchanged again`);
}

function classified(claims: Readonly<Record<string, unknown>>, clients: ClientAllowList, param: string, code: OAuthErrorCode): ClassifiedToken {
  try {
    return classifyClaims(claims, clients);
  } catch (err) {
    if (err instanceof FhirgateError) throw bad(code, `${param} is not acceptable: ${err.message}`, err.code);
    throw err;
  }
}

function expOf(claims: Readonly<Record<string, unknown>>, param: string, code: OAuthErrorCode): number {
  const exp = claims.exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw bad(code, `${param} has no expiry`);
  return exp;
}

function trustedScopes(scopes: readonly string[]): ResourceScope[] {
  const set = parseScopeString(scopes.join(' '));
  if (set.errors.length > 0) throw new TypeError(`invalid delegable scope: ${set.errors[0]!.raw}`);
  return [...set.resource];
}

function withoutTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

function preview(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function bad(code: OAuthErrorCode, description: string, rule?: FhirgateError['code']): OAuthError {
  return new OAuthError(code, description, rule);
}

function fail(code: OAuthErrorCode, description: string): never {
  throw bad(code, description);
}
