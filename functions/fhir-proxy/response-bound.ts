/**
 * The bound on what the proxy returns. A synchronous Lambda invocation answers at most 6 MB
 * (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html, "Invocation payload
 * (request and response)"); a bigger result is dropped by Lambda and API Gateway answers a bare
 * 502 — after the proxy has already logged its audit line with the status it meant to send. So
 * the proxy measures the serialized result itself and, past the bound, answers a FHIR
 * OperationOutcome that says what happened and what to do (ask for fewer entries per page), and
 * audits that.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { outcome } from '../core/operation-outcome';
import { json, ProxyResponse } from './responses';

/**
 * Largest serialized proxy result (status, headers and body as Lambda returns them to API
 * Gateway), in bytes: 6,000,000 stays under Lambda's 6 MB whether MB is read as 10^6 or 2^20.
 */
export const MAX_RESPONSE_BYTES = 6_000_000;

/**
 * The backend text one page may have before the PEP asks for it again with a smaller `_count`
 * (pep.ts). The result carries the body as a JSON string, which escapes every quote, so a page
 * must stay well under the response bound to fit once serialized.
 */
export function pageBudgetChars(maxResponseBytes: number): number {
  return Math.floor(maxResponseBytes * 0.6);
}

/** Bytes Lambda will send for this result: its JSON serialization, UTF-8. */
export function resultBytes(result: APIGatewayProxyResult): number {
  return Buffer.byteLength(JSON.stringify(result), 'utf8');
}

/**
 * `resultBytes(result)` when it is over `limit`, else undefined. Serializing the result once more
 * only to measure it was a tenth of the proxy's CPU on a read (bench profile), so a body short
 * enough that it fits however it escapes is not measured: in the result's JSON a UTF-16 unit of
 * the body takes at most 6 bytes (`\uXXXX`), and the rest of the result is measured as it is.
 */
export function oversizeBytes(result: APIGatewayProxyResult, limit: number): number | undefined {
  if (!(limit < Number.POSITIVE_INFINITY)) return undefined;
  const rest = resultBytes({ ...result, body: '' });
  if (rest + 6 * result.body.length <= limit) return undefined;
  const bytes = resultBytes(result);
  return bytes > limit ? bytes : undefined;
}

/**
 * The answer when a result would not fit: 500 with issue type `too-costly` (R4
 * valueset-issue-type: "the operation was successful, but would have returned more results than
 * the server is able to return"). Nothing of the oversized body is kept.
 */
export function responseTooLarge(bytes: number, limit: number): ProxyResponse {
  return json(
    500,
    outcome(
      'ERR_PAYLOAD_TOO_LARGE',
      `the response (${bytes} bytes) exceeds what fhirgate can return (${limit} bytes, the AWS Lambda response limit); request fewer entries per page with _count, or fewer _include/_revinclude`,
    ),
  );
}
