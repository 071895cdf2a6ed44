/**
 * `POST /auth/token` with `grant_type=client_credentials` and a private_key_jwt client assertion
 * (SMART Backend Services; RFC 6749 §4.4, RFC 7521/7523): a registered backend client proves
 * possession of its key and gets a short-lived `system/` token from the same issuer and key as
 * exchanged tokens. The rules are core/client-assertion.ts; this is the straight line through
 * them and the adapters (registry, signature, replay store, signer).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  BackendPolicy,
  checkAssertionClaims,
  checkClientAllowed,
  checkRegistration,
  decideBackendGrant,
  GRANT_TYPE_CLIENT_CREDENTIALS,
  parseClientCredentialsRequest,
  readAssertion,
} from '../core/client-assertion';
import { OAuthError } from '../core/oauth-error';
import type { ClientAllowList } from '../core/principal';
import type { AuthzSettings } from '../core/settings';
import type { FormParams } from '../core/token-exchange';
import type { Logger } from '../common/log';
import { AssertionVerifier, createAssertionVerifier } from './assertion-verifier';
import type { ClientRegistry } from './client-registry';
import { jsonResponse } from './http';
import { signAccessToken } from './jwt';
import type { ReplayStore } from './replay-store';
import type { JwtSigner } from './signer';

/** What the token service needs, beyond its own deps, to serve SMART Backend Services clients. */
export interface ClientCredentialsDeps {
  /** Client registry (client-tables.ts `CLIENTS_TABLE`). */
  readonly registry: ClientRegistry;
  /** `jti` replay store (client-tables.ts `REPLAY_TABLE`). */
  readonly replay: ReplayStore;
  /** The public URL of `POST /auth/token`: every assertion's `aud` is this or the issuer (`policy.issuer`). */
  readonly tokenUrl: string;
  /** Signature checks against the client's keys. @default createAssertionVerifier() */
  readonly assertions?: AssertionVerifier;
}

export interface ClientCredentialsGrantDeps extends ClientCredentialsDeps {
  readonly clients: ClientAllowList;
  readonly settings: AuthzSettings;
  readonly policy: BackendPolicy;
  readonly signer: JwtSigner;
  readonly log: Logger;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  readonly newJti: () => string;
}

/** `audit` collects what the handler's refusal log line may say: the claimed client id once it is read. */
export type ClientCredentialsGrant = (params: FormParams, event: APIGatewayProxyEvent, audit: Record<string, unknown>) => Promise<APIGatewayProxyResult>;

/** True when the form asks for the client_credentials grant (any `grant_type` value says so; repeats are refused later). */
export function wantsClientCredentials(params: FormParams): boolean {
  return params.some(([name, value]) => name === 'grant_type' && value === GRANT_TYPE_CLIENT_CREDENTIALS);
}

/** Create the client_credentials grant; throws OAuthError (the handler answers it), DependencyError (503). */
export function createClientCredentialsGrant(deps: ClientCredentialsGrantDeps): ClientCredentialsGrant {
  const assertions = deps.assertions ?? createAssertionVerifier();
  return async (params, event, audit) => {
    const request = parseClientCredentialsRequest(params);
    // RFC 6749 §2.3: one authentication method per request (the handler routes client secrets to Cognito).
    if (hasAuthorizationHeader(event)) throw new OAuthError('invalid_request', 'send no Authorization header: the client_assertion authenticates the client');
    const unverified = readAssertion(request);
    const clientId = unverified.clientId;
    audit.client = clientId; // claimed, not proven: bounded printable ASCII, so safe to log
    const now = Math.floor(deps.now() / 1000);
    const expected = { clientId, tokenUrl: deps.tokenUrl, issuer: deps.policy.issuer, now };
    // Cheap refusals first (expired, wrong aud, no jti): no registry read, no JWKS fetch for them.
    checkAssertionClaims(unverified.payload, expected);
    const client = await deps.registry.get(clientId);
    if (!client) throw new OAuthError('invalid_client', 'unknown client');
    checkRegistration(unverified, client);
    const verified = await assertions.verify(request.assertion, client);
    // From here on, only what the signature covers.
    const { jti: assertionJti, exp: assertionExp } = checkAssertionClaims(verified, expected);
    checkClientAllowed(clientId, deps.clients);
    if (!(await deps.replay.claim(clientId, assertionJti, assertionExp, now))) {
      throw new OAuthError('invalid_client', 'client_assertion "jti" was already used');
    }
    const grant = decideBackendGrant({ client, request, ceiling: deps.settings.systemCeilingScopes, policy: deps.policy, now, jti: deps.newJti() });
    const accessToken = await signAccessToken(deps.signer, { ...grant.claims });
    const { scope, jti, exp } = grant.claims;
    deps.log({ level: 'info', event: 'backend-token.issued', client: clientId, scope, jti, exp, assertionJti, kid: deps.signer.kid });
    // RFC 6749 §5.1 / SMART Backend Services: no refresh token; the client signs a new assertion instead.
    return jsonResponse(200, { access_token: accessToken, token_type: 'Bearer', expires_in: grant.expiresIn, scope });
  };
}

function hasAuthorizationHeader(event: APIGatewayProxyEvent): boolean {
  const names = [...Object.keys(event.headers ?? {}), ...Object.keys(event.multiValueHeaders ?? {})];
  return names.some((name) => name.toLowerCase() === 'authorization');
}
