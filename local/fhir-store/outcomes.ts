import { getStatus } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';

/**
 * Statuses for the outcomes this store adds to Medplum's set. Medplum's getStatus() keys on the
 * outcome id and falls back to 400, so ours carry ids it does not know and are mapped here first.
 */
const extraStatuses: Record<string, number> = {
  'method-not-allowed': 405,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'server-error': 500,
};

/** An error OperationOutcome with a stable id that statusForOutcome() maps to an HTTP status. */
export function errorOutcome(
  id: keyof typeof extraStatuses,
  code: NonNullable<OperationOutcome['issue']>[number]['code'],
  text: string
): OperationOutcome {
  return { resourceType: 'OperationOutcome', id, issue: [{ severity: 'error', code, details: { text } }] };
}

/** The HTTP status an outcome stands for (Medplum's table plus this store's additions). */
export function statusForOutcome(outcome: OperationOutcome): number {
  return (outcome.id && extraStatuses[outcome.id]) || getStatus(outcome);
}
