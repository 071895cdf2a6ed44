/**
 * Test plumbing for SMART Backend Services clients: RS384 / ES384 key pairs from node:crypto,
 * client assertions signed with them (or deliberately wrong), and a client's JWKS served over
 * HTTP on 127.0.0.1 whose keys a test can rotate.
 */
import { createHmac, generateKeyPairSync, KeyObject, randomUUID, sign } from 'node:crypto';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CLIENT_ASSERTION_TYPE_JWT_BEARER, GRANT_TYPE_CLIENT_CREDENTIALS } from '../../functions/core/client-assertion';
import { form } from './support';

export interface ClientKey {
  readonly alg: 'RS384' | 'ES384';
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** A fresh RS384 (RSA 2048) or ES384 (P-384) key. */
export function clientKey(alg: 'RS384' | 'ES384', kid: string = randomUUID()): ClientKey {
  const pair = alg === 'RS384' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return { alg, kid, ...pair };
}

/** The public JWK as a client publishes it. */
export const publicJwk = (key: ClientKey): Record<string, unknown> => ({ ...key.publicKey.export({ format: 'jwk' }), kid: key.kid, alg: key.alg, use: 'sig' });

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Sign a compact JWS over any header and payload with `key`, by the header's `alg`: RS/ES 256 or
 * 384 with the private key, HS256 with the PUBLIC key's PEM as the HMAC secret (the classic
 * algorithm-confusion attack), anything else unsigned.
 */
export function signAssertion(key: ClientKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const h: Record<string, unknown> = { alg: key.alg, kid: key.kid, typ: 'JWT', ...header };
  for (const [k, v] of Object.entries(h)) if (v === undefined) delete h[k];
  const input = Buffer.from(`${b64(h)}.${b64(payload)}`);
  const alg = String(h.alg);
  let signature: Buffer;
  if (alg === 'HS256') signature = createHmac('sha256', key.publicKey.export({ format: 'pem', type: 'spki' })).update(input).digest();
  else if (/^(RS|ES)(256|384)$/.test(alg)) {
    const hash = `sha${alg.slice(2)}`;
    signature = key.alg === 'RS384' ? sign(hash, input, key.privateKey) : sign(hash, input, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  } else signature = Buffer.alloc(0);
  return `${input.toString()}.${signature.toString('base64url')}`;
}

/** SMART Backend Services assertion claims for `clientId` at `now` (seconds), with changes (`undefined` removes). */
export function assertionClaims(clientId: string, tokenUrl: string, now: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const claims: Record<string, unknown> = { iss: clientId, sub: clientId, aud: tokenUrl, exp: now + 60, jti: randomUUID(), ...extra };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  return claims;
}

/** The token request body a backend client sends. */
export function clientCredentialsForm(assertion: string, extra: [string, string][] = []): string {
  return form([
    ['grant_type', GRANT_TYPE_CLIENT_CREDENTIALS],
    ['client_assertion_type', CLIENT_ASSERTION_TYPE_JWT_BEARER],
    ['client_assertion', assertion],
    ...extra,
  ]);
}

export interface ClientJwksServer {
  readonly jwksUri: string;
  /** Keys published now; replace to rotate. */
  keys: ClientKey[];
  fetches: number;
  close(): Promise<void>;
}

/** Serve `/jwks.json` for a client on a free loopback port. */
export async function startClientJwksServer(keys: ClientKey[]): Promise<ClientJwksServer> {
  const server: Server = createServer((req, res) => {
    if (req.url !== '/jwks.json') return void res.writeHead(404).end();
    state.fetches += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys.map(publicJwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const state: ClientJwksServer = {
    jwksUri: `http://127.0.0.1:${port}/jwks.json`,
    keys,
    fetches: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return state;
}
