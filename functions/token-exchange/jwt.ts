/**
 * Compact JWS for issued tokens. The header is fixed: `alg` ES256, `typ` at+jwt (RFC 9068 §2.1,
 * so a resource server never mistakes it for an ID token) and the signer's `kid`.
 */
import type { JwtSigner } from './signer';

const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** Sign `payload` as an RFC 9068 JWT access token. */
export async function signAccessToken(signer: JwtSigner, payload: Readonly<Record<string, unknown>>): Promise<string> {
  return signJws(signer, { alg: signer.alg, typ: 'at+jwt', kid: signer.kid }, payload);
}

async function signJws(signer: JwtSigner, header: Readonly<Record<string, string>>, payload: Readonly<Record<string, unknown>>): Promise<string> {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = await signer.sign(Buffer.from(signingInput, 'ascii'));
  // A signer bug must not produce a token that no verifier accepts (or worse, some do).
  if (signature.length !== 64) throw new TypeError(`ES256 signature must be 64 bytes, got ${signature.length}`);
  return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
}

/** Sign an OpenID Connect id_token (`typ` JWT: never accepted where an at+jwt access token is expected). */
export async function signIdToken(signer: JwtSigner, payload: Readonly<Record<string, unknown>>): Promise<string> {
  return signJws(signer, { alg: signer.alg, typ: 'JWT', kid: signer.kid }, payload);
}
