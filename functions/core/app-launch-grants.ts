/**
 * The token endpoint side of SMART App Launch: redeeming an authorization code (RFC 6749 §4.1.3,
 * RFC 7636 §4.6) and a rotating refresh token (RFC 6749 §6, OAuth 2.0 Security BCP RFC 9700
 * §4.14.2: rotation with reuse detection), and the claims of what is issued. Pure: records
 * arrive read from storage, PKCE's SHA-256 arrives computed, the clock as a number.
 *
 * What fhirgate issues to an app is one patient's worth: an RFC 9068 access token with `patient`,
 * `fhirUser`, `client_id` and `patient/` scopes (no `act`: the app acts for the signed-in user
 * directly), and, with `openid`, an id_token whose `fhirUser` names the user's FHIR resource.
 */
import { AccessDeniedError, TokenError } from './errors';
import { FHIR_ID, parseFhirUser } from './ids';
import { OAuthError } from './oauth-error';
import { asPatient, isCodeVerifier, LaunchUser } from './app-launch';
import { ClientAllowList, LinkRecord, Principal, userPrincipal } from './principal';
import { coveredBy, intersectScopes, minimalScopes } from './scope-check';
import { formatScope, parseScopeString, ResourceScope } from './scopes';
import type { AuthzSettings, Role } from './settings';
import type { ExchangedClaims, FormParams } from './token-exchange';

export const GRANT_TYPE_AUTHORIZATION_CODE = 'authorization_code';
export const GRANT_TYPE_REFRESH_TOKEN = 'refresh_token';

/** What a launch grants, bound to one user, one patient and one app: kept with the code and with every refresh token. */
export interface LaunchContext {
  readonly clientId: string;
  readonly sub: string;
  readonly role: Role;
  readonly fhirUser?: string;
  readonly patient: string;
  /** The token response's `scope` (SMART names and resource scopes). */
  readonly scope: string;
  /** The access token's `scope` claim: the `patient/` scopes alone. */
  readonly resourceScope: string;
  readonly openid: boolean;
  /** `openid fhirUser` was granted: the id_token carries `fhirUser`. */
  readonly fhirUserClaim: boolean;
  readonly refresh?: 'offline' | 'online';
  /** Every code and refresh token of one launch shares a family; revoking it ends them all. */
  readonly family: string;
}

/** A stored authorization code (keyed by its hash). */
export interface CodeRecord extends LaunchContext {
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly nonce?: string;
  /** Seconds since the epoch. */
  readonly exp: number;
}

/** A stored refresh token (keyed by its hash). */
export interface RefreshRecord extends LaunchContext {
  /** The family's absolute end: rotation never extends it. */
  readonly exp: number;
}

export interface CodeRequest {
  readonly code: string;
  readonly redirectUri: string;
  readonly clientId: string;
  readonly codeVerifier: string;
}

export interface RefreshRequest {
  readonly refreshToken: string;
  /** Optional for a public client (RFC 6749 §6 asks authentication only of confidential ones; fhirclient sends none): the token is bound to its client. */
  readonly clientId?: string;
  readonly scope?: string;
}

/** RFC 6749 §4.1.3 (+ RFC 7636 §4.5 `code_verifier`), for a public client that sends its `client_id`. */
export function parseCodeRequest(params: FormParams): CodeRequest {
  const one = single(params);
  const codeVerifier = one('code_verifier') ?? fail('invalid_request', 'code_verifier is required (PKCE)');
  if (!isCodeVerifier(codeVerifier)) throw new OAuthError('invalid_request', 'code_verifier must be 43..128 unreserved characters (RFC 7636 §4.1)');
  return {
    code: one('code') ?? fail('invalid_request', 'code is required'),
    redirectUri: one('redirect_uri') ?? fail('invalid_request', 'redirect_uri is required'),
    clientId: one('client_id') ?? fail('invalid_request', 'client_id is required'),
    codeVerifier,
  };
}

/** RFC 6749 §6. */
export function parseRefreshRequest(params: FormParams): RefreshRequest {
  const one = single(params);
  const scope = one('scope');
  const clientId = one('client_id');
  return {
    refreshToken: one('refresh_token') ?? fail('invalid_request', 'refresh_token is required'),
    ...(clientId !== undefined ? { clientId } : {}),
    ...(scope !== undefined ? { scope } : {}),
  };
}

/**
 * A code as redeemed: the same client, the same redirect_uri (RFC 6749 §4.1.3), not expired, and
 * BASE64URL(SHA256(code_verifier)) equal to the stored challenge (RFC 7636 §4.6). Every failure
 * is `invalid_grant` and says which check failed.
 */
export function checkCodeRedemption(record: CodeRecord, request: CodeRequest, verifierChallenge: string, now: number): void {
  if (record.clientId !== request.clientId) throw new OAuthError('invalid_grant', 'the code was issued to another client');
  if (record.redirectUri !== request.redirectUri) throw new OAuthError('invalid_grant', 'redirect_uri differs from the authorization request');
  if (record.exp <= now) throw new OAuthError('invalid_grant', 'the code has expired');
  if (verifierChallenge !== record.codeChallenge) throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge');
}

/** A refresh token as presented: the same client (when it names one), family not expired. */
export function checkRefresh(record: RefreshRecord, request: RefreshRequest, now: number): void {
  if (request.clientId !== undefined && record.clientId !== request.clientId) throw new OAuthError('invalid_grant', 'the refresh token was issued to another client');
  if (record.exp <= now) throw new OAuthError('invalid_grant', 'the refresh token has expired');
}

/** RFC 6749 §6: a refresh may narrow the scope, never widen it. Returns the context to issue. */
export function narrowed(context: LaunchContext, requested: string | undefined): LaunchContext {
  if (requested === undefined) return context;
  const asked = parseScopeString(requested);
  if (asked.errors[0]) throw new OAuthError('invalid_scope', `invalid scope "${asked.errors[0].raw.slice(0, 80)}"`);
  const held = parseScopeString(context.scope);
  const beyondName = asked.smart.find((n) => !held.smart.includes(n)) ?? asked.foreign[0];
  const beyond = beyondName ?? asked.resource.find((r) => !coveredBy(r, held.resource))?.raw;
  if (beyond !== undefined) throw new OAuthError('invalid_scope', `scope "${beyond.slice(0, 80)}" was not granted to this refresh token`);
  const resource = minimalScopes(asked.resource);
  if (resource.length === 0) throw new OAuthError('invalid_scope', 'a refresh must keep at least one resource scope');
  const resourceScope = resource.map(formatScope).join(' ');
  const names = asked.smart;
  return {
    ...context,
    scope: [...names, resourceScope].join(' '),
    resourceScope,
    openid: names.includes('openid'),
    fhirUserClaim: names.includes('openid') && names.includes('fhirUser'),
    refresh: names.includes('offline_access') ? 'offline' : names.includes('online_access') ? 'online' : undefined,
  };
}

/**
 * The user may still launch for the bound patient, as the same role and fhirUser. Checked when
 * the code is redeemed and at every refresh: a link removed since ends the launch (the handler
 * also revokes the family).
 */
export function checkStillLinked(context: LaunchContext, user: LaunchUser): void {
  if (user.role !== context.role || user.fhirUser !== context.fhirUser || !user.patients.includes(context.patient)) {
    throw new OAuthError('invalid_grant', 'the user is no longer linked to this patient', 'ERR_NO_LINK');
  }
}

/** Claims of an App Launch access token: an exchanged token's, without `act` (the app acts for the user directly). */
export type LaunchAccessClaims = Omit<ExchangedClaims, 'act'>;

/** The access token and (with `openid`) id_token claims for a launch context. */
export function launchTokenClaims(
  context: LaunchContext,
  issue: { readonly issuer: string; readonly audience: string; readonly accessTokenSeconds: number; readonly now: number; readonly jti: string; readonly nonce?: string },
): { access: LaunchAccessClaims; id?: Record<string, unknown>; expiresIn: number } {
  const { now } = issue;
  const exp = now + issue.accessTokenSeconds;
  const access: LaunchAccessClaims = {
    iss: issue.issuer,
    sub: context.sub,
    aud: issue.audience,
    client_id: context.clientId,
    scope: context.resourceScope,
    patient: context.patient,
    ...(context.fhirUser !== undefined ? { fhirUser: context.fhirUser } : {}),
    jti: issue.jti,
    iat: now,
    exp,
  };
  // OpenID Connect Core §2: iss, sub, aud (the client), exp, iat, nonce when one was sent; SMART
  // "fhirUser" claim when `fhirUser` was granted.
  const id = context.openid
    ? {
        iss: issue.issuer,
        sub: context.sub,
        aud: context.clientId,
        iat: now,
        exp,
        ...(issue.nonce !== undefined ? { nonce: issue.nonce } : {}),
        ...(context.fhirUserClaim && context.fhirUser !== undefined ? { fhirUser: context.fhirUser } : {}),
      }
    : undefined;
  return { access, ...(id ? { id } : {}), expiresIn: exp - now };
}

/** A verified App Launch access token, shape-checked. */
export interface LaunchToken {
  readonly sub: string;
  readonly clientId: string;
  readonly patient: string;
  readonly fhirUser?: string;
  readonly scopes: readonly ResourceScope[];
}

/**
 * Check the shape of an App Launch token from fhirgate's issuer: no `act`, `sub` ≠ `client_id`
 * (a user, not a backend client), a `client_id` that is no machine or backend client (those get
 * delegated or `system/` tokens, never app tokens: an exchanged token stripped of `act` is not an
 * app token), one `patient`, only `patient/` scopes. Anything else is not a token fhirgate issued
 * to an app (401).
 */
export function classifyLaunchClaims(claims: Readonly<Record<string, unknown>>, clients: ClientAllowList): LaunchToken {
  const str = (name: string): string => {
    const v = claims[name];
    if (typeof v !== 'string' || v === '') throw new TokenError('ERR_TOKEN_CLAIM_INVALID', `claim "${name}" is missing or not a string`, { claim: name });
    return v;
  };
  if ('act' in claims) throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'an app token cannot carry "act"', { claim: 'act' });
  const sub = str('sub');
  const clientId = str('client_id');
  if (sub === clientId) throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'an app token is issued for a user, not for its client', { claim: 'sub' });
  if (clients.machineClientIds.includes(clientId) || (clients.backendClientIds ?? []).includes(clientId)) {
    throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'a machine or backend client never holds an app token', { claim: 'client_id' });
  }
  const patient = str('patient');
  if (!FHIR_ID.test(patient)) throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'claim "patient" is not a FHIR id', { claim: 'patient' });
  const fhirUser = claims.fhirUser;
  if (fhirUser !== undefined && (typeof fhirUser !== 'string' || !parseFhirUser(fhirUser))) {
    throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'claim "fhirUser" is not Type/id', { claim: 'fhirUser' });
  }
  const set = parseScopeString(typeof claims.scope === 'string' ? claims.scope : undefined);
  const onlyPatient = set.errors.length === 0 && set.smart.length === 0 && set.foreign.length === 0 && set.resource.length > 0 && set.resource.every((s) => s.context === 'patient');
  if (!onlyPatient) throw new TokenError('ERR_SCOPE_INVALID', 'an app token must carry patient/ scopes and nothing else', { claim: 'scope' });
  return { sub, clientId, patient, ...(fhirUser !== undefined ? { fhirUser: fhirUser as string } : {}), scopes: set.resource };
}

/**
 * Principal for an App Launch token. The link is read again on every (uncached) request, by the
 * rule `userPrincipal` applies to any user: unlinked from the patient, or given another fhirUser
 * or role, the app loses access (403) within the link cache TTL. Scopes never exceed the role's
 * ceiling today.
 */
export function launchPrincipal(token: LaunchToken, link: LinkRecord | undefined, settings: AuthzSettings): Principal {
  const user = userPrincipal({ shape: 'user', sub: token.sub, clientId: token.clientId, groups: undefined, scopes: parseScopeString('') }, link, settings);
  if (!user.patients.includes(token.patient)) throw new AccessDeniedError('ERR_NO_LINK', "the user is no longer linked to the token's patient");
  if (user.fhirUser !== token.fhirUser) throw new AccessDeniedError('ERR_NO_LINK', "the user's fhirUser changed since the launch");
  const scopes = intersectScopes(token.scopes, asPatient(trustedCeiling(settings, link!.role)));
  if (scopes.length === 0) throw new AccessDeniedError('ERR_SCOPE_INSUFFICIENT', "the app's scopes are outside the user's role ceiling");
  return { kind: link!.role, sub: token.sub, clientId: token.clientId, fhirUser: token.fhirUser, patients: [token.patient], scopes };
}

function trustedCeiling(settings: AuthzSettings, role: Role): readonly ResourceScope[] {
  return parseScopeString(settings.roles[role].ceilingScopes.join(' ')).resource;
}

function single(params: FormParams): (name: string) => string | undefined {
  const values = new Map<string, string[]>();
  for (const [name, value] of params) values.set(name, [...(values.get(name) ?? []), value]);
  for (const [name, list] of values) {
    // RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once."
    if (list.length > 1) throw new OAuthError('invalid_request', `parameter "${name}" is repeated`);
  }
  return (name) => values.get(name)?.[0] || undefined;
}

function fail(code: 'invalid_request', why: string): never {
  throw new OAuthError(code, why);
}
