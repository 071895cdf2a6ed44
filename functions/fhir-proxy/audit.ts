/**
 * One audit line per request: who, for whom, what, outcome, why. Never resource content, never
 * tokens, never query values, never error messages (they quote what the caller typed, which can be
 * a name or a birth date): the "why" is a stable code (core/errors.ts), and for a Bundle the code
 * of each refused entry. "Not found" keeps its real reason here (ERR_OUT_OF_COMPARTMENT vs
 * ERR_NOT_FOUND), which the caller never sees.
 */
import type { FhirRequest } from '../core/fhir-request';
import type { Principal } from '../core/principal';

export interface AuditInput {
  readonly requestId: string;
  readonly principal?: Principal;
  readonly method: string;
  readonly request?: FhirRequest;
  readonly status: number;
  readonly removed: number;
  /** The refusal's code, when the request was refused. */
  readonly code?: string;
  /** Codes of refused Bundle entries. */
  readonly entryCodes?: readonly string[];
  /** Bulk export step: kick-off/status/cancel/download, level, types, backend job (never file content). */
  readonly export?: Readonly<Record<string, unknown>>;
}

/** The structured record for one request, as the logger writes it (`level` first). */
export function auditRecord(input: AuditInput): Record<string, unknown> {
  const { principal, request } = input;
  const record: Record<string, unknown> = {
    level: 'info',
    event: 'fhir.access',
    requestId: input.requestId,
    sub: principal?.sub,
    client: principal?.clientId,
    actor: principal?.actor,
    kind: principal?.kind,
    patients: principal?.patients,
    method: input.method,
    interaction: request?.interaction,
    resourceType: request?.resourceType,
    id: request?.id,
    operation: request?.operation,
    params: request && paramKeys(request),
    decision: input.status < 400 ? 'allow' : 'deny',
    status: input.status,
    removed: input.removed,
    code: input.code,
  };
  if (input.entryCodes && input.entryCodes.length > 0) record.entryCodes = input.entryCodes;
  if (input.export) record.export = input.export;
  return record;
}

const NO_PARAMS: readonly string[] = Object.freeze([]);

function paramKeys(request: FhirRequest): readonly string[] {
  return request.params.length === 0 ? NO_PARAMS : request.params.map((p) => p.key);
}
