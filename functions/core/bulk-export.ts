/**
 * FHIR Bulk Data Access IG v2 (`$export`, https://hl7.org/fhir/uv/bulkdata/export.html): the
 * rules of the kick-off, as a plan the proxy executes.
 *
 * - Who: only unconfined (system/) callers. A Bulk Data export has no patient filter fhirgate can
 *   verify before the files exist, so patient-, user- and delegated tokens are refused outright.
 * - Which types: `_type` ∩ the types the caller's scopes grant with both `r` and `s` (SMART v2: an
 *   export is a search whose results are read). A type asked for explicitly that the scopes do not
 *   cover is a 403 naming it (the IG lets a server either drop or refuse; refusing tells the client
 *   what it will not get instead of handing it a silently smaller export).
 * - Parameters: `_outputFormat` (NDJSON only), `_since` (an instant), `_type`, `_typeFilter` (only
 *   on exported types). Anything else is refused (deny by default), including the IG's optional
 *   `_elements`, `patient` and `includeAssociatedData`, which fhirgate does not implement.
 * - `Prefer: respond-async` is required (IG §Bulk Data Kick-off Request, headers).
 */
import { AccessDeniedError, RequestError } from './errors';
import type { FhirRequest } from './fhir-request';
import { FHIR_TYPE } from './ids';
import type { Principal } from './principal';
import { isUnconfined } from './resource-access';
import { grantFor } from './scope-check';
import { formatQuery, parseFormPairs, parseSearchParam, preview } from './search-params';
import type { SearchParam } from './search-params';

/** The kick-off operation, and the two operations fhirgate adds for its status and file URLs. */
export const EXPORT_OPERATION = 'export';
export const EXPORT_STATUS_OPERATION = 'export-poll-status';
export const EXPORT_FILE_OPERATION = 'export-file';

export type ExportLevel = 'system' | 'patient' | 'group';

/** What the proxy asks the backend to export, once the caller's request passed every rule. */
export interface ExportPlan {
  readonly level: ExportLevel;
  readonly groupId?: string;
  /** Types to export; undefined: every type (the scopes grant `*` with r and s). */
  readonly types?: readonly string[];
  readonly since?: string;
  readonly typeFilters: readonly string[];
}

// IG §Query Parameters, _outputFormat: servers SHALL support these three spellings of NDJSON.
// `+` arrives as a space when a client sends the media type unencoded in a query string.
const NDJSON_FORMATS: ReadonlySet<string> = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson', 'application/fhir ndjson']);
// FHIR R4 datatypes.html#instant: a time zone is required.
const INSTANT = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$/;
const KNOWN = new Set(['_outputFormat', '_since', '_type', '_typeFilter']);
const NOT_IMPLEMENTED = new Set(['_elements', 'patient', 'includeAssociatedData']);

/**
 * The planner's case for the export operations (plan.ts): a kick-off with its checked plan, or a
 * status/cancel/download naming a job handle the proxy opens (it needs the signer) and a file.
 */
export type ExportRequestPlan =
  | { readonly kind: 'export'; readonly step: 'kick-off'; readonly export: ExportPlan; /** as the client sent it, below the base (manifest `request`) */ readonly request: string }
  | { readonly kind: 'export'; readonly step: 'status' | 'cancel'; readonly handle: string }
  | { readonly kind: 'export'; readonly step: 'download'; readonly handle: string; readonly file: string };

/**
 * Plan one export request. `bodyParams` are the parameters of a POST kick-off's Parameters body
 * (plan.ts reads every operation body the same way).
 */
export function planExportRequest(principal: Principal, req: FhirRequest, bodyParams: readonly SearchParam[]): ExportRequestPlan {
  assertMayExport(principal);
  switch (req.operation) {
    case EXPORT_OPERATION: {
      const plan = planExport(principal, req, bodyParams);
      const query = formatQuery(req.params);
      return { kind: 'export', step: 'kick-off', export: plan, request: `${exportPath(plan)}${query ? `?${query}` : ''}` };
    }
    case EXPORT_STATUS_OPERATION:
      return { kind: 'export', step: req.method === 'DELETE' ? 'cancel' : 'status', handle: only(req, '_jobId', ['_jobId']) };
    case EXPORT_FILE_OPERATION:
      return { kind: 'export', step: 'download', handle: only(req, '_jobId', ['_jobId', '_file']), file: only(req, '_file', ['_jobId', '_file']) };
    default:
      throw new TypeError(`planExportRequest: not an export operation: ${req.operation}`);
  }
}

/** The kick-off path below the base: `$export`, `Patient/$export`, `Group/{id}/$export`. */
export function exportPath(plan: Pick<ExportPlan, 'level' | 'groupId'>): string {
  return plan.level === 'system' ? '$export' : plan.level === 'patient' ? 'Patient/$export' : `Group/${plan.groupId}/$export`;
}

/** The one value of `key`; any parameter outside `allowed`, or a repeated key, is a 400. */
function only(req: FhirRequest, key: string, allowed: readonly string[]): string {
  if (req.method === 'POST' || req.body !== undefined) bad(`$${req.operation} takes no body`);
  const extra = req.params.find((p) => !allowed.includes(p.key));
  if (extra) bad(`parameter '${preview(extra.key)}' is not accepted here (allowed: ${allowed.join(', ')})`);
  const values = req.params.filter((p) => p.key === key);
  if (values.length !== 1) bad(`'${key}' must be given exactly once`);
  return values[0]!.value;
}

/** True for the three export operations; the proxy hands these to its export module. */
export function isExportOperation(req: Pick<FhirRequest, 'operation'>): boolean {
  return req.operation === EXPORT_OPERATION || req.operation === EXPORT_STATUS_OPERATION || req.operation === EXPORT_FILE_OPERATION;
}

/** Refuse every caller but a system client (403, with the reason). */
export function assertMayExport(principal: Principal): void {
  if (isUnconfined(principal)) return;
  throw new AccessDeniedError('ERR_FORBIDDEN', `bulk export is for backend services clients with system/ scopes; a ${principal.kind} token cannot export`, {
    interaction: 'operation',
    actual: principal.kind,
    expected: 'system',
  });
}

/** The export level a kick-off URL names (IG §Endpoint): [base], Patient, Group/{id}. */
export function exportLevelOf(req: Pick<FhirRequest, 'resourceType' | 'id'>): { level: ExportLevel; groupId?: string } {
  if (req.resourceType === undefined) return { level: 'system' };
  if (req.resourceType === 'Patient' && req.id === undefined) return { level: 'patient' };
  if (req.resourceType === 'Group' && req.id !== undefined) return { level: 'group', groupId: req.id };
  throw new RequestError('ERR_BAD_REQUEST', '$export is defined on [base], Patient and Group/[id] only (Bulk Data IG v2)');
}

/** True when a Prefer header value holds the `respond-async` preference (RFC 7240 §2). */
export function prefersAsync(prefer: string | undefined): boolean {
  return (prefer ?? '').split(',').some((p) => (p.split(';')[0] ?? '').trim().toLowerCase() === 'respond-async');
}

/**
 * Plan a kick-off: the caller, the Prefer header, the parameters (query for GET, a Parameters
 * body for POST) and the types its scopes let it export. Throws the refusal otherwise.
 */
export function planExport(principal: Principal, req: FhirRequest, bodyParams: readonly SearchParam[] = []): ExportPlan {
  assertMayExport(principal);
  const { level, groupId } = exportLevelOf(req);
  if (!prefersAsync(req.prefer)) bad('$export needs the header "Prefer: respond-async" (Bulk Data IG v2, kick-off request)');
  const pairs = kickoffPairs(req, bodyParams);
  let since: string | undefined;
  const requested: string[] = [];
  const typeFilters: string[] = [];
  for (const [name, value] of pairs) {
    if (NOT_IMPLEMENTED.has(name)) throw new RequestError('ERR_UNSUPPORTED', `$export parameter '${name}' is not supported by fhirgate`);
    if (!KNOWN.has(name)) bad(`'${preview(name)}' is not a $export parameter (supported: ${[...KNOWN].join(', ')})`);
    if (name === '_outputFormat' && !NDJSON_FORMATS.has(value.trim().toLowerCase())) {
      throw new RequestError('ERR_UNSUPPORTED', `_outputFormat '${preview(value)}' is not supported; fhirgate exports application/fhir+ndjson`);
    }
    if (name === '_since') {
      if (since !== undefined) bad('_since may be given once');
      if (!INSTANT.test(value)) bad(`_since '${preview(value)}' is not a FHIR instant (e.g. 2024-01-01T00:00:00Z)`);
      since = value;
    }
    if (name === '_type') requested.push(...value.split(',').map((t) => t.trim()));
    if (name === '_typeFilter') typeFilters.push(value);
  }
  const types = exportTypes(principal, requested);
  for (const filter of typeFilters) checkTypeFilter(filter, types);
  return Object.freeze({ level, ...(groupId ? { groupId } : {}), ...(types ? { types } : {}), ...(since ? { since } : {}), typeFilters: Object.freeze(typeFilters) });
}

/** True when the scopes grant both `r` and `s` on the type (`*` for every type). */
export function exportsType(principal: Principal, type: string): boolean {
  return grantFor(principal.scopes, type, 'r').kind !== 'none' && grantFor(principal.scopes, type, 's').kind !== 'none';
}

/**
 * `_type` ∩ scopes. Without `_type`: every type when `*` is granted (undefined), else the types
 * the scopes name. With `_type`: each must be covered, or the request is refused naming them.
 */
export function exportTypes(principal: Principal, requested: readonly string[]): readonly string[] | undefined {
  if (requested.length === 0) {
    if (exportsType(principal, '*')) return undefined;
    const named = [...new Set(principal.scopes.map((s) => s.resourceType))].filter((t) => t !== '*' && exportsType(principal, t)).sort();
    if (named.length === 0) throw new AccessDeniedError('ERR_SCOPE_INSUFFICIENT', 'the scopes grant no resource type with both read (r) and search (s); nothing to export');
    return Object.freeze(named);
  }
  for (const t of requested) {
    if (!FHIR_TYPE.test(t)) bad(`_type '${preview(t)}' is not a FHIR resource type`);
  }
  const unique = [...new Set(requested)].sort();
  const uncovered = unique.filter((t) => !exportsType(principal, t));
  if (uncovered.length > 0) {
    throw new AccessDeniedError('ERR_SCOPE_INSUFFICIENT', `scopes do not grant read and search (rs) on ${uncovered.join(', ')}; remove them from _type`, {
      resourceType: uncovered[0],
      expected: 'rs',
    });
  }
  return Object.freeze(unique);
}

/** `_typeFilter=Type?criteria`: a type being exported and criteria that parse as a search. */
function checkTypeFilter(filter: string, types: readonly string[] | undefined): void {
  const q = filter.indexOf('?');
  const type = q < 0 ? filter : filter.slice(0, q);
  if (q < 0 || !FHIR_TYPE.test(type) || q === filter.length - 1) bad(`_typeFilter '${preview(filter)}' is not [type]?[search criteria]`);
  if (types !== undefined && !types.includes(type)) bad(`_typeFilter names ${type}, which is not among the exported types (${types.join(', ')})`);
  for (const [k, v] of parseFormPairs(filter.slice(q + 1), 20)) parseSearchParam(k, v);
}

/** Parameters of the kick-off: the query of a GET, the Parameters body of a POST (IG §POST). */
function kickoffPairs(req: FhirRequest, bodyParams: readonly SearchParam[]): [string, string][] {
  if (req.method !== 'GET' && req.method !== 'POST') bad(`$export is GET or POST, not ${req.method}`);
  if (req.method === 'POST' && req.params.length > 0) bad('a POST $export carries its parameters in a Parameters body, not in the query string');
  return [...req.params, ...bodyParams].map((p): [string, string] => [p.key, p.value]);
}

function bad(message: string): never {
  throw new RequestError('ERR_BAD_REQUEST', message);
}
