/**
 * One audit line per request (DESIGN.md): who, for whom, what, outcome, why. Never resource
 * content, never tokens, never query values (they can carry PHI such as names or birth dates).
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
  readonly reason?: string;
}

/** The structured record for one request. */
export function auditRecord(input: AuditInput): Record<string, unknown> {
  const { principal, request } = input;
  return {
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
    params: request?.params.map((p) => p.key),
    decision: input.status < 400 ? 'allow' : 'deny',
    status: input.status,
    removed: input.removed,
    reason: input.reason,
  };
}
