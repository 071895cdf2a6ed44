/**
 * The signing helpers: DER → JOSE r||s (RFC 7518 §3.4), the public JWK and its RFC 7638
 * thumbprint, and the local (in-memory) signer.
 */
import { createPublicKey, generateKeyPairSync, JsonWebKey, sign, verify } from 'node:crypto';
import { createLocalSigner } from '../../functions/token-exchange/local-signer';
import { derToJose, ecPublicJwk, jwkThumbprint, PublicSigningJwk } from '../../functions/token-exchange/signer';

const publicKeyOf = (jwk: PublicSigningJwk) => createPublicKey({ key: { ...jwk } as JsonWebKey, format: 'jwk' });
import { derSignature } from './fake-kms';

const hex32 = (h: string) => BigInt(`0x${h}`);

describe('derToJose', () => {
  test('round trip: 300 node:crypto DER signatures convert to r||s that verify as ieee-p1363', () => {
    // Over 300 signatures, r or s shorter than 32 bytes (leading zero) and longer (0x00 pad) both occur.
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const lengths = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const message = Buffer.from(`message ${i}`);
      const der = sign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
      lengths.add(der.length);
      const jose = derToJose(der);
      expect(jose).toHaveLength(64);
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose)).toBe(true);
    }
    expect(lengths.size).toBeGreaterThan(1);
  });

  test.each([
    ['both high bit set (0x00-padded in DER)', 'ff'.repeat(32), '80'.repeat(32)],
    ['r with leading zero bytes (short INTEGER)', `0000${'11'.repeat(30)}`, '22'.repeat(32)],
    ['s of one byte', '33'.repeat(32), `${'00'.repeat(31)}01`],
  ])('%s', (_name, r, s) => {
    const jose = derToJose(derSignature(hex32(r), hex32(s)));
    expect(Buffer.from(jose).toString('hex')).toBe(r + s);
  });

  const ok = derSignature(hex32('11'.repeat(32)), hex32('22'.repeat(32)));
  test.each([
    ['empty', Buffer.alloc(0)],
    ['not a SEQUENCE', Buffer.from([0x31, ...ok.subarray(1)])],
    ['length that lies', Buffer.from([0x30, ok[1]! + 1, ...ok.subarray(2)])],
    ['trailing bytes', Buffer.from([0x30, ok[1]! + 2, ...ok.subarray(2), 0x02, 0x00])],
    ['negative r', Buffer.from('3006020180020101', 'hex')],
    ['non-minimal r', Buffer.from('300702020001020101', 'hex')],
    ['zero r', Buffer.from('3006020100020101', 'hex')],
    ['r of 33 bytes without a sign pad', Buffer.from(`3026022101${'11'.repeat(32)}020101`, 'hex')],
    ['only one INTEGER', Buffer.from('30030201ff', 'hex')],
  ])('refuses %s', (_name, der) => {
    expect(() => derToJose(der)).toThrow(TypeError);
  });
});

describe('public JWK and kid', () => {
  test('P-256 public JWK with the RFC 7638 thumbprint as kid', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = ecPublicJwk(publicKey);
    expect(jwk).toEqual({ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: expect.any(String), alg: 'ES256', use: 'sig' });
    expect(jwk.kid).toBe(jwkThumbprint(jwk));
    expect(jwk.kid).toMatch(/^[A-Za-z0-9_-]{43}$/); // base64url SHA-256
    expect(publicKeyOf(jwk).export({ format: 'jwk' })).toMatchObject({ x: jwk.x, y: jwk.y });
  });

  test('RFC 7638 thumbprint input: required members only, sorted, no whitespace', () => {
    // Computed independently: sha256('{"crv":"P-256","kty":"EC","x":"AA","y":"BB"}')
    const { createHash } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const expected = createHash('sha256').update('{"crv":"P-256","kty":"EC","x":"AA","y":"BB"}').digest('base64url');
    expect(jwkThumbprint({ y: 'BB', x: 'AA', kty: 'EC', crv: 'P-256' } as never)).toBe(expected);
  });

  test.each([
    ['P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey],
    ['secp256k1', () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey],
    ['RSA', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey],
    ['Ed25519', () => generateKeyPairSync('ed25519').publicKey],
  ])('refuses a %s key', (_name, key) => {
    expect(() => ecPublicJwk(key())).toThrow(TypeError);
  });
});

describe('local signer', () => {
  test('signs ES256 r||s that verifies with its published JWK', async () => {
    const signer = createLocalSigner();
    const input = Buffer.from('header.payload');
    const signature = await signer.sign(input);
    expect(signature).toHaveLength(64);
    const jwk = await signer.publicJwk();
    expect(jwk.kid).toBe(signer.kid);
    expect(verify('sha256', input, { key: publicKeyOf(jwk), dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
  });

  test('each generated key has its own kid; a given key always the same', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(createLocalSigner(privateKey).kid).toBe(createLocalSigner(privateKey).kid);
    expect(createLocalSigner().kid).not.toBe(createLocalSigner().kid);
  });

  test('refuses a public key or another curve', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(() => createLocalSigner(publicKey)).toThrow(TypeError);
    expect(() => createLocalSigner(privateKey)).toThrow(TypeError);
  });
});
