/**
 * Which search parameters a principal may send, for every principal kind. Two questions:
 *
 * 1. **Scopes cover every type a request touches** — not only the searched type: each hop of a
 *    chain (`subject:Patient.identifier` reads Patient data), each `_has` type, each include
 *    target named in the request, each `_type`. A machine client holding only
 *    `system/Observation.rs` must not learn a Patient's MRN through a chain.
 * 2. **Bounded work per request** — no wildcard includes (their targets cannot be checked before
 *    the backend walks them), a cap on `_count` and on the number of include parameters; and for
 *    confined callers no `:iterate`, no `_revinclude` from a shared type (a Practitioner or a
 *    Medication is a hub every patient's records point at: the backend would walk them all only
 *    for the post-filter to drop them), no chains and no `_has` (they test other patients'
 *    records inside the backend, where no filter can see).
 *
 * Refusals name the type or parameter, never a value the caller typed.
 */
import { AccessDeniedError, RequestError } from './errors';
import type { Principal } from './principal';
import { isSharedType, isUnconfined } from './resource-access';
import { grantFor } from './scope-check';
import type { Permission } from './scopes';
import { PAGING_PARAMS, parseHasKey, RESULT_PARAMS, SearchParam } from './search-params';
import type { AuthzSettings } from './settings';

/** Largest page a request may ask for; larger `_count` values are lowered to it (R4 search.html#count: a server may return fewer). */
export const MAX_COUNT = 100;
/** Most `_include` + `_revinclude` parameters in one request. */
export const MAX_INCLUDES = 5;

/** How included entries are kept after visibility (see response-filter.ts, reference closure). */
export type ClosureMode = 'one-hop' | 'fixed-point';

/** Result parameters whose effect the post-filter can still verify for a confined caller. */
const CONFINED_RESULT_PARAMS = new Set(['_count', '_sort', '_include', '_revinclude', '_total']);
/** Common parameters that only filter within the narrowed set. */
const CONFINED_FILTER_PARAMS = new Set(['_id', '_lastUpdated', '_tag', '_profile', '_security']);

/**
 * Check a type (or system) search's parameters for this principal; returns them with `_count`
 * capped. `resourceType` is undefined for a system-level search.
 */
export function checkSearchParams(
  principal: Principal,
  settings: AuthzSettings,
  resourceType: string | undefined,
  params: readonly SearchParam[],
): SearchParam[] {
  const confined = !isUnconfined(principal);
  let includes = 0;
  const out: SearchParam[] = [];
  for (const p of params) {
    if (p.name === '_include' || p.name === '_revinclude') {
      includes += 1;
      checkInclude(principal, settings, resourceType, p, confined);
    } else if (p.name === '_has') {
      if (confined) throw forbidden(p, "reverse chaining tests other patients' records");
      for (const link of parseHasKey(p.key).links) requireScope(principal, link.resourceType, 's', p);
    } else if (p.chain && p.chain.length > 0) {
      if (confined) throw forbidden(p, 'chained parameters test resources outside the compartment');
      for (const type of chainTypes(p)) requireScope(principal, type, 's', p);
    } else if (p.name === '_type') {
      requireTypes(principal, p, 's');
    } else if (confined) {
      checkConfinedParam(p);
    }
    out.push(p.name === '_count' ? cappedCount(p) : p);
  }
  if (includes > MAX_INCLUDES) {
    throw new RequestError('ERR_BAD_REQUEST', `at most ${MAX_INCLUDES} _include/_revinclude parameters per request`);
  }
  return out;
}

/** The closure a search's includes need: fixed point only when the caller asked for `:iterate`. */
export function closureModeOf(params: readonly SearchParam[]): ClosureMode {
  return params.some((p) => (p.name === '_include' || p.name === '_revinclude') && p.modifier !== undefined) ? 'fixed-point' : 'one-hop';
}

function checkInclude(principal: Principal, settings: AuthzSettings, resourceType: string | undefined, p: SearchParam, confined: boolean): void {
  if (p.value === '*' || p.value.endsWith(':*')) throw forbidden(p, 'wildcard includes reach types no scope check can see in advance; name each include');
  if (confined && p.modifier !== undefined) throw forbidden(p, ':iterate walks records of other patients before they can be filtered');
  const [source, , target] = p.value.split(':') as [string, string, string | undefined];
  if (p.name === '_revinclude') {
    // The backend walks every `source` resource that points at a match: the caller must be able to read them.
    requireScope(principal, source, 'r', p);
    if (confined && resourceType !== undefined && isSharedType({ settings }, resourceType)) {
      throw forbidden(p, `_revinclude from shared ${resourceType} resources walks every patient's records`);
    }
  } else if (target !== undefined) {
    requireScope(principal, target, 'r', p);
  }
}

function checkConfinedParam(p: SearchParam): void {
  if (p.name === '_summary') {
    if (p.value !== 'count' && p.value !== 'false') throw forbidden(p, 'summaries drop the references used to confine results');
    return;
  }
  if (!p.name.startsWith('_') || CONFINED_FILTER_PARAMS.has(p.name)) return;
  if (PAGING_PARAMS.has(p.name)) return; // verified by the paging-link signature, before planning
  if (RESULT_PARAMS.has(p.name) && CONFINED_RESULT_PARAMS.has(p.name)) return;
  throw forbidden(p, p.name === '_elements' ? 'element subsets drop the references used to confine results' : 'not supported by fhirgate');
}

/**
 * The types a chain reads: the type modifier of every reference hop (`subject:Patient.organization:Organization.name`
 * → Patient, Organization). A hop without a type could reach any type its reference allows, which
 * no scope check can bound, so it is refused unless the caller may search every type.
 */
function chainTypes(p: SearchParam): string[] {
  const hops = [p.modifier, ...(p.chain ?? []).slice(0, -1).map((link) => link.split(':')[1])];
  return hops.map((type) => type ?? '*');
}

function requireScope(principal: Principal, resourceType: string, permission: Permission, p: SearchParam): void {
  if (grantFor(principal.scopes, resourceType, permission).kind !== 'none') return;
  const what = resourceType === '*' ? 'an untyped chain hop (name the type: subject:Patient.name)' : resourceType;
  throw new AccessDeniedError('ERR_SCOPE_INSUFFICIENT', `parameter "${p.name}" reads ${what}, which the scopes do not grant '${permission}' on`, {
    resourceType: resourceType === '*' ? undefined : resourceType,
    expected: permission,
  });
}

/** Every type of a `_type` list must be granted `permission`. */
export function requireTypes(principal: Principal, p: SearchParam, permission: Permission): void {
  for (const type of p.value.split(',')) requireScope(principal, type, permission, p);
}

/** `_count` validated and lowered to MAX_COUNT. */
export function cappedCount(p: SearchParam): SearchParam {
  const n = Number(p.value);
  if (!/^\d{1,9}$/.test(p.value) || !Number.isSafeInteger(n)) throw new RequestError('ERR_BAD_REQUEST', '_count must be a non-negative integer');
  return n > MAX_COUNT ? { ...p, value: String(MAX_COUNT) } : p;
}

function forbidden(p: SearchParam, why: string): AccessDeniedError {
  return new AccessDeniedError('ERR_FORBIDDEN', `search parameter "${p.name}${p.modifier ? `:${p.modifier}` : ''}" is not allowed: ${why}`);
}
