/**
 * Token verification with aws-jwt-verify: signature (RS/ES/EdDSA allow-list, `alg: none` and HMAC
 * never accepted), `iss`, `exp`/`nbf`, `token_use`, `client_id`. The verifier for each trusted
 * issuer is chosen by the token's `iss` by exact string match before any key is fetched, so an
 * untrusted issuer never makes us fetch anything.
 */
import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import { validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier';
import { JwtExpiredError, JwtNotBeforeError, JwtBaseError, JwtInvalidIssuerError, FetchError, KidNotFoundInJwksError, WaitPeriodNotYetEndedJwkError } from 'aws-jwt-verify/error';
import { JwksCache, SimpleJwksCache, SimplePenaltyBox } from 'aws-jwt-verify/jwk';
import { decomposeUnverifiedJwt } from 'aws-jwt-verify/jwt';
import { TokenError } from '../core/errors';
import { LoopbackAwareFetcher } from './jwks-fetcher';

/** An issuer whose tokens the authorizer accepts. */
export type TrustedIssuer =
  /** A real Cognito user pool: issuer and JWKS URL derive from the pool id. */
  | { readonly kind: 'cognito'; readonly userPoolId: string }
  /**
   * An issuer that mints Cognito-shaped tokens at a non-Cognito URL (cognito-local, the local
   * stack's client_credentials endpoint): the same Cognito claim checks, generic verifier.
   */
  | { readonly kind: 'cognito-compatible'; readonly issuer: string; readonly jwksUri: string };

export interface VerifierOptions {
  readonly issuers: readonly TrustedIssuer[];
  /** Every client id allowed to present a token (user-facing and machine clients). */
  readonly clientIds: readonly string[];
  /**
   * After a JWKS fetch for an unknown `kid`, how long further unknown-kid fetches for that JWKS
   * wait (rate limit against kid-spraying). aws-jwt-verify's default is 10 s.
   */
  readonly unknownKidWaitSeconds?: number;
}

/** Verifies a raw JWT and returns its payload; throws TokenError on any failure. */
export interface TokenVerifier {
  verify(token: string): Promise<Readonly<Record<string, unknown>>>;
  /** Fetch every JWKS now (Lambda cold start), so the first request does not pay for it. */
  hydrate(): Promise<void>;
}

/** Longest token accepted: Cognito access tokens are ~1 KB; a 1 MB JWT is refused unparsed. */
export const MAX_TOKEN_LENGTH = 8192;

type Verify = (token: string) => Promise<unknown>;

/** Build the composite verifier for the configured issuers. */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const jwksCache: JwksCache = new SimpleJwksCache({
    fetcher: new LoopbackAwareFetcher(),
    penaltyBox: new SimplePenaltyBox({ waitSeconds: options.unknownKidWaitSeconds ?? 10 }),
  });
  const clientId = [...options.clientIds];
  const byIssuer = new Map<string, { verify: Verify; hydrate: () => Promise<void> }>();
  for (const trusted of options.issuers) {
    if (trusted.kind === 'cognito') {
      const v = CognitoJwtVerifier.create({ userPoolId: trusted.userPoolId, tokenUse: 'access', clientId }, { jwksCache });
      const { issuer } = CognitoJwtVerifier.parseUserPoolId(trusted.userPoolId);
      byIssuer.set(issuer, { verify: (t) => v.verify(t), hydrate: () => v.hydrate() });
    } else {
      const v = JwtVerifier.create(
        {
          issuer: trusted.issuer,
          jwksUri: trusted.jwksUri,
          audience: null, // Cognito access tokens carry client_id, not aud
          customJwtCheck: ({ payload }) => validateCognitoJwtFields(payload, { tokenUse: 'access', clientId }),
        },
        { jwksCache },
      );
      byIssuer.set(trusted.issuer, { verify: (t) => v.verify(t), hydrate: () => v.hydrate() });
    }
  }

  return {
    async verify(token) {
      if (token.length > MAX_TOKEN_LENGTH) throw new TokenError('ERR_TOKEN_MALFORMED', `token longer than ${MAX_TOKEN_LENGTH} characters`);
      let iss: unknown;
      try {
        iss = decomposeUnverifiedJwt(token).payload.iss;
      } catch {
        throw new TokenError('ERR_TOKEN_MALFORMED', 'token is not a well-formed JWT');
      }
      const entry = typeof iss === 'string' ? byIssuer.get(iss) : undefined;
      if (!entry) throw new TokenError('ERR_TOKEN_UNTRUSTED_ISSUER', 'token issuer is not trusted', { claim: 'iss' });
      try {
        return (await entry.verify(token)) as Record<string, unknown>;
      } catch (err) {
        throw toTokenError(err);
      }
    },
    async hydrate() {
      await Promise.all([...byIssuer.values()].map((e) => e.hydrate()));
    },
  };
}

/** Map aws-jwt-verify's error tree onto fhirgate codes; the message says why, never the token. */
function toTokenError(err: unknown): TokenError {
  if (err instanceof JwtExpiredError) return new TokenError('ERR_TOKEN_EXPIRED', 'token has expired', { claim: 'exp' });
  if (err instanceof JwtNotBeforeError) return new TokenError('ERR_TOKEN_INVALID', 'token is not valid yet', { claim: 'nbf' });
  if (err instanceof JwtInvalidIssuerError) return new TokenError('ERR_TOKEN_UNTRUSTED_ISSUER', 'token issuer is not trusted', { claim: 'iss' });
  // JWKS unreachable, or a kid we cannot find: the token cannot be verified, so it is not accepted.
  if (err instanceof FetchError) return new TokenError('ERR_TOKEN_INVALID', 'signing keys could not be fetched; token not verifiable');
  if (err instanceof KidNotFoundInJwksError || err instanceof WaitPeriodNotYetEndedJwkError) {
    return new TokenError('ERR_TOKEN_INVALID', 'token signed with an unknown key', { claim: 'kid' });
  }
  if (err instanceof JwtBaseError) return new TokenError('ERR_TOKEN_INVALID', `token rejected: ${err.message}`);
  return new TokenError('ERR_TOKEN_INVALID', 'token could not be verified');
}
