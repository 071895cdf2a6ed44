/**
 * One error tree for every refusal fhirgate makes.
 *
 * Each error carries a stable `code` (like panva/jose's `ERR_JWT_EXPIRED`) so logs, tests and
 * clients can match on it, the HTTP `status` the refusal maps to (docs/security-model.md, "Status codes"), and optional evidence (`claim`, `resourceType`, `expected`, …).
 * Programming mistakes are not modelled here: they throw `TypeError` and surface as 500s.
 */

export type ErrorCode =
  // 401: the credential itself is unusable
  | 'ERR_TOKEN_MISSING'
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_INVALID'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_UNTRUSTED_ISSUER'
  | 'ERR_TOKEN_CLAIM_INVALID'
  // 403: a valid caller asks for more than it holds
  | 'ERR_SCOPE_INVALID'
  | 'ERR_SCOPE_INSUFFICIENT'
  | 'ERR_NO_LINK'
  | 'ERR_USER_DISABLED'
  | 'ERR_LINK_INVALID'
  | 'ERR_ROLE_MISMATCH'
  | 'ERR_FORBIDDEN'
  // 404: instances outside the caller's compartments look exactly like missing ones
  | 'ERR_OUT_OF_COMPARTMENT'
  | 'ERR_NOT_FOUND'
  // 400 family: the request is not something fhirgate understands
  | 'ERR_BAD_REQUEST'
  | 'ERR_UNSUPPORTED'
  | 'ERR_TYPE_NOT_SUPPORTED'
  | 'ERR_NOT_IMPLEMENTED'
  | 'ERR_NOT_ACCEPTABLE'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_PRECONDITION_FAILED'
  // 5xx: a dependency failed; never turned into access
  | 'ERR_DEPENDENCY_FAILED'
  | 'ERR_DEPENDENCY_TIMEOUT';

/** Default HTTP status for each code; one place, so the mapping is documented once. */
export const STATUS_FOR_CODE: Readonly<Record<ErrorCode, number>> = {
  ERR_TOKEN_MISSING: 401,
  ERR_TOKEN_MALFORMED: 401,
  ERR_TOKEN_INVALID: 401,
  ERR_TOKEN_EXPIRED: 401,
  ERR_TOKEN_UNTRUSTED_ISSUER: 401,
  ERR_TOKEN_CLAIM_INVALID: 401,
  ERR_SCOPE_INVALID: 401,
  ERR_SCOPE_INSUFFICIENT: 403,
  ERR_NO_LINK: 403,
  ERR_USER_DISABLED: 403,
  ERR_LINK_INVALID: 403,
  ERR_ROLE_MISMATCH: 403,
  ERR_FORBIDDEN: 403,
  ERR_OUT_OF_COMPARTMENT: 404,
  ERR_NOT_FOUND: 404,
  ERR_BAD_REQUEST: 400,
  ERR_UNSUPPORTED: 400,
  // R4 http.html (create, search): "404 Not Found - resource type not supported, or not a FHIR end-point"
  ERR_TYPE_NOT_SUPPORTED: 404,
  // RFC 9110 §15.6.2: the server does not support the functionality (an operation fhirgate does not serve)
  ERR_NOT_IMPLEMENTED: 501,
  // RFC 9110 §15.5.7 / §15.5.16: fhirgate answers and reads JSON only
  ERR_NOT_ACCEPTABLE: 406,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_PRECONDITION_FAILED: 412,
  ERR_DEPENDENCY_FAILED: 502,
  ERR_DEPENDENCY_TIMEOUT: 504,
};

/** Evidence attached to an error: what was seen and what was expected. Never tokens or PHI. */
export interface ErrorEvidence {
  readonly claim?: string;
  readonly resourceType?: string;
  readonly interaction?: string;
  readonly actual?: string;
  readonly expected?: string | readonly string[];
}

/** Base of every fhirgate refusal. */
export class FhirgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly evidence: ErrorEvidence;

  constructor(code: ErrorCode, message: string, evidence: ErrorEvidence = {}, status?: number) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status ?? STATUS_FOR_CODE[code];
    this.evidence = evidence;
  }
}

/** The token could not be trusted (401). */
export class TokenError extends FhirgateError {}

/** The caller is known but not permitted (403). */
export class AccessDeniedError extends FhirgateError {}

/** The request is malformed or not understood (4xx). */
export class RequestError extends FhirgateError {}

/**
 * "Not found", whatever the reason. The caller sees one body for both codes (no existence
 * oracle, operation-outcome.ts); the code keeps the real reason for the audit line:
 * `ERR_NOT_FOUND` when nothing is there, `ERR_OUT_OF_COMPARTMENT` when it is not the caller's.
 */
export class NotFoundError extends FhirgateError {
  constructor(code: 'ERR_NOT_FOUND' | 'ERR_OUT_OF_COMPARTMENT', message: string) {
    super(code, message);
  }
}

/** A dependency (JWKS, DynamoDB, FHIR backend) failed (5xx); fail closed. */
export class DependencyError extends FhirgateError {}
