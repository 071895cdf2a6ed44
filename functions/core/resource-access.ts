/**
 * May this principal see (or write) this one resource? The single per-resource rule that every
 * path through the proxy ends in: reads, search entries, includes, history versions, write bodies
 * and the stored version before a write.
 *
 * Two gates, in this order:
 * 1. compartment (instances): a patient-scoped principal reaches a compartment resource only when
 *    it belongs to one of the principal's patients; shared types (configuration) are outside any
 *    compartment and readable; every other type is out of reach. Failing here reads as "not found".
 * 2. scopes (types and interactions): the type and permission letter must be granted, and a
 *    constrained grant (`?category=laboratory`) must match the resource. Failing here is "forbidden".
 */
import { isCompartmentType, ownedOnlyBy, patientsOf } from './compartment';
import { Principal } from './principal';
import { grantFor } from './scope-check';
import { Permission } from './scopes';
import { matchesConstraints } from './search-param-match';
import { AuthzSettings } from './settings';
import { FHIR_TYPE } from './ids';
import { someReference } from './reference';
import { isRecord, ownValue } from './untrusted-json';

/** Why a resource is out of reach; `compartment` is reported as 404, `scope` as 403. */
export type ResourceVerdict = { readonly ok: true } | { readonly ok: false; readonly gate: 'compartment' | 'scope'; readonly reason: string };

export interface AccessContext {
  readonly principal: Principal;
  readonly settings: AuthzSettings;
  /** Base URLs that count as "this server" in absolute references (backend and public). */
  readonly ownBaseUrls: readonly string[];
}

const OK: ResourceVerdict = { ok: true };

/** True for a system principal: not confined to compartments, only to its scopes. */
export function isUnconfined(principal: Principal): boolean {
  return principal.kind === 'system';
}

/** The type of an untrusted resource, or undefined when it has none we can trust. */
export function resourceTypeOf(resource: unknown): string | undefined {
  if (!isRecord(resource)) return undefined;
  const type = ownValue(resource, 'resourceType');
  return typeof type === 'string' && FHIR_TYPE.test(type) ? type : undefined;
}

/** Check one resource against both gates for one permission letter. */
export function checkResource(ctx: AccessContext, resource: unknown, permission: Permission): ResourceVerdict {
  const type = resourceTypeOf(resource);
  if (!type) return { ok: false, gate: 'compartment', reason: 'not a FHIR resource' };
  const compartment = checkCompartment(ctx, resource, type, permission);
  if (!compartment.ok) return compartment;
  const grant = grantFor(ctx.principal.scopes, type, permission);
  if (grant.kind === 'none') return { ok: false, gate: 'scope', reason: `scopes do not grant '${permission}' on ${type}` };
  if (grant.kind === 'constrained' && !grant.alternatives.some((alt) => matchesConstraints(resource, alt))) {
    return { ok: false, gate: 'scope', reason: `${type} does not match the scope constraints` };
  }
  return OK;
}

function checkCompartment(ctx: AccessContext, resource: unknown, type: string, permission: Permission): ResourceVerdict {
  if (isUnconfined(ctx.principal)) return OK;
  if (isSharedType(ctx, type)) {
    // Shared resources are reference data: readable by anyone whose scopes cover them, written
    // only by system principals (a patient must not edit the practitioner directory).
    return permission === 'r' || permission === 's'
      ? OK
      : { ok: false, gate: 'scope', reason: `${type} is shared reference data; only system clients write it` };
  }
  if (!isCompartmentType(type) && type !== 'Patient') {
    return { ok: false, gate: 'compartment', reason: `${type} is in no patient compartment and is not a shared type` };
  }
  // The one membership rule: owned by the caller's patients, and by nobody else.
  if (!ownedOnlyBy(resource, ctx.principal.patients, ctx.ownBaseUrls)) {
    return { ok: false, gate: 'compartment', reason: `${type} is outside the caller's compartments` };
  }
  return OK;
}

/** True when the type is configured as shared and is not itself compartment data. */
export function isSharedType(ctx: Pick<AccessContext, 'settings'>, type: string): boolean {
  return ctx.settings.sharedResourceTypes.includes(type) && !isCompartmentType(type) && type !== 'Patient';
}

/**
 * For a write body: the rule for reading it back (owned by the caller's patients only, at least
 * one), and no other patient named anywhere, so nothing moves into, or is created outside, a
 * compartment the caller does not hold. Conditional references (`Patient?identifier=…`) are refused for confined callers: the
 * server resolves them against every patient, so whether the write succeeds would tell the caller
 * whether some other patient matches (R4 http.html#trules "conditional references").
 */
export function checkWriteBody(ctx: AccessContext, body: unknown, permission: Permission): ResourceVerdict {
  const verdict = checkResource(ctx, body, permission);
  if (!verdict.ok || isUnconfined(ctx.principal)) return verdict;
  const type = resourceTypeOf(body)!;
  if (type === 'Patient' && (permission === 'c' || permission === 'd')) {
    return { ok: false, gate: 'scope', reason: 'patient-scoped callers cannot create or delete Patient resources' };
  }
  // Writes are stricter than reads: no patient the caller does not hold may be named in *any*
  // compartment param of the R4 definition, role references included (a performer reference
  // would put the record into that patient's R4 compartment on the server).
  for (const id of patientsOf(body, ctx.ownBaseUrls)) {
    if (!ctx.principal.patients.includes(id)) {
      return { ok: false, gate: 'scope', reason: `${type} would reference a patient outside the caller's compartments` };
    }
  }
  if (someReference(body, (reference) => reference.includes('?'))) {
    return { ok: false, gate: 'scope', reason: 'conditional references are resolved across all patients; name the resource by id' };
  }
  return OK;
}
