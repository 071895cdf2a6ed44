/**
 * Does ONE resource match the search-parameter constraints of a SMART v2 scope
 * (`patient/Observation.rs?category=laboratory`, SMART App Launch 2.x §Finer-grained resource
 * constraints using search parameters)? Used for reads, search entries and write bodies, where the
 * proxy holds the resource rather than a query it could forward.
 *
 * Semantics are FHIR R4 token search (http://hl7.org/fhir/R4/search.html#token), evaluated on the
 * element paths of the generated search-param-data.ts. Everything else fails closed (no match):
 * - only `token` params, plus `_tag` and `_security` (Resource.meta.tag / meta.security);
 *   `string`, `reference`, `date`, `_id` and the params the generator skipped match nothing;
 * - modifiers (`code:not`, `code:text`, `:in`, `:below`, `:of-type`, `:missing`, ...) and chains
 *   (`subject.name`) match nothing: most need terminology or other resources, and `:not` inverts
 *   the fail-closed direction;
 * - a value that is not a well-formed token list (empty alternative, stray `\` escape, two `|`)
 *   matches nothing;
 * - codes and systems compare exactly (case-sensitive). R4 allows case-insensitive matching for
 *   case-insensitive code systems; being stricter than the server only ever refuses more.
 *
 * Resources are untrusted JSON. Only own properties on the fixed, generated paths are read, so
 * `__proto__`, `constructor` and `prototype` are never followed, and types are looked up in Maps.
 */
import { RESOURCE_TOKEN_PARAMS, TOKEN_SEARCH_PARAMS } from './search-param-data';
import type { TokenElementType, TokenParams } from './search-param-data';
import type { ScopeConstraint } from './scopes';
import { hasOwn, isRecord, ownValue } from './untrusted-json';

/** One place a param reads: path steps and the datatype there. */
interface Place {
  readonly steps: readonly string[];
  readonly type: TokenElementType;
}

/**
 * One alternative of a token value (R4 search.html#token):
 * `code` -> system undefined (any system); `|code` -> system '' (must have none);
 * `system|code` -> both; `system|` -> code undefined (any code in that system).
 */
interface Token {
  readonly system: string | undefined;
  readonly code: string | undefined;
}

type Params = ReadonlyMap<string, readonly Place[]>;

// Property names that reach prototypes; the generated paths never contain them (they are checked
// against the StructureDefinitions), and this guard keeps it that way if the table is edited.
const UNSAFE_STEPS = new Set(['__proto__', 'constructor', 'prototype']);

/** Escapable characters in search values (R4 search.html#escaping): `\,` `\|` `\$` `\\`. */
const ESCAPABLE = new Set([',', '|', '$', '\\']);

// Maps, not the object literals, for lookups by untrusted names: `BY_TYPE.get('constructor')` is
// undefined, whereas `TOKEN_SEARCH_PARAMS['constructor']` would be Object's constructor.
const COMMON: Params = compile('Resource', RESOURCE_TOKEN_PARAMS);
const BY_TYPE: ReadonlyMap<string, Params> = new Map(
  Object.keys(TOKEN_SEARCH_PARAMS).map((type): [string, Params] => [type, compile(type, TOKEN_SEARCH_PARAMS[type])]),
);

/** True when the resource satisfies every constraint (AND). Unknown params or types → false (fail closed). */
export function matchesConstraints(resource: unknown, constraints: readonly ScopeConstraint[]): boolean {
  if (!isRecord(resource)) return false;
  const resourceType = ownValue(resource, 'resourceType');
  if (typeof resourceType !== 'string') return false;
  // An empty list constrains nothing (AND of nothing); scope-check never builds one, since a scope
  // without constraints is an unconstrained grant.
  return constraints.every((c) => matchesConstraint(resource, resourceType, c));
}

/** One `name=value` constraint: any alternative of the value at any place of the param. */
function matchesConstraint(resource: Record<string, unknown>, resourceType: string, constraint: ScopeConstraint): boolean {
  // A modifier (`:`) or chain (`.`) never names a table entry; said here so nobody adds one later
  // by accident. Type-level params come first; the generator guarantees none shadows a
  // Resource-level one.
  if (/[:.]/.test(constraint.name)) return false;
  const places = BY_TYPE.get(resourceType)?.get(constraint.name) ?? COMMON.get(constraint.name);
  if (places === undefined) return false;
  const tokens = parseTokenList(constraint.value);
  if (tokens === undefined) return false;
  for (const place of places) {
    for (const value of valuesAt(resource, place.steps)) {
      if (tokens.some((token) => matchesToken(value, place.type, token))) return true;
    }
  }
  return false;
}

/** R4 search.html#token, table of datatypes: which part of each type holds the system and the code. */
function matchesToken(value: unknown, type: TokenElementType, token: Token): boolean {
  switch (type) {
    case 'Coding':
      return isRecord(value) && matchesSystemAndCode(value, 'system', 'code', token);
    case 'CodeableConcept':
      // "Matches against any coding in the CodeableConcept"; CodeableConcept.text is `:text`'s job.
      return isRecord(value) && codings(value).some((c) => matchesSystemAndCode(c, 'system', 'code', token));
    case 'Identifier':
      return isRecord(value) && matchesSystemAndCode(value, 'system', 'value', token);
    case 'ContactPoint':
      // No token system: ContactPoint.system (phone, email) is a kind, not a code system.
      return isRecord(value) && matchesPlain(ownValue(value, 'value'), token);
    case 'code':
    case 'id':
    case 'string':
    case 'uri':
      return typeof value === 'string' && matchesPlain(value, token);
    case 'boolean':
      return typeof value === 'boolean' && matchesPlain(String(value), token);
    default:
      return unhandledType(type);
  }
}

/** A type added to the generator's TOKEN_TYPES without a case above fails to compile here. */
function unhandledType(_type: never): false {
  return false;
}

/** Coding-like match: `systemKey` / `codeKey` name the properties holding the token's two parts. */
function matchesSystemAndCode(element: Record<string, unknown>, systemKey: string, codeKey: string, token: Token): boolean {
  if (token.code !== undefined && ownValue(element, codeKey) !== token.code) return false;
  if (token.system === undefined) return true;
  // `|code`: "the code ... has no system property": the property is absent, not null or empty.
  if (token.system === '') return !hasOwn(element, systemKey);
  return ownValue(element, systemKey) === token.system;
}

/**
 * Primitives and ContactPoint have no system of their own (the implicit one is the value set's),
 * so `system|code` and `system|` cannot be verified and match nothing; `code` and `|code` compare
 * the value.
 */
function matchesPlain(value: unknown, token: Token): boolean {
  return (token.system === undefined || token.system === '') && token.code !== undefined && value === token.code;
}

/**
 * Splits a token value into its comma-separated alternatives (OR, R4 search.html#combining) and
 * each into system|code, honouring `\` escapes. undefined when anything is malformed.
 */
function parseTokenList(value: string): Token[] | undefined {
  const tokens: Token[] = [];
  // Parts of the current alternative, split at unescaped `|`.
  let parts: string[] = [''];
  const finish = (): boolean => {
    const token = toToken(parts);
    if (token === undefined) return false;
    tokens.push(token);
    parts = [''];
    return true;
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\') {
      const next = value[i + 1];
      if (next === undefined || !ESCAPABLE.has(next)) return undefined;
      parts[parts.length - 1] += next;
      i++;
    } else if (c === ',') {
      if (!finish()) return undefined;
    } else if (c === '|') {
      parts.push('');
    } else {
      parts[parts.length - 1] += c;
    }
  }
  return finish() ? tokens : undefined;
}

function toToken(parts: readonly string[]): Token | undefined {
  if (parts.length === 1) return parts[0] === '' ? undefined : { system: undefined, code: parts[0] };
  if (parts.length !== 2) return undefined; // `a|b|c`: a `|` inside a code must be escaped
  const [system, code] = parts;
  if (system === '' && code === '') return undefined;
  return { system, code: code === '' ? undefined : code };
}

/** Table entries as Maps of split paths, refusing a path that could reach a prototype. */
function compile(type: string, params: TokenParams): Params {
  return new Map(
    Object.keys(params).map((code): [string, readonly Place[]] => {
      const places = params[code].map(([path, elementType]): Place => {
        const steps = path.split('.');
        if (steps.some((step) => UNSAFE_STEPS.has(step) || step === '')) {
          throw new TypeError(`search-param-data: unsafe path for ${type}.${code}: ${path}`);
        }
        return Object.freeze({ steps: Object.freeze(steps), type: elementType });
      });
      return [code, Object.freeze(places)];
    }),
  );
}

/**
 * All values at a path. FHIR JSON puts repeating elements in arrays at any step
 * (http://hl7.org/fhir/R4/json.html#repeating), so one array level is opened per step. Arrays
 * nested in arrays are not FHIR JSON and are skipped, not flattened: here a match grants access,
 * so a value the server would not read as one must not count.
 */
function valuesAt(root: Record<string, unknown>, steps: readonly string[]): unknown[] {
  let current: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const node of current) {
      if (isRecord(node)) pushItems(next, ownValue(node, step));
    }
    current = next;
  }
  return current;
}

/** Pushes the elements of one FHIR JSON value: an array's non-array items, or the value itself. */
function pushItems(out: unknown[], value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    out.push(value);
    return;
  }
  for (let i = 0; i < value.length; i++) {
    if (!Array.isArray(value[i])) out.push(value[i]);
  }
}

/** CodeableConcept.coding, as objects. */
function codings(concept: Record<string, unknown>): Record<string, unknown>[] {
  const out: unknown[] = [];
  pushItems(out, ownValue(concept, 'coding'));
  return out.filter(isRecord);
}

