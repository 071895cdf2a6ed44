/**
 * The decision as a value: `plan(principal, settings, request)` says what the proxy will do for one
 * FHIR request — which backend path with which (narrowed) parameters, which stored version to read
 * before a write, which permission every returned resource must pass, how includes are closed —
 * or throws the refusal (one error tree, errors.ts). The proxy only carries plans out, and a batch
 * or transaction entry is planned by this same function as the request it stands for.
 *
 * Like google/fhir-gateway's `AccessChecker.checkAccess`, one switch over interactions that ends
 * in deny. Pure: paging signatures are verified before (they need a key), the backend is asked
 * after.
 */
import { ExportRequestPlan, isExportOperation, planExportRequest } from './bulk-export';
import { authorizeInteraction, compartmentRestriction, constraintNarrowing, narrowingFor } from './decision';
import { AccessDeniedError, RequestError } from './errors';
import type { FhirRequest } from './fhir-request';
import type { Principal } from './principal';
import { isUnconfined } from './resource-access';
import type { Permission } from './scopes';
import { cappedCount, checkSearchParams, MAX_COUNT, ClosureMode, closureModeOf, requireTypes } from './search-policy';
import { PAGING_PARAMS, SearchParam } from './search-params';
import type { AuthzSettings } from './settings';

/** A GET whose answer is a Bundle the proxy filters (search, history, $everything). */
export interface BundlePlan {
  readonly kind: 'bundle-read';
  /** Backend path without query. */
  readonly path: string;
  readonly params: readonly SearchParam[];
  /** The permission every match entry must pass (include entries always need 'r'). */
  readonly matchPermission: Permission;
  readonly closure: ClosureMode;
  /**
   * When nothing visible comes back, answer 404 (instance history: "no version you may see" reads
   * as "no such resource"); otherwise an empty Bundle is the answer.
   */
  readonly emptyIsNotFound: boolean;
  /** Answer `total` only (response-filter.ts): the count is taken over the entries the caller may see. */
  readonly countOnly: boolean;
}

export type Plan =
  | { readonly kind: 'read'; readonly resourceType: string; readonly id: string; readonly path: string }
  | BundlePlan
  | { readonly kind: 'create'; readonly resourceType: string; readonly body: unknown; readonly ifNoneExist?: readonly SearchParam[] }
  | {
      readonly kind: 'update' | 'patch' | 'delete';
      readonly resourceType: string;
      /** The target by id, or — for conditional forms — the criteria, already confined. */
      readonly target: { readonly id: string } | { readonly criteria: readonly SearchParam[] };
      readonly body?: unknown;
      readonly ifMatch?: string;
    }
  | { readonly kind: 'bundle'; readonly bundleType: 'batch' | 'transaction'; readonly entries: readonly unknown[] }
  | ExportRequestPlan;

/** Parameters `$everything` takes (R4 patient-operation-everything). */
const EVERYTHING_PARAMS = new Set(['_count', '_since', '_type', 'start', 'end']);

/** The path a paging link for this request is signed over (paging.ts), or undefined when it takes no cursor. */
export function pagingPathOf(req: FhirRequest): string | undefined {
  switch (req.interaction) {
    case 'search-type':
      return req.resourceType!;
    case 'search-system':
      return '';
    case 'history-instance':
      return `${req.resourceType}/${req.id}/_history`;
    case 'history-type':
      return `${req.resourceType}/_history`;
    case 'history-system':
      return '_history';
    case 'operation':
      return req.operation === 'everything' && req.resourceType === 'Patient' && req.id ? `Patient/${req.id}/$everything` : undefined;
    default:
      return undefined;
  }
}

/** Plan one request (its paging signature, if any, already verified). Throws the refusal. */
export function plan(principal: Principal, settings: AuthzSettings, req: FhirRequest): Plan {
  switch (req.interaction) {
    case 'read':
    case 'vread': {
      authorizeInteraction(principal, settings, req);
      const path = req.interaction === 'vread' ? `${req.resourceType}/${req.id}/_history/${req.versionId}` : `${req.resourceType}/${req.id}`;
      return { kind: 'read', resourceType: req.resourceType!, id: req.id!, path };
    }
    case 'history-instance':
      authorizeInteraction(principal, settings, req);
      return bundleRead(pagingPathOf(req)!, req.params, 'r', 'one-hop', !isUnconfined(principal));
    case 'history-type':
    case 'history-system':
      authorizeInteraction(principal, settings, req); // confined callers are refused inside
      return bundleRead(pagingPathOf(req)!, req.params, 's', 'one-hop', false);
    case 'search-type':
    case 'search-system': {
      authorizeInteraction(principal, settings, req);
      const pinned = req.compartment ? compartmentRestriction(req.resourceType!, req.compartment.id) : [];
      return searchPlan(principal, settings, req.resourceType, [...req.params, ...pinned]);
    }
    case 'operation':
      // Bulk Data $export and its status/file URLs: their own rules (bulk-export.ts).
      if (isExportOperation(req)) return planExportRequest(principal, req, operationBodyParams(req.body));
      return operationPlan(principal, settings, req);
    case 'create':
      authorizeInteraction(principal, settings, req);
      return {
        kind: 'create',
        resourceType: req.resourceType!,
        body: req.body,
        ...(req.ifNoneExist ? { ifNoneExist: confinedCriteria(principal, settings, req.resourceType!, req.ifNoneExist) } : {}),
      };
    case 'update':
    case 'patch':
    case 'delete': {
      authorizeInteraction(principal, settings, req);
      const target = req.id !== undefined
        ? { id: req.id }
        : { criteria: confinedCriteria(principal, settings, req.resourceType!, req.params.filter((p) => p.name !== '_count')) };
      return {
        kind: req.interaction,
        resourceType: req.resourceType!,
        target,
        ...(req.body !== undefined ? { body: req.body } : {}),
        ...(req.ifMatch !== undefined ? { ifMatch: req.ifMatch } : {}),
      };
    }
    case 'batch':
    case 'transaction': {
      const entries = (req.body as { entry?: unknown }).entry;
      const list = Array.isArray(entries) ? entries : [];
      if (list.length > MAX_BUNDLE_ENTRIES) throw new RequestError('ERR_BAD_REQUEST', `a Bundle may carry at most ${MAX_BUNDLE_ENTRIES} entries`);
      return { kind: 'bundle', bundleType: req.interaction, entries: list };
    }
    default:
      throw new AccessDeniedError('ERR_FORBIDDEN', `interaction ${req.interaction} is not supported by fhirgate`);
  }
}

/** Most entries in one batch or transaction. */
export const MAX_BUNDLE_ENTRIES = 100;

/** A type or system search: parameters checked for every principal kind, then narrowed. */
function searchPlan(principal: Principal, settings: AuthzSettings, resourceType: string | undefined, params: readonly SearchParam[]): BundlePlan {
  let checked = checkSearchParams(principal, settings, resourceType, params);
  if (resourceType !== undefined) {
    checked = addOnce(checked, narrowingFor(principal, resourceType, settings));
    checked = addOnce(checked, constraintNarrowing(principal, resourceType));
  }
  return countable(principal, bundleRead(resourceType ?? '', checked, 's', closureModeOf(checked), false));
}

/**
 * A count-only request (`_summary=count`, `_count=0`) from a confined caller: the backend's count
 * would include records the filter hides (a record that also belongs to another patient, or one
 * where the caller's patient is only a performer), so fhirgate fetches one full page and counts
 * what the caller may see. More than one page: no `total` (response-filter.ts).
 */
function countable(principal: Principal, p: BundlePlan): BundlePlan {
  const countOnly = p.params.some((q) => (q.name === '_summary' && q.value === 'count') || (q.name === '_count' && q.value === '0'));
  if (!countOnly || isUnconfined(principal)) return p;
  const params = p.params.filter((q) => !['_summary', '_count', '_include', '_revinclude', '_sort'].includes(q.name));
  return { ...p, params: [...params, { key: '_count', name: '_count', value: String(MAX_COUNT) }], closure: 'one-hop', countOnly: true };
}

/** `Patient/{id}/$everything` (GET or POST): only for a patient the caller holds. */
function operationPlan(principal: Principal, settings: AuthzSettings, req: FhirRequest): BundlePlan {
  if (req.operation !== 'everything' || req.resourceType !== 'Patient' || req.id === undefined) {
    // Not served is not forbidden: 501 not-supported whatever the caller's scopes (403 is for scopes).
    throw new RequestError('ERR_NOT_IMPLEMENTED', `operation $${req.operation} is not supported by fhirgate (only Patient/{id}/$everything)`);
  }
  authorizeInteraction(principal, settings, { ...req, interaction: 'read' });
  if (!isUnconfined(principal) && !principal.patients.includes(req.id)) {
    // Not the caller's patient: the same answer as a patient that does not exist.
    throw new AccessDeniedError('ERR_OUT_OF_COMPARTMENT', 'patient outside the caller\'s compartments');
  }
  const params = [...req.params, ...operationBodyParams(req.body)].map((p) => {
    if (!EVERYTHING_PARAMS.has(p.name) && !PAGING_PARAMS.has(p.name)) {
      throw new RequestError('ERR_UNSUPPORTED', `parameter "${p.name}" is not supported on $everything`);
    }
    if (p.name === '_type') requireTypes(principal, p, 'r');
    return p.name === '_count' ? cappedCount(p) : p;
  });
  return countable(principal, bundleRead(`Patient/${req.id}/$everything`, params, 'r', 'one-hop', false));
}

/** POST $everything: a Parameters body's valueX parameters become query parameters. */
function operationBodyParams(body: unknown): SearchParam[] {
  if (body === undefined) return [];
  const parameter = (body as { resourceType?: unknown; parameter?: unknown }).parameter;
  if ((body as { resourceType?: unknown }).resourceType !== 'Parameters' || (parameter !== undefined && !Array.isArray(parameter))) {
    throw new RequestError('ERR_BAD_REQUEST', 'an operation body must be a Parameters resource');
  }
  const out: SearchParam[] = [];
  for (const item of (parameter as unknown[] | undefined) ?? []) {
    const { name, ...rest } = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const values = Object.entries(rest).filter(([k]) => k.startsWith('value'));
    if (typeof name !== 'string' || values.length !== 1 || !['string', 'number'].includes(typeof values[0]![1])) {
      throw new RequestError('ERR_BAD_REQUEST', 'each operation parameter needs a name and one primitive value[x]');
    }
    out.push({ key: name, name, value: String(values[0]![1]) });
  }
  return out;
}

/** Conditional criteria: checked like a search and, for confined callers, AND-ed with the compartment. */
function confinedCriteria(principal: Principal, settings: AuthzSettings, resourceType: string, params: readonly SearchParam[]): SearchParam[] {
  const checked = checkSearchParams(principal, settings, resourceType, params);
  return isUnconfined(principal) ? checked : addOnce(checked, narrowingFor(principal, resourceType, settings));
}

function bundleRead(path: string, params: readonly SearchParam[], matchPermission: Permission, closure: ClosureMode, emptyIsNotFound: boolean): BundlePlan {
  return { kind: 'bundle-read', path, params, matchPermission, closure, emptyIsNotFound, countOnly: false };
}

/** Append parameters unless the identical key=value is already present (paging links carry them). */
export function addOnce(params: readonly SearchParam[], extra: readonly SearchParam[]): SearchParam[] {
  const out = [...params];
  for (const p of extra) {
    if (!out.some((q) => q.key === p.key && q.value === p.value)) out.push(p);
  }
  return out;
}
