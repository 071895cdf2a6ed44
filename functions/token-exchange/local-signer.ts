/**
 * A P-256 key held in process memory (node:crypto): for the local stack and tests. Tokens it
 * signs verify only as long as this process serves its JWKS; a restart makes a new key (and kid).
 */
import { createPublicKey, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { ecPublicJwk, JwtSigner } from './signer';

/** A signer over `privateKey`, or over a freshly generated P-256 key. */
export function createLocalSigner(privateKey: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey): JwtSigner {
  if (privateKey.type !== 'private') throw new TypeError('the local signer needs a private key');
  const jwk = ecPublicJwk(createPublicKey(privateKey)); // also checks the curve
  return {
    kid: jwk.kid,
    alg: 'ES256',
    // `ieee-p1363` is JOSE's r||s form directly (RFC 7518 §3.4); no DER round trip.
    sign: async (signingInput) => new Uint8Array(sign('sha256', signingInput, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
    publicJwk: async () => jwk,
  };
}
