/**
 * SMART scope CHECKING: what parsed scopes grant, and how two grants combine.
 *
 * Kept apart from parsing (`scopes.ts`) like google/fhir-gateway's `SmartScopeChecker` is apart
 * from `SmartFhirScope`. Pure: no I/O.
 *
 * Semantics (SMART App Launch 2.x, scopes-and-launch-context):
 * - scopes are OR'ed: access is granted when any one scope covers the type and the permission;
 * - `*` as the resource type covers every type (§Wildcard scopes);
 * - a `?name=value` suffix narrows a scope to resources matching those search parameters, and
 *   several parameters in one scope all apply (§Finer-grained resource constraints using search
 *   parameters); so a grant is an OR of ANDs.
 * Context (patient/user/system) is not looked at by `grantFor`: callers first pick the contexts
 * that apply to the principal with `scopesOfContext`, because what a context means (whose
 * compartment) is the principal's business, not the scope's.
 */
import { formatScope, PERMISSIONS } from './scopes';
import type { Permission, ResourceScope, ScopeConstraint, ScopeContext } from './scopes';

/** What a set of scopes grants for one resource type and one permission letter. */
export type Grant =
  | { readonly kind: 'none' }
  | { readonly kind: 'all' } // some covering scope has no constraints
  | { readonly kind: 'constrained'; readonly alternatives: readonly (readonly ScopeConstraint[])[] }; // OR of ANDs

const NONE: Grant = Object.freeze({ kind: 'none' });
const ALL: Grant = Object.freeze({ kind: 'all' });

/**
 * The grant of `scopes` for `resourceType` and `permission`. A `resourceType` of '*' is matched
 * only by wildcard scopes: asking "every type" needs a scope for every type.
 */
export function grantFor(scopes: readonly ResourceScope[], resourceType: string, permission: Permission): Grant {
  // Built only when a constrained scope covers the type (most grants are a plain `*` or type scope).
  let alternatives: (readonly ScopeConstraint[])[] | undefined;
  let seen: Set<string> | undefined;
  for (const s of scopes) {
    if (!covers(s, resourceType, permission)) continue;
    // A wider scope absorbs every narrower one: OR(true, anything) = true.
    if (s.constraints.length === 0) return ALL;
    const key = constraintsKey(s.constraints);
    if (seen?.has(key)) continue;
    (seen ??= new Set()).add(key);
    (alternatives ??= []).push(s.constraints);
  }
  return alternatives === undefined ? NONE : Object.freeze({ kind: 'constrained', alternatives: Object.freeze(alternatives) });
}

/** Intersection of two scope lists (used for "token scopes ∩ role ceiling", and later "requested ∩ user ∩ actor").
 *  Result is a list of v2 scopes: for each pair (a from left, b from right) with compatible type (equal, or one is '*'),
 *  same context, permissions = a ∩ b (non-empty), constraints = a.constraints ++ b.constraints (AND), type = the more specific one. */
export function intersectScopes(left: readonly ResourceScope[], right: readonly ResourceScope[]): ResourceScope[] {
  // Distributivity makes this exact: (OR_i a_i) AND (OR_j b_j) = OR_ij (a_i AND b_j). Each
  // a_i AND b_j is no wider than a_i nor b_j, so the result never grants more than either side.
  const out: ResourceScope[] = [];
  const seen = new Set<string>();
  for (const a of left) {
    for (const b of right) {
      const s = intersectPair(a, b);
      if (s === undefined) continue;
      const key = scopeKey(s);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(s);
    }
  }
  return out;
}

/** Keep only scopes of the given contexts. */
export function scopesOfContext(scopes: readonly ResourceScope[], contexts: readonly ScopeContext[]): ResourceScope[] {
  return scopes.filter((s) => contexts.includes(s.context));
}

/** Does scope `s` name this type (or '*') and hold this permission letter? */
function covers(s: ResourceScope, resourceType: string, permission: Permission): boolean {
  return (s.resourceType === '*' || s.resourceType === resourceType) && s.permissions.has(permission);
}

/** a AND b as one scope, or undefined when they share nothing. */
function intersectPair(a: ResourceScope, b: ResourceScope): ResourceScope | undefined {
  // patient/ and user/ scopes are about different people; their meet is empty, not "both".
  if (a.context !== b.context) return undefined;
  let resourceType: string;
  if (a.resourceType === b.resourceType || b.resourceType === '*') resourceType = a.resourceType;
  else if (a.resourceType === '*') resourceType = b.resourceType;
  else return undefined;

  const permissions = new Set(PERMISSIONS.filter((p) => a.permissions.has(p) && b.permissions.has(p)));
  if (permissions.size === 0) return undefined;

  const constraints = Object.freeze(dedupeConstraints([...a.constraints, ...b.constraints]));
  const partial = { context: a.context, resourceType, permissions, constraints, version: 2 as const };
  return Object.freeze({ ...partial, raw: formatScope({ ...partial, raw: '' }) });
}

/** A AND A = A: identical name/value pairs add nothing; order of first appearance is kept. */
function dedupeConstraints(constraints: readonly ScopeConstraint[]): ScopeConstraint[] {
  const seen = new Set<string>();
  return constraints.filter((c) => {
    const key = JSON.stringify([c.name, c.value]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Order-insensitive identity of an AND of constraints (AND is commutative and idempotent). */
function constraintsKey(constraints: readonly ScopeConstraint[]): string {
  return JSON.stringify([...new Set(constraints.map((c) => JSON.stringify([c.name, c.value])))].sort());
}

/** Semantic identity of a scope, so `x&y` and `y&x` results count as one. */
function scopeKey(s: ResourceScope): string {
  const letters = PERMISSIONS.filter((p) => s.permissions.has(p)).join('');
  return `${s.context}/${s.resourceType}.${letters}?${constraintsKey(s.constraints)}`;
}

/**
 * Is every permission of `r` granted by some scope of `grants` that names its type (or `*`) and
 * asks no constraint `r` does not also carry? Sound, not complete: constraints are compared as
 * opaque name=value pairs, so a request is refused rather than guessed to be narrower. The token
 * service uses it to check requested scopes against what may be granted.
 */
export function coveredBy(r: ResourceScope, grants: readonly ResourceScope[]): boolean {
  const has = (c: ScopeConstraint) => r.constraints.some((x) => x.name === c.name && x.value === c.value);
  return [...r.permissions].every((p) =>
    grants.some((g) => g.context === r.context && (g.resourceType === '*' || g.resourceType === r.resourceType) && g.permissions.has(p) && g.constraints.every(has)),
  );
}

/** Drop scopes another scope of the list already covers (OR(a, narrower-than-a) = a). */
export function minimalScopes(scopes: readonly ResourceScope[]): ResourceScope[] {
  const unique = [...new Map(scopes.map((s) => [formatScope(s), s])).values()];
  return unique.filter((s, i) => !unique.some((t, j) => j !== i && coveredBy(s, [t])));
}
