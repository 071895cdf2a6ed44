/**
 * The token verifier as the local wiring builds it: test issuers serve their JWKS over plain HTTP
 * on loopback, an allowance the Lambda entries never pass (adapters/jwks-fetcher.ts).
 */
import { LoopbackAwareFetcher } from '../../functions/adapters/jwks-fetcher';
import { createTokenVerifier, TokenVerifier, VerifierOptions } from '../../functions/adapters/verifier';

/** `createTokenVerifier` with the loopback JWKS fetcher. */
export function createLoopbackVerifier(options: VerifierOptions): TokenVerifier {
  return createTokenVerifier({ fetcher: new LoopbackAwareFetcher(), ...options });
}
