/**
 * The KMS adapter against an in-process fake of the KMS API at the SDK boundary (real P-256 key,
 * DER signatures as KMS returns them). The proof: a token signed through the adapter verifies with
 * aws-jwt-verify against the JWKS the token service publishes, fetched over HTTP on 127.0.0.1.
 */
import { createHash, verify } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { JwtVerifier } from 'aws-jwt-verify';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { LoopbackAwareFetcher } from '../../functions/adapters/jwks-fetcher';
import { createLoopbackVerifier } from '../support/loopback-verifier';
import { DependencyError } from '../../functions/core/errors';
import { createJwksHandler } from '../../functions/token-exchange/handler';
import { signAccessToken } from '../../functions/token-exchange/jwt';
import { createKmsSigner, KmsApi } from '../../functions/token-exchange/kms-signer';
import { createLocalSigner } from '../../functions/token-exchange/local-signer';
import { createFakeKms, FakeKms } from './fake-kms';
import { decodeJwt, startTokenServiceServer, TokenServiceServer } from './support';

const FHIR = 'https://api.example.test/prod/fhir';
let server: TokenServiceServer;
let kms: FakeKms;

beforeAll(async () => {
  server = await startTokenServiceServer();
});
afterAll(() => server.close());
beforeEach(() => {
  kms = createFakeKms();
});

const claims = () => {
  const now = Math.floor(Date.now() / 1000);
  return { iss: server.issuer, sub: 'u-alice', aud: FHIR, client_id: 'api-server', act: { sub: 'api-server' }, scope: 'patient/*.rs', patient: 'pat-alice', iat: now, exp: now + 300, jti: 'j-1' };
};

test('a token signed through KMS verifies with aws-jwt-verify against the published JWKS (HTTP)', async () => {
  const signer = await createKmsSigner({ client: kms, keyId: kms.alias });
  server.handler = createJwksHandler({ keys: [signer] });
  const token = await signAccessToken(signer, claims());
  expect(decodeJwt(token).header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: signer.kid });

  const verifier = JwtVerifier.create(
    { issuer: server.issuer, jwksUri: server.jwksUri, audience: FHIR },
    { jwksCache: new SimpleJwksCache({ fetcher: new LoopbackAwareFetcher() }) },
  );
  await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'u-alice', patient: 'pat-alice' });
  // And through the authorizer's verifier, as the fhirgate-exchange issuer.
  const authorizerVerifier = createLoopbackVerifier({ issuers: [{ kind: 'fhirgate-exchange', issuer: server.issuer, jwksUri: server.jwksUri, audience: FHIR }], clientIds: [] });
  await expect(authorizerVerifier.verifyToken(token)).resolves.toMatchObject({ issuer: { kind: 'fhirgate-exchange' }, claims: { act: { sub: 'api-server' } } });
  // A flipped signature bit does not verify.
  const [h, p, s] = token.split('.');
  const sig = Buffer.from(s!, 'base64url');
  sig[10]! ^= 1;
  await expect(verifier.verify(`${h}.${p}.${sig.toString('base64url')}`)).rejects.toThrow(/signature/i);
});

test('Sign gets the SHA-256 DIGEST of the signing input, ECDSA_SHA_256, and the key ARN (not the alias)', async () => {
  const signer = await createKmsSigner({ client: kms, keyId: kms.alias });
  const token = await signAccessToken(signer, claims());
  const signingInput = token.split('.').slice(0, 2).join('.');
  const signs = kms.calls.filter((c): c is SignCommand => c instanceof SignCommand);
  expect(signs).toHaveLength(1);
  expect(signs[0]!.input).toMatchObject({ KeyId: kms.keyArn, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' });
  expect(Buffer.from(signs[0]!.input.Message!)).toEqual(createHash('sha256').update(signingInput).digest());
  expect(verify('sha256', Buffer.from(signingInput), { key: kms.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(token.split('.')[2]!, 'base64url'))).toBe(true);
});

test('GetPublicKey is called once; the JWK is the KMS key, kid its RFC 7638 thumbprint (same as a local signer over that key)', async () => {
  const signer = await createKmsSigner({ client: kms, keyId: kms.keyArn });
  await signer.publicJwk();
  await signer.publicJwk();
  await signAccessToken(signer, claims());
  expect(kms.calls.filter((c) => c instanceof GetPublicKeyCommand)).toHaveLength(1);
  const local = createLocalSigner(kms.privateKey);
  expect(signer.kid).toBe(local.kid);
  expect(await signer.publicJwk()).toEqual(await local.publicJwk());
});

test('many signatures through the adapter all verify (short r/s are padded)', async () => {
  const signer = await createKmsSigner({ client: kms, keyId: kms.keyArn });
  const jwk = await signer.publicJwk();
  for (let i = 0; i < 40; i++) {
    const input = Buffer.from(`h.p${i}`);
    const sig = await signer.sign(input);
    expect(verify('sha256', input, { key: { ...jwk } as never, format: 'jwk', dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
  }
});

test.each([
  ['RSA key spec', (k: FakeKms) => (k.keySpec = 'RSA_2048')],
  ['P-384 key spec', (k: FakeKms) => (k.keySpec = 'ECC_NIST_P384')],
  ['encryption key', (k: FakeKms) => (k.keyUsage = 'ENCRYPT_DECRYPT')],
])('a key that is not ECC_NIST_P256/SIGN_VERIFY is refused at creation: %s', async (_name, spoil) => {
  spoil(kms);
  await expect(createKmsSigner({ client: kms, keyId: kms.keyArn })).rejects.toThrow(TypeError);
});

test('KMS failures are dependency failures, never a signature', async () => {
  const signer = await createKmsSigner({ client: kms, keyId: kms.keyArn });
  kms.failing = true;
  await expect(signer.sign(Buffer.from('x.y'))).rejects.toBeInstanceOf(DependencyError);
  await expect(createKmsSigner({ client: kms, keyId: kms.keyArn })).rejects.toBeInstanceOf(DependencyError);
  kms.failing = false;
  await expect(createKmsSigner({ client: kms, keyId: 'alias/unknown' })).rejects.toThrow(/KMS GetPublicKey failed \(NotFoundException\)/);
});

test('a real KMSClient fits the adapter type (no call made)', () => {
  const client: KmsApi = new KMSClient({ region: 'us-east-1' });
  expect(typeof client.send).toBe('function');
});
