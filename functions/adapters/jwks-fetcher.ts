/**
 * JWKS fetching. aws-jwt-verify's own fetcher speaks HTTPS only, which is right for Cognito and
 * for any issuer on a network. Emulators on one machine (cognito-local, the local stack, the
 * tests) serve their JWKS over plain HTTP on loopback, so this fetcher allows `http:` for
 * loopback hosts and nothing else; every other URI goes to aws-jwt-verify's fetcher.
 *
 * Every request carries a User-Agent. fhirgate's own JWKS (`/auth/jwks.json`) is served through
 * the API stage, behind AWS WAF, whose Core rule set blocks requests without one
 * (`NoUserAgent_HEADER`); Node's https client sends none by default, so without this header every
 * exchanged token would fail verification (401) once WAF is on.
 *
 * An emulator allowance: only the local wiring (local/stack, test support) passes it to
 * `createTokenVerifier`; the Lambda entries never do, so a deployed function fetches HTTPS only.
 */
import { FetchError, NonRetryableFetchError } from 'aws-jwt-verify/error';
import { Fetcher, SimpleFetcher } from 'aws-jwt-verify/https';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** What fhirgate's fetches say they are (WAF's NoUserAgent_HEADER blocks requests without one). */
export const JWKS_USER_AGENT = 'fhirgate-jwks-fetcher/1';

/** A JWKS is a few KB; anything far larger is not one. */
const MAX_JWKS_BYTES = 256 * 1024;

/** True when the URI is plain HTTP to this machine. */
export function isLoopbackHttp(uri: string): boolean {
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  } catch {
    return false;
  }
}

/** aws-jwt-verify's HTTPS-only fetcher, with fhirgate's User-Agent: what the Lambdas use. */
export class JwksFetcher implements Fetcher {
  private readonly https = new SimpleFetcher();

  async fetch(uri: string, requestOptions?: Record<string, unknown>, data?: ArrayBuffer): Promise<ArrayBuffer> {
    const headers = { 'user-agent': JWKS_USER_AGENT, ...(requestOptions?.headers as Record<string, string> | undefined) };
    return this.https.fetch(uri, { ...requestOptions, headers }, data);
  }
}

/** The HTTPS fetcher, plus loopback HTTP with the same time limit: the emulator allowance. */
export class LoopbackAwareFetcher implements Fetcher {
  private readonly https = new JwksFetcher();

  constructor(private readonly timeoutMs = 3000) {}

  async fetch(uri: string, requestOptions?: Record<string, unknown>, data?: ArrayBuffer): Promise<ArrayBuffer> {
    if (!uri.startsWith('http:')) return this.https.fetch(uri, requestOptions, data);
    if (!isLoopbackHttp(uri)) throw new NonRetryableFetchError(uri, 'plain HTTP is only allowed to loopback hosts');
    let response: Response;
    try {
      response = await fetch(uri, { signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error', headers: { 'user-agent': JWKS_USER_AGENT } });
    } catch (err) {
      throw new FetchError(uri, err instanceof Error ? err.message : String(err));
    }
    if (response.status !== 200) throw new NonRetryableFetchError(uri, `status code ${response.status}`);
    const body = await response.arrayBuffer();
    if (body.byteLength > MAX_JWKS_BYTES) throw new NonRetryableFetchError(uri, 'JWKS too large');
    return body;
  }
}
