/**
 * Amazon Cognito's token endpoint, as the token service uses it: secret-based
 * `client_credentials` sent to fhirgate's `/auth/token` is forwarded there unchanged (Cognito holds
 * the client secrets; fhirgate never sees them at rest), and a client secret presented on a token
 * exchange is verified by the same call. One deadline, no redirects, a size bound: Cognito's
 * answer is relayed, never trusted to be small.
 */
import { DependencyError } from '../core/errors';

export interface CognitoTokenAnswer {
  readonly status: number;
  /** Cognito's JSON body (a token or an RFC 6749 §5.2 error). */
  readonly body: Readonly<Record<string, unknown>>;
}

export interface CognitoTokenEndpoint {
  /** POST the form (and Basic header, when the client used one) to Cognito's `/oauth2/token`. */
  post(form: URLSearchParams, authorization?: string): Promise<CognitoTokenAnswer>;
}

const MAX_ANSWER_BYTES = 64 * 1024;

/** The endpoint at `url` (`https://<domain>.auth.<region>.amazoncognito.com/oauth2/token`). */
export function createCognitoTokenEndpoint(url: string, timeoutMs = 3000): CognitoTokenEndpoint {
  return {
    async post(form, authorization) {
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...(authorization ? { authorization } : {}) },
          body: form.toString(),
        });
      } catch (err) {
        const name = err instanceof Error ? err.name : 'unknown';
        throw new DependencyError(name === 'TimeoutError' ? 'ERR_DEPENDENCY_TIMEOUT' : 'ERR_DEPENDENCY_FAILED', `Cognito token endpoint failed (${name})`);
      }
      const text = await response.text();
      let body: unknown;
      try {
        body = text.length <= MAX_ANSWER_BYTES ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body) || response.status >= 500) {
        throw new DependencyError('ERR_DEPENDENCY_FAILED', `Cognito token endpoint answered ${response.status} without a usable JSON body`);
      }
      return { status: response.status, body: body as Record<string, unknown> };
    },
  };
}
