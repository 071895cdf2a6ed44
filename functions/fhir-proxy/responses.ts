/**
 * What the PEP answers, and how backend answers are read. Backend bodies are parsed defensively
 * and never passed on as error text: a backend error becomes fhirgate's own OperationOutcome.
 */
import { DependencyError } from '../core/errors';
import { notFound, outcome, outcomeForError } from '../core/operation-outcome';
import type { BackendResponse } from './backend';

export interface ProxyResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

export const FHIR_JSON = 'application/fhir+json';

/** A JSON response with the FHIR media type. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): ProxyResponse {
  return { status, headers: { 'content-type': FHIR_JSON, ...headers }, body };
}

/** The error response for any thrown value (see outcomeForError). */
export function errorResponse(err: unknown): ProxyResponse {
  const { status, body } = outcomeForError(err);
  return json(status, body);
}

/** 404 that reads the same for "missing" and "not yours". */
export function notFoundResponse(): ProxyResponse {
  return json(404, notFound());
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
 * Map a backend error status onto what the caller may learn. 404 and 410 become one 404 (a
 * deleted record of another patient must not read differently from a missing one); 5xx become
 * 502; other 4xx keep their status with fhirgate's own text, never the backend's body.
 */
export function backendErrorResponse(status: number): ProxyResponse {
  if (status === 404 || status === 410) return notFoundResponse();
  if (status >= 500) return errorResponse(new DependencyError('ERR_DEPENDENCY_FAILED', `FHIR backend failed (status ${status})`));
  if (status === 412) return json(412, outcome('ERR_PRECONDITION_FAILED', 'version conflict: the resource changed; read it again'));
  if (status === 409) return json(409, outcome('ERR_PRECONDITION_FAILED', 'conflict reported by the FHIR server'));
  return json(status >= 400 && status < 500 ? status : 502, outcome('ERR_BAD_REQUEST', `the FHIR server refused the request (status ${status})`));
}

/** Throw-able form of a refusal, for code that wants to bail out of a plan. */
export class Refusal extends Error {
  constructor(readonly response: ProxyResponse) {
    super(`refused with ${response.status}`);
  }
}

/** Normalise anything thrown inside the PEP to a response. */
export function responseForThrown(err: unknown): ProxyResponse {
  return err instanceof Refusal ? err.response : errorResponse(err);
}
