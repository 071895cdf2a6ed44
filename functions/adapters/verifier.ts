/**
 * Token verification with aws-jwt-verify: signature (RS/ES/EdDSA allow-list, `alg: none` and HMAC
 * never accepted), `iss`, `exp`/`nbf`, `token_use`, `client_id`. The verifier for each trusted
 * issuer is chosen by the token's `iss` by exact string match before any key is fetched, so an
 * untrusted issuer never makes us fetch anything.
 */
import type { KeyObject } from 'node:crypto';
import { assertStringEquals } from 'aws-jwt-verify/assert';
import {
  FetchError,
  JwtBaseError,
  JwtExpiredError,
  JwtInvalidClaimError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  KidNotFoundInJwksError,
  WaitPeriodNotYetEndedJwkError,
} from 'aws-jwt-verify/error';
import { assertIsSignatureJwk, Jwk, JwksCache, SimpleJwksCache, SimplePenaltyBox } from 'aws-jwt-verify/jwk';
import { validateJwtFields } from 'aws-jwt-verify/jwt';
import type { JwtHeader, JwtPayload } from 'aws-jwt-verify/jwt-model';
import { KeyObjectCache } from 'aws-jwt-verify/jwt-verifier';
import type { Fetcher } from 'aws-jwt-verify/https';
import { TokenError } from '../core/errors';
import { assertCognitoAccessClaims, cognitoIssuer } from './cognito-claims';
import { JwksFetcher } from './jwks-fetcher';
import type { TrustedIssuer } from '../core/settings';
import { decodeJws, DecodedJws, verifyJwsSignature } from './jws';

/** The trusted-issuer shapes are validated by core's settings schema; re-exported for the adapters' callers. */
export type { TrustedIssuer } from '../core/settings';

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
  /**
   * How JWKS are fetched. An emulator allowance (plain HTTP on loopback) is passed in by the
   * local wiring only; nothing here builds one in.
   * @default JwksFetcher: aws-jwt-verify's HTTPS-only fetcher with fhirgate's User-Agent
   */
  readonly fetcher?: Fetcher;
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

type JwkAlg = Parameters<KeyObjectCache['transformJwkToKeyObjectSync']>[1];

/** One trusted issuer, ready to verify: where its keys are, and the claim rules after the signature. */
interface IssuerVerifier {
  readonly trusted: TrustedIssuer;
  readonly issuer: string;
  readonly jwksUri: string;
  /** `aud` for validateJwtFields; null where the token has none to check (Cognito access tokens carry client_id). */
  readonly audience: string | null;
  /** Issuer-specific checks after signature, expiry and issuer: Cognito's token_use/client_id, or the exchange's alg/typ/exp. */
  readonly check: (header: JwtHeader, payload: JwtPayload) => void;
}

/** Build the composite verifier for the configured issuers. */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const jwksCache: JwksCache = new SimpleJwksCache({
    fetcher: options.fetcher ?? new JwksFetcher(),
    penaltyBox: new SimplePenaltyBox({ waitSeconds: options.unknownKidWaitSeconds ?? 10 }),
  });
  // aws-jwt-verify's cache of JWK → KeyObject (per issuer, kid and alg): a key is imported once.
  const keys = new KeyObjectCache();
  const clientId = [...options.clientIds];
  const cognitoChecks = (_header: JwtHeader, payload: JwtPayload) => assertCognitoAccessClaims(payload, clientId);
  const byIssuer = new Map<string, IssuerVerifier>();
  for (const trusted of options.issuers) {
    if (trusted.kind === 'cognito') {
      const { issuer, jwksUri } = cognitoIssuer(trusted.userPoolId);
      byIssuer.set(issuer, { trusted, issuer, jwksUri, audience: null, check: cognitoChecks });
    } else if (trusted.kind === 'cognito-compatible') {
      byIssuer.set(trusted.issuer, { trusted, issuer: trusted.issuer, jwksUri: trusted.jwksUri, audience: null, check: cognitoChecks });
    } else {
      byIssuer.set(trusted.issuer, { trusted, issuer: trusted.issuer, jwksUri: trusted.jwksUri, audience: trusted.audience, check: checkExchangedJwt });
    }
  }
  // Two entries for one `iss` would leave one silently unused (and its rules unapplied).
  if (byIssuer.size !== options.issuers.length) throw new TypeError('trusted issuers must have distinct issuer URLs');

  /** The JWK for the token's `kid` when its JWKS is cached and holds it; otherwise undefined (fetch it). */
  const cachedJwk = (entry: IssuerVerifier, jws: DecodedJws): Jwk | undefined => {
    try {
      return jwksCache.getCachedJwk(entry.jwksUri, jws);
    } catch {
      return undefined;
    }
  };

  /**
   * The public key of a JWK that passed aws-jwt-verify's signing-key checks, by the JWK object
   * itself: a JWKS fetched again brings new objects, so a key dropped from the JWKS is never
   * found here once the token's `kid` no longer resolves to it.
   */
  const imported = new WeakMap<Jwk, KeyObject>();
  const keyOf = (entry: IssuerVerifier, jwk: Jwk, alg: string | undefined): KeyObject => {
    let key = imported.get(jwk);
    if (!key) {
      assertIsSignatureJwk(jwk);
      key = keys.transformJwkToKeyObjectSync(jwk, alg as JwkAlg, entry.issuer) as KeyObject;
      // Only a JWK that names its alg pins one key object; without it the key depends on the header's alg.
      if (jwk.alg) imported.set(jwk, key);
    }
    return key;
  };

  /**
   * The steps of aws-jwt-verify's `verifyDecomposedJwt` after the JWK is found, on the token
   * decoded once: the JWK checked for signing and for the header's alg, the signature, then
   * `exp`/`nbf`/`iss`/`aud` and the issuer's own claim rules.
   */
  const checked = (entry: IssuerVerifier, jws: DecodedJws, jwk: Jwk): JwtPayload => {
    if (jwk.alg) assertStringEquals('JWT signature algorithm', jws.header.alg, jwk.alg, JwtInvalidSignatureAlgorithmError);
    if (!verifyJwsSignature(jws, keyOf(entry, jwk, jws.header.alg))) throw new JwtInvalidSignatureError('Invalid signature');
    if (!plainlyValid(jws.payload, entry)) validateJwtFields(jws.payload, { issuer: entry.issuer, audience: entry.audience });
    entry.check(jws.header, jws.payload);
    return jws.payload;
  };

  const verifyToken = async (token: string): Promise<VerifiedToken> => {
    if (token.length > MAX_TOKEN_LENGTH) throw new TokenError('ERR_TOKEN_MALFORMED', `token longer than ${MAX_TOKEN_LENGTH} characters`);
    let jws: DecodedJws;
    try {
      jws = decodeJws(token);
    } catch {
      throw new TokenError('ERR_TOKEN_MALFORMED', 'token is not a well-formed JWT');
    }
    // The issuer is read before verification only to choose whose keys and rules apply, by exact match.
    const iss = jws.payload.iss;
    const entry = typeof iss === 'string' ? byIssuer.get(iss) : undefined;
    if (!entry) throw new TokenError('ERR_TOKEN_UNTRUSTED_ISSUER', 'token issuer is not trusted', { claim: 'iss' });
    try {
      // A JWKS not fetched yet, or a kid not seen yet: fetch (aws-jwt-verify rate limits unknown kids).
      const jwk = cachedJwk(entry, jws) ?? (await jwksCache.getJwk(entry.jwksUri, jws));
      return { claims: checked(entry, jws, jwk) as Record<string, unknown>, issuer: entry.trusted };
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
      await Promise.all(
        [...byIssuer.values()].map(async (entry) => {
          const jwks = await jwksCache.getJwks(entry.jwksUri);
          // Import the keys now too (as aws-jwt-verify's hydrate does): the first request only verifies.
          for (const jwk of jwks.keys) {
            if (!jwk.kid || !jwk.alg) continue;
            try {
              assertIsSignatureJwk(jwk);
              keys.transformJwkToKeyObjectSync(jwk, jwk.alg as JwkAlg, entry.issuer);
            } catch {
              // Not a usable signing key: a token naming it is refused when it arrives.
            }
          }
        }),
      );
    },
  };
}

/**
 * True when aws-jwt-verify's `validateJwtFields` (no grace period) is certain to accept the
 * payload: not expired, already valid, the issuer's `iss`, no audience to check. It is called
 * only otherwise, for its verdict and its error: its assertion helpers build a Set per claim and
 * this runs on every authorizer cache miss. (`exp`/`nbf` are numbers when present: jws.ts.)
 */
function plainlyValid(payload: JwtPayload, entry: IssuerVerifier): boolean {
  if (entry.audience !== null) return false;
  const now = Date.now() / 1000;
  return payload.iss === entry.issuer && (payload.exp === undefined || payload.exp >= now) && (payload.nbf === undefined || payload.nbf <= now);
}

/**
 * Exchanged tokens: ES256 only (the exchange signs with a P-256 key; the JWK's `alg` pins it too),
 * RFC 9068 §4 `typ` of `at+jwt` (so an ID token or any other JWT from that key is never an access
 * token), and an `exp`, which aws-jwt-verify checks only when present.
 */
class ExchangedJwtError extends JwtInvalidClaimError {}

function checkExchangedJwt(header: JwtHeader, payload: JwtPayload): void {
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
