/**
 * The KMS paging-link signer against an in-process fake of the KMS API at the SDK boundary: the
 * fake answers GenerateMacCommand / VerifyMacCommand as KMS does for an HMAC_256 key (HMAC over
 * the message bytes, 4096-byte message limit, KMSInvalidMacException for a tag that does not
 * verify), computed with node:crypto.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { GenerateMacCommand, KMSInvalidMacException, VerifyMacCommand } from '@aws-sdk/client-kms';
import { DependencyError, AccessDeniedError } from '../../functions/core/errors';
import { checkPagingSignature, pageSignatureInput } from '../../functions/core/paging';
import type { Principal } from '../../functions/core/principal';
import { parseSearchParam } from '../../functions/core/search-params';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { proxyConfigFromEnv, PROXY_ENV } from '../../functions/fhir-proxy/config';
import { createKmsPageSigner } from '../../functions/fhir-proxy/kms-page-signer';

const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';

class KmsError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** A fake KMS holding one HMAC_256 key. */
function fakeKms(key: Buffer = randomBytes(32)) {
  const fake = {
    key,
    calls: [] as (GenerateMacCommand | VerifyMacCommand)[],
    failure: undefined as Error | undefined,
    async send(command: GenerateMacCommand | VerifyMacCommand): Promise<unknown> {
      fake.calls.push(command);
      if (fake.failure) throw fake.failure;
      const { KeyId, MacAlgorithm, Message } = command.input;
      if (KeyId !== KEY_ARN) throw new KmsError('NotFoundException', 'key not found');
      if (MacAlgorithm !== 'HMAC_SHA_256') throw new KmsError('InvalidKeyUsageException', 'algorithm not supported by key');
      if (!(Message instanceof Uint8Array) || Message.length < 1 || Message.length > 4096) {
        throw new KmsError('ValidationException', 'Message must be 1..4096 bytes');
      }
      const mac = createHmac('sha256', fake.key).update(Message).digest();
      if (command instanceof GenerateMacCommand) return { KeyId: KEY_ARN, MacAlgorithm, Mac: new Uint8Array(mac) };
      const given = Buffer.from(command.input.Mac ?? new Uint8Array());
      if (given.length !== mac.length || !timingSafeEqual(given, mac)) {
        throw new KMSInvalidMacException({ message: 'The MAC is not valid', $metadata: {} });
      }
      return { KeyId: KEY_ARN, MacAlgorithm, MacValid: true };
    },
  };
  return fake;
}

const alice: Principal = { kind: 'patient', sub: 'sub-alice', clientId: 'web', patients: ['pat-alice'], scopes: [] };
const bob: Principal = { kind: 'patient', sub: 'sub-bob', clientId: 'web', patients: ['pat-bob'], scopes: [] };
const params = (query: string) => [...new URLSearchParams(query)].map(([k, v]) => parseSearchParam(k, v));

describe('createKmsPageSigner', () => {
  test('a tag it issues verifies; it is KMS HMAC-SHA-256 over the SHA-256 of the domain-separated input', async () => {
    const kms = fakeKms();
    const signer = createKmsPageSigner({ client: kms, keyId: KEY_ARN });
    const tag = await signer.sign('fhirgate-page-v1\nsub-alice\n…');
    expect(tag).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await signer.verify('fhirgate-page-v1\nsub-alice\n…', tag)).toBe(true);

    const digest = createHash('sha256').update('fhirgate-page-mac-v1\n').update('fhirgate-page-v1\nsub-alice\n…').digest();
    expect(tag).toBe(createHmac('sha256', kms.key).update(digest).digest('base64url'));
    const sent = kms.calls[0] as GenerateMacCommand;
    expect(sent).toBeInstanceOf(GenerateMacCommand);
    expect(sent.input).toMatchObject({ KeyId: KEY_ARN, MacAlgorithm: 'HMAC_SHA_256' });
  });

  test('KMS sees a 32-byte digest, never the query, whatever its length (KMS caps messages at 4096 bytes)', async () => {
    const kms = fakeKms();
    const signer = createKmsPageSigner({ client: kms, keyId: KEY_ARN });
    const longQuery = `code=${'http://loinc.org|1234-5,'.repeat(800)}`; // ~20 KB
    const tag = await signer.sign(longQuery);
    expect(await signer.verify(longQuery, tag)).toBe(true);
    for (const call of kms.calls) {
      expect(call.input.Message).toHaveLength(32);
      expect(Buffer.from(call.input.Message!).toString('utf8')).not.toContain('loinc');
    }
  });

  test.each([
    ['another input (changed query)', 'input-b', undefined],
    ['a tag with one character changed', 'input-a', (t: string) => (t[0] === 'A' ? 'B' : 'A') + t.slice(1)],
  ])('refuses %s (KMSInvalidMacException is a refusal, not an outage)', async (_name, input, mutate) => {
    const kms = fakeKms();
    const signer = createKmsPageSigner({ client: kms, keyId: KEY_ARN });
    const tag = await signer.sign('input-a');
    expect(await signer.verify(input, mutate ? mutate(tag) : tag)).toBe(false);
  });

  test('a tag from another key does not verify', async () => {
    const tag = await createKmsPageSigner({ client: fakeKms(), keyId: KEY_ARN }).sign('same input');
    expect(await createKmsPageSigner({ client: fakeKms(), keyId: KEY_ARN }).verify('same input', tag)).toBe(false);
  });

  test.each([[''], ['short'], ['A'.repeat(44)], ['!'.repeat(43)], ['A'.repeat(42) + '=']])(
    'refuses the malformed tag %j without calling KMS',
    async (tag) => {
      const kms = fakeKms();
      expect(await createKmsPageSigner({ client: kms, keyId: KEY_ARN }).verify('input', tag)).toBe(false);
      expect(kms.calls).toHaveLength(0);
    },
  );

  test('fails closed: a KMS outage is a DependencyError on sign and on verify, never a valid link', async () => {
    const kms = fakeKms();
    const signer = createKmsPageSigner({ client: kms, keyId: KEY_ARN });
    const tag = await signer.sign('input');
    kms.failure = new KmsError('KMSInternalException', 'simulated outage');
    await expect(signer.sign('input')).rejects.toBeInstanceOf(DependencyError);
    await expect(signer.verify('input', tag)).rejects.toMatchObject({ code: 'ERR_DEPENDENCY_FAILED' });
    kms.failure = new KmsError('TimeoutError', 'socket timed out');
    await expect(signer.verify('input', tag)).rejects.toMatchObject({ code: 'ERR_DEPENDENCY_TIMEOUT' });
  });

  test('a wrong key (not found, not an HMAC key) fails closed as a dependency error', async () => {
    const signer = createKmsPageSigner({ client: fakeKms(), keyId: 'alias/not-this-one' });
    await expect(signer.sign('input')).rejects.toBeInstanceOf(DependencyError);
    await expect(signer.verify('input', 'A'.repeat(43))).rejects.toBeInstanceOf(DependencyError);
  });

  test('a GenerateMac answer without a 32-byte tag is refused', async () => {
    const signer = createKmsPageSigner({ client: { send: async () => ({ Mac: new Uint8Array(16) }) }, keyId: KEY_ARN });
    await expect(signer.sign('input')).rejects.toBeInstanceOf(DependencyError);
  });

  test('a VerifyMac answer that does not say MacValid: true is false', async () => {
    const signer = createKmsPageSigner({ client: { send: async () => ({}) }, keyId: KEY_ARN });
    expect(await signer.verify('input', 'A'.repeat(43))).toBe(false);
  });

  test('needs a key id', () => {
    expect(() => createKmsPageSigner({ client: fakeKms(), keyId: '' })).toThrow(TypeError);
  });
});

describe('with the core paging check', () => {
  const signer = createKmsPageSigner({ client: fakeKms(), keyId: KEY_ARN });

  test('a link issued to a caller for a query is accepted for that caller and query only', async () => {
    // GET Observation?subject=Patient/pat-alice&_offset=20 — the link fhirgate issued to Alice
    const query = params('subject=Patient/pat-alice&_offset=20');
    const tag = await signer.sign(pageSignatureInput(alice, 'Observation', query));
    const signed = [...query, parseSearchParam('_fhirgate_page', tag)];
    await expect(checkPagingSignature(signer, alice, 'Observation', signed)).resolves.toHaveLength(2);
    // Bob replays Alice's link
    await expect(checkPagingSignature(signer, bob, 'Observation', signed)).rejects.toBeInstanceOf(AccessDeniedError);
    // Alice changes the cursor
    const moved = [...params('subject=Patient/pat-alice&_offset=40'), parseSearchParam('_fhirgate_page', tag)];
    await expect(checkPagingSignature(signer, alice, 'Observation', moved)).rejects.toBeInstanceOf(AccessDeniedError);
  });
});

describe('proxyConfigFromEnv: which paging key', () => {
  const base = {
    FHIRGATE_BACKEND_URL: 'https://healthlake.us-east-1.amazonaws.com/datastore/0123/r4',
    FHIRGATE_DISCOVERY: JSON.stringify({ issuer: 'https://issuer', tokenEndpoint: 'https://issuer/token', jwksUri: 'https://issuer/jwks.json', backendServices: false, clientSecrets: false, scopesSupported: [] }),
    FHIRGATE_SETTINGS: JSON.stringify(DEFAULT_SETTINGS),
  };

  test('a KMS key id wins (AWS: no secret in the environment)', () => {
    const config = proxyConfigFromEnv({ ...base, [PROXY_ENV.pagingKmsKeyId]: KEY_ARN, [PROXY_ENV.pagingKey]: randomBytes(32).toString('base64') });
    expect(config.paging).toEqual({ kind: 'kms', keyId: KEY_ARN });
  });

  test('otherwise the base64 key (local stack), at least 32 bytes', () => {
    const key = randomBytes(32);
    expect(proxyConfigFromEnv({ ...base, [PROXY_ENV.pagingKey]: key.toString('base64') }).paging).toEqual({ kind: 'hmac', key });
    expect(() => proxyConfigFromEnv({ ...base, [PROXY_ENV.pagingKey]: randomBytes(16).toString('base64') })).toThrow(/FHIRGATE_PAGING_KEY/);
  });

  test('neither is a configuration error naming the variable', () => {
    expect(() => proxyConfigFromEnv(base)).toThrow(/FHIRGATE_PAGING_KEY is required/);
  });
});
