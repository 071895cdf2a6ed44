/**
 * Token verification with aws-jwt-verify: signature (RS/ES/EdDSA allow-list, `alg: none` and HMAC
 * never accepted), `iss`, `exp`/`nbf`, `token_use`, `client_id`. The verifier for each trusted
 * issuer is chosen by the token's `iss` by exact string match before any key is fetched, so an
 * untrusted issuer never makes us fetch anything.
 */
import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import { validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier';
import { JwtExpiredError, JwtNotBeforeError, JwtBaseError, JwtInvalidClaimError, JwtInvalidIssuerError, FetchError, KidNotFoundInJwksError, WaitPeriodNotYetEndedJwkError } from 'aws-jwt-verify/error';
import { JwksCache, SimpleJwksCache, SimplePenaltyBox } from 'aws-jwt-verify/jwk';
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
  | { readonly kind: 'cognito-compatible'; readonly issuer: string; readonly jwksUri: string }
  /**
   * fhirgate's own token service: ES256 JWT access tokens (RFC 9068, `typ: at+jwt`) whose `aud`
   * is the FHIR base URL — RFC 8693 delegated tokens (with `act`) and SMART Backend Services
   * `system/` tokens (without). Only the authorizer trusts it; the exchange never does.
   */
  | { readonly kind: 'fhirgate-exchange'; readonly issuer: string; readonly jwksUri: string; readonly audience: string };

/** A verified token and the trusted issuer that vouched for it. */
export interface VerifiedToken {
  readonly claims: Readonly<Record<string, unknown>>;
  readonly issuer: TrustedIssuer;
}

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
  /** Like `verify`, and also says which trusted issuer it was (claims alone cannot say whose rules apply). */
  verifyToken(token: string): Promise<VerifiedToken>;
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
  const byIssuer = new Map<string, { trusted: TrustedIssuer; verify: Verify; hydrate: () => Promise<void> }>();
  for (const trusted of options.issuers) {
    if (trusted.kind === 'cognito') {
      const v = CognitoJwtVerifier.create({ userPoolId: trusted.userPoolId, tokenUse: 'access', clientId }, { jwksCache });
      const { issuer } = CognitoJwtVerifier.parseUserPoolId(trusted.userPoolId);
      byIssuer.set(issuer, { trusted, verify: (t) => v.verify(t), hydrate: () => v.hydrate() });
    } else if (trusted.kind === 'cognito-compatible') {
      const v = JwtVerifier.create(
        {
          issuer: trusted.issuer,
          jwksUri: trusted.jwksUri,
          audience: null, // Cognito access tokens carry client_id, not aud
          customJwtCheck: ({ payload }) => validateCognitoJwtFields(payload, { tokenUse: 'access', clientId }),
        },
        { jwksCache },
      );
      byIssuer.set(trusted.issuer, { trusted, verify: (t) => v.verify(t), hydrate: () => v.hydrate() });
    } else {
      const v = JwtVerifier.create(
        { issuer: trusted.issuer, jwksUri: trusted.jwksUri, audience: trusted.audience, customJwtCheck: checkExchangedJwt },
        { jwksCache },
      );
      byIssuer.set(trusted.issuer, { trusted, verify: (t) => v.verify(t), hydrate: () => v.hydrate() });
    }
  }
  // Two entries for one `iss` would leave one silently unused (and its rules unapplied).
  if (byIssuer.size !== options.issuers.length) throw new TypeError('trusted issuers must have distinct issuer URLs');

  const verifyToken = async (token: string): Promise<VerifiedToken> => {
    if (token.length > MAX_TOKEN_LENGTH) throw new TokenError('ERR_TOKEN_MALFORMED', `token longer than ${MAX_TOKEN_LENGTH} characters`);
    let iss: unknown;
    try {
      iss = unverifiedIssuer(token);
    } catch {
      throw new TokenError('ERR_TOKEN_MALFORMED', 'token is not a well-formed JWT');
    }
    const entry = typeof iss === 'string' ? byIssuer.get(iss) : undefined;
    if (!entry) throw new TokenError('ERR_TOKEN_UNTRUSTED_ISSUER', 'token issuer is not trusted', { claim: 'iss' });
    try {
      return { claims: (await entry.verify(token)) as Record<string, unknown>, issuer: entry.trusted };
    } catch (err) {
      throw toTokenError(err);
    }
  };

  return {
    verifyToken,
    async verify(token) {
      return (await verifyToken(token)).claims;
    },
    async hydrate() {
      await Promise.all([...byIssuer.values()].map((e) => e.hydrate()));
    },
  };
}

/**
 * Exchanged tokens: ES256 only (the exchange signs with a P-256 key; the JWK's `alg` pins it too),
 * RFC 9068 §4 `typ` of `at+jwt` (so an ID token or any other JWT from that key is never an access
 * token), and an `exp`, which aws-jwt-verify checks only when present.
 */
class ExchangedJwtError extends JwtInvalidClaimError {}

function checkExchangedJwt({ header, payload }: { header: { alg?: unknown; typ?: unknown }; payload: { exp?: unknown } }): void {
  if (header.alg !== 'ES256') throw new ExchangedJwtError('exchanged token must be ES256', header.alg, 'ES256');
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : undefined;
  if (typ !== 'at+jwt' && typ !== 'application/at+jwt') throw new ExchangedJwtError('exchanged token must have typ at+jwt', header.typ, 'at+jwt');
  if (typeof payload.exp !== 'number') throw new ExchangedJwtError('exchanged token has no exp', payload.exp, 'a number');
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

/**
 * The `iss` of a JWT, read before verification only to choose the verifier. aws-jwt-verify decodes
 * the whole token again (with its prototype-safe parser) when it verifies; here only one string
 * property is read from the parsed payload, so a plain JSON.parse is enough — and it saves that
 * safe parse running twice on the hot path (bench: ~5 µs of a ~55 µs decision).
 */
function unverifiedIssuer(token: string): unknown {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) throw new TypeError('not a compact JWS');
  const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new TypeError('payload is not an object');
  return Object.prototype.hasOwnProperty.call(payload, 'iss') ? (payload as { iss: unknown }).iss : undefined;
}
