import { badRequest } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExportOptions } from './export';
import { StoreExports } from './export';
import { errorOutcome } from './outcomes';
import type { QueryPairs } from './query';
import { FhirStoreRepository } from './repository';
import type { StoreRequest, StoreResponse } from './router';
import { createStoreRouter, handleStoreRequest, outcomeResponse } from './router';
import type { SeedInput } from './seed';
import { loadSeed } from './seed';

/** HealthLake datastore ids are 32 lowercase hex characters; this one is obviously made up. */
export const DEFAULT_DATASTORE_ID = '0123456789abcdef0123456789abcdef';

/** Largest request body accepted; bigger ones get 413 (HealthLake's own request limit is far below this). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Request methods the store serves; anything else gets 405. */
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** Body media types read as JSON (FHIR JSON, plain JSON and JSON Patch). */
const JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json-patch+json']);

export interface FhirStoreServerOptions {
  /** @default DEFAULT_DATASTORE_ID */
  readonly datastoreId?: string;
  /** Loopback only: this store has no authentication of its own. @default '127.0.0.1' */
  readonly host?: '127.0.0.1';
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** Resources (or Bundles of them) stored before the first request, with their ids kept. */
  readonly seed?: SeedInput[];
  /** Bulk `$export` (export.ts): where files go, how long a job takes. @default a fresh temporary directory */
  readonly exports?: Partial<ExportOptions>;
}

/** One request as the store received it, for tests that must prove what reached (or did not reach) the backend. */
export interface RecordedRequest {
  method: string;
  /** Path as received, e.g. `/datastore/<id>/r4/Patient/pat-alice`. */
  path: string;
  /** Raw query string without `?` (`''` when none). */
  query: string;
  headers: IncomingHttpHeaders;
  /** Parsed body (JSON value or form pairs), when there was one that parsed. */
  body?: unknown;
}

export interface FhirStoreServer {
  /** `http://127.0.0.1:<port>/datastore/<id>/r4`: the base every fullUrl and link is built on. */
  readonly baseUrl: string;
  readonly port: number;
  readonly datastoreId: string;
  /** The store itself, for tests to inspect or change behind the HTTP API. */
  readonly repo: FhirStoreRepository;
  /** Every request received, in order, including rejected ones. Tests may empty it (`length = 0`). */
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Starts a HealthLake-shaped FHIR R4 store on loopback: `/datastore/{datastoreId}/r4/...`. */
export async function createFhirStoreServer(options: FhirStoreServerOptions = {}): Promise<FhirStoreServer> {
  const datastoreId = options.datastoreId ?? DEFAULT_DATASTORE_ID;
  if (!/^[0-9a-f]{32}$/.test(datastoreId)) {
    throw new TypeError(`datastoreId must be 32 lowercase hex characters like HealthLake's, got '${datastoreId}'`);
  }
  const host = options.host ?? '127.0.0.1';
  const repo = new FhirStoreRepository();
  // Seeded before listening, so a bad seed throws without leaving a server behind.
  await loadSeed(repo, options.seed ?? []);
  const router = createStoreRouter();
  const bulkExports = new StoreExports(repo, { ...options.exports, dir: options.exports?.dir ?? (await mkdtemp(join(tmpdir(), 'fhirgate-exports-'))) });
  const requests: RecordedRequest[] = [];
  const prefix = `/datastore/${datastoreId}/r4`;
  let baseUrl = '';
  // Requests are applied one at a time, like a single writer: a transaction's rollback can then
  // never undo a write another request made in between.
  let queue: Promise<unknown> = Promise.resolve();

  const server = createServer((req, res) => {
    const recorded = record(req, requests);
    parseRequest(req, recorded, prefix)
      .then((parsed) => {
        if ('status' in parsed) {
          return parsed;
        }
        // Only the store work is queued, so a slow upload does not hold up other requests.
        const result = queue.then(async () => (await bulkExports.handle(parsed, baseUrl)) ?? handleStoreRequest(router, repo, baseUrl, parsed));
        queue = result.catch(() => undefined);
        return result;
      })
      .catch((err: unknown) => outcomeResponse(errorOutcome('server-error', 'exception', String(err))))
      .then((response) => send(res, response))
      .catch(() => res.destroy()); // the client went away: nothing left to tell it
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://${host}:${port}${prefix}`;
  repo.baseUrl = baseUrl;

  return {
    baseUrl,
    port,
    datastoreId,
    repo,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        bulkExports.close();
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets (fetch keeps them) would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

/** How many requests the log keeps (the latest). */
const MAX_RECORDED_REQUESTS = 10_000;

function record(req: IncomingMessage, requests: RecordedRequest[]): RecordedRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const recorded: RecordedRequest = {
    method: req.method ?? '',
    path: q >= 0 ? url.slice(0, q) : url,
    query: q >= 0 ? url.slice(q + 1) : '',
    headers: { ...req.headers },
  };
  // The log is for tests; a load run must not grow it without bound: keep the latest entries.
  if (requests.length >= MAX_RECORDED_REQUESTS) requests.splice(0, requests.length - MAX_RECORDED_REQUESTS + 1);
  requests.push(recorded);
  return recorded;
}

/**
 * Everything between the socket and the store: route prefix, method, body limits and parsing.
 * Gives the request for the store, or the error response when it never gets that far.
 */
async function parseRequest(
  req: IncomingMessage,
  recorded: RecordedRequest,
  prefix: string
): Promise<StoreRequest | StoreResponse> {
  const segments = pathSegments(recorded.path, prefix);
  if (!segments) {
    await drain(req);
    return outcomeResponse(notFoundOutside(recorded.path), 404);
  }
  if (!METHODS.has(recorded.method)) {
    await drain(req);
    return outcomeResponse(errorOutcome('method-not-allowed', 'not-supported', `Method ${recorded.method} not allowed`));
  }
  const raw = await readBody(req);
  if (raw === 'too-large') {
    return outcomeResponse(errorOutcome('payload-too-large', 'too-long', `Body exceeds ${MAX_BODY_BYTES} bytes`));
  }
  let body: unknown;
  let form: QueryPairs | undefined;
  if (raw.length > 0) {
    const mediaType = (req.headers['content-type'] ?? 'application/fhir+json').split(';')[0].trim().toLowerCase();
    if (mediaType === 'application/x-www-form-urlencoded') {
      form = [...new URLSearchParams(raw.toString('utf8'))];
      recorded.body = form;
    } else if (JSON_TYPES.has(mediaType)) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return outcomeResponse(badRequest('Invalid JSON body'));
      }
      recorded.body = body;
    } else {
      return outcomeResponse(
        errorOutcome('unsupported-media-type', 'not-supported', `Unsupported Content-Type ${mediaType}; use application/fhir+json`)
      );
    }
  }
  return { method: recorded.method, segments, query: [...new URLSearchParams(recorded.query)], headers: req.headers, body, form };
}

/** Decoded segments under the datastore prefix, or undefined for any path outside it. */
function pathSegments(path: string, prefix: string): string[] | undefined {
  if (path !== prefix && !path.startsWith(prefix + '/')) {
    return undefined;
  }
  try {
    const segments = path.slice(prefix.length).split('/').filter(Boolean).map(decodeURIComponent);
    // A decoded '/' or '?' would change how Medplum's router splits the path.
    return segments.some((s) => s.includes('/') || s.includes('?')) ? undefined : segments;
  } catch {
    return undefined; // malformed percent-encoding
  }
}

function notFoundOutside(path: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    id: 'not-found',
    issue: [{ severity: 'error', code: 'not-found', details: { text: `No FHIR endpoint at ${path}` } }],
  };
}

/** Reads the body up to MAX_BODY_BYTES; past that, drains the rest (so the client can read the 413) and says so. */
function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      drain(req).then(() => resolve('too-large'), reject);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
      } else if (!tooLarge) {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function drain(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    if (req.readableEnded) {
      resolve();
      return;
    }
    req.on('end', () => resolve());
    req.on('error', () => resolve());
    req.resume();
  });
}

function send(res: ServerResponse, response: StoreResponse): void {
  const payload = response.text ?? JSON.stringify(response.body);
  res.writeHead(response.status, { ...response.headers, 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}
