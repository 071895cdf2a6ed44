/**
 * Token endpoint errors of the emulated Cognito client_credentials endpoint: fhirgate's OAuth
 * error (RFC 6749 §5.2 codes and body), with Cognito's status rule for invalid_client.
 */
import { OAuthError as BaseOAuthError, OAuthErrorCode } from '../../functions/core/oauth-error';

export type { OAuthErrorCode };

/** A token request refused with an RFC 6749 §5.2 error code. */
export class OAuthError extends BaseOAuthError {
  /** The client authenticated (or tried to) with the Authorization header. */
  readonly basic: boolean;

  constructor(code: OAuthErrorCode, description: string, options: { basic?: boolean } = {}) {
    super(code, description);
    this.basic = options.basic ?? false;
  }

  /**
   * 400, except invalid_client after HTTP Basic: then 401 with a Basic challenge ("MUST respond
   * with an HTTP 401 (Unauthorized) status code and include the WWW-Authenticate response header").
   */
  override get status(): 400 | 401 {
    return this.code === 'invalid_client' && this.basic ? 401 : 400;
  }
}
