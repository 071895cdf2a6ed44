/**
 * Cognito's part of token verification: the issuer and JWKS URL of a user pool, and the claim
 * rules of a Cognito access token. These are aws-jwt-verify's `CognitoJwtVerifier.parseUserPoolId`
 * and `validateCognitoJwtFields` (for `tokenUse: 'access'`), with the same pattern, assertions,
 * messages and error classes (test/adapters/cognito-claims.test.ts holds them to the originals).
 *
 * Why not import them: `aws-jwt-verify/cognito-verifier` assigns a static field of its verifier
 * class when it loads, so no bundler can drop the class tree behind it, and importing one function
 * from it weighed about 11 KB of each bundle that verifies tokens (lib/function-bundle.ts budgets;
 * `npm run bench` bundle sizes).
 */
import { assertStringArrayContainsString, assertStringEquals } from 'aws-jwt-verify/assert';
import { CognitoJwtInvalidClientIdError, CognitoJwtInvalidTokenUseError, ParameterValidationError } from 'aws-jwt-verify/error';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';

/** aws-jwt-verify's `CognitoJwtVerifier.USER_POOL_ID_REGEX`. */
const USER_POOL_ID = /^(?<region>(?:eusc-[a-z]{2}|[a-z]{2})-(gov-)?[a-z]+-\d)_[a-zA-Z0-9]+$/;

/** The issuer (`https://cognito-idp.<region>.amazonaws.com/<pool id>`) and JWKS URL of a user pool. */
export function cognitoIssuer(userPoolId: string): { readonly issuer: string; readonly jwksUri: string } {
  const region = USER_POOL_ID.exec(userPoolId)?.groups?.region;
  if (!region) throw new ParameterValidationError(`Invalid Cognito User Pool ID: ${userPoolId}`);
  const issuer = `https://cognito-idp.${region}.amazonaws.com/${userPoolId}`;
  return { issuer, jwksUri: `${issuer}/.well-known/jwks.json` };
}

/** A Cognito access token's own claims: `token_use` is `access`, `client_id` one of `clientIds`. */
export function assertCognitoAccessClaims(payload: JwtPayload, clientIds: readonly string[]): void {
  // The token that passes, decided without the assertion helpers (each builds a Set per call);
  // anything else goes through them for aws-jwt-verify's own error.
  const clientId = payload.client_id;
  if (payload.token_use === 'access' && typeof clientId === 'string' && clientId !== '' && clientIds.includes(clientId)) return;
  assertStringArrayContainsString('Token use', payload.token_use, ['id', 'access'], CognitoJwtInvalidTokenUseError);
  assertStringEquals('Token use', payload.token_use, 'access', CognitoJwtInvalidTokenUseError);
  assertStringArrayContainsString('Client ID', payload.client_id, clientIds as string[], CognitoJwtInvalidClientIdError);
}
