/**
 * Every error body fhirgate sends is a FHIR OperationOutcome (docs/security-model.md, status
 * codes). One function maps any error to a status and an outcome, in the manner of
 * Medplum's outcome constants plus one status switch.
 */
import { ErrorCode, FhirgateError } from './errors';

export interface OperationOutcome {
  readonly resourceType: 'OperationOutcome';
  readonly issue: readonly {
    readonly severity: 'error' | 'fatal' | 'warning' | 'information';
    readonly code: string;
    readonly diagnostics?: string;
    readonly details?: { readonly text: string; readonly coding?: readonly { system: string; code: string }[] };
  }[];
}

/** Code system for fhirgate's stable error codes in `issue.details.coding`. */
export const FHIRGATE_ERROR_SYSTEM = 'https://fhirgate.dev/error-code';

/** FHIR IssueType (http://hl7.org/fhir/R4/valueset-issue-type.html) for each fhirgate code. */
const ISSUE_TYPE: Readonly<Record<ErrorCode, string>> = {
  ERR_TOKEN_MISSING: 'login',
  ERR_TOKEN_MALFORMED: 'login',
  ERR_TOKEN_INVALID: 'login',
  ERR_TOKEN_EXPIRED: 'expired',
  ERR_TOKEN_UNTRUSTED_ISSUER: 'login',
  ERR_TOKEN_CLAIM_INVALID: 'login',
  ERR_SCOPE_INVALID: 'login',
  ERR_SCOPE_INSUFFICIENT: 'forbidden',
  ERR_NO_LINK: 'forbidden',
  ERR_USER_DISABLED: 'forbidden',
  ERR_LINK_INVALID: 'forbidden',
  ERR_ROLE_MISMATCH: 'forbidden',
  ERR_FORBIDDEN: 'forbidden',
  ERR_OUT_OF_COMPARTMENT: 'not-found',
  ERR_NOT_FOUND: 'not-found',
  ERR_BAD_REQUEST: 'invalid',
  ERR_UNSUPPORTED: 'not-supported',
  ERR_TYPE_NOT_SUPPORTED: 'not-supported',
  ERR_NOT_IMPLEMENTED: 'not-supported',
  ERR_NOT_ACCEPTABLE: 'not-supported',
  ERR_UNSUPPORTED_MEDIA_TYPE: 'not-supported',
  ERR_METHOD_NOT_ALLOWED: 'not-supported',
  ERR_PAYLOAD_TOO_LARGE: 'too-costly',
  ERR_PRECONDITION_FAILED: 'conflict',
  ERR_DEPENDENCY_FAILED: 'transient',
  ERR_DEPENDENCY_TIMEOUT: 'timeout',
};

/** An OperationOutcome with one error issue. */
export function outcome(code: ErrorCode, text: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: ISSUE_TYPE[code],
        details: { text, coding: [{ system: FHIRGATE_ERROR_SYSTEM, code }] },
      },
    ],
  };
}

/**
 * Status and OperationOutcome for any thrown value. Out-of-compartment refusals read exactly
 * like a missing resource (no existence oracle); unknown errors become a 500 with no detail.
 */
export function outcomeForError(err: unknown): { status: number; body: OperationOutcome } {
  if (err instanceof FhirgateError) {
    // One body for "missing" and "not yours", byte for byte; the audit line keeps the code.
    if (err.code === 'ERR_OUT_OF_COMPARTMENT' || err.code === 'ERR_NOT_FOUND') return { status: 404, body: notFound() };
    return { status: err.status, body: outcome(err.code, err.message) };
  }
  return {
    status: 500,
    body: { resourceType: 'OperationOutcome', issue: [{ severity: 'fatal', code: 'exception', details: { text: 'internal error' } }] },
  };
}

/** The one body for "not found", whether the resource is missing or outside the caller's compartments. */
export function notFound(): OperationOutcome {
  return outcome('ERR_NOT_FOUND', 'resource not found');
}
