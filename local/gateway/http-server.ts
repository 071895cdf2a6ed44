/**
 * The API Gateway emulation over HTTP on loopback: node:http in front of GatewayEmulator, with
 * the limits of the service it stands for
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html): the 10 MB payload
 * limit (→ 413) and a bound on how long a client may take to send its request. A client that
 * declares a body and stalls, or dribbles it, is answered 408 and its connection closed within
 * the integration timeout (29 s) instead of holding the socket forever. Node's own header limit
 * (16 KiB) answers 431.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { outcome } from '../../functions/core/operation-outcome';
import { GatewayEmulator, GatewayResponse, INTEGRATION_TIMEOUT_MS } from './gateway';

/** API Gateway REST payload limit. */
export const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export interface HttpGateway {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** What to serve, built once the listening address is known (the emulator needs its host name). */
export type GatewayFactory = (origin: { host: string; url: string }) => GatewayEmulator;

export interface HttpGatewayOptions {
  /** How long a client may take to send its whole request (headers and body). @default 29000 */
  readonly requestTimeoutMs?: number;
}

/** Serve the emulator on 127.0.0.1:port (0 = a free port). */
export async function startHttpGateway(port: number, build: GatewayFactory, options: HttpGatewayOptions = {}): Promise<HttpGateway> {
  const requestTimeoutMs = options.requestTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
  let gateway: GatewayEmulator | undefined;
  // Node checks its request deadlines every connectionsCheckingInterval (30 s by default): tighten it to the deadline.
  const server: Server = createServer({ connectionsCheckingInterval: Math.min(1000, requestTimeoutMs) }, (req, res) => {
    handle(gateway!, req, res).catch((err: unknown) => {
      send(res, { status: 500, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(outcome('ERR_DEPENDENCY_FAILED', 'gateway error')) });
      process.stderr.write(`gateway: ${err instanceof Error ? err.stack : String(err)}\n`);
    });
  });
  // Malformed requests and headers beyond Node's limit never reach a handler; answer them with
  // an OperationOutcome too instead of Node's empty default.
  // Node's own deadlines bound the whole request, headers and body: past them it raises
  // ERR_HTTP_REQUEST_TIMEOUT below, answered 408 with the connection closed (RFC 9110 §15.5.9).
  server.headersTimeout = requestTimeoutMs;
  server.requestTimeout = requestTimeoutMs;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return;
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.end(rawResponse('408 Request Timeout', outcome('ERR_DEPENDENCY_TIMEOUT', 'the request was not received in time')));
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(rawResponse(status, outcome('ERR_BAD_REQUEST', tooLarge ? 'request headers too large' : 'malformed HTTP request')));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const actual = (server.address() as AddressInfo).port;
  gateway = build({ host: `127.0.0.1:${actual}`, url: `http://127.0.0.1:${actual}` });
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(gateway: GatewayEmulator, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const body = await readBody(req);
  if (body === undefined) {
    send(res, { status: 413, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(outcome('ERR_PAYLOAD_TOO_LARGE', 'request body exceeds 10 MB')) });
    return;
  }
  const headers: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) (headers[req.rawHeaders[i]!.toLowerCase()] ??= []).push(req.rawHeaders[i + 1]!);
  let path: string;
  try {
    // API Gateway decodes the path before matching `{proxy+}`; so do we.
    path = decodeURIComponent(url.pathname);
  } catch {
    send(res, { status: 400, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(outcome('ERR_BAD_REQUEST', 'malformed percent-encoding in the path')) });
    return;
  }
  const response = await gateway.handle({
    method: req.method ?? 'GET',
    path,
    query: [...url.searchParams],
    headers,
    body: body.length > 0 ? body : undefined,
  });
  send(res, response);
}

/** The request body as text, or undefined when it exceeds the payload limit. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Past the limit the rest is read and dropped, so the 413 can still be sent on this socket.
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_PAYLOAD_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_PAYLOAD_BYTES ? undefined : Buffer.concat(chunks).toString('utf8');
}

function rawResponse(status: string, body: unknown): string {
  const text = JSON.stringify(body);
  return `HTTP/1.1 ${status}\r\ncontent-type: application/fhir+json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`;
}

function send(res: ServerResponse, response: GatewayResponse): void {
  if (res.headersSent) return;
  res.writeHead(response.status, response.headers);
  res.end(response.body);
}
