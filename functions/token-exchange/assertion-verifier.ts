/**
 * Signature verification of client assertions against the keys of the client's registration,
 * with aws-jwt-verify's JWKS cache, key checks and claim checks:
 * - a JWKS URL: one JWKS cache per client with its own key objects, so a `kid` it has not seen
 *   fetches the JWKS again (key rotation), rate-limited per URL by a penalty box (kid spraying),
 *   and the whole cache is dropped after `jwksMaxAgeSeconds` (a key the client withdrew stops
 *   verifying within that time, whatever its kid);
 * - an inline JWKS: the stored keys, nothing fetched.
 * The steps after the key is found are aws-jwt-verify's `verifyDecomposedJwtSync` in its order
 * (signing JWK, header alg = JWK alg, signature, `iss`/`exp`/`nbf`, then `checkKey`), on the
 * assertion decoded once by adapters/jws.ts, the decoder the authorizer uses; the JwtVerifier
 * class is not imported: it weighed a tenth of this bundle (lib/function-bundle.ts budgets).
 * The `jku` header is never fetched (core/client-assertion.ts only compares it). Every failure is
 * `invalid_client` (SMART Backend Services: signature, unknown key, unreachable JWKS alike).
 */
import { createPublicKey, KeyObject } from 'node:crypto';
import { assertStringEquals } from 'aws-jwt-verify/assert';
import {
  FetchError,
  JwtBaseError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  KidNotFoundInJwksError,
  NonRetryableFetchError,
  WaitPeriodNotYetEndedJwkError,
} from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';
import { assertIsJwks, assertIsSignatureJwk, findJwkInJwks, Jwk, SignatureJwk, SimpleJwksCache, SimplePenaltyBox } from 'aws-jwt-verify/jwk';
import { validateJwtFields } from 'aws-jwt-verify/jwt';
import type { JwtHeader } from 'aws-jwt-verify/jwt-model';
import { KeyObjectCache } from 'aws-jwt-verify/jwt-verifier';
import { ASSERTION_ALGORITHMS, AssertionAlgorithm, BackendClient } from '../core/client-assertion';
import { OAuthError } from '../core/oauth-error';
import { isLoopbackHttp } from '../adapters/jwks-fetcher';
import { decodeJws, DecodedJws, verifyJwsSignature } from '../adapters/jws';

export interface AssertionVerifier {
  /** Verify the assertion's signature with the client's registered keys; the verified claims, or OAuthError `invalid_client`. */
  verify(assertion: string, client: BackendClient): Promise<Readonly<Record<string, unknown>>>;
}

export interface AssertionVerifierOptions {
  /** How client JWKS are fetched. @default new BoundedJwksFetcher() */
  readonly fetcher?: Fetcher;
  /** After a fetch that did not find a `kid`, how long that JWKS URL is not fetched again. @default 10 */
  readonly unknownKidWaitSeconds?: number;
  /** A cached client JWKS is fetched again after this long. @default 300 */
  readonly jwksMaxAgeSeconds?: number;
  /** Milliseconds since the epoch (cache ages only). @default Date.now */
  readonly now?: () => number;
}

/** Clients whose verifiers are kept; beyond this the cache starts over (bounded memory). */
const MAX_CACHED_CLIENTS = 1000;
/** RSA keys below 2048 bits are refused (NIST SP 800-131A). */
const MIN_RSA_BYTES = 256;

/** Create the verifier used by the client_credentials grant. */
export function createAssertionVerifier(options: AssertionVerifierOptions = {}): AssertionVerifier {
  const fetcher = options.fetcher ?? new BoundedJwksFetcher();
  const maxAgeMs = (options.jwksMaxAgeSeconds ?? 300) * 1000;
  const clock = options.now ?? Date.now;
  const cached = new Map<string, { jwksCache: SimpleJwksCache; keys: KeyObjectCache; created: number }>();

  /** The JWKS cache and imported keys of one client's JWKS URL, started over after `maxAgeMs`. */
  const byUri = (clientId: string, uri: string) => {
    const key = JSON.stringify([clientId, uri]);
    const hit = cached.get(key);
    if (hit && clock() - hit.created < maxAgeMs) return hit;
    const jwksCache = new SimpleJwksCache({ fetcher, penaltyBox: new SimplePenaltyBox({ waitSeconds: options.unknownKidWaitSeconds ?? 10 }) });
    if (cached.size >= MAX_CACHED_CLIENTS) cached.clear();
    const entry = { jwksCache, keys: new KeyObjectCache(), created: clock() };
    cached.set(key, entry);
    return entry;
  };

  return {
    async verify(assertion, client) {
      try {
        const jws = decodeJws(assertion);
        const alg = jws.header.alg as JwkAlg;
        if (client.keys.kind === 'jwks_uri') {
          const { jwksCache, keys } = byUri(client.clientId, client.keys.uri);
          const jwk = await jwksCache.getJwk(client.keys.uri, jws);
          return verified(jws, jwk, client.clientId, (k) => keys.transformJwkToKeyObjectSync(k, alg, jws.payload.iss) as KeyObject);
        }
        // The registry's JWKS is read as stored: no key object outlives the request that imported it.
        const jwks = client.keys.jwks as unknown as Parameters<typeof assertIsJwks>[0];
        assertIsJwks(jwks);
        const jwk = typeof jws.header.kid === 'string' ? findJwkInJwks(jwks, jws.header.kid) : undefined;
        if (!jwk) throw new KidNotFoundInJwksError(`JWK for kid ${jws.header.kid} not found in the JWKS`);
        return verified(jws, jwk, client.clientId, (k) => createPublicKey({ key: k, format: 'jwk' }));
      } catch (err) {
        throw toOAuthError(err);
      }
    },
  };
}

type JwkAlg = Parameters<KeyObjectCache['transformJwkToKeyObjectSync']>[1];

/**
 * aws-jwt-verify's `verifyDecomposedJwtSync` once the JWK is chosen: a signing JWK whose alg (if
 * it names one) is the header's, the signature (only RS/ES/EdDSA algs: adapters/jws.ts), `iss` =
 * the client and `exp`/`nbf`, then the key rules (`checkKey`). aud, exp's ceiling and jti are the
 * core's (the token URL or the issuer, injectable clock).
 */
function verified(jws: DecodedJws, jwk: Jwk, clientId: string, keyOf: (jwk: SignatureJwk) => KeyObject): Readonly<Record<string, unknown>> {
  assertIsSignatureJwk(jwk);
  if (jwk.alg) assertStringEquals('JWT signature algorithm', jws.header.alg, jwk.alg, JwtInvalidSignatureAlgorithmError);
  if (!verifyJwsSignature(jws, keyOf(jwk))) throw new JwtInvalidSignatureError('Invalid signature');
  validateJwtFields(jws.payload, { issuer: clientId, audience: null });
  checkKey({ header: jws.header, jwk });
  return jws.payload as Readonly<Record<string, unknown>>;
}

/**
 * The key must fit the algorithm (an RS384 header never selects an EC key, ES384 only P-384) and
 * be public: a client JWKS that publishes a private key has lost it.
 */
function checkKey({ header, jwk }: { header: JwtHeader; jwk: Jwk }): void {
  const alg = header.alg as AssertionAlgorithm;
  if (!ASSERTION_ALGORITHMS.includes(alg)) throw new OAuthError('invalid_client', `alg ${String(header.alg)} is not accepted`);
  if ('d' in jwk) throw new OAuthError('invalid_client', "the client's JWKS publishes a private key; that key is compromised");
  if (alg === 'RS384' && (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || Buffer.from(jwk.n, 'base64url').length < MIN_RSA_BYTES)) {
    throw new OAuthError('invalid_client', 'RS384 needs an RSA key of at least 2048 bits');
  }
  if (alg === 'ES384' && (jwk.kty !== 'EC' || jwk.crv !== 'P-384')) throw new OAuthError('invalid_client', 'ES384 needs an EC P-384 key');
}

/** aws-jwt-verify's errors as `invalid_client`, saying why without echoing the assertion. */
function toOAuthError(err: unknown): Error {
  if (err instanceof OAuthError) return err;
  if (err instanceof KidNotFoundInJwksError) return new OAuthError('invalid_client', 'no key with this kid is registered for the client');
  if (err instanceof WaitPeriodNotYetEndedJwkError) return new OAuthError('invalid_client', 'no key with this kid; the client JWKS was fetched moments ago, try again shortly');
  if (err instanceof FetchError) return new OAuthError('invalid_client', "the client's JWKS could not be fetched");
  if (err instanceof JwtBaseError) return new OAuthError('invalid_client', `client_assertion rejected: ${err.message}`);
  // A registration aws-jwt-verify cannot use (say, an inline JWKS it does not accept) authenticates nobody.
  if (err instanceof TypeError || err instanceof SyntaxError) return new OAuthError('invalid_client', 'client_assertion could not be verified');
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Client JWKS over HTTPS (HTTP to loopback only when the local wiring allows it), with a deadline,
 * no redirects and a size limit: the URL is the client's, so nothing about its answer is trusted.
 */
export class BoundedJwksFetcher implements Fetcher {
  constructor(
    private readonly timeoutMs = 3000,
    private readonly maxBytes = 64 * 1024,
    /** Emulator allowance: plain HTTP to loopback. Only the local wiring sets it. */
    private readonly allowLoopbackHttp = false,
  ) {}

  async fetch(uri: string): Promise<ArrayBuffer> {
    if (!uri.startsWith('https:') && !(this.allowLoopbackHttp && isLoopbackHttp(uri))) throw new NonRetryableFetchError(uri, 'JWKS must be fetched over https');
    let response: Response;
    try {
      response = await fetch(uri, { signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
    } catch (err) {
      throw new FetchError(uri, err instanceof Error ? err.message : String(err));
    }
    if (response.status !== 200) throw new NonRetryableFetchError(uri, `status code ${response.status}`);
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body ?? []) {
        size += chunk.length;
        if (size > this.maxBytes) throw new NonRetryableFetchError(uri, 'JWKS too large');
        chunks.push(chunk);
      }
    } catch (err) {
      if (err instanceof FetchError) throw err;
      throw new FetchError(uri, err instanceof Error ? err.message : String(err));
    }
    const body = Buffer.concat(chunks);
    return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  }
}
