/**
 * SMART App Launch 2.x, standalone launch with authorization code + PKCE: the rules of fhirgate's
 * authorization server for browser apps. Pure: the registered client arrives looked up, the link
 * record arrives fetched, the clock as a number; hashing (PKCE S256) is done by the caller.
 *
 * The authorize request travels: client → redirect_uri → (from here on errors go back to the app)
 * response_type → state → aud → PKCE → scope. After the user signed in: patient choices → scopes.
 * Spec: https://hl7.org/fhir/smart-app-launch/app-launch.html (§"Obtain authorization code"),
 * RFC 6749 §4.1, RFC 7636 (PKCE).
 */
import { FhirgateError } from './errors';
import { FHIR_ID } from './ids';
import { ClientAllowList, LinkRecord, userPrincipal } from './principal';
import { intersectScopes, minimalScopes } from './scope-check';
import { formatScope, parseScopeString, ResourceScope } from './scopes';
import type { AuthzSettings, Role } from './settings';
import type { FormParams } from './token-exchange';

/** A SMART app registered with fhirgate (the apps table). */
export interface AppClient {
  readonly clientId: string;
  readonly name: string;
  readonly status: 'active' | 'revoked';
  /** Exact redirect URIs (RFC 6749 §3.1.2.3: compared as strings, no prefix or pattern). */
  readonly redirectUris: readonly string[];
  /** Every scope the app may ask for: SMART names (openid, fhirUser, launch/patient, offline_access…) and patient/ scopes. */
  readonly scopes: readonly string[];
}

/** The authorization server's configuration. */
export interface AppLaunchPolicy {
  /** `iss` of issued access and id tokens (the token service's issuer, e.g. `https://api.example.com/prod/auth`). */
  readonly issuer: string;
  /** The FHIR base URL: the only `aud` an app may ask for, and the `aud` of its access tokens. */
  readonly audience: string;
  /** The most each role may be granted through an app, `patient/` scopes. @default read-only (`patient/*.rs`) for every role */
  readonly roleScopes: Readonly<Record<Role, readonly string[]>>;
  /** Access token lifetime, 60..3600 s. @default 300 */
  readonly accessTokenSeconds: number;
  /** Refresh token family lifetime with `offline_access`. @default 30 days */
  readonly offlineSeconds: number;
  /** Refresh token family lifetime with `online_access`. @default 12 hours */
  readonly onlineSeconds: number;
  /** Authorization code lifetime (RFC 6749 §4.1.2 recommends at most 10 minutes). @default 60 */
  readonly codeSeconds: number;
  /** Sign-in session lifetime (authorize → callback → picker). @default 600 */
  readonly sessionSeconds: number;
}

export const DEFAULT_APP_LAUNCH_POLICY = {
  roleScopes: { patient: ['patient/*.rs'], guardian: ['patient/*.rs'], practitioner: ['patient/*.rs'] },
  accessTokenSeconds: 300,
  offlineSeconds: 30 * 24 * 3600,
  onlineSeconds: 12 * 3600,
  codeSeconds: 60,
  sessionSeconds: 600,
} as const satisfies Omit<AppLaunchPolicy, 'issuer' | 'audience'>;

/** SMART names fhirgate grants (when requested and registered); `launch` (EHR launch) is not offered. */
export const GRANTABLE_SMART_SCOPES: readonly string[] = ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'online_access'];

/** RFC 6749 §4.1.2.1 error codes of the authorization endpoint. */
export type AuthorizeErrorCode = 'invalid_request' | 'unauthorized_client' | 'access_denied' | 'unsupported_response_type' | 'invalid_scope' | 'server_error' | 'temporarily_unavailable';

/**
 * A refused authorize request. `redirect` is false while the client or its redirect_uri is not
 * established: RFC 6749 §4.1.2.1 "MUST NOT automatically redirect the user-agent to the invalid
 * redirection URI" — the user sees an error page instead.
 */
export class AuthorizeError extends Error {
  constructor(
    readonly code: AuthorizeErrorCode,
    description: string,
    readonly redirect: boolean,
    /** Where a refusal found while validating the request goes back to (redirect_uri already checked). */
    readonly target?: { readonly redirectUri: string; readonly state?: string },
  ) {
    super(description);
    this.name = 'AuthorizeError';
  }
}

/** A validated authorize request, as stored in the sign-in session. */
export interface AuthorizeRequest {
  readonly clientId: string;
  readonly redirectUri: string;
  /** The app's `state`, returned unchanged (RFC 6749 §4.1.2). */
  readonly state: string;
  /** RFC 7636 §4.2: BASE64URL(SHA256(code_verifier)); only S256 is accepted. */
  readonly codeChallenge: string;
  readonly scope: string;
  /** OpenID Connect nonce, echoed in the id_token. */
  readonly nonce?: string;
}

/** RFC 7636 §4.1: 43..128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** A SHA-256 digest in base64url without padding is 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** Bound what we store and echo: `state` and `nonce` are opaque but not unbounded. */
const MAX_OPAQUE = 512;

/** Validate an authorize request against the registered client (undefined when unknown). */
export function parseAuthorizeRequest(query: FormParams, client: AppClient | undefined, policy: Pick<AppLaunchPolicy, 'audience'>): AuthorizeRequest {
  const values = paramMap(query);
  const repeated = [...values].find(([, list]) => list.length > 1)?.[0];
  const one = (name: string) => values.get(name)?.[0] || undefined;
  // Until client and redirect_uri are known good, nothing goes back to any URI.
  const clientId = one('client_id');
  if (clientId === undefined) throw new AuthorizeError('invalid_request', 'client_id is required', false);
  if (!client || client.clientId !== clientId || client.status !== 'active') throw new AuthorizeError('unauthorized_client', 'unknown or revoked client_id', false);
  const redirectUri = one('redirect_uri');
  if (redirectUri === undefined) throw new AuthorizeError('invalid_request', 'redirect_uri is required (SMART App Launch)', false);
  if (!client.redirectUris.includes(redirectUri)) throw new AuthorizeError('invalid_request', 'redirect_uri is not registered for this client (exact match)', false);
  if (repeated === 'client_id' || repeated === 'redirect_uri') throw new AuthorizeError('invalid_request', `parameter "${repeated}" is repeated`, false);

  const target = { redirectUri, ...(one('state') !== undefined && values.get('state')!.length === 1 ? { state: one('state')! } : {}) };
  const fail = (code: AuthorizeErrorCode, why: string): never => {
    throw new AuthorizeError(code, why, true, target);
  };
  // RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once."
  if (repeated !== undefined) fail('invalid_request', `parameter "${repeated}" is repeated`);
  if (one('response_type') !== 'code') fail('unsupported_response_type', 'only response_type=code is supported');
  const state = one('state') ?? fail('invalid_request', 'state is required');
  if (state.length > MAX_OPAQUE) fail('invalid_request', 'state is too long');
  // SMART: "aud … the base URL of the FHIR resource server"; a token for another server is never issued here.
  const aud = one('aud') ?? fail('invalid_request', 'aud is required (the FHIR base URL)');
  if (stripSlash(aud) !== stripSlash(policy.audience)) fail('invalid_request', `aud must be ${policy.audience}`);
  // SMART App Launch 2: PKCE with S256 is required; `plain` is never accepted.
  const method = one('code_challenge_method');
  const challenge = one('code_challenge');
  if (method === undefined || challenge === undefined) fail('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256');
  if (method !== 'S256') fail('invalid_request', 'code_challenge_method must be S256 (plain is not accepted)');
  if (!S256_CHALLENGE.test(challenge!)) fail('invalid_request', 'code_challenge is not a base64url SHA-256 digest');
  const scope = one('scope') ?? fail('invalid_scope', 'scope is required');
  const parsed = parseScopeString(scope);
  if (parsed.errors[0]) fail('invalid_scope', `invalid scope "${parsed.errors[0].raw.slice(0, 80)}": ${parsed.errors[0].reason}`);
  const nonce = one('nonce');
  if (nonce !== undefined && nonce.length > MAX_OPAQUE) fail('invalid_request', 'nonce is too long');
  return { clientId, redirectUri, state, codeChallenge: challenge!, scope, ...(nonce !== undefined ? { nonce } : {}) };
}

/** True when the string is an RFC 7636 §4.1 code_verifier. */
export function isCodeVerifier(value: string): boolean {
  return CODE_VERIFIER.test(value);
}

/** Who signed in, as the broker reports it after a verified Cognito sign-in. */
export interface SignedInUser {
  readonly sub: string;
  readonly groups?: readonly string[];
}

/** Which patients the user may launch for, with their role and fhirUser. */
export interface LaunchUser {
  readonly sub: string;
  readonly role: Role;
  readonly fhirUser?: string;
  /** The patients offered: a patient's own record; a guardian's dependents; a practitioner's panel. Never a search. */
  readonly patients: readonly string[];
}

/**
 * The user's launch choices, by the same rule the authorizer applies (`userPrincipal`: link
 * record, role confirmed by `cognito:groups`), so a picker can never offer what an access request
 * would refuse.
 */
export function launchUser(user: SignedInUser, link: LinkRecord | undefined, settings: AuthzSettings): LaunchUser {
  const clients: ClientAllowList = { userClientIds: ['app-launch'], machineClientIds: [] };
  let principal;
  try {
    principal = userPrincipal({ shape: 'user', sub: user.sub, clientId: clients.userClientIds[0]!, groups: user.groups, scopes: parseScopeString('') }, link, settings);
  } catch (err) {
    if (err instanceof FhirgateError) throw new AuthorizeError('access_denied', `this user may not use the FHIR API: ${err.message}`, true);
    throw err;
  }
  if (principal.patients.length === 0) throw new AuthorizeError('access_denied', 'this user is linked to no patient', true);
  return { sub: user.sub, role: link!.role, fhirUser: link!.fhirUser, patients: principal.patients };
}

/**
 * The patient chosen without a picker: a patient's own record. A guardian or a practitioner
 * always picks (even from one), so the app never opens someone else's record unconfirmed.
 */
export function automaticPatient(user: LaunchUser): string | undefined {
  return user.role === 'patient' ? user.patients[0] : undefined;
}

/** A patient picked in the picker: one of those offered, else refused (never a free choice). */
export function pickedPatient(user: LaunchUser, picked: string | undefined): string {
  if (picked === undefined || !FHIR_ID.test(picked) || !user.patients.includes(picked)) {
    throw new AuthorizeError('access_denied', 'that patient is not one this user may choose', true);
  }
  return picked;
}

/** What an app is granted: SMART names plus `patient/` resource scopes. */
export interface LaunchGrant {
  /** The granted scope string of the token response (SMART names and resource scopes). */
  readonly scope: string;
  /** The resource scopes alone: the access token's `scope` claim. */
  readonly resourceScope: string;
  readonly openid: boolean;
  readonly fhirUser: boolean;
  readonly refresh: 'offline' | 'online' | undefined;
}

/**
 * Granted scopes = requested ∩ what the client may ask ∩ what the role may be granted through an
 * app ∩ the role's ceiling. Resource scopes are `patient/` only: every token is bound to one
 * patient (a `user/` or `system/` request grants nothing here). OAuth lets the server grant less
 * than asked (RFC 6749 §3.3); granting no resource scope at all is `invalid_scope`.
 */
export function grantScopes(requested: string, client: AppClient, role: Role, settings: AuthzSettings, policy: Pick<AppLaunchPolicy, 'roleScopes'>): LaunchGrant {
  const asked = parseScopeString(requested);
  const allowed = parseScopeString(client.scopes.join(' '));
  const names = GRANTABLE_SMART_SCOPES.filter((n) => asked.smart.includes(n) && allowed.smart.includes(n));
  const patientOnly = (scopes: readonly ResourceScope[]) => scopes.filter((s) => s.context === 'patient');
  const roleMax = intersectScopes(trusted(policy.roleScopes[role]), asPatient(trusted(settings.roles[role].ceilingScopes)));
  const resource = minimalScopes(intersectScopes(intersectScopes(patientOnly(asked.resource), patientOnly(allowed.resource)), roleMax));
  if (resource.length === 0) throw new AuthorizeError('invalid_scope', 'none of the requested resource scopes can be granted to this app and user', true);
  const resourceScope = resource.map(formatScope).join(' ');
  // offline_access wins over online_access when both are asked (the longer one was asked for too).
  const refresh = names.includes('offline_access') ? 'offline' : names.includes('online_access') ? 'online' : undefined;
  return { scope: [...names, resourceScope].join(' '), resourceScope, openid: names.includes('openid'), fhirUser: names.includes('openid') && names.includes('fhirUser'), refresh };
}

/**
 * A role ceiling read for one patient: `user/X` ("any patient I may see") covers `patient/X` once
 * the token is bound to one of those patients; `system/` never applies to a user.
 */
export function asPatient(scopes: readonly ResourceScope[]): ResourceScope[] {
  return scopes.filter((s) => s.context !== 'system').map((s) => (s.context === 'patient' ? s : { ...s, context: 'patient' as const, raw: `patient/${s.raw.slice('user/'.length)}` }));
}

/** Validate an app registration (CLI and CDK input). Throws TypeError naming the problem. */
export function checkAppClient(app: AppClient): AppClient {
  if (!/^[A-Za-z0-9._-]{3,128}$/.test(app.clientId)) throw new TypeError('client id: 3..128 of A-Z a-z 0-9 . _ -');
  if (app.redirectUris.length === 0) throw new TypeError('at least one redirect URI is required');
  for (const uri of app.redirectUris) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new TypeError(`redirect URI ${uri} is not an absolute URL`);
    }
    // RFC 6749 §3.1.2: no fragment. https, or http on loopback only (RFC 8252 §7.3).
    if (url.hash !== '' || uri.includes('#')) throw new TypeError(`redirect URI ${uri} must not have a fragment`);
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new TypeError(`redirect URI ${uri} must be https (http only on loopback)`);
  }
  const set = parseScopeString(app.scopes.join(' '));
  if (set.errors[0]) throw new TypeError(`scope ${set.errors[0].raw}: ${set.errors[0].reason}`);
  const bad = [...set.foreign, ...set.smart.filter((n) => !GRANTABLE_SMART_SCOPES.includes(n)), ...set.resource.filter((s) => s.context !== 'patient').map((s) => s.raw)];
  if (bad.length > 0) throw new TypeError(`an app may be allowed only ${GRANTABLE_SMART_SCOPES.join(', ')} and patient/ scopes, not ${bad.join(', ')}`);
  if (set.resource.length === 0) throw new TypeError('an app needs at least one patient/ scope');
  return app;
}

function trusted(scopes: readonly string[]): readonly ResourceScope[] {
  const set = parseScopeString(scopes.join(' '));
  if (set.errors[0]) throw new TypeError(`invalid scope in settings: ${set.errors[0].raw}`);
  return set.resource;
}

function paramMap(params: FormParams): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const [name, value] of params) values.set(name, [...(values.get(name) ?? []), value]);
  return values;
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
