/**
 * Batch and transaction Bundles: a loop over the single-request pipeline plus FHIR's bundle rules
 * (R4 http.html#transaction). No rule of access is decided here.
 *
 * - Each entry is parsed as the request it stands for (`entry.request` + `entry.resource`) and
 *   answered by `enforce`, the function that answers that request sent alone — paging signatures,
 *   planning, narrowing, stored-version checks, post-filters and refusals included. So an entry's
 *   answer is the standalone answer in entry form (`toEntry`): "not yours" and "not there" are one
 *   answer inside a Bundle exactly as outside it.
 * - **batch**: entries are independent; each is answered on its own, failures included.
 * - **transaction**: all or nothing. Every write is prepared first (writes.ts: every check and
 *   every stored-version read); every read is answered once before anything is written, so a
 *   refusal fails the whole transaction with that entry's standalone error and nothing is sent.
 *   Then the writes go to the backend as one transaction, pinned to the versions checked, and the
 *   reads are answered again afterwards (R4 transaction processing: GETs are processed last); a
 *   transaction of reads only is answered by its first pass.
 */
import { isExportOperation } from '../core/bulk-export';
import { FhirgateError, RequestError } from '../core/errors';
import { FhirRequest, parseFhirRequest } from '../core/fhir-request';
import { plan, Plan } from '../core/plan';
import type { BackendResponse } from './backend';
import type { PepContext } from './pep-context';
import { backendFailure, codeOf, isResourceOf, json, parseBackendJson, ProxyResponse, responseForThrown } from './responses';
import { prepareWrite, PreparedWrite, WritePlan } from './writes';

type Entry = Record<string, unknown>;
type Enforce = (ctx: PepContext, req: FhirRequest) => Promise<ProxyResponse>;

/** Answer a batch or transaction Bundle. `enforce` is the single-request pipeline (pep.ts). */
export async function bundle(ctx: PepContext, p: Extract<Plan, { kind: 'bundle' }>, enforce: Enforce): Promise<ProxyResponse> {
  return p.bundleType === 'batch' ? batch(ctx, p.entries, enforce) : transaction(ctx, p.entries, enforce);
}

async function batch(ctx: PepContext, entries: readonly unknown[], enforce: Enforce): Promise<ProxyResponse> {
  const out: Entry[] = [];
  for (const raw of entries) {
    out.push(toEntry(await answer(ctx, () => enforce(ctx, parseEntry(raw)))));
  }
  return json(200, { resourceType: 'Bundle', type: 'batch-response', entry: out });
}

async function transaction(ctx: PepContext, entries: readonly unknown[], enforce: Enforce): Promise<ProxyResponse> {
  const requests = entries.map((raw, i) => atEntry(i, () => parseEntry(raw)));
  // Decide every entry before anything is written.
  const writes = new Map<number, PreparedWrite>();
  const reads = new Map<number, ProxyResponse>();
  let readRemovals = 0;
  for (const [i, req] of requests.entries()) {
    if (isWrite(req)) {
      writes.set(i, await atEntryAsync(i, () => prepareWrite(ctx, plan(ctx.principal, ctx.settings, req) as WritePlan)));
    } else {
      const before = ctx.audit.removed;
      reads.set(i, await atEntryAsync(i, () => enforce(ctx, req))); // a refusal fails the whole transaction
      readRemovals += ctx.audit.removed - before;
    }
  }
  let answers: ReadonlyMap<number, ProxyResponse> = reads;
  if (writes.size > 0) {
    const written = await sendWrites(ctx, entries, writes);
    // The reads are answered again, after the writes (R4: GETs are processed last); their first
    // answers only decided whether the transaction may run, so their removals are not counted twice.
    ctx.audit.removed -= readRemovals;
    for (const i of reads.keys()) written.set(i, await answer(ctx, () => enforce(ctx, requests[i]!)));
    answers = written;
  }
  const out = requests.map((_req, i) => toEntry(answers.get(i)!));
  return json(200, { resourceType: 'Bundle', type: 'transaction-response', entry: out });
}

/** Send the prepared writes as one backend transaction; each answer is read by its own write's `finish`. */
async function sendWrites(ctx: PepContext, entries: readonly unknown[], writes: ReadonlyMap<number, PreparedWrite>): Promise<Map<number, ProxyResponse>> {
  const order = [...writes.keys()];
  const entry = order.map((i) => {
    const { request } = writes.get(i)!;
    const fullUrl = (entries[i] as Entry).fullUrl;
    return {
      ...(typeof fullUrl === 'string' ? { fullUrl } : {}),
      ...(request.body !== undefined ? { resource: JSON.parse(request.body) as unknown } : {}),
      request: {
        method: request.method,
        url: request.path,
        ...(request.headers?.['if-match'] ? { ifMatch: request.headers['if-match'] } : {}),
        ...(request.headers?.['if-none-exist'] ? { ifNoneExist: request.headers['if-none-exist'] } : {}),
      },
    };
  });
  const response = await ctx.backend.send({ method: 'POST', path: '', body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }) });
  if (response.status !== 200) backendFailure(response.status);
  const result = parseBackendJson(response);
  const answers = isResourceOf(result, 'Bundle') && Array.isArray(result.entry) ? (result.entry as unknown[]) : [];
  if (answers.length !== order.length) backendFailure(502);
  const out = new Map<number, ProxyResponse>();
  for (const [k, i] of order.entries()) {
    out.set(i, await answer(ctx, async () => writes.get(i)!.finish(entryAsBackendResponse(answers[k]))));
  }
  return out;
}

function isWrite(req: FhirRequest): boolean {
  return req.interaction === 'create' || req.interaction === 'update' || req.interaction === 'patch' || req.interaction === 'delete';
}

/** Run one entry; a refusal becomes its answer (and its code goes to the audit line). */
async function answer(ctx: PepContext, run: () => Promise<ProxyResponse>): Promise<ProxyResponse> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof FhirgateError)) throw err;
    ctx.audit.codes.push(codeOf(err));
    return responseForThrown(err);
  }
}

/** Name the failing entry of a transaction in the refusal (the whole transaction fails with it). */
function atEntry<T>(index: number, run: () => T): T {
  try {
    return run();
  } catch (err) {
    throw located(err, index);
  }
}

async function atEntryAsync<T>(index: number, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw located(err, index);
  }
}

/** The same error, carrying which entry failed (not for "not found": its body is one for every case). */
function located(err: unknown, index: number): unknown {
  if (!(err instanceof FhirgateError) || err.status === 404) return err;
  return new FhirgateError(err.code, `Bundle entry ${index}: ${err.message}`, err.evidence, err.status);
}

/** An entry's request as if it had been sent alone (R4 http.html#transaction: entry.request). */
function parseEntry(raw: unknown): FhirRequest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new RequestError('ERR_BAD_REQUEST', 'entry is not an object');
  const entry = raw as Entry;
  const request = entry.request as { method?: unknown; url?: unknown; ifMatch?: unknown; ifNoneExist?: unknown } | undefined;
  if (!request || typeof request.method !== 'string' || typeof request.url !== 'string') {
    throw new RequestError('ERR_BAD_REQUEST', 'entry.request needs method and url');
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(request.url) || request.url.startsWith('/')) {
    throw new RequestError('ERR_BAD_REQUEST', 'entry.request.url must be relative to the FHIR base');
  }
  const q = request.url.indexOf('?');
  const path = `/${q < 0 ? request.url : request.url.slice(0, q)}`;
  const query = [...new URLSearchParams(q < 0 ? '' : request.url.slice(q + 1))];
  const headers: Record<string, string> = {};
  if (typeof request.ifMatch === 'string') headers['if-match'] = request.ifMatch;
  if (typeof request.ifNoneExist === 'string') headers['if-none-exist'] = request.ifNoneExist;
  let body: string | undefined;
  if (entry.resource !== undefined) {
    if (isResourceOf(entry.resource, 'Bundle')) throw new RequestError('ERR_BAD_REQUEST', 'nested Bundles are not accepted');
    [headers['content-type'], body] = request.method === 'PATCH' ? patchDocument(entry.resource) : ['application/fhir+json', JSON.stringify(entry.resource)];
  }
  const parsed = parseFhirRequest({ method: request.method, path, query, headers, body });
  if (parsed.interaction === 'batch' || parsed.interaction === 'transaction' || parsed.interaction === 'capabilities') {
    throw new RequestError('ERR_BAD_REQUEST', `${parsed.interaction} is not allowed inside a Bundle`);
  }
  // Bulk Data export is asynchronous (a Prefer header, NDJSON files): never an entry's answer.
  if (isExportOperation(parsed)) throw new RequestError('ERR_BAD_REQUEST', `$${parsed.operation} is not allowed inside a Bundle`);
  return parsed;
}

/**
 * R4 http.html#transaction: a PATCH entry carries its JSON Patch as a Binary resource
 * (`contentType: application/json-patch+json`, base64 `data`).
 */
function patchDocument(resource: unknown): [string, string] {
  const binary = resource as { resourceType?: unknown; contentType?: unknown; data?: unknown };
  if (binary.resourceType !== 'Binary' || binary.contentType !== 'application/json-patch+json' || typeof binary.data !== 'string') {
    throw new RequestError('ERR_UNSUPPORTED', 'a PATCH entry needs a Binary with contentType application/json-patch+json (R4 http.html#transaction)');
  }
  return ['application/json-patch+json', Buffer.from(binary.data, 'base64').toString('utf8')];
}

/** R4 Bundle.entry.response for a standalone answer: status line, etag, location, outcome or resource. */
export function toEntry(response: ProxyResponse): Entry {
  const headers = response.headers;
  const out: Record<string, unknown> = { status: `${response.status} ${REASON[response.status] ?? ''}`.trimEnd() };
  if (headers.etag) out.etag = headers.etag;
  if (headers['last-modified']) out.lastModified = headers['last-modified'];
  const location = headers.location ?? headers['content-location'];
  if (location) out.location = location;
  const body = response.body;
  if (response.status >= 400 && isResourceOf(body, 'OperationOutcome')) out.outcome = body;
  const entry: Entry = {};
  if (response.status < 400 && body !== undefined) entry.resource = body;
  entry.response = out;
  return entry;
}

/** A backend transaction-response entry, read as the response to the single request it stands for. */
function entryAsBackendResponse(raw: unknown): BackendResponse {
  const entry = (typeof raw === 'object' && raw !== null ? raw : {}) as Entry;
  const response = (typeof entry.response === 'object' && entry.response !== null ? entry.response : {}) as Record<string, unknown>;
  const status = Number.parseInt(String(response.status ?? ''), 10);
  const headers: Record<string, string> = {};
  if (typeof response.etag === 'string') headers.etag = response.etag;
  if (typeof response.location === 'string') headers.location = response.location;
  return { status: Number.isFinite(status) ? status : 502, headers, body: entry.resource === undefined ? '' : JSON.stringify(entry.resource) };
}

/** Reason phrases for the status line of an entry (RFC 9110 §15). */
const REASON: Readonly<Record<number, string>> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized',
  403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 410: 'Gone', 412: 'Precondition Failed',
  413: 'Payload Too Large', 422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 504: 'Gateway Timeout',
};
