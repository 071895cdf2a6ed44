/**
 * Token endpoint errors: RFC 6749 §5.2 codes plus RFC 8693 §2.2.2 `invalid_target`.
 *
 * A separate tree from `FhirgateError` on purpose: these are the OAuth protocol's own codes and
 * body shape (`{error, error_description}`), not OperationOutcomes. When a refusal comes from a
 * fhirgate rule (no link, role mismatch, …) the fhirgate code travels along in `rule` for the
 * log line, never in the response.
 */
import type { ErrorCode } from './errors';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target';

/** A token request refused with an OAuth error code. */
export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  /** The fhirgate rule behind the refusal, when there is one (logged, not returned). */
  readonly rule?: ErrorCode;

  constructor(code: OAuthErrorCode, description: string, rule?: ErrorCode) {
    super(description);
    this.name = 'OAuthError';
    this.code = code;
    if (rule !== undefined) this.rule = rule;
  }

  /** RFC 6749 §5.2: 400, except `invalid_client`, which is 401. */
  get status(): 400 | 401 {
    return this.code === 'invalid_client' ? 401 : 400;
  }

  /** The JSON body, RFC 6749 §5.2. */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.message };
  }
}
