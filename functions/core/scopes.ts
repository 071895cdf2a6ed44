/**
 * SMART scope PARSING (SMART App Launch 2.x, "scopes-and-launch-context").
 *
 * Turns the text of an OAuth `scope` claim into typed values. It decides nothing about
 * access: checking lives in `scope-check.ts`, the way google/fhir-gateway keeps
 * `SmartFhirScope` apart from `SmartScopeChecker`. Pure: no I/O, no imports.
 *
 * Strictness is the point. Anything that claims to be a resource scope (starts with
 * `patient/`, `user/` or `system/`) either parses exactly or comes back as an error with a
 * reason; nothing is silently widened, narrowed or dropped.
 */

export type ScopeContext = 'patient' | 'user' | 'system';
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

/** The v2 permission letters in the only order the grammar allows (§Clinical Scope Syntax). */
export const PERMISSIONS: readonly Permission[] = Object.freeze(['c', 'r', 'u', 'd', 's'] as const);

export interface ScopeConstraint {
  readonly name: string;
  readonly value: string;
}

export interface ResourceScope {
  readonly raw: string;
  readonly context: ScopeContext;
  readonly resourceType: string; // 'Observation' or '*'
  readonly permissions: ReadonlySet<Permission>;
  readonly constraints: readonly ScopeConstraint[];
  readonly version: 1 | 2;
}

export type ParsedScope =
  | { readonly ok: true; readonly kind: 'resource'; readonly scope: ResourceScope }
  | { readonly ok: true; readonly kind: 'smart'; readonly name: string } // openid, launch/patient, ...
  | { readonly ok: true; readonly kind: 'foreign'; readonly name: string }
  | { readonly ok: false; readonly raw: string; readonly reason: string };

export interface ScopeSet {
  readonly resource: readonly ResourceScope[];
  readonly smart: readonly string[];
  readonly foreign: readonly string[];
  readonly errors: readonly { raw: string; reason: string }[];
  /** 'system' | 'patient' | 'user' contexts present in resource scopes */
  readonly contexts: ReadonlySet<ScopeContext>;
}

/** A hostile token must not cost unbounded work: above these, the whole scope string is refused. */
export const MAX_SCOPES = 1000;
export const MAX_SCOPE_STRING_LENGTH = 64 * 1024;

const CONTEXTS: readonly ScopeContext[] = ['patient', 'user', 'system'];

/**
 * Non-resource scopes SMART defines, matched by exact string: identity data (openid, fhirUser,
 * profile), launch context (launch, launch/patient, launch/encounter) and refresh tokens
 * (offline_access, online_access). §Scopes for requesting context data / identity data.
 */
const SMART_NAMED_SCOPES: ReadonlySet<string> = new Set([
  'openid',
  'fhirUser',
  'profile',
  'launch',
  'launch/patient',
  'launch/encounter',
  'offline_access',
  'online_access',
]);

/**
 * v1 permission words and their v2 meaning (§Scope Equivalence: `read` = `rs`, `write` = `cud`,
 * `*` = `cruds`). v2 servers must keep accepting v1 scopes, so we normalise them here once.
 */
const V1_PERMISSIONS: ReadonlyMap<string, readonly Permission[]> = new Map<string, readonly Permission[]>([
  ['read', ['r', 's']],
  ['write', ['c', 'u', 'd']],
  ['*', PERMISSIONS],
]);

/**
 * RFC 6749 §3.3: scope-token = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E. Anything else
 * (control characters, tabs, quotes, backslash, non-ASCII) is not a scope at all; refusing it
 * keeps us from disagreeing with another parser about where one scope ends.
 */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Syntax only, on purpose: the list of resource types differs between FHIR R4, R4B and R5, and a
 * type the server does not know simply never matches a request, so a list here would add churn
 * without adding safety. Upper-case first letter is what every FHIR type name has; it makes
 * `patient/observation.rs` an error rather than a scope that silently matches nothing.
 */
const RESOURCE_TYPE = /^[A-Z][A-Za-z]{0,63}$/;

/** Search parameter names (FHIR search §Search parameter names) plus modifiers/chains (`:`, `.`). */
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_\-.:]*$/;

type Result<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parse one scope token into a resource, SMART-named or foreign scope, or an error with a reason. */
export function parseScope(raw: string): ParsedScope {
  if (raw.length === 0) return { ok: false, raw, reason: 'empty scope' };
  if (!SCOPE_TOKEN.test(raw)) {
    return { ok: false, raw, reason: 'not an RFC 6749 §3.3 scope-token (only printable ASCII except " and \\)' };
  }
  if (SMART_NAMED_SCOPES.has(raw)) return { ok: true, kind: 'smart', name: raw };

  const slash = raw.indexOf('/');
  const context = slash < 0 ? undefined : CONTEXTS.find((c) => c === raw.slice(0, slash));
  // Not ours to interpret (Cognito's aws.cognito.signin.user.admin, email, fhirgate/delegate, and
  // also `admin/Patient.r` or `Patient/Observation.rs`: contexts are case-sensitive, and a Cognito
  // resource server may be called anything). Handed back separately so a caller that cares can
  // look; never treated as a grant.
  if (context === undefined) return { ok: true, kind: 'foreign', name: raw };

  const parsed = parseResourceScope(raw, context, raw.slice(slash + 1));
  return parsed.ok ? { ok: true, kind: 'resource', scope: parsed.value } : { ok: false, raw, reason: parsed.reason };
}

/** Parse a space-separated OAuth scope string (RFC 6749 §3.3: split on one or more spaces; empty string -> empty set). */
export function parseScopeString(scope: string | undefined): ScopeSet {
  if (scope === undefined || scope === '') return emptySet([]);
  if (scope.length > MAX_SCOPE_STRING_LENGTH) {
    return emptySet([{ raw: preview(scope), reason: `scope string is ${scope.length} characters; the limit is ${MAX_SCOPE_STRING_LENGTH}` }]);
  }
  // RFC 6749 §3.3 delimits with %x20 only; a tab is not a delimiter, it makes the token invalid.
  const tokens = scope.split(/ +/).filter((t) => t !== '');
  if (tokens.length > MAX_SCOPES) {
    return emptySet([{ raw: preview(scope), reason: `scope string has ${tokens.length} scopes; the limit is ${MAX_SCOPES}` }]);
  }

  const resource: ResourceScope[] = [];
  const smart: string[] = [];
  const foreign: string[] = [];
  const errors: { raw: string; reason: string }[] = [];
  const contexts = new Set<ScopeContext>();
  // A scope is a set (RFC 6749 §3.3: order does not matter); repeating a token changes nothing.
  for (const token of new Set(tokens)) {
    const p = parseScope(token);
    if (!p.ok) errors.push({ raw: p.raw, reason: p.reason });
    else if (p.kind === 'smart') smart.push(p.name);
    else if (p.kind === 'foreign') foreign.push(p.name);
    else {
      resource.push(p.scope);
      contexts.add(p.scope.context);
    }
  }
  return Object.freeze({ resource, smart, foreign, errors, contexts });
}

/**
 * `parseScopeString` through a small memo: the same few scope strings arrive on every request
 * (a token's `scope` claim, the authorizer context the PEP reads back), and parsing one again was
 * a tenth of the authorizer's own work (bench profile). The sets are frozen to the array level
 * (and each ResourceScope is frozen already), so a caller cannot change what the next one gets;
 * the memo is bounded in entries and in text length, so sprayed scope strings only cost a parse.
 */
export function parseScopeStringShared(scope: string | undefined): ScopeSet {
  if (scope === undefined || scope.length > MAX_SHARED_SCOPE_TEXT) return parseScopeString(scope);
  let set = sharedSets.get(scope);
  if (set === undefined) {
    const parsed = parseScopeString(scope);
    set = Object.freeze({
      resource: Object.freeze(parsed.resource),
      smart: Object.freeze(parsed.smart),
      foreign: Object.freeze(parsed.foreign),
      errors: Object.freeze(parsed.errors),
      contexts: parsed.contexts,
    });
    if (sharedSets.size >= MAX_SHARED_SETS) sharedSets.clear();
    sharedSets.set(scope, set);
  }
  return set;
}

const sharedSets = new Map<string, ScopeSet>();
const MAX_SHARED_SETS = 256;
const MAX_SHARED_SCOPE_TEXT = 4096;

/** v2 canonical text of a resource scope, e.g. 'patient/Observation.rs?category=laboratory' */
export function formatScope(s: ResourceScope): string {
  const letters = PERMISSIONS.filter((p) => s.permissions.has(p)).join('');
  const query = s.constraints.map((c) => `${c.name}=${encodeValue(c.value)}`).join('&');
  return `${s.context}/${s.resourceType}.${letters}${query === '' ? '' : `?${query}`}`;
}

/** True when the set mixes system/ with patient/ or user/ scopes — callers reject such tokens. */
export function mixesSystemWithUserScopes(set: ScopeSet): boolean {
  // A system/ scope means "no user, all patients" (SMART Backend Services); next to a patient/ or
  // user/ scope the token no longer says whose authority it carries.
  return set.contexts.has('system') && (set.contexts.has('patient') || set.contexts.has('user'));
}

/** `<type>.<permissions>[?<constraints>]`, the part after `context/`. */
function parseResourceScope(raw: string, context: ScopeContext, rest: string): Result<ResourceScope> {
  const q = rest.indexOf('?');
  const body = q < 0 ? rest : rest.slice(0, q);
  const dot = body.indexOf('.');
  if (dot < 0) return fail(`missing '.' between resource type and permissions in '${body}'`);

  const resourceType = body.slice(0, dot);
  if (resourceType === '') return fail('missing resource type');
  if (resourceType !== '*' && !RESOURCE_TYPE.test(resourceType)) {
    return fail(`resource type '${resourceType}' is not '*' or a FHIR type name (${RESOURCE_TYPE.source})`);
  }

  const perms = parsePermissions(body.slice(dot + 1));
  if (!perms.ok) return perms;

  let constraints: readonly ScopeConstraint[] = [];
  if (q >= 0) {
    // §Finer-grained resource constraints using search parameters: a v2 feature only.
    if (perms.value.version === 1) {
      return fail(`v1 permission '${body.slice(dot + 1)}' cannot carry a '?' constraint (constraints are SMART v2 only)`);
    }
    const parsed = parseConstraints(rest.slice(q + 1));
    if (!parsed.ok) return parsed;
    constraints = parsed.value;
  }

  return {
    ok: true,
    value: Object.freeze({
      raw,
      context,
      resourceType,
      permissions: new Set(perms.value.permissions),
      constraints,
      version: perms.value.version,
    }),
  };
}

/** v1 word (read/write/*) or a v2 non-empty, in-order, repeat-free subsequence of `cruds`. */
function parsePermissions(text: string): Result<{ permissions: readonly Permission[]; version: 1 | 2 }> {
  if (text === '') return fail("missing permissions after '.'");
  const v1 = V1_PERMISSIONS.get(text);
  if (v1 !== undefined) return { ok: true, value: { permissions: v1, version: 1 } };

  const letters: Permission[] = [];
  for (const ch of text) {
    const p = PERMISSIONS.find((x) => x === ch);
    if (p === undefined) return fail(`unknown permission '${ch}' in '${text}' (expected letters of c,r,u,d,s or read/write/*)`);
    if (letters.includes(p)) return fail(`permission '${p}' is repeated in '${text}'`);
    letters.push(p);
  }
  // §Clinical Scope Syntax: letters SHALL appear in c,r,u,d,s order. We refuse rather than sort:
  // `.sr` is a client bug and passing it would hide it from whoever configured the scope.
  const inOrder = letters.every((p, i) => i === 0 || PERMISSIONS.indexOf(letters[i - 1]) < PERMISSIONS.indexOf(p));
  if (!inOrder) return fail(`permissions '${text}' are not in c,r,u,d,s order`);
  return { ok: true, value: { permissions: letters, version: 2 } };
}

/** `name=value(&name=value)*`; values percent-decoded; repeated names are kept (they AND). */
function parseConstraints(text: string): Result<readonly ScopeConstraint[]> {
  if (text === '') return fail("empty constraint suffix after '?'");
  const out: ScopeConstraint[] = [];
  for (const pair of text.split('&')) {
    const eq = pair.indexOf('=');
    if (pair === '') return fail(`empty constraint in '${text}'`);
    if (eq < 0) return fail(`constraint '${pair}' has no '='`);
    const name = pair.slice(0, eq);
    const encoded = pair.slice(eq + 1);
    if (!PARAM_NAME.test(name)) return fail(`constraint name '${name}' is not a search parameter name (${PARAM_NAME.source})`);
    if (encoded === '') return fail(`constraint '${name}' has an empty value`);
    let value: string;
    try {
      // decodeURIComponent, not form decoding: '+' stays '+' (FHIR tokens like 'a+b' are literal).
      value = decodeURIComponent(encoded);
    } catch {
      return fail(`constraint '${name}' has malformed percent-encoding in '${encoded}'`);
    }
    out.push(Object.freeze({ name, value }));
  }
  return { ok: true, value: Object.freeze(out) };
}

/**
 * Percent-encode only what would change how the value parses back (`%`, `&`, `#`) or is not a
 * scope-token character, so canonical text stays readable:
 * `category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory`.
 */
function encodeValue(value: string): string {
  let out = '';
  for (const ch of value) {
    out += /^[A-Za-z0-9\-._~:/|,;=?@!$'()*+[\]]$/.test(ch) ? ch : encodeURIComponent(ch);
  }
  return out;
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

function emptySet(errors: { raw: string; reason: string }[]): ScopeSet {
  return Object.freeze({ resource: [], smart: [], foreign: [], errors, contexts: new Set<ScopeContext>() });
}

/** Errors may be logged; never copy 64 KiB of attacker text into a log line. */
function preview(s: string): string {
  return s.length <= 80 ? s : `${s.slice(0, 80)}…`;
}
