/**
 * HMAC-SHA256 page signer: the key is 32 random bytes shared by every instance of the proxy
 * (from configuration), so a link issued by one Lambda container verifies in another.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
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
