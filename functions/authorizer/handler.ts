/**
 * The TOKEN authorizer, as a function of its dependencies: event → verify → classify → link →
 * principal → policy. The issuer that verified the token picks the rules: Cognito tokens are user
 * or machine tokens; tokens from fhirgate's own issuer are delegated ones (with `act`), SMART App
 * Launch ones (a user's `patient` without `act`), or SMART Backend Services `system/` ones
 * (neither, private_key_jwt clients). Tests and the
 * local stack build it with real dependencies pointed at local servers; `index.ts` builds it from
 * the Lambda environment.
 *
 * Outcomes (what API Gateway does with them):
 * - `throw new Error('Unauthorized')` → 401: no token, or a token we cannot trust;
 * - a Deny policy → 403: a valid token whose holder may not use the FHIR API (no link, no scope);
 * - any other throw → 500: a dependency failed (DynamoDB). Never an Allow.
 */
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { AccessDeniedError, DependencyError, FhirgateError, TokenError } from '../core/errors';
import {
  ClientAllowList,
  classifyBackendClaims,
  classifyClaims,
  classifyDelegatedClaims,
  delegatedPrincipal,
  machinePrincipal,
  Principal,
  userPrincipal,
} from '../core/principal';
import { classifyLaunchClaims, launchPrincipal } from '../core/app-launch-grants';
import { principalToContext } from '../core/principal-context';
import { AuthzSettings } from '../core/settings';
import type { Logger } from '../common/log';
import type { LinkStore } from '../adapters/link-store';
import { fhirPolicy } from './policy';
import type { TokenVerifier, VerifiedToken } from '../adapters/verifier';

export interface AuthorizerDeps {
  readonly verifier: TokenVerifier;
  readonly links: LinkStore;
  readonly clients: ClientAllowList;
  readonly settings: AuthzSettings;
  readonly log: Logger;
}

export type AuthorizerHandler = (event: APIGatewayTokenAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

/** RFC 6750 §2.1: `Bearer` (the scheme is case-insensitive), one space, then the token. */
const SCHEME = 'bearer ';

/** Create the authorizer handler over its dependencies. */
export function createAuthorizerHandler(deps: AuthorizerDeps): AuthorizerHandler {
  return async (event) => {
    try {
      const token = bearerToken(event.authorizationToken);
      const principal = await principalOf(await deps.verifier.verifyToken(token), deps);
      return fhirPolicy('Allow', principal.sub, event.methodArn, principalToContext(principal));
    } catch (err) {
      return refuse(err, event, deps.log);
    }
  };
}

/** Whose rules apply depends on who issued the token: Cognito (user or machine) or fhirgate (delegated, or backend `system/`). */
async function principalOf({ claims, issuer }: VerifiedToken, deps: AuthorizerDeps): Promise<Principal> {
  if (issuer.kind === 'fhirgate-exchange') {
    // `act` picks the delegated shape; `patient` without `act` an App Launch token; neither a
    // backend one. Each shape refuses the others' claims and scopes (patient/ vs system/).
    if (!('act' in claims) && 'patient' in claims) {
      const app = classifyLaunchClaims(claims, deps.clients);
      return launchPrincipal(app, await deps.links.get(app.sub), deps.settings);
    }
    if (!('act' in claims)) return machinePrincipal(classifyBackendClaims(claims, deps.clients), deps.settings);
    const delegated = classifyDelegatedClaims(claims, deps.clients);
    return delegatedPrincipal(delegated, await deps.links.get(delegated.sub), deps.settings);
  }
  const classified = classifyClaims(claims, deps.clients);
  return classified.shape === 'machine'
    ? machinePrincipal(classified, deps.settings)
    : userPrincipal(classified, await deps.links.get(classified.sub), deps.settings);
}

function bearerToken(header: string | undefined): string {
  if (!header) throw new TokenError('ERR_TOKEN_MISSING', 'no Authorization header');
  if (header.startsWith('Bearer ') && header.length > SCHEME.length) return header.slice(SCHEME.length);
  if (header.length <= SCHEME.length || header.slice(0, SCHEME.length).toLowerCase() !== SCHEME) {
    throw new TokenError('ERR_TOKEN_MALFORMED', 'Authorization header is not "Bearer <token>"');
  }
  // The token's characters are checked once, by the verifier's compact-JWS rule (three base64url
  // parts): stricter than RFC 6750's token68, so a second scan here would refuse nothing more.
  return header.slice(SCHEME.length);
}

/** Log the refusal (code and reason, never the token), then answer the way API Gateway expects. */
function refuse(err: unknown, event: APIGatewayTokenAuthorizerEvent, log: Logger): APIGatewayAuthorizerResult {
  const known = err instanceof FhirgateError;
  log({
    level: err instanceof DependencyError || !known ? 'error' : 'warn',
    event: 'authorizer.deny',
    code: known ? err.code : 'ERR_INTERNAL',
    reason: err instanceof Error ? err.message : String(err),
    ...(known && err.evidence.claim ? { claim: err.evidence.claim } : {}),
    methodArn: event.methodArn,
  });
  if (err instanceof AccessDeniedError) {
    // Deny carries its reason so a gateway response template can put it in the 403 body.
    // API Gateway pastes the reason into a JSON gateway-response template unescaped: keep it JSON-safe.
    return fhirPolicy('Deny', 'denied', event.methodArn, { code: err.code, reason: err.message.replace(/["\\]/g, "'") });
  }
  if (err instanceof TokenError) throw new Error('Unauthorized'); // the exact message API Gateway maps to 401
  // Dependency failure or a bug: fail the request (500), never allow.
  throw err instanceof Error ? err : new Error(String(err));
}
