/** Token endpoint errors, RFC 6749 §5.2. */

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope';

/** A token request refused with an RFC 6749 §5.2 error code. */
export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  /** The client authenticated (or tried to) with the Authorization header. */
  readonly basic: boolean;

  constructor(code: OAuthErrorCode, description: string, options: { basic?: boolean } = {}) {
    super(description);
    this.name = 'OAuthError';
    this.code = code;
    this.basic = options.basic ?? false;
  }

  /**
   * 400, except invalid_client after HTTP Basic: then 401 with a Basic challenge ("MUST respond
   * with an HTTP 401 (Unauthorized) status code and include the WWW-Authenticate response header").
   */
  get status(): 400 | 401 {
    return this.code === 'invalid_client' && this.basic ? 401 : 400;
  }

  /** The JSON body: `{error, error_description}`. */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.message };
  }
}
