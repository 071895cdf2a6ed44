/**
 * createLazyPageSigner (functions/fhir-proxy/page-signer.ts): the proxy's KMS client is built on
 * the first paging link, not at cold start. Building late must not change what paging means: a
 * failed build fails closed (DependencyError → 503), never a signature or a `true`.
 */
import { randomBytes } from 'node:crypto';
import { DependencyError } from '../../functions/core/errors';
import { createHmacPageSigner, createLazyPageSigner } from '../../functions/fhir-proxy/page-signer';

test('builds nothing until a link is signed or verified, then once; signs and verifies as the built signer does', async () => {
  let builds = 0;
  const inner = createHmacPageSigner(randomBytes(32));
  const lazy = createLazyPageSigner(async () => {
    builds += 1;
    return inner;
  });
  expect(builds).toBe(0);
  const [a, b] = await Promise.all([lazy.sign('page 2'), lazy.sign('page 3')]);
  expect(a).toBe(await inner.sign('page 2'));
  expect(await lazy.verify('page 3', b)).toBe(true);
  expect(await lazy.verify('page 3', a)).toBe(false);
  expect(builds).toBe(1);
});

test('a failed build refuses (DependencyError, never true) and is tried again on the next call', async () => {
  let builds = 0;
  const inner = createHmacPageSigner(randomBytes(32));
  const lazy = createLazyPageSigner(async () => {
    builds += 1;
    if (builds === 1) throw new Error('Cannot find module @aws-sdk/client-kms');
    return inner;
  });
  await expect(lazy.verify('page 2', await inner.sign('page 2'))).rejects.toBeInstanceOf(DependencyError);
  expect(await lazy.verify('page 2', await inner.sign('page 2'))).toBe(true);
  expect(builds).toBe(2);
});
