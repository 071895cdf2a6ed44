/**
 * Who the user is, from Cognito: fhirgate's authorize endpoint sends the browser to Cognito
 * managed login through ONE confidential app client (the broker), and on `/auth/callback`
 * redeems Cognito's code with the broker's secret and verifies the Cognito access token it gets.
 * Cognito never learns about SMART apps, patients or scopes; fhirgate never sees a password.
 *
 * The same code runs in AWS (managed login on the user pool domain) and in the local stack (the
 * local Cognito's login page, which signs in against cognito-local and mimics these endpoints).
 * Endpoints: https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html
 * and https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html
 * (authorization_code with `Authorization: Basic` client credentials).
 *
 * The broker's client secret is a value (local stack) or a `SecretSource` read when it is needed
 * (AWS: Secrets Manager through the Parameters and Secrets extension). `ready()` reads it before
 * a sign-in starts, so a user is never sent to sign in when the callback could not redeem the code.
 */
import type { SignedInUser } from '../core/app-launch';
import { TokenError } from '../core/errors';
import type { TokenVerifier } from '../adapters/verifier';
import { dependencyError } from '../adapters/dynamo-item';
import type { SecretSource } from '../adapters/secrets-extension';

export interface SignInBroker {
  /** Resolves when a sign-in could complete (the client secret is readable); throws DependencyError when not. */
  ready(): Promise<void>;
  /** Where to send the browser to sign in; Cognito comes back to the callback with `code` and this `state`. */
  loginUrl(state: string): string;
  /** The verified user behind a code Cognito sent to the callback. Throws TokenError when the code or token is refused. */
  signedInUser(code: string): Promise<SignedInUser>;
}

export interface CognitoBrokerOptions {
  /** The user pool domain, e.g. `https://auth.example.com` (managed login). */
  readonly domain: string;
  readonly clientId: string;
  /** The broker's client secret, or where to read it at each use (a rotated secret is picked up). */
  readonly clientSecret: string | SecretSource;
  /** fhirgate's `/auth/callback`, registered as the broker client's only callback URL. */
  readonly callbackUrl: string;
  /** Verifies the user pool's access tokens; must accept the broker's client id. */
  readonly verifier: TokenVerifier;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default 3000 */
  readonly timeoutMs?: number;
}

/** The broker over Cognito managed login. */
export function createCognitoBroker(options: CognitoBrokerOptions): SignInBroker {
  const domain = options.domain.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const { clientSecret } = options;
  const secret: SecretSource = typeof clientSecret === 'string' ? async () => clientSecret : clientSecret;
  // RFC 6749 §2.3.1: client id and secret form-urlencoded, then Basic.
  const basic = (value: string) => `Basic ${Buffer.from(`${encodeURIComponent(options.clientId)}:${encodeURIComponent(value)}`).toString('base64')}`;
  return {
    async ready() {
      await secret();
    },
    loginUrl(state) {
      const query = new URLSearchParams({ response_type: 'code', client_id: options.clientId, redirect_uri: options.callbackUrl, state, scope: 'openid' });
      return `${domain}/oauth2/authorize?${query}`;
    },
    async signedInUser(code) {
      const authorization = basic(await secret());
      let response: Response;
      try {
        response = await doFetch(`${domain}/oauth2/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
          body: new URLSearchParams({ grant_type: 'authorization_code', client_id: options.clientId, code, redirect_uri: options.callbackUrl }).toString(),
          signal: AbortSignal.timeout(options.timeoutMs ?? 3000),
        });
      } catch (err) {
        throw dependencyError('Cognito token endpoint', err);
      }
      // 400 invalid_grant: a stale, reused or forged code. Anything else is Cognito failing.
      if (response.status === 400) throw new TokenError('ERR_TOKEN_INVALID', 'Cognito refused the sign-in code');
      if (!response.ok) throw dependencyError('Cognito token endpoint', new Error(`HTTP ${response.status}`));
      const body = (await response.json().catch(() => ({}))) as { access_token?: unknown };
      if (typeof body.access_token !== 'string') throw dependencyError('Cognito token endpoint', new Error('no access_token'));
      const { claims } = await options.verifier.verifyToken(body.access_token);
      // Only the broker's own sign-ins count: a token for another client proves nothing here.
      if (claims.client_id !== options.clientId || typeof claims.sub !== 'string' || claims.username === undefined) {
        throw new TokenError('ERR_TOKEN_CLAIM_INVALID', 'the sign-in token is not a user token of the broker client', { claim: 'client_id' });
      }
      const groups = claims['cognito:groups'];
      return { sub: claims.sub, ...(Array.isArray(groups) ? { groups: groups.filter((g): g is string => typeof g === 'string') } : {}) };
    },
  };
}
