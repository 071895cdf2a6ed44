/**
 * The FHIR backend client against real HTTP servers on 127.0.0.1 (free ports): what reaches the
 * backend (allow-listed headers only, URLs only under the base, SigV4 that a verifier accepts)
 * and how every failure fails closed (504 timeout, 502 unreachable / reset / redirect / oversize).
 */
import { createHash } from 'node:crypto';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHttpBackend, createSigV4Signer, type FhirBackend, type HttpRequestFn } from '../../functions/fhir-proxy/backend';
import { DependencyError } from '../../functions/core/errors';

interface Seen {
  readonly method: string;
  /** Raw request target, exactly as it arrived. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

interface TestServer {
  readonly origin: string;
  readonly seen: Seen[];
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

const servers: TestServer[] = [];

/** An HTTP server on a free loopback port that records each request it receives. */
async function startServer(handler: Handler): Promise<TestServer> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const s: TestServer = {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/fhir+json', ...headers });
  res.end(JSON.stringify(body));
}

const echoOk: Handler = (_req, res) => json(res, 200, { resourceType: 'Bundle', type: 'searchset' });

/** A port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Headers the HTTP client itself adds on the wire; anything else the server sees must come from the allow-list. */
const TRANSPORT_HEADERS = ['host', 'connection', 'content-length', 'transfer-encoding', 'user-agent', 'accept-encoding', 'accept-language', 'sec-fetch-mode'];
const ALLOWED_HEADERS = ['accept', 'content-type', 'if-match', 'if-none-exist', 'if-none-match', 'if-modified-since', 'prefer'];

/** Everything a client, a proxy in front, or an attacker might try to pass on. */
const HOSTILE_HEADERS = {
  Authorization: 'Bearer caller-token',
  'X-Forwarded-For': '10.0.0.1',
  'X-Forwarded-Host': 'evil.example',
  'X-On-Behalf-Of': 'Patient/other',
  'X-Authorization-Patient': 'Patient/other',
  Cookie: 'session=abc',
  'X-Amz-Security-Token': 'stolen',
  'X-Amz-Date': '20000101T000000Z',
  Host: 'evil.example',
  'X-Custom-Trusted': 'yes',
};

describe('what reaches the backend', () => {
  test('forwards method, path, query and body; only allow-listed headers arrive', async () => {
    const srv = await startServer((_req, res) => json(res, 201, { resourceType: 'Observation', id: 'obs-1' }));
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir` });
    const body = JSON.stringify({ resourceType: 'Observation', status: 'final', subject: { reference: 'Patient/pat-1' } });

    // POST /fhir/Observation with a conditional create and every hostile header
    const res = await backend.send({
      method: 'POST',
      path: 'Observation',
      headers: {
        ...HOSTILE_HEADERS,
        'Content-Type': 'application/fhir+json; charset=utf-8',
        'If-None-Exist': 'identifier=http://acme.org|123',
        Prefer: 'return=representation',
      },
      body,
    });

    expect(res.status).toBe(201);
    expect(JSON.parse(res.body)).toEqual({ resourceType: 'Observation', id: 'obs-1' });
    expect(srv.seen).toHaveLength(1);
    const [seen] = srv.seen;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/fhir/Observation');
    expect(seen.body).toBe(body);
    expect(seen.headers['content-type']).toBe('application/fhir+json');
    expect(seen.headers['if-none-exist']).toBe('identifier=http://acme.org|123');
    expect(seen.headers.prefer).toBe('return=representation');
    for (const name of ['authorization', 'x-forwarded-for', 'x-forwarded-host', 'x-on-behalf-of', 'x-authorization-patient', 'cookie', 'x-amz-security-token', 'x-amz-date', 'x-custom-trusted']) {
      expect(seen.headers[name]).toBeUndefined();
    }
    expect(seen.headers.host).toBe(new URL(srv.origin).host);
    for (const name of Object.keys(seen.headers)) expect([...ALLOWED_HEADERS, ...TRANSPORT_HEADERS]).toContain(name);
  });

  test('a search leaves as POST [type]/_search: parameters in the form body with the same meaning, one canonical encoding, nothing in the URL', async () => {
    const srv = await startServer(echoOk);
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir` });

    // GET Observation?subject=Patient%2Fpat-1&code=http://loinc.org|8867-4&code:text=heart+rate&date=ge2020-01-01T00:00:00%2B00:00&_count=10
    await backend.send({
      method: 'GET',
      path: 'Observation?subject=Patient%2Fpat-1&code=http://loinc.org|8867-4&code:text=heart+rate&date=ge2020-01-01T00:00:00%2B00:00&_count=10',
      headers: { 'If-None-Match': 'W/"3"' },
    });

    const [seen] = srv.seen;
    expect(seen.method).toBe('POST');
    // No patient reference or search value in the URL (HealthLake: PHI searches go by POST).
    expect(seen.url).toBe('/fhir/Observation/_search');
    expect(seen.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen.body).toBe(
      'subject=Patient%2Fpat-1&code=http%3A%2F%2Floinc.org%7C8867-4&code%3Atext=heart%20rate&date=ge2020-01-01T00%3A00%3A00%2B00%3A00&_count=10',
    );
    expect([...new URLSearchParams(seen.body)]).toEqual([
      ['subject', 'Patient/pat-1'],
      ['code', 'http://loinc.org|8867-4'],
      ['code:text', 'heart rate'],
      ['date', 'ge2020-01-01T00:00:00+00:00'],
      ['_count', '10'],
    ]);
    expect(seen.headers['if-none-match']).toBe('W/"3"');
  });

  test('system search becomes POST _search at the base; reads, history, $everything and queryless GETs keep GET', async () => {
    const srv = await startServer(echoOk);
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir` });
    // GET ?_type=Patient,Observation&_id=pat-1
    await backend.send({ method: 'GET', path: '?_type=Patient,Observation&_id=pat-1' });
    await backend.send({ method: 'GET', path: 'Observation' });
    await backend.send({ method: 'GET', path: 'Patient/pat-1' });
    await backend.send({ method: 'GET', path: 'Patient/pat-1/_history?_count=5' });
    await backend.send({ method: 'GET', path: 'Patient/pat-1/$everything?_count=5' });
    await backend.send({ method: 'GET', path: 'Observation/_history?_count=5' });
    expect(srv.seen.map((s) => [s.method, s.url, s.body])).toEqual([
      ['POST', '/fhir/_search', '_type=Patient%2CObservation&_id=pat-1'],
      ['GET', '/fhir/Observation', ''],
      ['GET', '/fhir/Patient/pat-1', ''],
      ['GET', '/fhir/Patient/pat-1/_history?_count=5', ''],
      ['GET', '/fhir/Patient/pat-1/$everything?_count=5', ''],
      ['GET', '/fhir/Observation/_history?_count=5', ''],
    ]);
  });

  test('accept is always application/fhir+json, whatever the caller asked for', async () => {
    const srv = await startServer(echoOk);
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir` });
    await backend.send({ method: 'GET', path: 'Patient/pat-1', headers: { Accept: 'application/fhir+xml' } });
    await backend.send({ method: 'GET', path: 'Patient/pat-1', headers: { accept: 'text/html' } });
    await backend.send({ method: 'GET', path: 'Patient/pat-1' });
    expect(srv.seen.map((s) => s.headers.accept)).toEqual(['application/fhir+json', 'application/fhir+json', 'application/fhir+json']);
  });

  test('content-type only with a body, and only the four media types the PEP can inspect', async () => {
    const srv = await startServer(echoOk);
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir` });

    // GET with a content-type: dropped
    await backend.send({ method: 'GET', path: 'Patient/pat-1', headers: { 'Content-Type': 'application/fhir+json' } });
    expect(srv.seen[0].headers['content-type']).toBeUndefined();

    // POST Observation/_search as a form; PATCH as JSON Patch; a body without a type is FHIR JSON
    await backend.send({ method: 'POST', path: 'Observation/_search', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'subject=Patient%2Fpat-1' });
    await backend.send({ method: 'PATCH', path: 'Patient/pat-1', headers: { 'content-type': 'application/json-patch+json' }, body: '[]' });
    await backend.send({ method: 'PUT', path: 'Patient/pat-1', body: '{}' });
    expect(srv.seen.slice(1).map((s) => [s.method, s.url, s.headers['content-type'], s.body])).toEqual([
      ['POST', '/fhir/Observation/_search', 'application/x-www-form-urlencoded', 'subject=Patient%2Fpat-1'],
      ['PATCH', '/fhir/Patient/pat-1', 'application/json-patch+json', '[]'],
      ['PUT', '/fhir/Patient/pat-1', 'application/fhir+json', '{}'],
    ]);

    // any other body type is a bug in the proxy, never forwarded
    for (const type of ['application/fhir+xml', 'text/plain', 'multipart/form-data; boundary=x', 'application/json, text/xml']) {
      await expect(backend.send({ method: 'POST', path: 'Patient', headers: { 'Content-Type': type }, body: '{}' })).rejects.toThrow(TypeError);
    }
    // a body on GET
    await expect(backend.send({ method: 'GET', path: 'Patient', body: '{}' })).rejects.toThrow(TypeError);
    // a header value that would split the request
    await expect(backend.send({ method: 'GET', path: 'Patient', headers: { prefer: 'x\r\nAuthorization: Bearer t' } })).rejects.toThrow(TypeError);
    expect(srv.seen).toHaveLength(4);
  });

  test("'' addresses the base itself (batch / transaction)", async () => {
    const srv = await startServer(echoOk);
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir/` });
    expect(backend.baseUrl).toBe(`${srv.origin}/fhir`);
    await backend.send({ method: 'POST', path: '', body: '{"resourceType":"Bundle","type":"transaction"}' });
    expect(srv.seen[0].url).toBe('/fhir/');
  });
});

describe('what the backend answers', () => {
  test('4xx and 5xx are returned as responses, not thrown; header names lower-cased', async () => {
    const outcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] };
    const srv = await startServer((req, res) => {
      if (req.url === '/fhir/Patient/missing') json(res, 404, outcome, { 'X-Request-Id': 'r-1' });
      else if (req.url === '/fhir/Patient/stale') json(res, 412, outcome);
      else json(res, 500, outcome);
    });
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir` });

    const notFound = await backend.send({ method: 'GET', path: 'Patient/missing' });
    expect(notFound.status).toBe(404);
    expect(JSON.parse(notFound.body)).toEqual(outcome);
    expect(notFound.headers['x-request-id']).toBe('r-1');
    expect(notFound.headers['content-type']).toBe('application/fhir+json');
    expect((await backend.send({ method: 'PUT', path: 'Patient/stale', headers: { 'If-Match': 'W/"1"' }, body: '{}' })).status).toBe(412);
    expect((await backend.send({ method: 'DELETE', path: 'Patient/boom' })).status).toBe(500);
  });

  test('304 Not Modified is an answer to a conditional read, not a redirect', async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(304, { ETag: 'W/"3"' });
      res.end();
    });
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir` });
    const res = await backend.send({ method: 'GET', path: 'Patient/pat-1', headers: { 'If-None-Match': 'W/"3"' } });
    expect(res).toEqual({ status: 304, headers: expect.objectContaining({ etag: 'W/"3"' }), body: '' });
  });

  test('the body is UTF-8 text; gzip is undone and the encoding headers that described it removed', async () => {
    const { gzipSync } = await import('node:zlib');
    const text = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Müller-Łukasiewicz', given: ['Zoë'] }] });
    const srv = await startServer((_req, res) => {
      const gz = gzipSync(Buffer.from(text, 'utf8'));
      res.writeHead(200, { 'Content-Type': 'application/fhir+json', 'Content-Encoding': 'gzip', 'Content-Length': String(gz.length) });
      res.end(gz);
    });
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir` });
    const res = await backend.send({ method: 'GET', path: 'Patient/pat-1' });
    expect(res.body).toBe(text);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers['content-length']).toBeUndefined();
  });
});

describe('failures fail closed', () => {
  test('a backend that never answers → 504 ERR_DEPENDENCY_TIMEOUT after about timeoutMs', async () => {
    const srv = await startServer(() => undefined); // reads the request, never responds
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir`, timeoutMs: 200 });
    const started = Date.now();
    const err = await rejection(backend.send({ method: 'GET', path: 'Patient/pat-1' }));
    expect(err).toBeInstanceOf(DependencyError);
    expect(err).toMatchObject({ code: 'ERR_DEPENDENCY_TIMEOUT', status: 504, message: 'FHIR backend timed out' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('a backend that stalls mid-body → 504 too: the deadline covers the whole exchange', async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/fhir+json', 'Content-Length': '1000' });
      res.write('{"resourceType":"Bundle",'); // and nothing more
    });
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir`, timeoutMs: 200 });
    await expect(backend.send({ method: 'GET', path: 'Observation' })).rejects.toMatchObject({ code: 'ERR_DEPENDENCY_TIMEOUT', status: 504 });
  });

  test('connection refused → 502 ERR_DEPENDENCY_FAILED "FHIR backend unreachable"', async () => {
    const port = await closedPort();
    const backend = createHttpBackend({ baseUrl: `http://127.0.0.1:${port}/fhir` });
    const err = await rejection(backend.send({ method: 'GET', path: 'Patient/pat-1' }));
    expect(err).toBeInstanceOf(DependencyError);
    expect(err).toMatchObject({ code: 'ERR_DEPENDENCY_FAILED', status: 502, message: 'FHIR backend unreachable', evidence: { actual: 'ECONNREFUSED' } });
  });

  test('unknown host (DNS) → 502 "FHIR backend unreachable"', async () => {
    const backend = createHttpBackend({ baseUrl: 'http://fhirgate-backend.invalid/fhir', timeoutMs: 5000 });
    await expect(backend.send({ method: 'GET', path: 'Patient/pat-1' })).rejects.toMatchObject({
      code: 'ERR_DEPENDENCY_FAILED',
      status: 502,
      message: 'FHIR backend unreachable',
    });
  });

  test('connection reset mid-response → 502, and the partial body is not in the message', async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/fhir+json', 'Content-Length': '5000' });
      res.write('{"resourceType":"Patient","name":"SECRET-PHI"', () => res.socket?.destroy());
    });
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir` });
    const err = await rejection(backend.send({ method: 'GET', path: 'Patient/pat-1' }));
    expect(err).toMatchObject({ code: 'ERR_DEPENDENCY_FAILED', status: 502, message: 'FHIR backend unreachable' });
    expect(JSON.stringify(err)).not.toContain('SECRET-PHI');
  });

  test('a redirect → 502 "backend redirected", never followed', async () => {
    const elsewhere = await startServer(echoOk);
    for (const status of [301, 302, 303, 307, 308]) {
      const srv = await startServer((_req, res) => {
        res.writeHead(status, { Location: `${elsewhere.origin}/steal` });
        res.end('moved');
      });
      const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir` });
      const err = await rejection(backend.send({ method: 'POST', path: 'Patient', body: '{}' }));
      expect(err).toMatchObject({ code: 'ERR_DEPENDENCY_FAILED', status: 502, message: 'backend redirected' });
    }
    expect(elsewhere.seen).toHaveLength(0);
  });

  test('a credential provider that fails → 502, nothing sent', async () => {
    const srv = await startServer(echoOk);
    const signer = createSigV4Signer({
      region: 'us-east-1',
      credentials: async () => {
        throw new Error('Could not load credentials from any providers');
      },
    });
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir`, signer });
    await expect(backend.send({ method: 'GET', path: 'Patient/pat-1' })).rejects.toMatchObject({
      code: 'ERR_DEPENDENCY_FAILED',
      status: 502,
      message: 'FHIR backend request signing failed',
    });
    expect(srv.seen).toHaveLength(0);
  });
});

describe('oversized responses: 502 and the client stops reading', () => {
  const MiB = 1024 * 1024;

  // Kernel socket buffers absorb a few MiB whatever the client does, so "stopped reading" is shown
  // by the endless stream (only a hang-up ends it) and by the counted synthetic stream below.
  test('server streams 5 MiB, cap 1 MiB → 502 "backend response too large"', async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/fhir+json' }); // chunked: no length to pre-check
      const chunk = Buffer.alloc(64 * 1024, 'a');
      let written = 0;
      const pump = (): void => {
        while (written < 5 * MiB && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      pump();
    });
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir`, maxResponseBytes: MiB });
    const err = await rejection(backend.send({ method: 'GET', path: 'Observation' }));
    expect(err).toBeInstanceOf(DependencyError);
    expect(err).toMatchObject({ code: 'ERR_DEPENDENCY_FAILED', status: 502, message: 'backend response too large' });
  });

  test('an endless body still ends: the connection is dropped at the cap', async () => {
    let closed!: Promise<void>;
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/fhir+json' });
      closed = new Promise((resolve) => res.on('close', () => resolve()));
      const chunk = Buffer.alloc(64 * 1024, 'b');
      const pump = (): void => {
        while (!res.destroyed) if (!res.write(chunk)) return void res.once('drain', pump);
      };
      pump();
    });
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir`, maxResponseBytes: MiB, timeoutMs: 20_000 });
    await expect(backend.send({ method: 'GET', path: 'Observation' })).rejects.toMatchObject({ message: 'backend response too large' });
    await closed; // would never resolve if the client kept reading
  });

  test('reads at most one chunk past the cap, then destroys the stream', async () => {
    const chunkSize = 64 * 1024;
    let pulled = 0;
    const res = serverStream(200, { 'content-type': 'application/fhir+json' }, () => {
      pulled += chunkSize;
      return Buffer.alloc(chunkSize, 0x61);
    });
    const backend = createHttpBackend({ baseUrl: 'http://fhir.internal/fhir', maxResponseBytes: MiB, request: answering(res) });
    await expect(backend.send({ method: 'GET', path: 'Observation' })).rejects.toMatchObject({ status: 502, message: 'backend response too large' });
    expect(res.destroyed).toBe(true);
    expect(pulled).toBeLessThanOrEqual(MiB + 2 * chunkSize);
  });

  test('a declared content-length over the cap fails before reading a byte', async () => {
    let pulled = 0;
    const res = serverStream(200, { 'content-length': String(50 * MiB) }, () => {
      pulled += 1;
      return Buffer.alloc(1024);
    });
    const backend = createHttpBackend({ baseUrl: 'http://fhir.internal/fhir', maxResponseBytes: MiB, request: answering(res) });
    await expect(backend.send({ method: 'GET', path: 'Observation' })).rejects.toMatchObject({ status: 502, message: 'backend response too large' });
    expect(pulled).toBe(0);
  });

  test('a body in an encoding the PEP cannot read (br, or anything else) → 502', async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/fhir+json', 'Content-Encoding': 'br' });
      res.end('not really brotli');
    });
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir` });
    await expect(backend.send({ method: 'GET', path: 'Patient/pat-1' })).rejects.toMatchObject({ status: 502, message: 'backend response encoding not supported' });
  });
});

/** A response body that produces `next()` each time it is read (pull-based: nothing is made unless read). */
function serverStream(status: number, headers: Record<string, string>, next: () => Buffer): IncomingMessage {
  const res = new Readable({ highWaterMark: 0, read: () => void res.push(next()) }) as Readable & { statusCode: number; headers: Record<string, string> };
  res.statusCode = status;
  res.headers = headers;
  return res as unknown as IncomingMessage;
}

/** An HttpRequestFn whose exchange answers with `res` (no socket). */
function answering(res: IncomingMessage): HttpRequestFn {
  return (_url, _options, onResponse) => {
    const req = new Writable({ write: (_chunk, _encoding, done) => done() });
    req.on('finish', () => onResponse(res));
    return req as unknown as ClientRequest;
  };
}

describe('URLs never leave the base', () => {
  const escapes = [
    '../x', // parent of the base
    'Patient/../../x', // parent, after a segment
    '..', // the parent itself
    '//evil.example/x', // protocol-relative: another host
    '/Patient/1', // absolute path: the server root, outside the base
    'http://evil/x', // a scheme
    'https:evil.example', // a scheme without slashes
    'javascript:alert(1)', // any scheme
    'user@evil.example/x', // userinfo
    'Patient/%2e%2e/%2e%2e/x', // WHATWG URL reads %2e%2e as ..
    'Patient/.%2E/x', // mixed
    'Patient\\..\\..\\x', // backslash is a slash in http(s) URLs
    'Patient/1#frag', // fragment in the path
    'Patient?name=x#frag', // fragment in the query
    'Patient/1 ', // whitespace the URL parser would strip
    'Patient/\t1', // tab the URL parser would remove
    'Patient?name=%zz', // malformed percent-encoding in the query
    'Patient?name=a\nb', // control character in the query
  ];

  test.each(escapes)('%j → TypeError, no request sent', async (path) => {
    const srv = await startServer(echoOk);
    let requested = 0;
    const request: HttpRequestFn = (url, options, onResponse) => {
      requested += 1;
      return http.request(url, options, onResponse);
    };
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir`, request });
    await expect(backend.send({ method: 'GET', path })).rejects.toThrow(TypeError);
    expect(requested).toBe(0);
    expect(srv.seen).toHaveLength(0);
  });

  test.each([
    ['Patient/pat-1/_history/2', '/fhir/Patient/pat-1/_history/2'],
    ['Patient/pat-1/$everything', '/fhir/Patient/pat-1/$everything'],
    ['Patient/pat-1/Observation?code=x', '/fhir/Patient/pat-1/Observation?code=x'],
    ['Patient/pat-1/_history?_since=2020-01-01T00:00:00Z', '/fhir/Patient/pat-1/_history?_since=2020-01-01T00%3A00%3A00Z'],
    ['metadata', '/fhir/metadata'],
  ])('%j is a normal FHIR path → %s', async (path, expected) => {
    const srv = await startServer(echoOk);
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/fhir` });
    await backend.send({ method: 'GET', path });
    expect(srv.seen[0].url).toBe(expected);
  });

  test('the base URL is validated up front', () => {
    expect(() => createHttpBackend({ baseUrl: 'fhir.example/r4' })).toThrow(TypeError);
    expect(() => createHttpBackend({ baseUrl: 'ftp://fhir.example/r4' })).toThrow(TypeError);
    expect(() => createHttpBackend({ baseUrl: 'https://user:pw@fhir.example/r4' })).toThrow(TypeError);
    expect(() => createHttpBackend({ baseUrl: 'https://fhir.example/r4?x=1' })).toThrow(TypeError);
    expect(() => createHttpBackend({ baseUrl: 'https://fhir.example/r4', timeoutMs: 0 })).toThrow(TypeError);
    expect(() => createHttpBackend({ baseUrl: 'https://fhir.example/r4', maxResponseBytes: -1 })).toThrow(TypeError);
    const signer = createSigV4Signer({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } });
    // signed requests carry PHI: https, except to loopback emulators
    expect(() => createHttpBackend({ baseUrl: 'http://healthlake.us-east-1.amazonaws.com/datastore/x/r4', signer })).toThrow(TypeError);
    expect(createHttpBackend({ baseUrl: 'https://healthlake.us-east-1.amazonaws.com/datastore/x/r4/', signer }).baseUrl).toBe(
      'https://healthlake.us-east-1.amazonaws.com/datastore/x/r4',
    );
  });
});

describe('SigV4 for HealthLake', () => {
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  const AUTH = /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/(\d{8})\/us-east-1\/healthlake\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

  /** `20240102T030405Z` → Date */
  function amzDate(s: string): Date {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) throw new Error(`bad x-amz-date ${s}`);
    return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  }

  /**
   * What an AWS verifier does: rebuild the canonical request from the request as received (raw
   * path, decoded query, the signed headers' received values, the body's own hash) and sign it
   * again with the same secret and date. Returns the expected `authorization`.
   */
  async function resign(seen: Seen, overrides: { path?: string; body?: string } = {}): Promise<string> {
    const auth = AUTH.exec(String(seen.headers.authorization));
    if (!auth) throw new Error('no SigV4 authorization header');
    const signedHeaders = auth[2].split(';');
    const target = new URL(seen.url, 'http://placeholder');
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of target.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const body = overrides.body ?? seen.body;
    const headers: Record<string, string> = {};
    for (const name of signedHeaders) headers[name] = String(seen.headers[name]);
    headers['x-amz-content-sha256'] = createHash('sha256').update(body, 'utf8').digest('hex'); // never trust the sent hash
    const verifier = new SignatureV4({ service: 'healthlake', region: 'us-east-1', credentials, sha256: Sha256 });
    const out = await verifier.sign(
      { method: seen.method, protocol: 'http:', hostname: String(seen.headers.host).split(':')[0], path: overrides.path ?? target.pathname, query, headers, body },
      { signingDate: amzDate(String(seen.headers['x-amz-date'])) },
    );
    return out.headers.authorization;
  }

  test('the server receives an AWS4-HMAC-SHA256 authorization that re-verifies; the caller token is gone', async () => {
    const srv = await startServer(echoOk);
    const signer = createSigV4Signer({ region: 'us-east-1', credentials });
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/datastore/abc123/r4`, signer });
    const body = JSON.stringify({ resourceType: 'Observation', status: 'final', subject: { reference: 'Patient/pat-1' } });

    // PUT Observation/obs-1?_format=json&code=http://loinc.org|8867-4&name=a+b with If-Match and the caller's own token
    await backend.send({
      method: 'PUT',
      path: 'Observation/obs-1?code=http://loinc.org|8867-4&name=a+b&name=c%2Bd',
      headers: { ...HOSTILE_HEADERS, 'If-Match': 'W/"1"', 'Content-Type': 'application/fhir+json' },
      body,
    });

    const [seen] = srv.seen;
    const auth = AUTH.exec(String(seen.headers.authorization));
    expect(auth).not.toBeNull();
    const [, date, signedHeaders] = auth!;
    expect(seen.headers['x-amz-date']).toMatch(new RegExp(`^${date}T\\d{6}Z$`));
    expect(signedHeaders.split(';')).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-content-sha256', 'content-type', 'accept', 'if-match']));
    expect(seen.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body, 'utf8').digest('hex'));
    expect(seen.headers['x-amz-security-token']).toBeUndefined(); // static keys: no session token (and the caller's was dropped)
    expect(seen.headers.authorization).not.toContain('caller-token');
    expect(seen.headers.cookie).toBeUndefined();

    expect(await resign(seen)).toBe(seen.headers.authorization);
    // the verification is not vacuous: another path or body gives another signature
    expect(await resign(seen, { path: '/datastore/abc123/r4/Observation/obs-2' })).not.toBe(seen.headers.authorization);
    expect(await resign(seen, { body: body.replace('pat-1', 'pat-2') })).not.toBe(seen.headers.authorization);
  });

  test('GET with an empty body and a session token: signed, token sent, re-verifies', async () => {
    const srv = await startServer(echoOk);
    const signer = createSigV4Signer({ region: 'us-east-1', credentials: async () => ({ ...credentials, sessionToken: 'FwoGZXIvYXdzEXAMPLE' }) });
    const backend = createHttpBackend({ baseUrl: `${srv.origin}/datastore/abc123/r4`, signer });

    // GET Patient/pat-1/_history?_count=2 (a GET with a query that stays a GET)
    await backend.send({ method: 'GET', path: 'Patient/pat-1/_history?_count=2' });

    const [seen] = srv.seen;
    expect(seen.headers['x-amz-security-token']).toBe('FwoGZXIvYXdzEXAMPLE');
    expect(String(seen.headers.authorization)).toContain('x-amz-security-token');
    expect(seen.headers['x-amz-content-sha256']).toBe(createHash('sha256').update('').digest('hex'));
    expect(await resign(seen)).toBe(seen.headers.authorization);
  });

  test("without explicit credentials the environment's are used (what Lambda gives the function's role)", async () => {
    const saved = { ...process.env };
    process.env.AWS_ACCESS_KEY_ID = 'AKIDFROMENV';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret-from-env';
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    try {
      const srv = await startServer(echoOk);
      const backend: FhirBackend = createHttpBackend({ baseUrl: `${srv.origin}/r4`, signer: createSigV4Signer({ region: 'eu-west-1' }) });
      await backend.send({ method: 'GET', path: 'Patient/pat-1' });
      expect(String(srv.seen[0].headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDFROMENV\/\d{8}\/eu-west-1\/healthlake\/aws4_request, /);
    } finally {
      process.env = saved;
    }
  });

  test('no credentials in the environment → 502, nothing sent', async () => {
    const saved = { ...process.env };
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    try {
      const srv = await startServer(echoOk);
      const backend: FhirBackend = createHttpBackend({ baseUrl: `${srv.origin}/r4`, signer: createSigV4Signer({ region: 'eu-west-1' }) });
      await expect(backend.send({ method: 'GET', path: 'Patient/pat-1' })).rejects.toMatchObject({ status: 502, message: 'FHIR backend request signing failed' });
      expect(srv.seen).toHaveLength(0);
    } finally {
      process.env = saved;
    }
  });
});
