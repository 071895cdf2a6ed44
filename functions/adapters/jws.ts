/**
 * A compact JWS, decoded once and verified with one `crypto.verify` call. The token is read a
 * single time per request: the issuer is picked from the decoded payload, the same decoded
 * header and payload are checked and returned.
 *
 * The checks mirror aws-jwt-verify's own (`decomposeUnverifiedJwt`'s header/payload shape
 * assertions and its prototype-safe parse; `verifyDecomposedJwtSync`'s signature step); the
 * JWKS, the JWK checks and the claim checks stay aws-jwt-verify's (verifier.ts). It exists because
 * aws-jwt-verify's per-call decode (a reviver on every JSON value) and streaming `createVerify`
 * cost about half again the RSA work itself (bench: `npm run bench -- --only hot --profile DIR`).
 */
import { KeyObject, verify as cryptoVerify } from 'node:crypto';
import { JwtInvalidSignatureAlgorithmError, JwtParseError } from 'aws-jwt-verify/error';
import type { JwtHeader, JwtPayload } from 'aws-jwt-verify/jwt-model';

export interface DecodedJws {
  readonly header: JwtHeader;
  readonly payload: JwtPayload;
  /** The compact serialization, checked: its bytes up to the last `.` are what the signature covers (RFC 7515 §5.2). */
  readonly compact: string;
  /** Index of the last `.`: `compact.slice(0, signatureDot)` is the signing input, the rest the base64url signature. */
  readonly signatureDot: number;
}

/** Three base64url parts; padding is not allowed in a compact JWS (RFC 7515 §2, §7.1). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Decode a compact JWS without verifying it; throws JwtParseError. Trust nothing in it yet. */
export function decodeJws(token: string): DecodedJws {
  if (!COMPACT_JWS.test(token)) throw new JwtParseError('token is not a compact JWS (three base64url parts)');
  const dot1 = token.indexOf('.');
  const dot2 = token.lastIndexOf('.');
  const header = headerOf(token.slice(0, dot1));
  const payload = jsonObject(token.slice(dot1 + 1, dot2), 'payload');
  assertPayloadShape(payload);
  return { header, payload: payload as JwtPayload, compact: token, signatureDot: dot2 };
}

/**
 * Bytes decoded or verified inside one synchronous call and never kept: the payload's JSON text,
 * the signing input and the signature. Fresh Buffers for them came from Node's 8 KiB pool, which
 * a request used up every few calls; allocating a pool and collecting it cost the verifier about
 * a microsecond per token on top of the copies (bench: raw verify on reused vs fresh buffers).
 * Nothing awaits between writing the scratch and reading it, so requests cannot interleave here.
 */
let scratch = Buffer.allocUnsafeSlow(8192);

function scratchOf(bytes: number): Buffer {
  if (scratch.length < bytes) scratch = Buffer.allocUnsafeSlow(bytes);
  return scratch;
}

/**
 * Decoded headers by their base64url text. An issuer's tokens share one header (`alg`, `kid`,
 * `typ`), so it is parsed once per key rather than once per request. The entries are frozen
 * (nobody can change what the next token gets) and the map is bounded: headers sprayed by a
 * client only ever cost a parse, as without the map.
 */
const headers = new Map<string, JwtHeader>();
const MAX_HEADERS = 64;

function headerOf(b64url: string): JwtHeader {
  let header = headers.get(b64url);
  if (header) return header;
  const parsed = jsonObject(b64url, 'header');
  if (parsed.alg !== undefined && typeof parsed.alg !== 'string') throw new JwtParseError('JWT header alg claim is not a string');
  if (parsed.kid !== undefined && typeof parsed.kid !== 'string') throw new JwtParseError('JWT header kid claim is not a string');
  header = deepFreeze(parsed) as JwtHeader;
  if (headers.size >= MAX_HEADERS) headers.clear();
  headers.set(b64url, header);
  return header;
}

function deepFreeze(value: object): object {
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (typeof item === 'object' && item !== null) deepFreeze(item);
  }
  return Object.freeze(value);
}

/** Node's digest and signature encoding per JWA alg (RFC 7518 §3.1); anything else is refused. */
const ALGORITHMS: ReadonlyMap<string, { readonly digest: string | null; readonly dsaEncoding?: 'ieee-p1363' }> = new Map([
  ['RS256', { digest: 'sha256' }],
  ['RS384', { digest: 'sha384' }],
  ['RS512', { digest: 'sha512' }],
  // JWS ECDSA signatures are R || S (RFC 7518 §3.4), not DER.
  ['ES256', { digest: 'sha256', dsaEncoding: 'ieee-p1363' }],
  ['ES384', { digest: 'sha384', dsaEncoding: 'ieee-p1363' }],
  ['ES512', { digest: 'sha512', dsaEncoding: 'ieee-p1363' }],
  ['EdDSA', { digest: null }],
] as const);

/** True when the signature verifies with `key` under the header's `alg` (checked against the JWK by the caller). */
export function verifyJwsSignature(jws: DecodedJws, key: KeyObject): boolean {
  const alg = jws.header.alg;
  const spec = typeof alg === 'string' ? ALGORITHMS.get(alg) : undefined;
  if (!spec) throw new JwtInvalidSignatureAlgorithmError('JWT signature algorithm not allowed', alg, [...ALGORITHMS.keys()]);
  const { compact, signatureDot: dot } = jws;
  // The signing input as its ASCII bytes, then the decoded signature right after it (a base64url
  // text decodes to fewer bytes than it has characters, so the token's length is room enough).
  const bytes = scratchOf(compact.length);
  bytes.write(compact.slice(0, dot), 0, dot, 'latin1');
  const signatureBytes = bytes.write(compact.slice(dot + 1), dot, compact.length - dot, 'base64url');
  const signingInput = bytes.subarray(0, dot);
  const signature = bytes.subarray(dot, dot + signatureBytes);
  return cryptoVerify(spec.digest, signingInput, spec.dsaEncoding ? { key, dsaEncoding: spec.dsaEncoding } : key, signature);
}

function jsonObject(b64url: string, part: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  let text: string;
  try {
    const bytes = scratchOf(b64url.length);
    text = bytes.toString('utf8', 0, bytes.write(b64url, 0, b64url.length, 'base64url'));
    value = JSON.parse(text);
  } catch (err) {
    throw new JwtParseError(`Invalid JWT. ${part === 'header' ? 'Header' : 'Payload'} is not a valid JSON object`, err);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JwtParseError(`JWT ${part} is not an object`);
  // Only a text that spells one of the two keys, or escapes anything (`\u005f_proto__`), can hold them.
  if (text.includes('\\') || text.includes('__proto__') || text.includes('constructor')) withoutPrototypeKeys(value);
  return value as Record<string, unknown>;
}

/**
 * JSON.parse makes `__proto__` an own key, harmless until someone copies it with assignment
 * semantics (Object.assign, a naive merge) and swaps a prototype. Like aws-jwt-verify's
 * `safeJsonParse`, drop `__proto__` and `constructor` at every depth; a walk after one plain
 * parse costs a fraction of a reviver called on every value.
 */
function withoutPrototypeKeys(value: object): void {
  if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'object' && item !== null) withoutPrototypeKeys(item);
    return;
  }
  if (Object.prototype.hasOwnProperty.call(value, '__proto__')) Reflect.deleteProperty(value, '__proto__');
  if (Object.prototype.hasOwnProperty.call(value, 'constructor')) Reflect.deleteProperty(value, 'constructor');
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (typeof item === 'object' && item !== null) withoutPrototypeKeys(item);
  }
}

function bad(claim: string, what: string): JwtParseError {
  return new JwtParseError(`JWT payload ${claim} claim is not ${what}`);
}

/** aws-jwt-verify's payload shape checks (jwt.ts `assertJwtPayload`): registered claims have their JSON types. */
function assertPayloadShape(p: Record<string, unknown>): void {
  for (const claim of ['exp', 'nbf', 'iat']) if (p[claim] !== undefined && !Number.isFinite(p[claim])) throw bad(claim, 'a number');
  for (const claim of ['iss', 'sub', 'scope', 'jti']) if (p[claim] !== undefined && typeof p[claim] !== 'string') throw bad(claim, 'a string');
  const aud = p.aud;
  if (aud !== undefined && typeof aud !== 'string' && (!Array.isArray(aud) || aud.some((a) => typeof a !== 'string'))) {
    throw bad('aud', 'a string or array of strings');
  }
}
