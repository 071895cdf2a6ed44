/**
 * The one signing interface the exchange uses, for AWS KMS (`kms-signer.ts`) and for a local
 * key (`local-signer.ts`), and the JOSE helpers both need: the public JWK with its RFC 7638
 * thumbprint as `kid`, and DER → raw r||s for ES256 (RFC 7518 §3.4).
 *
 * Why the thumbprint as `kid`: it is derived from the public key alone, so the local and the KMS
 * signer follow one rule, a new key gets a new kid by itself, and token headers do not carry the
 * KMS key ARN (account id, region, key id) to every client.
 */
import { createHash, KeyObject } from 'node:crypto';

/** The public key as published at `/auth/jwks.json`. */
export interface PublicSigningJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
  readonly kid: string;
  readonly alg: 'ES256';
  readonly use: 'sig';
}

/** Signs JWS signing inputs with one P-256 key. */
export interface JwtSigner {
  /** RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key. */
  readonly kid: string;
  readonly alg: 'ES256';
  /** ES256 over the JWS signing input (`base64url(header).base64url(payload)`): raw r||s, 64 bytes. */
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
  publicJwk(): Promise<PublicSigningJwk>;
}

/** ES256 component size: 32 bytes each for r and s (RFC 7518 §3.4). */
const P256_BYTES = 32;

/** The public JWK of a P-256 public key, with its thumbprint as `kid`; throws TypeError for other keys. */
export function ecPublicJwk(publicKey: KeyObject): PublicSigningJwk {
  if (publicKey.type !== 'public' || publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TypeError('the signing key must be an EC P-256 (prime256v1) key');
  }
  const { x, y } = publicKey.export({ format: 'jwk' });
  if (typeof x !== 'string' || typeof y !== 'string') throw new TypeError('EC public key has no x/y');
  return { kty: 'EC', crv: 'P-256', x, y, kid: jwkThumbprint({ crv: 'P-256', kty: 'EC', x, y }), alg: 'ES256', use: 'sig' };
}

/** RFC 7638 §3.2: SHA-256 over the required EC members in lexicographic order, no whitespace. */
export function jwkThumbprint(jwk: { crv: string; kty: string; x: string; y: string }): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}

/**
 * An ECDSA signature as DER `SEQUENCE { INTEGER r, INTEGER s }` (what AWS KMS returns) to the
 * JOSE form, r||s each left-padded to 32 bytes. Strict: anything but exactly that structure with
 * minimal, positive integers of at most 32 bytes throws, so a surprise from KMS never becomes a
 * token that verifies nowhere.
 */
export function derToJose(der: Uint8Array): Uint8Array {
  const fail = (why: string): never => {
    throw new TypeError(`not a DER ECDSA P-256 signature: ${why}`);
  };
  // Every length here is < 128, so DER uses the one-byte short form.
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) fail('bad SEQUENCE header');
  let at = 2;
  const integer = (): Uint8Array => {
    if (der[at] !== 0x02) fail('expected INTEGER');
    const length = der[at + 1]!;
    if (length === 0 || length > P256_BYTES + 1 || at + 2 + length > der.length) fail('bad INTEGER length');
    let value = der.subarray(at + 2, at + 2 + length);
    at += 2 + length;
    if (value[0]! & 0x80) fail('negative INTEGER');
    if (value.length > 1 && value[0] === 0 && !(value[1]! & 0x80)) fail('non-minimal INTEGER');
    if (value[0] === 0 && value.length > 1) value = value.subarray(1);
    if (value.length > P256_BYTES) fail('INTEGER wider than 32 bytes');
    if (value.every((b) => b === 0)) fail('zero INTEGER');
    return value;
  };
  const r = integer();
  const s = integer();
  if (at !== der.length) fail('trailing bytes');
  const out = new Uint8Array(2 * P256_BYTES);
  out.set(r, P256_BYTES - r.length);
  out.set(s, 2 * P256_BYTES - s.length);
  return out;
}
