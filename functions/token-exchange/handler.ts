/**
 * The token service, as functions of their dependencies:
 * - `POST /auth/token`: RFC 8693 token exchange. form → parse → target → verify actor → verify
 *   subject → link → decide (core) → sign → JSON. Refusals are RFC 6749 §5.2 bodies; a failed
 *   dependency (DynamoDB, KMS) is 503, a bug 500; neither ever yields a token.
 *   With `clientCredentials` deps, the same endpoint also takes `grant_type=client_credentials`
 *   with a private_key_jwt assertion (SMART Backend Services, `client-credentials.ts`) and issues
 *   `system/` tokens with the same signer; without them that grant is `unsupported_grant_type`.
 * - `GET /auth/jwks.json`: the public keys that verify issued tokens (the authorizer fetches it).
 *
 * Tests and the local stack build these with a local signer; `index.ts` builds them from the
 * Lambda environment with a KMS signer.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { AccessDeniedError, DependencyError, TokenError } from '../core/errors';
import { OAuthError, OAuthErrorCode } from '../core/oauth-error';
import type { ClientAllowList } from '../core/principal';
import type { AuthzSettings } from '../core/settings';
import { GRANT_TYPE_CLIENT_CREDENTIALS } from '../core/client-assertion';
import {
  actorOf,
  checkExchangePolicy,
  checkTarget,
  decideExchange,
  ExchangePolicy,
  FormParams,
  GRANT_TYPE_TOKEN_EXCHANGE,
  parseExchangeRequest,
  subjectOf,
  TOKEN_TYPE_ACCESS_TOKEN,
} from '../core/token-exchange';
import type { LinkStore } from '../adapters/link-store';
import type { TokenVerifier } from '../adapters/verifier';
import type { Logger } from '../common/log';
import { presentedClient, PresentedClient } from '../core/client-auth';
import { authorizationServerMetadata, ServedOAuth } from '../core/oauth-metadata';
import { CLIENT_CHALLENGE } from '../common/www-authenticate';
import { CorsConfig, corsHeaders, preflight } from '../common/cors';
import { APP_GRANT_TYPES, createAppGrants, wantsAppGrant } from './app-grants';
import { AppLaunchDeps, createAuthorizeHandlers } from './authorize';
import { ClientCredentialsDeps, createClientCredentialsGrant, wantsClientCredentials } from './client-credentials';
import type { CognitoTokenEndpoint } from './cognito-token-endpoint';
import { formParams, headerValues, jsonResponse, oauthErrorResponse } from './http';
import { signAccessToken } from './jwt';
import type { JwtSigner, PublicSigningJwk } from './signer';

export type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

export interface TokenExchangeDeps {
  /** Built from the authorizer's configuration, Cognito issuers only (an exchanged token is never exchanged again). */
  readonly verifier: TokenVerifier;
  /** The same links table (and cache TTL) the authorizer reads. */
  readonly links: LinkStore;
  readonly clients: ClientAllowList;
  readonly settings: AuthzSettings;
  readonly policy: ExchangePolicy;
  readonly signer: JwtSigner;
  readonly log: Logger;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** `jti` of issued tokens. @default crypto.randomUUID */
  readonly newJti?: () => string;
  /** SMART Backend Services (private_key_jwt `client_credentials`). @default undefined: grant not offered */
  readonly clientCredentials?: ClientCredentialsDeps;
  /**
   * Cognito's token endpoint: secret-based `client_credentials` is forwarded there, and a client
   * secret presented on an exchange is verified there. @default undefined: client secrets are refused
   */
  readonly cognito?: CognitoTokenEndpoint;
  /** SMART App Launch (authorize, callback, picker; authorization_code and refresh_token grants). @default undefined: not offered */
  readonly appLaunch?: AppLaunchServiceDeps;
}

/** What App Launch needs beyond the token service's own links, settings, signer and log. */
export type AppLaunchServiceDeps = Pick<AppLaunchDeps, 'apps' | 'store' | 'broker' | 'policy'>;

export interface JwksDeps {
  /** Published keys: the active signer first, then keys being retired (still verifying recent tokens). */
  readonly keys: readonly JwtSigner[];
  /** `Cache-Control: max-age` of the JWKS. @default 300 */
  readonly maxAgeSeconds?: number;
}

export interface TokenServiceDeps extends TokenExchangeDeps {
  /** Keys no longer signing but still published until the last token they signed has expired. @default [] */
  readonly retiringKeys?: readonly JwtSigner[];
  /**
   * Browser origins that may call the token endpoint, the JWKS and the metadata with `fetch` (a
   * SMART app redeems its code and refreshes from the page). The sign-in routes are navigations
   * and get none. @default none: no CORS headers
   */
  readonly cors?: CorsConfig;
}

/**
 * The routes (API Gateway REST `resource` values) the token service answers. The metadata is at
 * the RFC 8414 §3.1 location for the issuer `…/auth` (`/.well-known/oauth-authorization-server`
 * inserted before the issuer's path) and under the issuer itself, which is the one a stage-prefixed
 * API Gateway URL can route (clients pass that URL explicitly).
 */
export const TOKEN_SERVICE_ROUTES = {
  token: '/auth/token',
  jwks: '/auth/jwks.json',
  metadata: '/.well-known/oauth-authorization-server/auth',
  issuerMetadata: '/auth/.well-known/oauth-authorization-server',
  /** OpenID Connect Discovery §4 (issuer + `/.well-known/openid-configuration`): served with App Launch, which issues id_tokens. */
  openidConfiguration: '/auth/.well-known/openid-configuration',
  authorize: '/auth/authorize',
  callback: '/auth/callback',
  picker: '/auth/picker',
} as const;

/** Create the token endpoint: RFC 8693 exchange, plus private_key_jwt client_credentials when `clientCredentials` is given. */
export function createTokenExchangeHandler(deps: TokenExchangeDeps): ProxyHandler {
  checkExchangePolicy(deps.policy);
  const clock = deps.now ?? Date.now;
  const newJti = deps.newJti ?? randomUUID;
  const { clients, settings, policy, signer, log } = deps;
  const backend = deps.clientCredentials && createClientCredentialsGrant({ ...deps.clientCredentials, clients, settings, policy, signer, log, now: clock, newJti });
  const apps = deps.appLaunch && createAppGrants({ ...deps.appLaunch, links: deps.links, settings, signer, log, now: clock, newJti });
  return async (event) => {
    // What the refusal log line says about the request (never a token).
    const audit: Record<string, unknown> = { grant_type: GRANT_TYPE_TOKEN_EXCHANGE };
    try {
      // RFC 6749 §3.2: the token endpoint takes POST only.
      if (event.httpMethod !== 'POST') return jsonResponse(405, new OAuthError('invalid_request', 'use POST').toJSON(), { Allow: 'POST' });
      const params = formParams(event);
      // RFC 6749 §2.3: whatever client authentication is presented is verified, on every grant.
      const client = presentedClient(params, headerValues(event, 'authorization'));
      if (client.kind !== 'none') audit.client = client.kind === 'assertion' ? 'client_assertion' : client.clientId;
      if (wantsClientCredentials(params) && (backend || deps.cognito)) {
        audit.grant_type = GRANT_TYPE_CLIENT_CREDENTIALS;
        if (client.kind === 'secret') return await forwardToCognito(deps.cognito, params, event);
        if (client.kind !== 'assertion' || !backend) throw noClientAuthentication(deps);
        return await backend(params, event, audit);
      }
      if (apps && wantsAppGrant(params)) {
        // SMART apps are public clients (client-public): a secret or an assertion proves nothing fhirgate registered.
        if (client.kind === 'secret' || client.kind === 'assertion') throw new OAuthError('invalid_client', 'SMART apps are public clients: send client_id alone, no client authentication');
        return await apps(params, audit);
      }
      const request = parseExchange(params, [...(backend || deps.cognito ? [GRANT_TYPE_CLIENT_CREDENTIALS] : []), ...(apps ? APP_GRANT_TYPES : [])]);
      checkTarget(request, deps.policy);
      await authenticateExchangeClient(deps.cognito, client, event);
      // The actor first: without a delegating client, nothing is said about the user's token.
      const actor = actorOf(await verified(deps.verifier, request.actorToken, 'actor_token', 'invalid_request'), deps.clients, deps.policy);
      // RFC 6749 §5.2 invalid_grant: the actor token "was issued to another client".
      if (client.kind !== 'none' && client.kind !== 'assertion' && client.clientId !== actor.clientId) {
        throw new OAuthError('invalid_grant', 'actor_token was issued to another client than the one presented');
      }
      const subject = subjectOf(await verified(deps.verifier, request.subjectToken, 'subject_token', 'invalid_grant'), deps.clients, deps.policy);
      const link = await linkOf(deps.links, subject.sub);
      const now = Math.floor(clock() / 1000);
      const grant = decideExchange({ request, subject, actor, link, settings: deps.settings, policy: deps.policy, now, jti: newJti() });
      const accessToken = await signAccessToken(deps.signer, { ...grant.claims });
      const { sub, patient, scope, jti, exp } = grant.claims;
      deps.log({ level: 'info', event: 'token-exchange.issued', sub, actor: actor.clientId, patient, scope, jti, exp, kid: deps.signer.kid });
      // RFC 8693 §2.2.1; `patient` as in a SMART token response, so the caller knows which one it got.
      return jsonResponse(200, {
        access_token: accessToken,
        issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
        token_type: 'Bearer',
        expires_in: grant.expiresIn,
        scope,
        patient,
      });
    } catch (err) {
      return refuse(err, deps.log, audit);
    }
  };
}

/** Create the JWKS endpoint. */
export function createJwksHandler(deps: JwksDeps): ProxyHandler {
  if (deps.keys.length === 0) throw new TypeError('the JWKS needs at least one key');
  const maxAge = deps.maxAgeSeconds ?? 300;
  return async (event) => {
    if (event.httpMethod !== 'GET' && event.httpMethod !== 'HEAD') {
      return jsonResponse(405, { error: 'invalid_request', error_description: 'use GET' }, { Allow: 'GET, HEAD' });
    }
    try {
      const keys = new Map<string, PublicSigningJwk>();
      for (const jwk of await Promise.all(deps.keys.map((k) => k.publicJwk()))) keys.set(jwk.kid, jwk);
      // Cacheable: a verifier that meets an unknown kid fetches again (aws-jwt-verify does).
      return {
        statusCode: 200,
        headers: { 'Content-Type': 'application/json', 'Cache-Control': `public, max-age=${maxAge}` },
        body: event.httpMethod === 'HEAD' ? '' : JSON.stringify({ keys: [...keys.values()] }),
      };
    } catch {
      return jsonResponse(503, { error: 'temporarily_unavailable', error_description: 'signing keys are unavailable' });
    }
  };
}

/** Create the RFC 8414 metadata endpoint: what `served` says, for clients and resource servers. */
export function createMetadataHandler(served: ServedOAuth): ProxyHandler {
  const body = JSON.stringify(authorizationServerMetadata(served));
  return async (event) => {
    if (event.httpMethod !== 'GET' && event.httpMethod !== 'HEAD') {
      return jsonResponse(405, { error: 'invalid_request', error_description: 'use GET' }, { Allow: 'GET, HEAD' });
    }
    return { statusCode: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=300' }, body: event.httpMethod === 'HEAD' ? '' : body };
  };
}

/** What this token service serves, as RFC 8414 metadata and the SMART configuration describe it. */
export function servedBy(deps: TokenServiceDeps, urls: { tokenEndpoint: string; jwksUri: string }): ServedOAuth {
  return {
    issuer: deps.policy.issuer,
    ...urls,
    backendServices: deps.clientCredentials !== undefined,
    clientSecrets: deps.cognito !== undefined,
    // The authorization endpoint sits beside the token endpoint (`…/auth/authorize`).
    ...(deps.appLaunch ? { appLaunch: { authorizationEndpoint: urls.tokenEndpoint.replace(/\/token$/, '/authorize') } } : {}),
  };
}

/** Every route behind one function: what `index.ts` exports and the local stack mounts. */
export function createTokenServiceHandler(deps: TokenServiceDeps): ProxyHandler {
  const exchange = createTokenExchangeHandler(deps);
  const jwks = createJwksHandler({ keys: [deps.signer, ...(deps.retiringKeys ?? [])] });
  // The public URLs sit beside the issuer (`…/auth/token`, `…/auth/jwks.json`), as the CDK API and the local gateway route them.
  const base = deps.policy.issuer.replace(/\/+$/, '');
  const metadata = createMetadataHandler(servedBy(deps, { tokenEndpoint: `${base}/token`, jwksUri: `${base}/jwks.json` }));
  const launch = deps.appLaunch && createAuthorizeHandlers({ ...deps.appLaunch, links: deps.links, settings: deps.settings, log: deps.log, ...(deps.now ? { now: deps.now } : {}) });
  /** The routes a page calls with `fetch`: CORS headers for an allowed origin, preflights answered. */
  const fetched = (handler: ProxyHandler): ProxyHandler => async (event) => {
    const origin = headerValues(event, 'origin')[0];
    if (event.httpMethod === 'OPTIONS') {
      const answer = preflight(origin, deps.cors);
      return { statusCode: answer.status, headers: answer.headers, body: '' };
    }
    const result = await handler(event);
    return { ...result, headers: { ...result.headers, ...corsHeaders(origin, deps.cors) } };
  };
  const token = fetched(exchange);
  const keys = fetched(jwks);
  const discovery = fetched(metadata);
  return async (event) => {
    const route = event.resource || event.path;
    if (route === TOKEN_SERVICE_ROUTES.token) return token(event);
    if (route === TOKEN_SERVICE_ROUTES.jwks) return keys(event);
    if (route === TOKEN_SERVICE_ROUTES.metadata || route === TOKEN_SERVICE_ROUTES.issuerMetadata) return discovery(event);
    if (launch && route === TOKEN_SERVICE_ROUTES.openidConfiguration) return discovery(event);
    if (launch && route === TOKEN_SERVICE_ROUTES.authorize) return launch.authorize(event);
    if (launch && route === TOKEN_SERVICE_ROUTES.callback) return launch.callback(event);
    if (launch && route === TOKEN_SERVICE_ROUTES.picker) return launch.picker(event);
    return jsonResponse(404, { error: 'not_found', error_description: 'no such route' });
  };
}

/** Verify with the Cognito verifier; a token it refuses, or one of fhirgate's own, becomes `code`. */
async function verified(verifier: TokenVerifier, token: string, param: string, code: OAuthErrorCode): Promise<Readonly<Record<string, unknown>>> {
  let result;
  try {
    result = await verifier.verifyToken(token);
  } catch (err) {
    if (err instanceof TokenError) throw new OAuthError(code, `${param} is not valid: ${err.message}`, err.code);
    throw err;
  }
  // Belt and braces: the exchange's verifier should not trust this issuer at all.
  if (result.issuer.kind === 'fhirgate-exchange') throw new OAuthError(code, `${param} is a delegated token; exchanged tokens cannot be exchanged again`);
  return result.claims;
}

/** The user's link record; a malformed one refuses the grant (as the authorizer denies), an outage propagates (503). */
async function linkOf(links: LinkStore, sub: string) {
  try {
    return await links.get(sub);
  } catch (err) {
    if (err instanceof AccessDeniedError) throw new OAuthError('invalid_grant', `the user may not use the FHIR API: ${err.message}`, err.code);
    throw err;
  }
}

/** The exchange request; with other grants offered, an unknown grant_type names them all. */
function parseExchange(params: FormParams, otherGrants: readonly string[]) {
  try {
    return parseExchangeRequest(params);
  } catch (err) {
    if (otherGrants.length > 0 && err instanceof OAuthError && err.code === 'unsupported_grant_type') {
      throw new OAuthError('unsupported_grant_type', `supported grant types: ${[GRANT_TYPE_TOKEN_EXCHANGE, ...otherGrants].join(', ')}`);
    }
    throw err;
  }
}

/**
 * Secret-based client_credentials: Cognito holds the secrets and issues the token, so the form and
 * the Basic header go there unchanged and its answer comes back (RFC 6749 §5.1/§5.2 shapes both).
 */
async function forwardToCognito(cognito: CognitoTokenEndpoint | undefined, params: FormParams, event: Parameters<ProxyHandler>[0]): Promise<APIGatewayProxyResult> {
  if (!cognito) throw new OAuthError('invalid_client', 'client secrets are not accepted here: authenticate with a client_assertion (private_key_jwt)');
  const answer = await cognito.post(new URLSearchParams(params as [string, string][]), headerValues(event, 'authorization')[0]);
  return jsonResponse(answer.status, answer.body, answer.status === 401 ? { 'WWW-Authenticate': CLIENT_CHALLENGE } : {});
}

/** client_credentials with no client authentication at all: RFC 6749 §4.4.2 requires it (§5.2 invalid_client). */
function noClientAuthentication(deps: TokenExchangeDeps): OAuthError {
  const methods = [...(deps.clientCredentials ? ['a client_assertion (private_key_jwt)'] : []), ...(deps.cognito ? ['client_secret_basic', 'client_secret_post'] : [])];
  return new OAuthError('invalid_client', `client_credentials needs client authentication: ${methods.join(', ')}`);
}

/**
 * The client authentication presented on an exchange (RFC 8693 §2.1: "client authentication …
 * as described in RFC 6749 §2.3"). A client secret is checked with Cognito, which holds it: a
 * client_credentials request with those credentials must succeed (the token is discarded). A
 * client_assertion authenticates SMART Backend Services clients, which are never actors (actors
 * hold Cognito machine tokens), so on an exchange it is refused rather than half-checked.
 */
async function authenticateExchangeClient(cognito: CognitoTokenEndpoint | undefined, client: PresentedClient, event: Parameters<ProxyHandler>[0]): Promise<void> {
  if (client.kind === 'assertion') throw new OAuthError('invalid_client', 'client_assertion is accepted on client_credentials only; on an exchange the actor_token names the client');
  if (client.kind !== 'secret') return;
  if (!cognito) throw new OAuthError('invalid_client', 'client secrets cannot be verified by this token service');
  const form = new URLSearchParams({ grant_type: GRANT_TYPE_CLIENT_CREDENTIALS, ...(client.method === 'client_secret_post' ? { client_id: client.clientId, client_secret: client.secret } : {}) });
  const answer = await cognito.post(form, client.method === 'client_secret_basic' ? headerValues(event, 'authorization')[0] : undefined);
  if (answer.status !== 200) throw new OAuthError('invalid_client', 'client authentication failed');
}

/** Log why (never a token), answer per RFC 6749 §5.2, or 503/500 when it was not the caller's fault. */
function refuse(err: unknown, log: Logger, audit: Readonly<Record<string, unknown>>): APIGatewayProxyResult {
  if (err instanceof OAuthError) {
    log({ level: 'warn', event: 'token-exchange.refused', ...audit, error: err.code, reason: err.message, ...(err.rule ? { code: err.rule } : {}) });
    return oauthErrorResponse(err);
  }
  const reason = err instanceof Error ? err.message : String(err);
  if (err instanceof DependencyError) {
    log({ level: 'error', event: 'token-exchange.unavailable', code: err.code, reason });
    // Not an RFC 6749 §5.2 token endpoint code, but the one OAuth uses for "try again later" (§4.1.2.1).
    return jsonResponse(503, { error: 'temporarily_unavailable', error_description: 'a dependency failed; no token was issued' });
  }
  log({ level: 'error', event: 'token-exchange.error', code: 'ERR_INTERNAL', reason });
  return jsonResponse(500, { error: 'server_error', error_description: 'no token was issued' });
}
