/**
 * The request-level decision: which interactions a principal may attempt at all (scopes on types
 * and interactions), and how a search is narrowed to the caller's compartments before it is
 * forwarded. Instance-level checks (is *this* resource the caller's?) live in resource-access.ts
 * and run on what the backend returns.
 *
 * Every switch ends in deny: an interaction, operation or parameter not named here is refused.
 */
import { AccessDeniedError, RequestError } from './errors';
import { isCompartmentType, owningParams } from './compartment';
import { FhirRequest, Interaction, SearchParam } from './fhir-request';
import { Principal } from './principal';
import { isSharedType, isUnconfined } from './resource-access';
import { grantFor } from './scope-check';
import { Permission } from './scopes';
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

/**
 * The owning parameter a search is narrowed by: `patient` where it exists, else `subject`, else the
 * first. Only owning params (compartment.ts): narrowing by a role param (`performer`) would match
 * records the membership rule then hides, and their count would leak into `total`.
 */
function narrowingParam(resourceType: string): string | undefined {
  const params = owningParams(resourceType);
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
 * A compartment search (`GET Patient/{id}/Observation`, R4 http.html#vsearch) as the type search it
 * stands for: the owning parameter pinned to that patient. The caller's own narrowing is still
 * AND-ed on, so another patient's compartment reads as an empty one.
 */
export function compartmentRestriction(resourceType: string, patientId: string): SearchParam[] {
  if (resourceType === 'Patient') return [{ key: '_id', name: '_id', value: patientId }];
  const param = narrowingParam(resourceType);
  if (!param) throw new RequestError('ERR_UNSUPPORTED', `${resourceType} is not in the Patient compartment`, { resourceType });
  return [{ key: param, name: param, value: `Patient/${patientId}` }];
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
