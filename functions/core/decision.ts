/**
 * The request-level decision: which interactions a principal may attempt at all (scopes on types
 * and interactions), and how a search is narrowed to the caller's compartments before it is
 * forwarded. Instance-level checks (is *this* resource the caller's?) live in resource-access.ts
 * and run on what the backend returns.
 *
 * Every switch ends in deny: an interaction, operation or parameter not named here is refused.
 */
import { AccessDeniedError, RequestError } from './errors';
import { compartmentParams, isCompartmentType } from './compartment';
import { FhirRequest, Interaction, SearchParam } from './fhir-request';
import { Principal } from './principal';
import { isSharedType, isUnconfined } from './resource-access';
import { grantFor } from './scope-check';
import { Permission } from './scopes';
import { PAGING_PARAMS, RESULT_PARAMS } from './search-params';
import { AuthzSettings } from './settings';

/** The permission letter an interaction needs on its resource type (SMART v2 `cruds`). */
export function permissionFor(interaction: Interaction): Permission | undefined {
  switch (interaction) {
    case 'read':
    case 'vread':
    case 'history-instance':
      return 'r';
    case 'search-type':
    case 'search-system':
    case 'history-type':
    case 'history-system':
      return 's';
    case 'create':
      return 'c';
    case 'update':
    case 'patch':
      return 'u';
    case 'delete':
      return 'd';
    case 'capabilities':
    case 'batch':
    case 'transaction':
    case 'operation':
      return undefined; // decided elsewhere: public, per entry, or per operation
    default:
      return undefined;
  }
}

/** Refuse up front when the scopes cannot cover the interaction on the type at all (403). */
export function assertScopeCovers(principal: Principal, resourceType: string, permission: Permission): void {
  if (grantFor(principal.scopes, resourceType, permission).kind === 'none') {
    throw new AccessDeniedError('ERR_SCOPE_INSUFFICIENT', `scopes do not grant '${permission}' on ${resourceType}`, {
      resourceType,
      expected: permission,
    });
  }
}

/**
 * Interactions a patient-scoped principal may not use at all, with the reason. System-wide and
 * type-wide history cannot be narrowed to a compartment (R4 history takes no search criteria),
 * and a system-wide search spans every type.
 */
const CONFINED_REFUSALS: Partial<Record<Interaction, string>> = {
  'history-type': 'type-level history cannot be confined to a patient compartment',
  'history-system': 'system-level history cannot be confined to a patient compartment',
  'search-system': 'system-level search cannot be confined to a patient compartment; search one type',
};

/** Request-level gate for one interaction (not batch/transaction/operation/capabilities). */
export function authorizeInteraction(principal: Principal, settings: AuthzSettings, req: FhirRequest): void {
  const permission = permissionFor(req.interaction);
  if (!permission) throw new TypeError(`authorizeInteraction: no permission for ${req.interaction}`);
  if (!isUnconfined(principal)) {
    const refusal = CONFINED_REFUSALS[req.interaction];
    if (refusal) throw new AccessDeniedError('ERR_FORBIDDEN', refusal, { interaction: req.interaction });
  }
  if (req.resourceType === undefined) {
    // Only system principals reach here (history-system, search-system); `*` must be granted.
    assertScopeCovers(principal, '*', permission);
    return;
  }
  assertScopeCovers(principal, req.resourceType, permission);
  if (!isUnconfined(principal) && !isCompartmentType(req.resourceType) && req.resourceType !== 'Patient' && !isSharedType({ settings }, req.resourceType)) {
    throw new AccessDeniedError('ERR_FORBIDDEN', `${req.resourceType} is in no patient compartment and is not a shared type`, {
      resourceType: req.resourceType,
    });
  }
}

/** Result parameters whose effect we can still verify after the backend answers. */
const CONFINED_RESULT_PARAMS = new Set(['_count', '_sort', '_include', '_revinclude', '_total']);

/**
 * Check the parameters of a search from a patient-scoped principal. Allowed: ordinary search
 * parameters (they only filter within the narrowed set), `_id`, `_lastUpdated`, and the result
 * parameters whose output the post-filter can check. Refused, with the reason:
 * - `_has` (reverse chaining) and chained parameters: they test resources outside the result
 *   set, which can reveal facts about other patients' records (an existence oracle);
 * - `_elements` and `_summary` other than `count`/`false`: they strip the references the
 *   post-filter needs to prove compartment membership;
 * - `_contained`, `_containedType`, `_query`, `_filter`, `_list` and any other `_` parameter
 *   fhirgate does not know: deny by default.
 */
export function assertConfinedSearchParams(params: readonly SearchParam[]): void {
  for (const p of params) {
    const refuse = (why: string) => new AccessDeniedError('ERR_FORBIDDEN', `search parameter "${p.key}" is not allowed for patient-scoped callers: ${why}`);
    if (p.name === '_has') throw refuse('reverse chaining can test other patients\' records');
    if (p.chain && p.chain.length > 0) throw refuse('chained parameters can test resources outside the compartment');
    if (p.name === '_summary') {
      if (p.value !== 'count' && p.value !== 'false') throw refuse('summaries drop the references used to confine results');
      continue;
    }
    if (!p.name.startsWith('_') || p.name === '_id' || p.name === '_lastUpdated' || p.name === '_tag' || p.name === '_profile' || p.name === '_security') continue;
    if (PAGING_PARAMS.has(p.name)) continue; // verified by the paging-link signature, not here
    if (RESULT_PARAMS.has(p.name) && CONFINED_RESULT_PARAMS.has(p.name)) continue;
    throw refuse(p.name === '_elements' ? 'element subsets drop the references used to confine results' : 'not supported by fhirgate');
  }
}

/** Preferred compartment parameter per type: `patient` where it exists, else `subject`, else the first. */
function narrowingParam(resourceType: string): string | undefined {
  const params = compartmentParams(resourceType);
  if (params.includes('patient')) return 'patient';
  if (params.includes('subject')) return 'subject';
  return params[0];
}

/**
 * Narrow a type search to the caller's compartments by AND-ing one more parameter (FHIR search:
 * repeated parameters are AND, so a client cannot undo it). A search naming another patient
 * therefore returns nothing rather than an error — the same answer as for a patient that does
 * not exist, so it reveals nothing. The post-filter still checks every returned entry.
 */
export function narrowingFor(principal: Principal, resourceType: string, settings: AuthzSettings): SearchParam[] {
  if (isUnconfined(principal)) return [];
  if (isSharedType({ settings }, resourceType)) return [];
  const ids = principal.patients;
  if (ids.length === 0) throw new AccessDeniedError('ERR_FORBIDDEN', 'the caller holds no patient compartment');
  if (resourceType === 'Patient') return [{ key: '_id', name: '_id', value: ids.join(',') }];
  const param = narrowingParam(resourceType);
  if (!param) throw new AccessDeniedError('ERR_FORBIDDEN', `${resourceType} cannot be confined to a patient compartment`);
  return [{ key: param, name: param, value: ids.map((id) => `Patient/${id}`).join(',') }];
}

/**
 * A constrained search scope (`patient/Observation.rs?category=laboratory`) becomes search
 * parameters when there is exactly one alternative, so the backend returns only what the
 * post-filter will keep (and paging counts stay meaningful). Several alternatives cannot be
 * written as one AND-ed query; then the post-filter alone applies them.
 */
export function constraintNarrowing(principal: Principal, resourceType: string): SearchParam[] {
  const grant = grantFor(principal.scopes, resourceType, 's');
  if (grant.kind !== 'constrained' || grant.alternatives.length !== 1) return [];
  return grant.alternatives[0]!.map((c) => ({ key: c.name, name: c.name, value: c.value }));
}

/** Refuse a request body or parameter the PEP does not understand as part of a plan. */
export function unsupported(message: string): RequestError {
  return new RequestError('ERR_UNSUPPORTED', message);
}
