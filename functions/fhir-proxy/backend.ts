/**
 * The client the PEP uses to call the FHIR server: AWS HealthLake (SigV4-signed) or any FHIR R4
 * base URL. It decides what leaves the proxy, whatever the caller hands it:
 *
 * Headers — an allow-list, not a strip-list (docs/design.md "How a request is enforced": only
 * an allow-list of headers is forwarded). Only `accept` (always `application/fhir+json`), `content-type` (with a body, one of
 * four media types), `if-match`, `if-none-exist`, `if-none-match`, `if-modified-since` and
 * `prefer` are ever sent. Everything else — `authorization`, `cookie`, `host`, `x-forwarded-*`,
 * `x-on-behalf-of`, `x-authorization-*`, `x-amz-*`, headers nobody has invented yet — is dropped,
 * so the caller's token never reaches the backend and no client can pose as a trusted hop. For
 * HealthLake the request is SigV4-signed instead (sigv4.ts).
 *
 * Searches — a GET on `[type]?query` or `?query` (type and system search) leaves as
 * `POST [type]/_search` with the query as a form body (R4 http.html#search: both forms are the
 * same search). Search values name patients (the PEP's compartment narrowing adds
 * `patient=Patient/…`), and URLs end up in access logs, traces and error reports on the way;
 * HealthLake advises POST for searches that carry PHI
 * (https://docs.aws.amazon.com/healthlake/latest/devguide/searching-fhir-resources-post.html)
 * and takes the parameters in the URL or the body, never both. History, `$everything` and
 * reads keep GET: their URLs carry ids only.
 *
 * URL — always under the base: the resource path is a plain relative path (no `..`, `//`, scheme,
 * `@`, `#`, `\` or percent-escapes, which the WHATWG URL parser would resolve — `%2e%2e` is `..`),
 * and the built URL's origin and path prefix are asserted against the base. The query is
 * re-serialized in one canonical encoding (RFC 3986, form-style `+` = space, as the PEP parses it),
 * so the backend, the SigV4 canonical request and the PEP all read the same parameters. A bad
 * path is a bug in the proxy: TypeError. Redirects are never followed.
 *
 * Failures fail closed as DependencyError: timeout → 504, unreachable, redirected or oversized →
 * 502, never with the backend's body in the message. HTTP error statuses are answers, not
 * failures: they are returned and the proxy decides what to pass on.
 *
 * Transport — node:http(s), not fetch: the first fetch in a process loads undici (its HTTP
 * parser is WebAssembly), about 35 ms of the proxy's cold start where node:http costs 3 ms
 * (bench: `npm run bench -- --only cold --profile DIR`). Keep-alive comes from Node's global
 * agents (on by default since Node 19), as it came from undici's.
 */
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions } from 'node:http';
import type { Readable } from 'node:stream';
import { DependencyError, FhirgateError } from '../core/errors';
import type { RequestSigner } from './sigv4';

export { createSigV4Signer } from './sigv4';
export type { AwsCredentials, RequestSigner, SigV4SignerOptions } from './sigv4';

export interface BackendRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query relative to the FHIR base, no leading slash: 'Observation?subject=Patient%2F1', 'Patient/1', '' for the base (batch/transaction). */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface BackendResponse {
  readonly status: number;
  /** Lower-case names. They describe `body` as returned: framing and content-encoding headers are removed. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface FhirBackend {
  /** The backend's own FHIR base URL (absolute, no trailing slash): responses reference it and the proxy rewrites it. */
  readonly baseUrl: string;
  send(req: BackendRequest): Promise<BackendResponse>;
}

export interface HttpBackendOptions {
  /** Absolute http(s) FHIR base; a trailing slash is dropped. HealthLake: `https://healthlake.<region>.amazonaws.com/datastore/<id>/r4`. */
  readonly baseUrl: string;
  /** Whole exchange, response body included. @default 10_000 */
  readonly timeoutMs?: number;
  /** Larger responses fail (502) as soon as the cap is crossed; the rest is never read. @default 20 MiB */
  readonly maxResponseBytes?: number;
  /** SigV4 for HealthLake; absent for a plain FHIR server. Requires https except to loopback. */
  readonly signer?: RequestSigner;
  /** Starts one HTTP exchange (tests: a fake server stream). @default node:https or node:http `request`, by the base URL's scheme */
  readonly request?: HttpRequestFn;
}

/** node:http's `request(url, options, onResponse)`. */
export type HttpRequestFn = (url: URL, options: RequestOptions, onResponse: (res: IncomingMessage) => void) => ClientRequest;

const FHIR_JSON = 'application/fhir+json';

/** Request headers passed through unchanged; `accept` and `content-type` are set separately. */
const FORWARDED_HEADERS: ReadonlySet<string> = new Set(['if-match', 'if-none-exist', 'if-none-match', 'if-modified-since', 'prefer']);

/** Body media types the PEP can have inspected: FHIR JSON, JSON Patch, POST `_search` forms. */
const BODY_MEDIA_TYPES: ReadonlySet<string> = new Set([
  FHIR_JSON,
  'application/json',
  'application/json-patch+json',
  'application/x-www-form-urlencoded',
]);

const METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** The body is returned decoded (gzip and deflate are undone), so these no longer describe it. */
const DROPPED_RESPONSE_HEADERS: ReadonlySet<string> = new Set(['content-encoding', 'content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/** Resource path: FHIR types, ids ([A-Za-z0-9\-.]), `_history`, `_search`, `$operation`, slashes. */
const RESOURCE_PATH = /^[A-Za-z0-9\-._$/]*$/;
const CONTROL_CHARS = /[\x00-\x1f\x7f]/;
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A FhirBackend over HTTP(S); see the module comment for what it lets through. */
export function createHttpBackend(options: HttpBackendOptions): FhirBackend {
  const base = parseBaseUrl(options.baseUrl, options.signer !== undefined);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxResponseBytes = options.maxResponseBytes ?? 20 * 1024 * 1024;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError('createHttpBackend: timeoutMs must be a positive number');
  if (!(Number.isSafeInteger(maxResponseBytes) && maxResponseBytes > 0)) {
    throw new TypeError('createHttpBackend: maxResponseBytes must be a positive integer');
  }
  const request = options.request ?? transportFor(base);
  const { signer } = options;

  return {
    baseUrl: base.href,
    async send(req) {
      if (!METHODS.has(req.method)) throw new TypeError(`backend: unsupported method ${String(req.method)}`);
      if (req.body !== undefined && (req.method === 'GET' || typeof req.body !== 'string')) {
        throw new TypeError('backend: a body must be a string and never on GET');
      }
      const wire = searchAsPost(req);
      const url = backendUrl(base, wire.path);
      let headers = backendHeaders(wire);
      if (signer) headers = await signed(signer, { method: wire.method, url, headers, body: wire.body });
      return exchange(request, url, { method: wire.method, headers, body: wire.body }, timeoutMs, maxResponseBytes);
    },
  };
}

/** node:https for an https base, loaded only then (it brings TLS: ~3 ms of a cold start); node:http otherwise. */
function transportFor(base: Base): HttpRequestFn {
  if (!base.origin.startsWith('https:')) return httpRequest;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:https') as typeof import('node:https')).request;
}

/** A type or system search path: `Observation`, or '' for the base. */
const SEARCH_TARGET = /^(?:[A-Z][A-Za-z]{0,63})?$/;

/** GET `[type]?query` → POST `[type]/_search` with the canonical query as a form body; anything else unchanged. */
export function searchAsPost(req: BackendRequest): BackendRequest {
  const q = req.path.indexOf('?');
  if (req.method !== 'GET' || q === -1) return req;
  const target = req.path.slice(0, q);
  if (!SEARCH_TARGET.test(target)) return req;
  const headers = Object.fromEntries(Object.entries(req.headers ?? {}).filter(([name]) => name.toLowerCase() !== 'content-type'));
  return {
    method: 'POST',
    path: target === '' ? '_search' : `${target}/_search`,
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    body: canonicalQuery(req.path.slice(q + 1)),
  };
}

interface Base {
  /** Absolute, no trailing slash. */
  readonly href: string;
  readonly origin: string;
  /** Path every backend URL must start with: the base path plus '/'. */
  readonly pathPrefix: string;
}

function parseBaseUrl(baseUrl: string, signed: boolean): Base {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError('createHttpBackend: baseUrl must be an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('createHttpBackend: baseUrl must be http(s)');
  if (url.username || url.password || url.search || url.hash) {
    throw new TypeError('createHttpBackend: baseUrl must not carry credentials, a query or a fragment');
  }
  // Signed requests carry PHI to AWS: TLS everywhere except the loopback emulators.
  if (signed && url.protocol !== 'https:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    throw new TypeError('createHttpBackend: a signed backend must use https');
  }
  const href = url.href.replace(/\/+$/, '');
  return { href, origin: url.origin, pathPrefix: new URL(`${href}/`).pathname };
}

/** The absolute URL for a relative FHIR path; TypeError if it would leave the base. */
function backendUrl(base: Base, path: string): URL {
  if (typeof path !== 'string') throw new TypeError('backend path must be a string');
  const q = path.indexOf('?');
  const resourcePath = q === -1 ? path : path.slice(0, q);
  const query = q === -1 ? undefined : path.slice(q + 1);

  const escapes =
    !RESOURCE_PATH.test(resourcePath) || // scheme ':', '@', '#', '\', '%', whitespace
    resourcePath.startsWith('/') ||
    resourcePath.includes('//') ||
    resourcePath.includes('..');
  if (escapes) throw new TypeError(`backend path must stay under the FHIR base: ${JSON.stringify(resourcePath.slice(0, 100))}`);

  const search = query === undefined ? '' : `?${canonicalQuery(query)}`;
  const url = new URL(`${base.href}/${resourcePath}${search}`);
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathPrefix) || url.hash !== '') {
    throw new TypeError('backend path must stay under the FHIR base');
  }
  return url;
}

/**
 * The query in one encoding: each `name=value` decoded as a form field (`+` is a space, as
 * URLSearchParams — and so the PEP — reads it) and re-encoded with RFC 3986 unreserved characters
 * only, which is also SigV4's canonical form. Order and repeats are kept.
 */
function canonicalQuery(query: string): string {
  if (query.includes('#') || CONTROL_CHARS.test(query)) throw new TypeError('backend query must not contain "#" or control characters');
  const pairs: string[] = [];
  for (const field of query.split('&')) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const name = eq === -1 ? field : field.slice(0, eq);
    const value = eq === -1 ? '' : field.slice(eq + 1);
    pairs.push(`${rfc3986(formDecode(name))}=${rfc3986(formDecode(value))}`);
  }
  return pairs.join('&');
}

function formDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw new TypeError('backend query has a malformed percent-encoding');
  }
}

function rfc3986(s: string): string {
  try {
    return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  } catch {
    throw new TypeError('backend query is not well-formed Unicode');
  }
}

/** The allow-listed headers, lower-case; everything else the caller passed is dropped here. */
function backendHeaders(req: BackendRequest): Record<string, string> {
  const out: Record<string, string> = { accept: FHIR_JSON };
  let contentType: string | undefined;
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    const key = name.toLowerCase();
    if (value === undefined) continue; // API Gateway header maps may hold absent values
    if (key === 'content-type') contentType = headerValue(key, value);
    else if (FORWARDED_HEADERS.has(key)) out[key] = headerValue(key, value);
  }
  if (req.body !== undefined) {
    const mediaType = (contentType ?? FHIR_JSON).split(';')[0].trim().toLowerCase();
    // The PEP only forwards bodies it has parsed; any other type here is a bug upstream.
    if (!BODY_MEDIA_TYPES.has(mediaType)) throw new TypeError(`backend: body media type ${JSON.stringify(mediaType.slice(0, 100))} is not allowed`);
    out['content-type'] = mediaType; // the body is a JS string: sent as UTF-8
  }
  return out;
}

function headerValue(name: string, value: unknown): string {
  if (typeof value !== 'string' || CONTROL_CHARS.test(value.replace(/\t/g, ' '))) {
    throw new TypeError(`backend: header ${name} has an invalid value`);
  }
  return value.trim();
}

async function signed(signer: RequestSigner, req: Parameters<RequestSigner['sign']>[0]): Promise<Record<string, string>> {
  try {
    return await signer.sign(req);
  } catch (err) {
    if (err instanceof FhirgateError) throw err;
    // Usually no credentials (none in the environment, or the CLI's provider chain failed): fail closed.
    throw new DependencyError('ERR_DEPENDENCY_FAILED', 'FHIR backend request signing failed', { actual: errorName(err) });
  }
}

/**
 * One request with a deadline over the whole exchange and a cap on the (decoded) body as it
 * streams in. Whatever ends it first — the answer, the deadline, the cap, an error — settles it,
 * and every other outcome destroys the connection: nothing more is read from it.
 */
function exchange(
  request: HttpRequestFn,
  url: URL,
  init: { method: string; headers: Record<string, string>; body: string | undefined },
  timeoutMs: number,
  maxBytes: number,
): Promise<BackendResponse> {
  return new Promise<BackendResponse>((resolve, reject) => {
    let settled = false;
    let req: ClientRequest | undefined;
    let stream: Readable | undefined;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream?.destroy();
      req?.destroy();
      reject(err instanceof FhirgateError ? err : new DependencyError('ERR_DEPENDENCY_FAILED', 'FHIR backend unreachable', { actual: errorName(err) }));
    };
    const timer = setTimeout(() => fail(new DependencyError('ERR_DEPENDENCY_TIMEOUT', 'FHIR backend timed out')), timeoutMs);

    const headers: Record<string, string> = { ...init.headers, 'accept-encoding': 'gzip, deflate' };
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body, 'utf8'));
    try {
      req = request(url, { method: init.method, headers }, (res) => {
        const status = res.statusCode ?? 0;
        // 304 answers a conditional read; every other 3xx would send us (and the signature) elsewhere.
        if (status >= 300 && status < 400 && status !== 304) {
          res.destroy();
          return fail(new DependencyError('ERR_DEPENDENCY_FAILED', 'backend redirected', { actual: String(status) }));
        }
        if (Number(res.headers['content-length']) > maxBytes) {
          res.destroy();
          return fail(tooLarge());
        }
        let body: Readable;
        try {
          body = decoded(res);
        } catch (err) {
          res.destroy();
          return fail(err);
        }
        stream = body;
        const chunks: Buffer[] = [];
        let received = 0;
        body.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > maxBytes) return fail(tooLarge());
          chunks.push(chunk);
        });
        body.on('error', fail);
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('aborted')));
        body.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status, headers: responseHeaders(res.headers), body: Buffer.concat(chunks, received).toString('utf8') });
        });
      });
    } catch (err) {
      return fail(err);
    }
    req.on('error', fail);
    req.end(init.body);
  });
}

/** The body stream, gzip or deflate undone; any other encoding is not something the PEP can read. */
function decoded(res: IncomingMessage): Readable {
  const encoding = String(res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return res;
  // node:zlib is loaded only when a backend compresses (HealthLake answers identity to most requests).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const zlib = require('node:zlib') as typeof import('node:zlib');
  if (encoding === 'gzip' || encoding === 'x-gzip') return res.pipe(zlib.createGunzip());
  if (encoding === 'deflate') return res.pipe(zlib.createInflate());
  throw new DependencyError('ERR_DEPENDENCY_FAILED', 'backend response encoding not supported', { actual: encoding.slice(0, 40) });
}

function tooLarge(): DependencyError {
  return new DependencyError('ERR_DEPENDENCY_FAILED', 'backend response too large');
}

function responseHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || DROPPED_RESPONSE_HEADERS.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** A short, non-sensitive label for logs: the system error code (ECONNREFUSED, …) or the error's name. */
function errorName(err: unknown): string {
  // Duck-typed, not `instanceof Error`: errors may come from another realm (jest's vm).
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; code?: unknown; cause?: { code?: unknown } };
  if (typeof e.cause?.code === 'string') return e.cause.code;
  if (typeof e.code === 'string') return e.code;
  return typeof e.name === 'string' ? e.name : 'unknown';
}
