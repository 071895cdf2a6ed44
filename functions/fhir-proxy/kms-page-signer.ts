/**
 * Paging-link MACs with an AWS KMS HMAC key (key spec HMAC_256, usage GENERATE_VERIFY_MAC): the
 * key never leaves KMS, so no secret sits in the Lambda environment, and every proxy container
 * verifies links that any other container issued. The Lambda role needs `kms:GenerateMac` and
 * `kms:VerifyMac` on that one key.
 *
 * What is MAC'ed: SHA-256 over a domain-separated signing input, not the input itself. KMS takes
 * at most 4096 bytes of message and a search query can be longer; the digest also keeps the
 * caller's query (patient ids, search values) out of KMS requests. HMAC over a collision-resistant
 * digest is as strong as HMAC over the message for this use.
 *
 * Verification is done by KMS (`VerifyMac`), which compares in constant time. KMS answers an
 * invalid MAC with `KMSInvalidMacException`: that is `false` (403 for the caller); any other
 * failure is a DependencyError (503), never `true` — paging fails closed.
 */
import { createHash } from 'node:crypto';
import { GenerateMacCommand, VerifyMacCommand } from '@aws-sdk/client-kms';
import { DependencyError } from '../core/errors';
import type { PageSigner } from '../core/paging';

/** The part of the KMS client the signer uses; a `KMSClient` fits, and so does a test fake. */
export interface KmsMacApi {
  send(command: GenerateMacCommand | VerifyMacCommand): Promise<unknown>;
}

export interface KmsPageSignerOptions {
  readonly client: KmsMacApi;
  /** Key id, key ARN, alias name or alias ARN of an HMAC_256 key. */
  readonly keyId: string;
}

/** KMS MAC algorithm for an HMAC_256 key. */
const MAC_ALGORITHM = 'HMAC_SHA_256';
/** HMAC-SHA-256 tags are 32 bytes; anything else cannot verify and is not sent to KMS. */
const MAC_BYTES = 32;
/** Domain separation: these digests are only ever paging-link inputs. */
const DOMAIN = 'fhirgate-page-mac-v1\n';

/** Create a page signer over a KMS HMAC key. */
export function createKmsPageSigner(options: KmsPageSignerOptions): PageSigner {
  if (!options.keyId) throw new TypeError('createKmsPageSigner: keyId is required');
  const { client, keyId } = options;
  const message = (input: string) => createHash('sha256').update(DOMAIN).update(input, 'utf8').digest();
  return {
    async sign(input) {
      const out = (await call(client, new GenerateMacCommand({ KeyId: keyId, MacAlgorithm: MAC_ALGORITHM, Message: message(input) }), 'GenerateMac')) as {
        Mac?: Uint8Array;
      };
      if (!(out.Mac instanceof Uint8Array) || out.Mac.length !== MAC_BYTES) {
        throw new DependencyError('ERR_DEPENDENCY_FAILED', 'KMS GenerateMac returned no HMAC-SHA-256 tag');
      }
      return Buffer.from(out.Mac).toString('base64url');
    },
    async verify(input, signature) {
      const mac = decodeTag(signature);
      if (!mac) return false;
      let out: { MacValid?: boolean };
      try {
        out = (await client.send(new VerifyMacCommand({ KeyId: keyId, MacAlgorithm: MAC_ALGORITHM, Message: message(input), Mac: mac }))) as {
          MacValid?: boolean;
        };
      } catch (err) {
        // KMS's way of saying "this MAC does not verify": a refused link, not an outage.
        if (err instanceof Error && err.name === 'KMSInvalidMacException') return false;
        throw dependencyError(err, 'VerifyMac');
      }
      return out.MacValid === true;
    },
  };
}

/** The tag bytes of a base64url signature, or undefined when it cannot be an HMAC-SHA-256 tag. */
function decodeTag(signature: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]{43}$/.test(signature)) return undefined; // 32 bytes, unpadded base64url
  const bytes = Buffer.from(signature, 'base64url');
  return bytes.length === MAC_BYTES ? new Uint8Array(bytes) : undefined;
}

async function call(client: KmsMacApi, command: GenerateMacCommand | VerifyMacCommand, name: string): Promise<unknown> {
  try {
    return await client.send(command);
  } catch (err) {
    throw dependencyError(err, name);
  }
}

/** KMS failures are dependency failures (503/504), never a valid link. */
function dependencyError(err: unknown, name: string): DependencyError {
  const kind = err instanceof Error ? err.name : 'unknown';
  const code = kind === 'TimeoutError' || kind === 'RequestTimeout' ? 'ERR_DEPENDENCY_TIMEOUT' : 'ERR_DEPENDENCY_FAILED';
  return new DependencyError(code, `KMS ${name} failed (${kind})`);
}
