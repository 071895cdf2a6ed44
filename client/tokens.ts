/**
 * Token helpers for an API server in front of fhirgate, over plain `fetch`, both cached with
 * TokenCache:
 *
 * - `clientCredentialsTokens`: the API server's own Cognito `client_credentials` token
 *   (RFC 6749 §4.4, client_secret_basic), one per scope set.
 * - `onBehalfOfTokens`: RFC 8693 exchanged tokens at fhirgate's `/auth/token`, one per (user
 *   token, patient). The key is a SHA-256 of the user's token itself, never a claim read from it:
 *   the API server has not verified that token, and keying on its `sub` would let a forged token
 *   naming another user pick up that user's cached token. A refreshed user token is a new key
 *   (one more exchange), and an exchanged token never outlives the user's token anyway
 *   (fhirgate caps it there).
 *
 * Refusals are thrown as TokenRequestError with the RFC 6749 §5.2 `error` code; nothing failed
 * is cached.
 */
import { createHash } from 'node:crypto';
import { TokenCache, TokenCacheOptions, TokenResponse } from './token-cache';

export class TokenRequestError extends Error {
  constructor(
    /** RFC 6749 §5.2 `error` (`invalid_grant`, …), or `http_<status>` when the body had none. */
    readonly error: string,
    readonly status: number,
    description?: string,
  ) {
    super(`token request refused: ${error}${description ? `: ${description}` : ''}`);
    this.name = 'TokenRequestError';
  }
}

export interface TokenClientOptions extends TokenCacheOptions {
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

export interface ClientCredentialsOptions extends TokenClientOptions {
  /** Cognito's `https://<domain>/oauth2/token`. */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface OnBehalfOfOptions extends TokenClientOptions {
  /** fhirgate's `/auth/token` (stack output TokenExchangeUrl). */
  readonly tokenUrl: string;
  /** The API server's own token (must carry `fhirgate/delegate`), e.g. from clientCredentialsTokens. */
  readonly actorToken: () => Promise<string>;
}

/** The API server's own client_credentials tokens, cached per scope set. */
export function clientCredentialsTokens(options: ClientCredentialsOptions): { token(scope: string): Promise<string> } {
  const cache = new TokenCache(options);
  const basic = Buffer.from(`${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`).toString('base64'); // RFC 6749 §2.3.1
  return {
    token: (scope) =>
      cache.get(scope.split(/\s+/).filter(Boolean).sort().join(' '), () =>
        post(options, options.tokenUrl, { grant_type: 'client_credentials', scope }, { authorization: `Basic ${basic}` }),
      ),
  };
}

/** Exchanged tokens for one user (their access token) and, for guardians and practitioners, one patient. */
export function onBehalfOfTokens(options: OnBehalfOfOptions): { token(userAccessToken: string, patient?: string): Promise<string>; forget(userAccessToken: string, patient?: string): void } {
  const cache = new TokenCache(options);
  const key = (user: string, patient?: string) => `${createHash('sha256').update(user).digest('base64url')} ${patient ?? ''}`;
  return {
    async token(userAccessToken, patient) {
      return cache.get(key(userAccessToken, patient), async () =>
        post(options, options.tokenUrl, {
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: userAccessToken,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          actor_token: await options.actorToken(),
          actor_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          ...(patient ? { patient } : {}),
        }),
      );
    },
    forget: (userAccessToken, patient) => cache.delete(key(userAccessToken, patient)),
  };
}

async function post(options: TokenClientOptions, url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<TokenResponse> {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const res = await fetchImpl(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(form),
  });
  const body = (await res.json().catch(() => ({}))) as Partial<TokenResponse> & { error?: string; error_description?: string };
  if (!res.ok || typeof body.access_token !== 'string') {
    throw new TokenRequestError(typeof body.error === 'string' ? body.error : `http_${res.status}`, res.status, body.error_description);
  }
  return { access_token: body.access_token, expires_in: body.expires_in };
}
