/**
 * From verified token claims (and, for users, the link record) to the principal every later
 * decision is made against. Pure: the caller verifies the signature and fetches the link.
 *
 * Token shapes follow what Amazon Cognito issues:
 * - machine (`client_credentials`): `sub` equals `client_id` and there is no `username`;
 * - user (`InitiateAuth`, SRP, hosted UI): `sub` is the user, `username` is present.
 * Tokens from fhirgate's own token service come in two shapes, told apart by `act`:
 * - with `act` (RFC 8693 §4.1): `delegated`, one patient, `patient/` scopes only
 *   (`classifyDelegatedClaims`);
 * - without `act`: a SMART Backend Services client authenticated with private_key_jwt, `system/`
 *   scopes only (`classifyBackendClaims`), which becomes a `system` principal.
 * Which family of rules applies is decided by the issuer, never by the claims; within fhirgate's
 * issuer, each shape refuses the other's scopes, so neither can pass for the other.
 */
import { AccessDeniedError, TokenError } from './errors';
import { ResourceScope, ScopeSet, mixesSystemWithUserScopes, parseScopeString, parseScopeStringShared } from './scopes';
import { intersectScopes, scopesOfContext } from './scope-check';
import { AuthzSettings, Role, isRole } from './settings';
import { FHIR_ID, parseFhirUser } from './ids';

export type PrincipalKind = Role | 'system' | 'delegated';

export interface Principal {
  readonly kind: PrincipalKind;
  /** The token subject: a Cognito user `sub`, or the client id for machines. */
  readonly sub: string;
  readonly clientId: string;
  /** SMART `fhirUser`: the FHIR resource that represents the user (`Patient/…`, `Practitioner/…`). */
  readonly fhirUser?: string;
  /** Patient ids whose compartments the principal may enter. Empty and ignored for `system`. */
  readonly patients: readonly string[];
  /** Effective resource scopes (already intersected with the role ceiling). */
  readonly scopes: readonly ResourceScope[];
  /** For delegated tokens: the acting client (RFC 8693 §4.1 `act.sub`). */
  readonly actor?: string;
}

/**
 * A user's link record (DynamoDB links table, keyed by Cognito `sub`: a user deleted and created
 * again under the same username gets a new `sub`, so never inherits the old record).
 */
export interface LinkRecord {
  readonly sub: string;
  readonly role: Role;
  readonly fhirUser?: string;
  readonly patients: readonly string[];
  /** Set (ISO 8601 time) when an operator disabled the user (`fhirgate users disable`): every token of theirs is refused. */
  readonly disabledAt?: string;
}

/** Which app clients may present which kind of token. */
export interface ClientAllowList {
  readonly userClientIds: readonly string[];
  /** Cognito app clients with `client_credentials` (client secret); also the only clients that may act for users. */
  readonly machineClientIds: readonly string[];
  /**
   * Backend clients from fhirgate's client registry (private_key_jwt): the `client_id` of a
   * `system/` token from fhirgate's own issuer must be listed here. The registry says who can
   * authenticate; this deployment setting says who may reach the FHIR API. @default [] (none)
   */
  readonly backendClientIds?: readonly string[];
}

/** What a verified token looks like once its shape is known. */
export type ClassifiedToken =
  | { readonly shape: 'machine'; readonly clientId: string; readonly scopes: ScopeSet }
  | {
      readonly shape: 'user';
      readonly sub: string;
      readonly clientId: string;
      readonly groups: readonly string[] | undefined;
      readonly scopes: ScopeSet;
    };

/** Decide whether verified claims are a machine or a user token, and check its client and scopes. */
export function classifyClaims(claims: Readonly<Record<string, unknown>>, clients: ClientAllowList): ClassifiedToken {
  const sub = stringClaim(claims, 'sub');
  const clientId = stringClaim(claims, 'client_id');
  // aws-jwt-verify checks `exp` only when present; a token without one would never expire.
  if (typeof claims.exp !== 'number') throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'claim "exp" is missing', { claim: 'exp' });
  if ('act' in claims) {
    // Delegation (RFC 8693 `act`) is only meaningful from fhirgate's own exchange issuer.
    throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'delegation claim "act" is not accepted from this issuer', { claim: 'act' });
  }
  const scopes = parseScopeStringShared(optionalStringClaim(claims, 'scope'));
  if (scopes.errors.length > 0) {
    const first = scopes.errors[0]!;
    throw new TokenError('ERR_SCOPE_INVALID', `token carries an invalid SMART scope "${truncate(first.raw)}": ${first.reason}`, { claim: 'scope' });
  }
  if (mixesSystemWithUserScopes(scopes)) {
    throw new TokenError('ERR_SCOPE_INVALID', 'token mixes system/ scopes with patient/ or user/ scopes', { claim: 'scope' });
  }
  const isMachine = sub === clientId && claims.username === undefined;
  if (isMachine) {
    if (!clients.machineClientIds.includes(clientId)) {
      throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'client is not an allowed machine client', { claim: 'client_id', expected: clients.machineClientIds });
    }
    return { shape: 'machine', clientId, scopes };
  }
  if (!clients.userClientIds.includes(clientId)) {
    throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'client is not an allowed user-facing client', { claim: 'client_id', expected: clients.userClientIds });
  }
  if (scopes.contexts.has('system')) {
    throw new TokenError('ERR_SCOPE_INVALID', 'a user token cannot carry system/ scopes', { claim: 'scope' });
  }
  return { shape: 'user', sub, clientId, groups: groupsClaim(claims), scopes };
}

/** Principal for a machine token: its own `system/` scopes, capped by the system ceiling. */
export function machinePrincipal(token: Extract<ClassifiedToken, { shape: 'machine' }>, settings: AuthzSettings): Principal {
  const ceiling = parseTrusted(settings.systemCeilingScopes);
  const scopes = intersectScopes(scopesOfContext(token.scopes.resource, ['system']), ceiling);
  if (scopes.length === 0) {
    throw new AccessDeniedError('ERR_SCOPE_INSUFFICIENT', 'machine token carries no system/ scope fhirgate can grant', { claim: 'scope' });
  }
  return { kind: 'system', sub: token.clientId, clientId: token.clientId, patients: [], scopes };
}

/** Principal for a user token, from its link record. Missing or inconsistent links deny. */
export function userPrincipal(
  token: Extract<ClassifiedToken, { shape: 'user' }>,
  link: LinkRecord | undefined,
  settings: AuthzSettings,
): Principal {
  activeLink(link, 'user has no link record; an operator must link the user to their patients');
  const role = settings.roles[link.role];
  if (token.groups !== undefined && !token.groups.includes(role.group)) {
    throw new AccessDeniedError('ERR_ROLE_MISMATCH', `link record role "${link.role}" is not confirmed by cognito:groups`, {
      claim: 'cognito:groups',
      expected: role.group,
    });
  }
  const patients = patientsFor(link);
  // Plain Cognito sign-in carries no FHIR scopes: the role defaults apply. A token that does carry
  // FHIR scopes can only narrow: effective = token ∩ ceiling (never widened by the defaults).
  let scopes = token.scopes.resource.length === 0 ? roleDefaultScopes(role) : intersectScopes(token.scopes.resource, parseTrusted(role.ceilingScopes));
  // SMART: a patient/ scope is relative to a patient context; with none it grants nothing.
  if (patients.length === 0) scopes = scopes.filter((s) => s.context !== 'patient');
  if (scopes.length === 0) {
    throw new AccessDeniedError('ERR_SCOPE_INSUFFICIENT', 'no usable scope: the token scopes and the role ceiling do not overlap');
  }
  return { kind: link.role, sub: token.sub, clientId: token.clientId, fhirUser: link.fhirUser, patients, scopes };
}

/** A verified token from fhirgate's own exchange issuer (RFC 8693 delegation), shape-checked. */
export interface DelegatedToken {
  readonly sub: string;
  /** RFC 8693 §4.1 `act.sub`: the machine client acting for `sub`; equals `client_id`. */
  readonly actor: string;
  readonly patient: string;
  readonly fhirUser?: string;
  readonly scopes: readonly ResourceScope[];
}

/**
 * Check the shape of an exchanged token's claims: `act.sub` naming an allowed machine client and
 * equal to `client_id`, one `patient`, and only `patient/` scopes. Anything else is not a token
 * fhirgate issued and is refused as untrustworthy (401).
 */
export function classifyDelegatedClaims(claims: Readonly<Record<string, unknown>>, clients: ClientAllowList): DelegatedToken {
  const sub = stringClaim(claims, 'sub');
  const clientId = stringClaim(claims, 'client_id');
  const act = claims.act;
  if (typeof act !== 'object' || act === null || Array.isArray(act)) {
    throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'delegated token has no "act" claim', { claim: 'act' });
  }
  const actor = (act as Record<string, unknown>).sub;
  // fhirgate issues one level of delegation; a nested `act` (a chain) is never ours.
  if (typeof actor !== 'string' || actor === '' || 'act' in act) {
    throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'claim "act" must be {sub} naming one client', { claim: 'act' });
  }
  if (actor !== clientId) throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'claim "client_id" must equal "act.sub"', { claim: 'client_id' });
  if (!clients.machineClientIds.includes(actor)) {
    throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'acting client is not an allowed machine client', { claim: 'act', expected: clients.machineClientIds });
  }
  const patient = stringClaim(claims, 'patient');
  if (!FHIR_ID.test(patient)) throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'claim "patient" is not a FHIR id', { claim: 'patient' });
  const fhirUser = optionalStringClaim(claims, 'fhirUser');
  if (fhirUser !== undefined && !parseFhirUser(fhirUser)) {
    throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'claim "fhirUser" is not Type/id', { claim: 'fhirUser' });
  }
  const set = parseScopeStringShared(optionalStringClaim(claims, 'scope'));
  const onlyPatientScopes =
    set.errors.length === 0 && set.smart.length === 0 && set.foreign.length === 0 && set.resource.length > 0 && set.resource.every((s) => s.context === 'patient');
  if (!onlyPatientScopes) {
    throw new TokenError('ERR_SCOPE_INVALID', 'a delegated token must carry patient/ scopes and nothing else', { claim: 'scope' });
  }
  return { sub, actor, patient, fhirUser, scopes: set.resource };
}

/**
 * Check the shape of a `system/` token from fhirgate's own issuer (SMART Backend Services,
 * private_key_jwt): no `act`, `sub` = `client_id` naming an allowed backend client, no patient
 * context, and only `system/` scopes. Anything else is not a token fhirgate issued (401). The
 * result is machine-shaped: `machinePrincipal` caps it by the system ceiling like any machine.
 */
export function classifyBackendClaims(claims: Readonly<Record<string, unknown>>, clients: ClientAllowList): Extract<ClassifiedToken, { shape: 'machine' }> {
  if ('act' in claims) throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'a system/ token cannot carry "act"', { claim: 'act' });
  const sub = stringClaim(claims, 'sub');
  const clientId = stringClaim(claims, 'client_id');
  if (sub !== clientId) throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'claim "sub" must equal "client_id" on a system/ token', { claim: 'sub' });
  if (typeof claims.exp !== 'number') throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'claim "exp" is missing', { claim: 'exp' });
  for (const name of ['patient', 'fhirUser']) {
    if (name in claims) throw new TokenError('ERR_TOKEN_CLAIM_INVALID', `a system/ token cannot carry "${name}"`, { claim: name });
  }
  const allowed = clients.backendClientIds ?? [];
  if (!allowed.includes(clientId)) {
    throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'client is not an allowed backend client', { claim: 'client_id', expected: allowed });
  }
  const scopes = parseScopeStringShared(optionalStringClaim(claims, 'scope'));
  const onlySystemScopes =
    scopes.errors.length === 0 && scopes.smart.length === 0 && scopes.foreign.length === 0 && scopes.resource.length > 0 && scopes.resource.every((s) => s.context === 'system');
  if (!onlySystemScopes) throw new TokenError('ERR_SCOPE_INVALID', 'a token without "act" must carry system/ scopes and nothing else', { claim: 'scope' });
  return { shape: 'machine', clientId, scopes };
}

/**
 * Principal for a delegated token. The user's link is read again on every (uncached) request: a
 * user unlinked, re-linked elsewhere or moved to another role after the exchange loses the
 * delegated access too (403), within the link cache TTL.
 */
export function delegatedPrincipal(token: DelegatedToken, link: LinkRecord | undefined, settings: AuthzSettings): Principal {
  activeLink(link, 'the delegating user has no link record any more');
  if (!patientsFor(link).includes(token.patient)) {
    throw new AccessDeniedError('ERR_NO_LINK', 'the delegating user is no longer linked to the token\'s patient');
  }
  if (token.fhirUser !== link.fhirUser) throw new AccessDeniedError('ERR_NO_LINK', 'the delegating user\'s fhirUser changed since the exchange');
  // Never more than the user's role could hold today (a role change narrows or ends delegation).
  const scopes = intersectScopes(token.scopes, scopesOfContext(parseTrusted(settings.roles[link.role].ceilingScopes), ['patient']));
  if (scopes.length === 0) throw new AccessDeniedError('ERR_SCOPE_INSUFFICIENT', 'the delegated scopes are outside the user\'s role ceiling');
  return { kind: 'delegated', sub: token.sub, clientId: token.actor, actor: token.actor, fhirUser: token.fhirUser, patients: [token.patient], scopes };
}

/**
 * The one revocation rule, for every request and every token grant made on a user's behalf (the
 * authorizer for user and delegated tokens, the token exchange for new ones): the user's link must
 * exist and must not be disabled. Deleting the link or disabling it therefore ends every path
 * within the link cache TTL (plus the API Gateway authorizer cache TTL), whatever the token's `exp`.
 */
export function activeLink(link: LinkRecord | undefined, missing = 'user has no link record'): asserts link is LinkRecord {
  if (!link) throw new AccessDeniedError('ERR_NO_LINK', missing);
  if (link.disabledAt !== undefined) throw new AccessDeniedError('ERR_USER_DISABLED', `user was disabled by an operator (${link.disabledAt})`);
}

/**
 * Most patients one link may hold (a practitioner's panel, a guardian's dependents). The list
 * travels in the authorizer context, kept under 8 KB (API Gateway's documented authorizer
 * result cap for WebSocket APIs, taken as the budget here too; 100 ids of up to 64 characters fit
 * with room for the rest), and in every narrowed search (sent as POST). Past it the link is
 * refused with a clear reason, never truncated (a truncated panel would silently hide patients;
 * a bigger one needs a different design, e.g. a group reference).
 */
export const MAX_LINKED_PATIENTS = 100;

/** Validate an untrusted link item read from storage; throws AccessDeniedError when malformed. */
export function parseLinkRecord(item: Readonly<Record<string, unknown>>): LinkRecord {
  const { sub, role, fhirUser, patients, disabledAt } = item;
  const invalid = (why: string) => new AccessDeniedError('ERR_LINK_INVALID', `link record is invalid: ${why}`);
  if (typeof sub !== 'string' || sub === '') throw invalid('missing sub');
  if (!isRole(role)) throw invalid(`unknown role ${JSON.stringify(role)}`);
  if (fhirUser !== undefined && (typeof fhirUser !== 'string' || !parseFhirUser(fhirUser))) throw invalid('fhirUser is not Type/id');
  const list = patients === undefined ? [] : patients;
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'string' && FHIR_ID.test(p))) throw invalid('patients must be FHIR ids');
  // A marker of any other shape is not ignored: a record we cannot read as enabled is refused.
  if (disabledAt !== undefined && (typeof disabledAt !== 'string' || disabledAt === '')) throw invalid('disabledAt is not a time');
  const unique = [...new Set(list as string[])];
  if (unique.length > MAX_LINKED_PATIENTS) throw invalid(`it lists ${unique.length} patients; fhirgate supports at most ${MAX_LINKED_PATIENTS} per user`);
  return { sub, role, fhirUser: fhirUser as string | undefined, patients: unique, ...(disabledAt !== undefined ? { disabledAt } : {}) };
}

/**
 * The compartments a linked user may enter, by role; once per link record (the link cache hands
 * the same record to every request within its TTL, and records are never changed in place).
 */
function patientsFor(link: LinkRecord): readonly string[] {
  let patients = patientsOfLink.get(link);
  if (patients === undefined) {
    patients = Object.freeze([...linkedPatients(link)]);
    patientsOfLink.set(link, patients);
  }
  return patients;
}

const patientsOfLink = new WeakMap<LinkRecord, readonly string[]>();

function linkedPatients(link: LinkRecord): readonly string[] {
  const self = link.fhirUser ? parseFhirUser(link.fhirUser) : undefined;
  if (link.role === 'patient') {
    // A patient is exactly their own compartment; acting for others is what the guardian role is for.
    if (!self || self.resourceType !== 'Patient') {
      throw new AccessDeniedError('ERR_LINK_INVALID', 'link record is invalid: a patient needs fhirUser Patient/<id>');
    }
    if (link.patients.some((p) => p !== self.id)) {
      throw new AccessDeniedError('ERR_LINK_INVALID', 'link record is invalid: a patient cannot hold other patients (use the guardian role)');
    }
    return [self.id];
  }
  return link.patients;
}

/**
 * A role's defaults capped by its ceiling, computed once per role (settings are fixed for a
 * container's life): most user tokens carry no FHIR scope, and intersecting on every request
 * was a third of the authorizer's own work (bench profile). One array per role, so the context
 * formatting downstream can be memoized by identity too.
 */
const roleDefaults = new WeakMap<object, readonly ResourceScope[]>();

function roleDefaultScopes(role: { readonly defaultScopes: readonly string[]; readonly ceilingScopes: readonly string[] }): readonly ResourceScope[] {
  let scopes = roleDefaults.get(role);
  if (!scopes) {
    scopes = Object.freeze(intersectScopes(parseTrusted(role.defaultScopes), parseTrusted(role.ceilingScopes)));
    roleDefaults.set(role, scopes);
  }
  return scopes;
}

/** Parsed settings scopes, per settings array: settings are fixed for a container's life. */
const trustedScopes = new WeakMap<readonly string[], readonly ResourceScope[]>();

function parseTrusted(scopes: readonly string[]): readonly ResourceScope[] {
  let parsed = trustedScopes.get(scopes);
  if (!parsed) {
    const set = parseScopeString(scopes.join(' '));
    if (set.errors.length > 0) throw new TypeError(`invalid scope in settings: ${set.errors[0]!.raw}: ${set.errors[0]!.reason}`);
    parsed = set.resource;
    trustedScopes.set(scopes, parsed);
  }
  return parsed;
}

function stringClaim(claims: Readonly<Record<string, unknown>>, name: string): string {
  const value = claims[name];
  if (typeof value !== 'string' || value === '') {
    throw new TokenError('ERR_TOKEN_CLAIM_INVALID', `claim "${name}" is missing or not a string`, { claim: name });
  }
  return value;
}

function optionalStringClaim(claims: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new TokenError('ERR_TOKEN_CLAIM_INVALID', `claim "${name}" is not a string`, { claim: name });
  return value;
}

function groupsClaim(claims: Readonly<Record<string, unknown>>): readonly string[] | undefined {
  const groups = claims['cognito:groups'];
  if (groups === undefined) return undefined;
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) {
    throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'claim "cognito:groups" is not a list of strings', { claim: 'cognito:groups' });
  }
  return groups;
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
