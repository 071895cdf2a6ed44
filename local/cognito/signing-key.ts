/**
 * Signing Cognito-shaped tokens with cognito-local's own key, so that one JWKS (the one
 * cognito-local serves at `<issuer>/.well-known/jwks.json`) verifies both the user tokens it
 * issues and the client_credentials tokens issued beside it.
 *
 * The key is cognito-local's published development key (`lib/keys/cognitoLocal.private.json`,
 * shipped in the npm package, the same for every installation). That is fine for a local
 * emulator and only for one: anyone can mint tokens with it, so no deployed verifier may ever
 * trust this issuer. The real stack trusts only real Cognito pools.
 */
import { createPrivateKey, createPublicKey, createSign, JsonWebKey, KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface TokenSigner {
  /** The `kid` written in every header; cognito-local's JWKS publishes the same one. */
  readonly kid: string;
  /** An RS256 compact JWS of the payload. */
  sign(payload: Readonly<Record<string, unknown>>): string;
}

interface KeyFile {
  readonly jwk: JsonWebKey & { kid?: string; alg?: string };
}

/** The signer that matches cognito-local's JWKS; throws if the package's key files disagree. */
export function cognitoLocalSigner(): TokenSigner {
  const privateFile = readKeyFile('cognito-local/lib/keys/cognitoLocal.private.json');
  const publicFile = readKeyFile('cognito-local/lib/keys/cognitoLocal.public.json');
  const kid = publicFile.jwk.kid;
  // cognito-local signs with jsonwebtoken, `keyid: "CognitoLocal"`, RS256 (services/tokenGenerator);
  // its JWKS route serves exactly `cognitoLocal.public.json`'s `jwk`. Check rather than assume,
  // since these are files inside the package, not its API.
  if (typeof kid !== 'string' || kid === '' || publicFile.jwk.alg !== 'RS256') {
    throw new Error('cognito-local public key has no kid or is not RS256; the package layout changed');
  }
  const privateKey: KeyObject = createPrivateKey({ key: privateFile.jwk, format: 'jwk' });
  if (createPublicKey(privateKey).export({ format: 'jwk' }).n !== publicFile.jwk.n) {
    throw new Error('cognito-local private key does not match its published public key');
  }
  return {
    kid,
    sign(payload) {
      // Cognito's header is exactly {kid, alg}.
      const input = `${b64url(JSON.stringify({ kid, alg: 'RS256' }))}.${b64url(JSON.stringify(payload))}`;
      const signature = createSign('RSA-SHA256').update(input).sign(privateKey);
      return `${input}.${signature.toString('base64url')}`;
    },
  };
}

function readKeyFile(request: string): KeyFile {
  return JSON.parse(readFileSync(require.resolve(request), 'utf8')) as KeyFile;
}

function b64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
