/**
 * functions/adapters/jws.ts: the one decode of a token and its one signature check. The
 * verifier's behaviour end to end (JWKS, claims, error codes) is in handler.test.ts; these cases
 * pin what the decode itself must refuse or strip, whatever the verifier does after it.
 */
import { createSign, generateKeyPairSync, KeyObject, sign as cryptoSign } from 'node:crypto';
import { JwtInvalidSignatureAlgorithmError, JwtParseError } from 'aws-jwt-verify/error';
import { decodeJws, verifyJwsSignature } from '../../functions/adapters/jws';

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function jwt(header: unknown, payload: unknown, signWith?: (input: string) => Buffer): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(typeof payload === 'string' ? payload : JSON.stringify(payload))}`;
  return `${input}.${b64url(signWith ? signWith(input) : 'sig')}`;
}
const rs256 = (key: KeyObject) => (input: string) => createSign('RSA-SHA256').update(input).sign(key);

describe('decodeJws refuses what is not a compact JWS with JSON object parts', () => {
  test.each([
    ['two parts', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0'],
    ['empty signature (alg none style)', `${b64url('{"alg":"none"}')}.${b64url('{}')}.`],
    ['base64 padding', `${b64url('{"alg":"RS256"}')}=.${b64url('{}')}.c2ln`],
    ['standard base64 characters', `${b64url('{"alg":"RS256"}')}.${Buffer.from('{"a":"??>"}').toString('base64')}.c2ln`],
    ['payload is an array', jwt({ alg: 'RS256' }, [1, 2])],
    ['payload is not JSON', jwt({ alg: 'RS256' }, 'not json')],
    ['header alg is a number', jwt({ alg: 256 }, {})],
    ['exp is a string', jwt({ alg: 'RS256' }, { exp: '9999999999' })],
    ['iss is a number', jwt({ alg: 'RS256' }, { iss: 1 })],
    ['aud holds a number', jwt({ alg: 'RS256' }, { aud: ['a', 1] })],
  ])('%s', (_name, token) => {
    expect(() => decodeJws(token)).toThrow(JwtParseError);
  });
});

test('decodeJws drops __proto__ and constructor keys at every depth (escaped spellings included), like aws-jwt-verify', () => {
  // JSON text: {"sub":"x","\u005f_proto__":{"admin":true},"act":{"sub":"c","constructor":{"prototype":{"admin":true}}},"list":[{"__proto__":{}}]}
  const payload = '{"sub":"x","\\u005f_proto__":{"admin":true},"act":{"sub":"c","constructor":{"prototype":{"admin":true}}},"list":[{"__proto__":{}}]}';
  const { payload: p } = decodeJws(jwt({ alg: 'RS256' }, payload));
  const own = (o: unknown) => Object.getOwnPropertyNames(o);
  expect(own(p).sort()).toEqual(['act', 'list', 'sub']);
  expect(own((p as Record<string, unknown>).act)).toEqual(['sub']);
  expect(own(((p as Record<string, unknown>).list as unknown[])[0])).toEqual([]);
  // And a copy made with assignment semantics cannot pick up a prototype from it.
  expect((Object.assign({}, p) as Record<string, unknown>).admin).toBeUndefined();
});

describe('verifyJwsSignature', () => {
  test('RS256: the right key verifies, another key or a changed payload does not', () => {
    const token = jwt({ alg: 'RS256' }, { sub: 'x' }, rs256(rsa.privateKey));
    expect(verifyJwsSignature(decodeJws(token), rsa.publicKey)).toBe(true);
    expect(verifyJwsSignature(decodeJws(token), generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)).toBe(false);
    const [h, , s] = token.split('.');
    expect(verifyJwsSignature(decodeJws(`${h}.${b64url('{"sub":"y"}')}.${s}`), rsa.publicKey)).toBe(false);
  });

  test('ES256 signatures are R || S (RFC 7518 §3.4), not DER', () => {
    const p1363 = jwt({ alg: 'ES256' }, { sub: 'x' }, (input) => cryptoSign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }));
    const der = jwt({ alg: 'ES256' }, { sub: 'x' }, (input) => cryptoSign('sha256', Buffer.from(input), ec.privateKey));
    expect(verifyJwsSignature(decodeJws(p1363), ec.publicKey)).toBe(true);
    expect(verifyJwsSignature(decodeJws(der), ec.publicKey)).toBe(false);
  });

  test.each(['none', 'HS256', 'PS256', undefined])('alg %s is refused before any key is used', (alg) => {
    const token = jwt(alg === undefined ? {} : { alg }, { sub: 'x' }, rs256(rsa.privateKey));
    expect(() => verifyJwsSignature(decodeJws(token), rsa.publicKey)).toThrow(JwtInvalidSignatureAlgorithmError);
  });
});

describe('what decodeJws shares between tokens cannot leak from one to the next', () => {
  test('a header decoded before is frozen: a caller cannot change what the next token with that header gets', () => {
    const token = jwt({ alg: 'RS256', kid: 'k1', x: { y: 1 } }, { sub: 'x' });
    const first = decodeJws(token).header as Record<string, unknown>;
    expect(Object.isFrozen(first) && Object.isFrozen(first.x)).toBe(true);
    expect(() => {
      'use strict';
      first.alg = 'none';
    }).toThrow(TypeError);
    expect(decodeJws(jwt({ alg: 'RS256', kid: 'k1', x: { y: 1 } }, { sub: 'y' })).header).toEqual({ alg: 'RS256', kid: 'k1', x: { y: 1 } });
  });

  test('signatures are checked against their own token, whatever was decoded in between', () => {
    const a = jwt({ alg: 'RS256' }, { sub: 'a' }, rs256(rsa.privateKey));
    const b = jwt({ alg: 'RS256' }, { sub: 'b'.repeat(5000) }, rs256(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey));
    const decodedA = decodeJws(a);
    const decodedB = decodeJws(b); // a longer token: the scratch buffer grows
    expect(verifyJwsSignature(decodedB, rsa.publicKey)).toBe(false);
    expect(verifyJwsSignature(decodedA, rsa.publicKey)).toBe(true);
    expect(decodedA.payload).toEqual({ sub: 'a' });
  });

  test('values that merely mention the prototype keys are kept as they are', () => {
    const { payload } = decodeJws(jwt({ alg: 'RS256' }, { note: 'constructor __proto__', path: 'a\\b' }));
    expect(payload).toEqual({ note: 'constructor __proto__', path: 'a\\b' });
  });
});
