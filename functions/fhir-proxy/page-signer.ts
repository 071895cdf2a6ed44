/**
 * HMAC-SHA256 page signer: the key is 32 random bytes shared by every instance of the proxy
 * (from configuration), so a link issued by one Lambda container verifies in another.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DependencyError } from '../core/errors';
import type { PageSigner } from '../core/paging';

/** Create a signer over a key of at least 32 bytes. */
export function createHmacPageSigner(key: Buffer): PageSigner {
  if (key.length < 32) throw new TypeError('paging key must be at least 32 bytes');
  const mac = (input: string) => createHmac('sha256', key).update(input).digest();
  return {
    async sign(input) {
      return mac(input).toString('base64url');
    },
    async verify(input, signature) {
      const given = Buffer.from(signature, 'base64url');
      const expected = mac(input);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

/**
 * A page signer built on its first use. The proxy's KMS client is a third of its cold start
 * (bench: coldStart, proxy profile) and only paging links need it: reads and single-page searches
 * never load it. A failed build fails that call closed (503, never a signature or a `true`) and
 * is tried again on the next one.
 */
export function createLazyPageSigner(build: () => Promise<PageSigner>): PageSigner {
  let signer: Promise<PageSigner> | undefined;
  const get = async (): Promise<PageSigner> => {
    signer ??= build();
    try {
      return await signer;
    } catch (err) {
      signer = undefined;
      throw new DependencyError('ERR_DEPENDENCY_FAILED', `paging key client could not be loaded (${err instanceof Error ? err.name : 'unknown'})`);
    }
  };
  return {
    async sign(input) {
      return (await get()).sign(input);
    },
    async verify(input, signature) {
      return (await get()).verify(input, signature);
    },
  };
}
