/**
 * ES256 with an AWS KMS key (key spec ECC_NIST_P256, usage SIGN_VERIFY). The private key never
 * leaves KMS; the Lambda role needs `kms:Sign` and `kms:GetPublicKey` on that one key.
 *
 * MessageType DIGEST, not RAW: we hash the JWS signing input with SHA-256 here and send KMS the
 * 32-byte digest. ECDSA_SHA_256 over a DIGEST is the same signature as over the RAW message
 * (KMS hashes RAW input with SHA-256 itself), but DIGEST has no 4096-byte message limit to police
 * and does not send the token's claims (user, patient) to KMS.
 *
 * The public key is read once, when the signer is created: its key spec and usage are checked
 * (a wrong key fails the cold start, not every request) and Sign is then called with the key's
 * ARN from that answer, so an alias re-pointed later cannot make this container sign with a key
 * whose public half it does not publish.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { DependencyError } from '../core/errors';
import { derToJose, ecPublicJwk, JwtSigner } from './signer';

/** The part of the KMS client the signer uses; a `KMSClient` fits, and so does a test fake. */
export interface KmsApi {
  send(command: GetPublicKeyCommand | SignCommand): Promise<unknown>;
}

export interface KmsSignerOptions {
  readonly client: KmsApi;
  /** Key id, key ARN, alias name or alias ARN. */
  readonly keyId: string;
}

/** Read the key's public half from KMS and return a signer over it. */
export async function createKmsSigner(options: KmsSignerOptions): Promise<JwtSigner> {
  const out = (await call(options.client, new GetPublicKeyCommand({ KeyId: options.keyId }), 'GetPublicKey')) as {
    KeyId?: string;
    PublicKey?: Uint8Array;
    KeySpec?: string;
    KeyUsage?: string;
    SigningAlgorithms?: string[];
  };
  if (out.KeySpec !== 'ECC_NIST_P256' || out.KeyUsage !== 'SIGN_VERIFY' || !out.SigningAlgorithms?.includes('ECDSA_SHA_256')) {
    throw new TypeError(`KMS key ${options.keyId} must be ECC_NIST_P256 with usage SIGN_VERIFY (got ${out.KeySpec}/${out.KeyUsage})`);
  }
  if (!(out.PublicKey instanceof Uint8Array)) throw new TypeError(`KMS returned no public key for ${options.keyId}`);
  const jwk = ecPublicJwk(createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' }));
  const keyArn = out.KeyId ?? options.keyId;
  return {
    kid: jwk.kid,
    alg: 'ES256',
    async sign(signingInput) {
      const digest = createHash('sha256').update(signingInput).digest();
      const signed = (await call(
        options.client,
        new SignCommand({ KeyId: keyArn, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
        'Sign',
      )) as { Signature?: Uint8Array };
      if (!(signed.Signature instanceof Uint8Array)) throw new DependencyError('ERR_DEPENDENCY_FAILED', 'KMS Sign returned no signature');
      return derToJose(signed.Signature); // KMS returns DER (X9.62); JOSE wants r||s
    },
    publicJwk: async () => jwk,
  };
}

/** KMS failures are dependency failures (503 at the token endpoint), never a token. */
async function call(client: KmsApi, command: GetPublicKeyCommand | SignCommand, name: string): Promise<unknown> {
  try {
    return await client.send(command);
  } catch (err) {
    const kind = err instanceof Error ? err.name : 'unknown';
    const code = kind === 'TimeoutError' || kind === 'RequestTimeout' ? 'ERR_DEPENDENCY_TIMEOUT' : 'ERR_DEPENDENCY_FAILED';
    throw new DependencyError(code, `KMS ${name} failed (${kind})`);
  }
}
