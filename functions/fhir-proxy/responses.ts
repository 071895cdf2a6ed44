/**
 * What the PEP answers, and how backend answers are read. Backend bodies are parsed defensively
 * and never passed on as error text: a backend error becomes fhirgate's own OperationOutcome.
 */
import { DependencyError, FhirgateError, NotFoundError, RequestError } from '../core/errors';
import { outcomeForError } from '../core/operation-outcome';
import { bearerRefusalHeaders } from '../common/www-authenticate';
import type { BackendResponse } from './backend';

export interface ProxyResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** A body already serialized (NDJSON export files); sent as is instead of `body`. */
  readonly text?: string;
}

export const FHIR_JSON = 'application/fhir+json';

/** A JSON response with the FHIR media type. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): ProxyResponse {
  return { status, headers: { 'content-type': FHIR_JSON, ...headers }, body };
}

/** The error response for any thrown value (see outcomeForError), with the headers its status calls for. */
export function errorResponse(err: unknown): ProxyResponse {
  const { status, body } = outcomeForError(err);
  return json(status, body, err instanceof FhirgateError ? errorHeaders(err) : {});
}

/**
 * RFC 9110 §15.5.6: a 405 "MUST generate an Allow header field"; RFC 6750 §3: a token refused
 * (401) or lacking scope (403) gets a Bearer challenge.
 */
function errorHeaders(err: FhirgateError): Record<string, string> {
  const expected = err.evidence.expected;
  if (err.status === 405 && Array.isArray(expected)) return { allow: expected.join(', ') };
  if (err.status === 401) return bearerRefusalHeaders('invalid_token', err.message);
  if (err.code === 'ERR_SCOPE_INSUFFICIENT') return bearerRefusalHeaders('insufficient_scope', err.message);
  return {};
}

/** Parse a backend JSON body; a body that is not JSON is a backend failure (502). */
export function parseBackendJson(response: BackendResponse): unknown {
  try {
    return JSON.parse(response.body);
  } catch {
    throw new DependencyError('ERR_DEPENDENCY_FAILED', 'FHIR backend returned a body that is not JSON');
  }
}

/** True for a resource-shaped object of the given type. */
export function isResourceOf(value: unknown, resourceType: string): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { resourceType?: unknown }).resourceType === resourceType;
}

/**
 * Throw what the caller may learn from a backend error status. 404 and 410 are one "not found" (a
 * deleted record of another patient must not read differently from a missing one); 5xx are a
 * dependency failure (502); 409/412 a version conflict; other 4xx keep their status with
 * fhirgate's own text, never the backend's body.
 */
export function backendFailure(status: number): never {
  if (status === 404 || status === 410) throw new NotFoundError('ERR_NOT_FOUND', 'the FHIR server has no such resource');
  if (status >= 500 || status < 400) throw new DependencyError('ERR_DEPENDENCY_FAILED', `FHIR backend failed (status ${status})`);
  if (status === 412) throw new RequestError('ERR_PRECONDITION_FAILED', 'version conflict: the resource changed; read it again');
  if (status === 409) throw new RequestError('ERR_PRECONDITION_FAILED', 'conflict reported by the FHIR server', {}, 409);
  throw new RequestError('ERR_BAD_REQUEST', `the FHIR server refused the request (status ${status})`, {}, status);
}

/** The response for a backend error status (see backendFailure). */
export function backendErrorResponse(status: number): ProxyResponse {
  try {
    return backendFailure(status);
  } catch (err) {
    return errorResponse(err);
  }
}

/** Normalise anything thrown inside the PEP to a response. */
export function responseForThrown(err: unknown): ProxyResponse {
  return errorResponse(err);
}

/** The stable code of a refusal, for the audit line (never its message: that may quote the caller). */
export function codeOf(err: unknown): string {
  if (err instanceof FhirgateError) return err.code;
  return 'ERR_INTERNAL';
}
