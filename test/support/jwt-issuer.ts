/**
 * A test token issuer: RSA keys generated per run, a JWKS served over real HTTP on 127.0.0.1,
 * and a signer for Cognito-shaped access tokens (and deliberately broken ones).
 */
import { createServer, RequestListener, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import { createSign, generateKeyPairSync, KeyObject, randomUUID } from 'node:crypto';

export interface TestKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateRsaKey(kid: string = randomUUID()): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey };
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** Sign a JWT with RS256 (or write any header you like: `alg: none`, HS256, …). */
export function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key?: KeyObject): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  if (!key) return `${input}.`;
  const signer = createSign('RSA-SHA256');
  signer.update(input);
  return `${input}.${signer.sign(key).toString('base64url')}`;
}

export interface TestIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  /** Keys published in the JWKS (a test may add or replace keys to simulate rotation). */
  keys: TestKey[];
  /** How many times the JWKS was fetched. */
  fetches: number;
  /** Sign an access token with the first key unless another is given. */
  token(claims: Record<string, unknown>, options?: { key?: TestKey; header?: Record<string, unknown> }): string;
  close(): Promise<void>;
}

/**
 * Start a JWKS server on a free loopback port; the issuer URL is that server's base URL. Plain
 * HTTP unless `tls` is given (the Lambda entries fetch JWKS over HTTPS only).
 */
export async function startTestIssuer(path = '/local_pool', options: { tls?: { cert: string; key: string } } = {}): Promise<TestIssuer> {
  const listener: RequestListener = (req, res) => {
    if (req.url === `${path}/.well-known/jwks.json`) {
      state.fetches += 1;
      const keys = state.keys.map((k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, alg: 'RS256', use: 'sig' }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    } else {
      res.writeHead(404).end();
    }
  };
  const server: Server = options.tls ? createHttpsServer(options.tls, listener) : createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}${path}`;
  const state: TestIssuer = {
    issuer,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    keys: [generateRsaKey()],
    fetches: 0,
    token(claims, options = {}) {
      const key = options.key ?? state.keys[0]!;
      const now = Math.floor(Date.now() / 1000);
      const payload = { iss: issuer, iat: now, exp: now + 3600, token_use: 'access', jti: randomUUID(), ...claims };
      return signJwt({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...options.header }, payload, key.privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return state;
}
