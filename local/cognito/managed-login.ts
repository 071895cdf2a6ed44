/**
 * Cognito managed login for the local stack, which cognito-local lacks (it has no
 * `/oauth2/authorize`): the authorization code grant of a confidential app client, shaped like
 * Cognito's endpoints so fhirgate's sign-in broker (functions/token-exchange/sign-in-broker.ts)
 * runs unchanged against it.
 *
 * - `GET /oauth2/authorize?response_type=code&client_id&redirect_uri&state&scope` checks the
 *   client (code flow allowed, redirect_uri one of its CallbackURLs) and shows a sign-in form;
 * - `POST /login` signs in against cognito-local (InitiateAuth USER_PASSWORD_AUTH, so wrong
 *   passwords, disabled and unknown users fail there, as in Cognito) and redirects to the
 *   callback with a one-time code (Cognito's codes live 5 minutes);
 * - `authorization_code` at `/oauth2/token` (the token endpoint calls `redeem`) gives back the
 *   tokens cognito-local issued, to the client that asked, with the same redirect_uri.
 * https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html
 */
import { randomBytes } from 'node:crypto';
import { CognitoIdentityProviderClient, CreateUserPoolClientCommand, InitiateAuthCommand, UpdateUserPoolClientCommand } from '@aws-sdk/client-cognito-identity-provider';
import type { AppClientRecord, ClientDirectory } from './client-directory';
import { OAuthError } from './oauth-error';

export const AUTHORIZE_PATH = '/oauth2/authorize';
export const LOGIN_PATH = '/login';
/** Cognito's authorization codes are valid for five minutes. */
const CODE_SECONDS = 300;

export interface ManagedLoginReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface ManagedLogin {
  /** `GET /oauth2/authorize` and `POST /login`. */
  page(method: string, path: string, query: URLSearchParams, form: URLSearchParams | undefined): Promise<ManagedLoginReply>;
  /** The token response for `grant_type=authorization_code`, for an already authenticated client. */
  redeem(client: AppClientRecord, form: URLSearchParams): Record<string, unknown>;
}

interface PendingCode {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly tokens: { access_token: string; id_token: string; refresh_token?: string; expires_in: number };
  readonly exp: number;
}

/** The managed login pages and code store over one cognito-local pool. */
export function createManagedLogin(options: { sdk: CognitoIdentityProviderClient; clients: ClientDirectory; now?: () => number }): ManagedLogin {
  const codes = new Map<string, PendingCode>();
  const now = () => (options.now ?? Date.now)() / 1000;

  /** The client and redirect_uri of an authorize request, or the error page Cognito would show. */
  async function checkedClient(clientId: string | null, redirectUri: string | null): Promise<AppClientRecord | string> {
    const client = clientId ? await options.clients.find(clientId) : undefined;
    if (!client || !client.allowedOAuthFlows.includes('code')) return 'unauthorized_client';
    if (!redirectUri || !(client.callbackUrls ?? []).includes(redirectUri)) return 'redirect_mismatch';
    return client;
  }

  return {
    async page(method, path, query, form) {
      if (path === AUTHORIZE_PATH && method === 'GET') {
        const client = await checkedClient(query.get('client_id'), query.get('redirect_uri'));
        if (typeof client === 'string') return html(400, errorBody(client));
        if (query.get('response_type') !== 'code') return html(400, errorBody('unsupported_response_type'));
        return html(200, loginForm(query.get('client_id')!, query.get('redirect_uri')!, query.get('state') ?? '', undefined));
      }
      if (path === LOGIN_PATH && method === 'POST' && form) {
        const clientId = form.get('client_id');
        const redirectUri = form.get('redirect_uri');
        const state = form.get('state') ?? '';
        const client = await checkedClient(clientId, redirectUri);
        if (typeof client === 'string') return html(400, errorBody(client));
        let result;
        try {
          const out = await options.sdk.send(
            new InitiateAuthCommand({ ClientId: client.clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: form.get('username') ?? '', PASSWORD: form.get('password') ?? '' } }),
          );
          result = out.AuthenticationResult;
        } catch {
          result = undefined;
        }
        if (!result?.AccessToken || !result.IdToken) return html(401, loginForm(client.clientId, redirectUri!, state, 'Incorrect username or password.'));
        const code = randomBytes(24).toString('base64url');
        codes.set(code, {
          clientId: client.clientId,
          redirectUri: redirectUri!,
          tokens: { access_token: result.AccessToken, id_token: result.IdToken, ...(result.RefreshToken ? { refresh_token: result.RefreshToken } : {}), expires_in: result.ExpiresIn ?? 3600 },
          exp: now() + CODE_SECONDS,
        });
        const target = new URL(redirectUri!);
        target.searchParams.set('code', code);
        if (state !== '') target.searchParams.set('state', state);
        return { status: 302, headers: { location: target.toString(), 'cache-control': 'no-store' }, body: '' };
      }
      return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' };
    },

    redeem(client, form) {
      if (!client.allowedOAuthFlows.includes('code')) throw new OAuthError('unauthorized_client', 'the client is not allowed the authorization code grant');
      const code = form.get('code') ?? '';
      const pending = codes.get(code);
      codes.delete(code); // one use, whatever happens next
      if (!pending || pending.exp <= now() || pending.clientId !== client.clientId || pending.redirectUri !== form.get('redirect_uri')) {
        throw new OAuthError('invalid_grant', 'invalid authorization code');
      }
      return { ...pending.tokens, token_type: 'Bearer' };
    },
  };
}

/**
 * No script, no framing. No `form-action`: the sign-in's answer redirects to the callback, which
 * redirects on to the app, and CSP form-action would apply to every hop of that chain.
 */
function html(status: number, body: string): ManagedLoginReply {
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'" },
    body: `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head><body style="font-family: system-ui, sans-serif; max-width: 24rem; margin: 2rem auto">\n${body}\n</body></html>\n`,
  };
}

function loginForm(clientId: string, redirectUri: string, state: string, error: string | undefined): string {
  return `<h1>Sign in</h1>
<p>fhirgate local stack (cognito-local)</p>
${error ? `<p id="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="${LOGIN_PATH}">
<input type="hidden" name="client_id" value="${esc(clientId)}">
<input type="hidden" name="redirect_uri" value="${esc(redirectUri)}">
<input type="hidden" name="state" value="${esc(state)}">
<label>Username <input name="username" autocomplete="username" required></label><br>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label><br>
<button type="submit">Sign in</button>
</form>`;
}

function errorBody(code: string): string {
  return `<h1>Sign-in error</h1><p id="error" data-error="${esc(code)}">${esc(code)}</p>`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The name of fhirgate's sign-in broker app client. */
export const BROKER_CLIENT_NAME = 'fhirgate-broker';

/**
 * Create the broker app client the way the CDK stack does on a real pool: confidential (a
 * secret), the authorization code flow only, `openid` scope. Its callback URL (fhirgate's
 * `/auth/callback`) is set with `setBrokerCallback` once the gateway's address is known.
 */
export async function createBrokerClient(sdk: CognitoIdentityProviderClient, userPoolId: string): Promise<{ clientId: string; clientSecret: string }> {
  const out = await sdk.send(
    new CreateUserPoolClientCommand({
      UserPoolId: userPoolId,
      ClientName: BROKER_CLIENT_NAME,
      GenerateSecret: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: ['openid'],
      // USER_PASSWORD_AUTH only because the local login page signs in through the API; in AWS, managed login.
      ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      CallbackURLs: [],
      AccessTokenValidity: 5,
      IdTokenValidity: 5,
      TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes' },
      PreventUserExistenceErrors: 'ENABLED',
    }),
  );
  const clientId = out.UserPoolClient?.ClientId;
  const clientSecret = out.UserPoolClient?.ClientSecret;
  if (!clientId || !clientSecret) throw new Error('cognito-local created no broker client');
  return { clientId, clientSecret };
}

/** Register fhirgate's callback URL as the broker's only one. */
export async function setBrokerCallback(sdk: CognitoIdentityProviderClient, userPoolId: string, clientId: string, callbackUrl: string): Promise<void> {
  await sdk.send(new UpdateUserPoolClientCommand({ UserPoolId: userPoolId, ClientId: clientId, CallbackURLs: [callbackUrl] }));
}
