/**
 * An in-process stand-in for the AWS KMS API at the SDK boundary: `send(command)` answers
 * `GetPublicKeyCommand` and `SignCommand` the way KMS does for an ECC_NIST_P256 / SIGN_VERIFY
 * key, from a real node:crypto P-256 key: SPKI DER public key, DER (X9.62) signatures.
 *
 * KMS signs a caller's DIGEST as is. node:crypto has no "sign this prehash" for ECDSA, so the
 * fake does the ECDSA step itself (textbook, RFC 6090 / SEC 1 §4.1.3) with BigInt over the key's
 * private scalar. Tests check the fake against node:crypto's verifier, so it cannot drift.
 */
import { createHash, createPublicKey, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand } from '@aws-sdk/client-kms';

// NIST P-256 (SEC 2 §2.4.2)
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const A = P - 3n;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};
type Point = { x: bigint; y: bigint } | null;

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, t0, t1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return mod(t0, m);
}
function add(p: Point, q: Point): Point {
  if (!p) return q;
  if (!q) return p;
  let slope: bigint;
  if (p.x === q.x) {
    if (mod(p.y + q.y, P) === 0n) return null;
    slope = mod((3n * p.x * p.x + A) * inverse(2n * p.y, P), P);
  } else {
    slope = mod((q.y - p.y) * inverse(q.x - p.x, P), P);
  }
  const x = mod(slope * slope - p.x - q.x, P);
  return { x, y: mod(slope * (p.x - x) - p.y, P) };
}
function multiply(k: bigint, point: Point): Point {
  let result: Point = null;
  for (let addend = point; k > 0n; k >>= 1n, addend = add(addend, addend)) if (k & 1n) result = add(result, addend);
  return result;
}
const toBig = (bytes: Uint8Array) => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);

/** DER INTEGER, minimal, with a 0x00 in front when the high bit is set. */
function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}
export function derSignature(r: bigint, s: bigint): Buffer {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** ECDSA over a 32-byte digest with private scalar d; DER, as KMS returns it. */
export function signDigest(d: bigint, digest: Uint8Array): Buffer {
  const z = toBig(digest); // 256-bit digest, 256-bit order: no truncation
  for (;;) {
    const k = mod(toBig(randomBytes(40)), N - 1n) + 1n;
    const r = mod(multiply(k, G)!.x, N);
    if (r === 0n) continue;
    const s = mod(inverse(k, N) * (z + r * d), N);
    if (s === 0n) continue;
    return derSignature(r, s);
  }
}

class KmsError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export interface FakeKms {
  readonly keyArn: string;
  readonly alias: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Every command sent, in order. */
  readonly calls: (GetPublicKeyCommand | SignCommand)[];
  /** Make the next calls fail like an outage. */
  failing: boolean;
  /** What GetPublicKey says about the key (a test may lie to see the adapter refuse). */
  keySpec: string;
  keyUsage: string;
  send(command: GetPublicKeyCommand | SignCommand): Promise<unknown>;
}

/** A fake KMS holding one ECC_NIST_P256 key, reachable by ARN or by alias. */
export function createFakeKms(privateKey: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey): FakeKms {
  const keyId = 'a1b2c3d4-5678-90ab-cdef-111122223333';
  const keyArn = `arn:aws:kms:us-east-1:123456789012:key/${keyId}`;
  const alias = 'alias/fhirgate-token-exchange';
  const d = toBig(Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'));
  const publicKey = createPublicKey(privateKey);
  const knows = (id: string | undefined) => id === keyArn || id === keyId || id === alias || id === `arn:aws:kms:us-east-1:123456789012:${alias}`;
  const fake: FakeKms = {
    keyArn,
    alias,
    privateKey,
    publicKey,
    calls: [],
    failing: false,
    keySpec: 'ECC_NIST_P256',
    keyUsage: 'SIGN_VERIFY',
    async send(command) {
      fake.calls.push(command);
      if (fake.failing) throw new KmsError('KMSInternalException', 'simulated outage');
      if (command instanceof GetPublicKeyCommand) {
        if (!knows(command.input.KeyId)) throw new KmsError('NotFoundException', 'key not found');
        return {
          KeyId: keyArn,
          PublicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
          KeySpec: fake.keySpec,
          KeyUsage: fake.keyUsage,
          SigningAlgorithms: ['ECDSA_SHA_256'],
        };
      }
      if (command instanceof SignCommand) {
        const { KeyId, Message, MessageType, SigningAlgorithm } = command.input;
        if (!knows(KeyId)) throw new KmsError('NotFoundException', 'key not found');
        if (SigningAlgorithm !== 'ECDSA_SHA_256') throw new KmsError('InvalidKeyUsageException', 'algorithm not supported by key');
        if (!(Message instanceof Uint8Array)) throw new KmsError('ValidationException', 'Message is required');
        let digest: Uint8Array;
        if (MessageType === 'DIGEST') {
          if (Message.length !== 32) throw new KmsError('ValidationException', 'Digest is invalid length for algorithm ECDSA_SHA_256.');
          digest = Message;
        } else {
          if (Message.length > 4096) throw new KmsError('ValidationException', 'Message exceeds 4096 bytes');
          digest = createHash('sha256').update(Message).digest();
        }
        return { KeyId: keyArn, Signature: new Uint8Array(signDigest(d, digest)), SigningAlgorithm };
      }
      throw new KmsError('UnsupportedOperationException', 'the fake implements GetPublicKey and Sign only');
    },
  };
  return fake;
}
