/**
 * Test plumbing for the token service: API Gateway proxy events, and the service's routes served
 * over real HTTP on 127.0.0.1 so that the authorizer (aws-jwt-verify) fetches the JWKS the way it
 * does in AWS.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { ProxyHandler } from '../../functions/token-exchange/handler';

export interface EventOptions {
  method?: string;
  resource?: string;
  body?: string | null;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  query?: Record<string, string>;
  isBase64Encoded?: boolean;
}

/** An API Gateway REST proxy event for the token service. */
export function proxyEvent(options: EventOptions = {}): APIGatewayProxyEvent {
  const headers = options.headers ?? { 'Content-Type': 'application/x-www-form-urlencoded' };
  const resource = options.resource ?? '/auth/token';
  return {
    resource,
    path: resource,
    httpMethod: options.method ?? 'POST',
    headers,
    multiValueHeaders: options.multiValueHeaders ?? Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: options.query ? Object.fromEntries(Object.entries(options.query).map(([k, v]) => [k, [v]])) : null,
    pathParameters: null,
    stageVariables: null,
    body: options.body === undefined ? null : options.body,
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

/** A form body from name/value pairs (repeats allowed, in order). */
export const form = (pairs: [string, string][]) => new URLSearchParams(pairs).toString();

/** Parse a proxy result's JSON body. */
export const bodyOf = (r: APIGatewayProxyResult) => JSON.parse(r.body) as Record<string, any>;

/** Decode a compact JWT without verifying it (to look at what was issued). */
export function decodeJwt(token: string): { header: Record<string, any>; payload: Record<string, any> } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}

export interface TokenServiceServer {
  /** `http://127.0.0.1:<port>/auth`: the exchange issuer. */
  readonly issuer: string;
  readonly jwksUri: string;
  /** Set once the handler exists (its policy needs the issuer URL first). */
  handler: ProxyHandler | undefined;
  jwksFetches: number;
  close(): Promise<void>;
}

/** Serve `/auth/*` over HTTP by calling the handler with the event API Gateway would build. */
export async function startTokenServiceServer(): Promise<TokenServiceServer> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path === '/auth/jwks.json') state.jwksFetches += 1;
      if (!state.handler) return void res.writeHead(503).end();
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      state
        .handler(proxyEvent({ method: req.method, resource: path, headers, body: chunks.length ? Buffer.concat(chunks).toString('utf8') : null }))
        .then((r) => res.writeHead(r.statusCode, r.headers as Record<string, string>).end(r.body))
        .catch(() => res.writeHead(500).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}/auth`;
  const state: TokenServiceServer = {
    issuer,
    jwksUri: `${issuer}/jwks.json`,
    handler: undefined,
    jwksFetches: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return state;
}
