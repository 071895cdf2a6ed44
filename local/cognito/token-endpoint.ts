/**
 * The `client_credentials` grant that cognito-local lacks: a small node:http server shaped like
 * Cognito's `POST /oauth2/token` for machine clients (RFC 6749 §4.4). It runs beside cognito-local
 * on its own loopback port (cognito-local's own `/oauth2/token` keeps serving authorization_code
 * and refresh_token), reads clients from cognito-local (ClientDirectory), and signs with
 * cognito-local's key and issuer, so one trusted issuer and one JWKS cover user and machine
 * tokens, as with a real pool.
 *
 * A request travels: path → method → content type → body (≤ 64 KiB) → form → client credentials
 * → grant type → client authentication → client's allowed flows → scope → token.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { ClientDirectory } from './client-directory';
import { ClientCredentials, readClientCredentials, secretMatches } from './client-auth';
import { AUTHORIZE_PATH, LOGIN_PATH, ManagedLogin } from './managed-login';
import { OAuthError } from './oauth-error';
import { TokenSigner } from './signing-key';

export const TOKEN_PATH = '/oauth2/token';
/** Largest request body read; a token request is a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Past this much unread body the connection is dropped instead of drained. */
const MAX_DRAIN_BYTES = 1024 * 1024;

export interface TokenEndpointOptions {
  /** `iss` of every token: the user pool's issuer, `http://127.0.0.1:<port>/<userPoolId>`. */
  readonly issuer: string;
  readonly signer: TokenSigner;
  readonly clients: ClientDirectory;
  /** Port on 127.0.0.1. @default 0 (any free port) */
  readonly port?: number;
  /** Clock, epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Managed login (authorize page, sign-in, authorization_code grant). @default undefined: client_credentials only */
  readonly managedLogin?: ManagedLogin;
  /** Called with unexpected failures (a client lookup that errored). @default ignore */
  readonly onError?: (err: unknown) => void;
}

export interface TokenEndpoint {
  /** `http://127.0.0.1:<port>/oauth2/token` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** The body is text with its own content type (the managed login pages), not JSON. */
  readonly raw?: boolean;
}

/** Start the client_credentials endpoint on 127.0.0.1. */
export async function startTokenEndpoint(options: TokenEndpointOptions): Promise<TokenEndpoint> {
  const server: Server = createServer((req, res) => {
    serve(req, options).then(
      (reply) => send(res, reply),
      (err: unknown) => {
        options.onError?.(err);
        send(res, { status: 500, body: { error: 'server_error', error_description: 'the token endpoint failed' } });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${TOKEN_PATH}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(req: IncomingMessage, options: TokenEndpointOptions): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const path = url.pathname;
  if (options.managedLogin && (path === AUTHORIZE_PATH || path === LOGIN_PATH)) {
    const body = req.method === 'POST' ? await readBody(req) : (req.resume(), '');
    if (body === 'too-large') return { status: 413, body: { error: 'invalid_request', error_description: `request body exceeds ${MAX_BODY_BYTES} bytes` } };
    const page = await options.managedLogin.page(req.method ?? 'GET', path, url.searchParams, req.method === 'POST' ? new URLSearchParams(body) : undefined);
    return { status: page.status, body: page.body, headers: page.headers, raw: true };
  }
  if (path !== TOKEN_PATH) {
    req.resume();
    return { status: 404, body: { error: 'not_found', error_description: `no route ${path}` } };
  }
  if (req.method !== 'POST') {
    req.resume();
    return { status: 405, body: { error: 'invalid_request', error_description: 'the token endpoint accepts POST only' }, headers: { allow: 'POST' } };
  }
  const body = await readBody(req);
  if (body === 'too-large') {
    return { status: 413, body: { error: 'invalid_request', error_description: `request body exceeds ${MAX_BODY_BYTES} bytes` } };
  }
  try {
    return { status: 200, body: await issue(req, body, options) };
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    // RFC 6749 §5.2 / RFC 7617: the challenge names the scheme the client should use.
    const challenge = err.status === 401 ? { 'www-authenticate': 'Basic realm="oauth2/token", charset="UTF-8"' } : undefined;
    return { status: err.status, body: err.toJSON(), headers: challenge };
  }
}

/** RFC 6749 §4.4.2–4.4.3: authenticate the client and issue an access token, or throw OAuthError. */
async function issue(req: IncomingMessage, body: string, options: TokenEndpointOptions): Promise<Record<string, unknown>> {
  // §3.2: parameters are sent form-encoded; Cognito requires this content type.
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/x-www-form-urlencoded') {
    throw new OAuthError('invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
  }
  const form = new URLSearchParams(body);
  for (const name of new Set(form.keys())) {
    // §3.2: "Request and response parameters MUST NOT be included more than once."
    if (form.getAll(name).length > 1) throw new OAuthError('invalid_request', `parameter ${name} is repeated`);
  }
  const credentials = readClientCredentials(req.headers.authorization, form);

  const grantType = form.get('grant_type');
  if (grantType === null || grantType === '') throw new OAuthError('invalid_request', 'grant_type is required');
  if (grantType === 'authorization_code' && options.managedLogin) {
    return options.managedLogin.redeem(await authenticate(credentials, options.clients), form);
  }
  if (grantType !== 'client_credentials') {
    throw new OAuthError('unsupported_grant_type', `grant_type ${JSON.stringify(grantType)} is not supported here (client_credentials only)`);
  }

  const client = await authenticate(credentials, options.clients);
  if (!client.allowedOAuthFlows.includes('client_credentials')) {
    throw new OAuthError('unauthorized_client', 'the client is not allowed the client_credentials grant');
  }
  const scopes = grantedScopes(form.get('scope'), client.allowedScopes);

  const issuedAt = Math.floor((options.now ?? Date.now)() / 1000);
  // The claim set (and order) of a Cognito client_credentials access token. No `username`:
  // fhirgate tells machine tokens by `sub == client_id` and no `username` (core/principal.ts).
  const claims = {
    sub: client.clientId,
    token_use: 'access',
    scope: scopes.join(' '),
    auth_time: issuedAt,
    iss: options.issuer,
    exp: issuedAt + client.accessTokenSeconds,
    iat: issuedAt,
    version: 2,
    jti: randomUUID(),
    client_id: client.clientId,
  };
  // §5.1 successful response.
  return { access_token: options.signer.sign(claims), token_type: 'Bearer', expires_in: client.accessTokenSeconds };
}

/** Find the client and check its secret; any failure is the same invalid_client (no client oracle). */
async function authenticate(credentials: ClientCredentials, clients: ClientDirectory) {
  const client = await clients.find(credentials.clientId);
  // Compare even when there is nothing to compare against, so both failures take as long.
  const ok = secretMatches(credentials.clientSecret, client?.clientSecret ?? randomUUID()) && client?.clientSecret !== undefined;
  if (!client || !ok) throw new OAuthError('invalid_client', 'client authentication failed', { basic: credentials.method === 'basic' });
  return client;
}

/** §3.3: the requested scopes (space-delimited) must all be allowed; none requested = all allowed. */
function grantedScopes(requested: string | null, allowed: readonly string[]): string[] {
  const wanted = [...new Set((requested ?? '').split(' ').filter((s) => s !== ''))];
  if (wanted.length === 0) {
    if (allowed.length === 0) throw new OAuthError('invalid_scope', 'the client has no allowed scopes');
    return [...allowed];
  }
  const refused = wanted.filter((s) => !allowed.includes(s));
  if (refused.length > 0) throw new OAuthError('invalid_scope', `scope not allowed for this client: ${refused.join(' ')}`);
  return wanted;
}

/** The body as text, or 'too-large' past MAX_BODY_BYTES (drained up to a point, then dropped). */
function readBody(req: IncomingMessage): Promise<string | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_DRAIN_BYTES) {
      req.destroy();
      resolve('too-large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > MAX_DRAIN_BYTES) req.destroy();
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks).toString('utf8')));
    req.on('close', () => resolve('too-large')); // destroyed mid-body; no-op once 'end' resolved
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  if (reply.raw) {
    res.writeHead(reply.status, { ...reply.headers });
    res.end(String(reply.body));
    return;
  }
  res.writeHead(reply.status, {
    'content-type': 'application/json;charset=UTF-8',
    // §5.1: token responses (and their errors) must not be cached.
    'cache-control': 'no-store',
    pragma: 'no-cache',
    ...reply.headers,
  });
  res.end(JSON.stringify(reply.body));
}
