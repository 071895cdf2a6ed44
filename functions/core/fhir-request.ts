/**
 * The FHIR request model: one HTTP request against a FHIR R4 base, parsed into the interaction,
 * target, search parameters, conditions and body the PEP decides on
 * (FHIR R4 RESTful API, http://hl7.org/fhir/R4/http.html).
 *
 * Deny by default (docs/design.md "Security semantics"): a method, path, parameter, header or body this module does not
 * fully understand is refused with a RequestError, never passed through with the unknown part
 * ignored. The backend is sent what was parsed here (formatQuery), not the client's raw text.
 */
import { RequestError } from './errors';
import type { ErrorCode, ErrorEvidence } from './errors';
import { FHIR_ID, FHIR_TYPE } from './ids';
import { parsePatch } from './json-patch';
import { PAGING_PARAMS, parseFormPairs, parseSearchParam, preview } from './search-params';
import type { SearchParam } from './search-params';
import { parseJsonBody, utf8Length } from './json-body';
import { isRecord } from './untrusted-json';
import { isR4ResourceType } from './resource-types';

export type { SearchParam } from './search-params';

export type Interaction =
  | 'read' | 'vread' | 'update' | 'patch' | 'delete'
  | 'history-instance' | 'history-type' | 'history-system'
  | 'create' | 'search-type' | 'search-system'
  | 'capabilities' | 'batch' | 'transaction' | 'operation';

/** What the HTTP layer hands the parser (from an API Gateway proxy event or a test). */
export interface HttpRequest {
  readonly method: string; // as received
  readonly path: string; // below the FHIR base, starting with '/', e.g. '/Observation/123/_history/2'
  readonly query: readonly (readonly [string, string])[]; // decoded key/value pairs, order kept, duplicates kept
  readonly headers: Readonly<Record<string, string>>; // keys lower-cased
  readonly body?: string; // raw text (already base64-decoded by the caller)
}

export interface FhirRequest {
  readonly interaction: Interaction;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly resourceType?: string;
  readonly id?: string;
  readonly versionId?: string;
  readonly operation?: string; // without '$', e.g. 'everything'
  readonly compartment?: { readonly resourceType: string; readonly id: string }; // compartment search: GET Patient/{id}/Observation (http.html#vsearch)
  readonly params: readonly SearchParam[]; // query params (and form params of POST _search), minus `_format` which is validated and dropped
  readonly conditional: boolean; // PUT/PATCH/DELETE on `Type?criteria`, or POST with If-None-Exist
  readonly ifNoneExist?: readonly SearchParam[]; // parsed If-None-Exist header (`a=b&c=d`)
  readonly ifMatch?: string; // If-Match header as sent, must be W/"<id>" or "<id>"
  readonly body?: unknown; // parsed JSON body (create/update/batch/transaction/operation POST); JSON Patch array for patch
  readonly prefer?: string; // Prefer header as sent (RFC 7240); `$export` requires respond-async
}

export interface ParseOptions { readonly maxBodyBytes?: number /* default 5 MiB */; readonly maxParams?: number /* default 100 */; readonly maxJsonDepth?: number /* default 64 */ }

type Method = FhirRequest['method'];
type Target = Pick<FhirRequest, 'resourceType' | 'id' | 'versionId' | 'operation' | 'compartment'>;
/** What a path names, and which interaction each method performs on it (absent method → 405). */
type Route = { readonly shape: string; readonly target: Target; readonly on: Partial<Record<Method, Interaction>> };

const METHODS: readonly Method[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const METHOD_SET: ReadonlySet<string> = new Set(METHODS);
// De-facto verb-tunnelling headers (Google, Microsoft, Rails). The verb was authorized; it stays.
const OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'];
// Everything a legal segment can hold: types, ids (datatypes.html#id), `_history`, `_search`,
// `$op`, `metadata`. So `%` (encoded `/`), `;` (path parameters), `?`, `\` never get further.
const SEGMENT = /^[A-Za-z0-9\-._$]+$/;
/** One to four SEGMENTs, none of them `.` or `..`; linear (a segment ends only at `/`). */
const PLAIN_PATH = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9\-._$]+){1,4}$/;
// http.html#operations: `$` + name; names are lower-camel with dashes (`$validate-code`).
const OPERATION = /^[a-z][a-zA-Z0-9-]{0,63}$/;
// http.html#mime-type: the JSON spellings of `_format`. `+` arrives as a space when a client
// sends `application/fhir+json` unencoded and the query is form-decoded, so that is accepted too.
const JSON_FORMATS: ReadonlySet<string> = new Set(['json', 'application/json', 'application/fhir+json', 'application/fhir json']);
const JSON_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/fhir+json']);
const NDJSON_TYPES: ReadonlySet<string> = new Set(['application/fhir+ndjson', 'application/ndjson']);
// http.html#concurrency: `ETag: W/"<versionId>"`; If-Match echoes it (weak or strong).
const IF_MATCH = /^(?:W\/)?"([^"]*)"$/;

/**
 * Parameters each interaction accepts when they are not search criteria (absent: any, as in
 * search, operations and conditional update/patch/delete). read/vread: search.html#summary and
 * #elements apply to read too; history: http.html#history `_count`, `_since`, `_at` and the
 * backend's paging cursor; capabilities: http.html#capabilities `mode`. Writes and bundles: none.
 */
const NONE: ReadonlySet<string> = new Set();
const READ: ReadonlySet<string> = new Set(['_summary', '_elements']);
const HISTORY: ReadonlySet<string> = new Set(['_count', '_since', '_at', ...PAGING_PARAMS]);
const PARAMS_FOR: Partial<Record<Interaction, ReadonlySet<string>>> = {
  read: READ, vread: READ, 'history-instance': HISTORY, 'history-type': HISTORY, 'history-system': HISTORY,
  capabilities: new Set(['mode']), create: NONE, update: NONE, patch: NONE, delete: NONE, batch: NONE, transaction: NONE,
};

type Limits = Required<ParseOptions>;

/** Parse an HTTP request against a FHIR R4 base into the model; throws RequestError when not understood. */
export function parseFhirRequest(req: HttpRequest, options: ParseOptions = {}): FhirRequest {
  const limits: Limits = { maxBodyBytes: options.maxBodyBytes ?? 5 * 1024 * 1024, maxParams: options.maxParams ?? 100, maxJsonDepth: options.maxJsonDepth ?? 64 };
  const method = METHOD_SET.has(req.method) ? (req.method as Method) : undefined;
  if (method === undefined) {
    // RFC 9110 §9.1: methods are case-sensitive, so `get` is as unknown here as HEAD or TRACE.
    const actual = preview(req.method);
    fail('ERR_METHOD_NOT_ALLOWED', `HTTP method '${actual}' is not supported; FHIR R4 uses ${METHODS.join(', ')}`, { actual, expected: METHODS });
  }
  for (const h of OVERRIDE_HEADERS) {
    if (req.headers[h] !== undefined) bad(`header '${h}' is refused: the HTTP method cannot be changed after authorization`);
  }
  // Bulk Data export files are NDJSON (IG v2, file request: Accept application/fhir+ndjson).
  checkAccept(req.headers['accept'], req.path === '/$export-file' ? NDJSON_TYPES : NONE);

  const route = routeOf(splitPath(req.path));
  const routed = route.on[method];
  if (routed === undefined) {
    const allowed = Object.keys(route.on);
    fail('ERR_METHOD_NOT_ALLOWED', `${method} is not allowed on ${route.shape} (allowed: ${allowed.join(', ')})`, { actual: method, expected: allowed });
  }
  // http.html#cond-update, #cond-delete, #patch: PUT/PATCH/DELETE on [type]?criteria.
  const byCriteria = route.target.id === undefined && (routed === 'update' || routed === 'patch' || routed === 'delete');

  if (req.query.length > limits.maxParams) bad(`more than ${limits.maxParams} query parameters`);
  const query = req.query.map(([k, v]) => parseSearchParam(k, v));
  const { interaction, body, form } = parseBody(req, method, routed, route.target, byCriteria, limits);
  const params = controlParams(form.length === 0 ? query : [...query, ...form]);
  const ifNoneExist = parseIfNoneExist(req.headers['if-none-exist'], interaction, limits.maxParams);
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined) {
    if (interaction !== 'update' && interaction !== 'patch' && interaction !== 'delete') bad(`If-Match is only meaningful on update, patch and delete, not ${interaction}`);
    const version = IF_MATCH.exec(ifMatch)?.[1];
    if (version === undefined || !isId(version)) bad(`If-Match '${preview(ifMatch)}' is not W/"<versionId>" or "<versionId>"`);
  }

  if (byCriteria && params.length === 0) bad(`conditional ${interaction} needs search criteria`);
  const allowed = byCriteria ? undefined : PARAMS_FOR[interaction];
  const refused = allowed && params.find((p) => !allowed.has(p.key));
  if (allowed && refused) {
    bad(`parameter '${preview(refused.key)}' is not accepted on ${interaction}${allowed.size > 0 ? ` (allowed: ${[...allowed].join(', ')})` : ''}`);
  }

  const conditional = byCriteria || ifNoneExist !== undefined;
  const result: { -readonly [K in keyof FhirRequest]: FhirRequest[K] } = { interaction, method, ...route.target, params: Object.freeze(params), conditional };
  if (ifNoneExist !== undefined) result.ifNoneExist = ifNoneExist;
  if (ifMatch !== undefined) result.ifMatch = ifMatch;
  if (body !== undefined) result.body = body;
  if (req.headers.prefer !== undefined) result.prefer = req.headers.prefer;
  return Object.freeze(result);
}

/** Size, media type and content of the body, by interaction; POST _search yields its form parameters. */
function parseBody(req: HttpRequest, method: Method, routed: Interaction, target: Target, byCriteria: boolean, limits: Limits) {
  const text = req.body === undefined || req.body === '' ? undefined : req.body;
  const none = { interaction: routed, body: undefined as unknown, form: [] as SearchParam[] };
  if (text === undefined) {
    if (routed === 'create' || routed === 'update' || routed === 'batch') bad(`${routed === 'batch' ? 'batch/transaction' : routed} needs a JSON body`);
    if (routed === 'patch') bad('patch needs a JSON Patch body');
    return none;
  }
  if (method === 'GET' || method === 'DELETE') bad(`a ${method} request must not carry a body`);
  if (utf8Length(text, limits.maxBodyBytes) > limits.maxBodyBytes) fail('ERR_PAYLOAD_TOO_LARGE', `body is larger than ${limits.maxBodyBytes} bytes`);

  if (routed === 'search-type' || routed === 'search-system') {
    // http.html#search: POST [base]/[type]/_search with an x-www-form-urlencoded body; the form
    // parameters mean what query parameters mean, so they are merged after them.
    requireMediaType(req.headers, ['application/x-www-form-urlencoded'], 'POST _search');
    const pairs = parseFormPairs(text, limits.maxParams);
    if (req.query.length + pairs.length > limits.maxParams) bad(`more than ${limits.maxParams} parameters (query and form together)`);
    return { ...none, form: pairs.map(([k, v]) => parseSearchParam(k, v)) };
  }
  if (routed === 'patch') {
    // http.html#patch: JSON Patch only; FHIRPath Patch (a Parameters body) is not supported.
    requireMediaType(req.headers, ['application/json-patch+json'], 'patch (JSON Patch only)');
    const body = parseJsonBody(text, limits.maxJsonDepth);
    parsePatch(body);
    return { ...none, body };
  }
  requireMediaType(req.headers, [...JSON_TYPES], routed === 'batch' ? 'batch/transaction' : routed);
  const body = parseJsonBody(text, limits.maxJsonDepth);
  if (routed === 'batch') return { ...none, interaction: bundleInteraction(body), body };
  if (routed === 'create' || routed === 'update') checkResourceBody(body, target.resourceType ?? '', byCriteria ? undefined : target.id);
  return { ...none, body };
}

/** http.html#ccreate: If-None-Exist holds the query part of a search URL (no '?'); create only. */
function parseIfNoneExist(text: string | undefined, interaction: Interaction, maxParams: number): readonly SearchParam[] | undefined {
  if (text === undefined) return undefined;
  if (interaction !== 'create') bad('If-None-Exist is only meaningful on create');
  const pairs = parseFormPairs(text, maxParams);
  if (pairs.length === 0) bad('If-None-Exist has no search criteria');
  const criteria = pairs.map(([k, v]) => parseSearchParam(k, v));
  const control = criteria.find((p) => p.name === '_method' || p.name === '_format' || p.name === '_pretty' || PAGING_PARAMS.has(p.name));
  if (control) bad(`If-None-Exist may hold search criteria only, not '${preview(control.key)}'`);
  return Object.freeze(criteria);
}

/** Split the path below the base into checked segments; `''` and `'/'` are the base itself. */
function splitPath(path: string): string[] {
  if (path === '' || path === '/') return [];
  // The common shape, checked in one pass; anything else goes through the checks below for its message.
  if (PLAIN_PATH.test(path)) return segmentsOf(path);
  if (!path.startsWith('/')) bad(`path '${preview(path)}' does not start with '/'`);
  const segments = path.slice(1).split('/');
  for (const s of segments) {
    if (s === '') bad(`path '${preview(path)}' has an empty segment ('//' or a trailing '/')`);
    // RFC 3986 §5.2.4 would remove these, so the backend would name another resource than we checked.
    if (s === '.' || s === '..') bad(`path '${preview(path)}' has a '${s}' segment`);
    if (!SEGMENT.test(s)) {
      bad(`path segment '${preview(s)}' may hold only [A-Za-z0-9-._$] (no ';' parameters, no percent-encoding)`, { actual: preview(s) });
    }
  }
  if (segments.length > 4) bad(`path '${preview(path)}' has more segments than any FHIR interaction`);
  return segments;
}

/** `/a/b/c` → ['a', 'b', 'c'] (String.split of the sliced path cost three times this). */
function segmentsOf(path: string): string[] {
  const out: string[] = [];
  let start = 1;
  for (let slash = path.indexOf('/', start); slash >= 0; slash = path.indexOf('/', start)) {
    out.push(path.slice(start, slash));
    start = slash + 1;
  }
  out.push(path.slice(start));
  return out;
}

/** http.html#summary: the URL patterns of the R4 RESTful API, one per interaction. */
function routeOf(segments: readonly string[]): Route {
  const [s0, s1, s2, s3] = segments;
  if (s0 === undefined) return { shape: '[base]', target: {}, on: { GET: 'search-system', POST: 'batch' } };
  if (s1 === undefined) {
    if (s0 === 'metadata') return { shape: '/metadata', target: {}, on: { GET: 'capabilities' } };
    if (s0 === '_search') return { shape: '/_search', target: {}, on: { POST: 'search-system' } };
    if (s0 === '_history') return { shape: '/_history', target: {}, on: { GET: 'history-system' } };
    if (s0.startsWith('$')) return operation('/$op', {}, s0);
    const resourceType = type(s0);
    return { shape: '/[type]', target: { resourceType }, on: { GET: 'search-type', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } };
  }
  const resourceType = type(s0);
  if (s2 === undefined) {
    if (s1 === '_search') return { shape: '/[type]/_search', target: { resourceType }, on: { POST: 'search-type' } };
    if (s1 === '_history') return { shape: '/[type]/_history', target: { resourceType }, on: { GET: 'history-type' } };
    if (s1.startsWith('$')) return operation('/[type]/$op', { resourceType }, s1);
    return { shape: '/[type]/[id]', target: { resourceType, id: idOf(s1) }, on: { GET: 'read', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } };
  }
  const id = idOf(s1);
  if (s3 === undefined) {
    if (s2 === '_history') return { shape: '/[type]/[id]/_history', target: { resourceType, id }, on: { GET: 'history-instance' } };
    if (s2.startsWith('$')) return operation('/[type]/[id]/$op', { resourceType, id }, s2);
    // http.html#vsearch: GET [base]/Patient/[id]/[type] searches one patient's compartment.
    if (FHIR_TYPE.test(s2)) {
      if (resourceType !== 'Patient') fail('ERR_UNSUPPORTED', `compartment searches are supported for the Patient compartment only, not ${resourceType}`);
      return { shape: '/Patient/[id]/[type]', target: { resourceType: s2, compartment: { resourceType, id } }, on: { GET: 'search-type' } };
    }
    bad(`'${preview(s2)}' after /${resourceType}/${id} is not _history, an $operation or a resource type`);
  }
  if (s2 !== '_history') bad(`'/${resourceType}/${id}/${preview(s2)}/…' is not a FHIR interaction`);
  return { shape: '/[type]/[id]/_history/[vid]', target: { resourceType, id, versionId: idOf(s3) }, on: { GET: 'vread' } };
}

function operation(shape: string, target: Target, segment: string): Route {
  const name = segment.slice(1);
  if (!OPERATION.test(name)) bad(`'${preview(segment)}' is not an operation name ($ + ${OPERATION.source})`);
  // Bulk Data IG v2: a client cancels an export with DELETE on its status URL.
  const on: Route['on'] = name === 'export-poll-status' ? { GET: 'operation', DELETE: 'operation' } : { GET: 'operation', POST: 'operation' };
  return { shape, target: { ...target, operation: name }, on };
}

function type(segment: string): string {
  if (!FHIR_TYPE.test(segment)) bad(`'${preview(segment)}' is not a FHIR resource type (${FHIR_TYPE.source}; types start upper-case)`);
  // http.html#create, #search: "404 Not Found - resource type not supported"; deny by default.
  if (!isR4ResourceType(segment)) fail('ERR_TYPE_NOT_SUPPORTED', `resource type '${preview(segment)}' is not supported (FHIR R4 types only)`, { resourceType: preview(segment) });
  return segment;
}

function idOf(segment: string): string {
  if (!isId(segment)) bad(`'${preview(segment)}' is not a FHIR id (${FHIR_ID.source})`);
  return segment;
}

/** FHIR_ID minus `.` and `..`, which match the id pattern but are dot segments in a URL. */
function isId(value: string): boolean {
  return FHIR_ID.test(value) && value !== '.' && value !== '..';
}

/** Validate `_format`/`_pretty` and drop them; refuse `_method` (verb tunnelling). */
function controlParams(params: readonly SearchParam[]): SearchParam[] {
  const kept: SearchParam[] = [];
  for (const p of params) {
    if (p.name === '_method') bad("parameter '_method' is refused: the HTTP method cannot be changed after authorization");
    if (p.name !== '_format' && p.name !== '_pretty') kept.push(p);
    else if (p.key !== p.name) bad(`'${preview(p.key)}' takes no modifier or chain`);
    else if (p.name === '_pretty' && p.value !== 'true' && p.value !== 'false') bad(`_pretty must be true or false, not '${preview(p.value)}'`);
    else if (p.name === '_format' && !JSON_FORMATS.has(mediaType(p.value))) {
      // http.html#mime-type: `_format` overrides Accept, so it gets Accept's answer: 406.
      fail('ERR_NOT_ACCEPTABLE', `_format '${preview(p.value)}' is not supported; fhirgate speaks JSON only (json, application/fhir+json)`, { actual: preview(p.value), expected: ['application/fhir+json'] });
    }
  }
  return kept;
}

/** The media type without parameters, lower-cased: `application/fhir+json; charset=utf-8` → `application/fhir+json`. */
function mediaType(value: string): string {
  return (value.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * RFC 9110 §12.5.1: the response must be one the client accepts. fhirgate answers JSON only, so an
 * Accept header that allows no JSON type (`application/fhir+xml`, `text/html`) is 406, as
 * `_format=xml` is; `*\/*`, `application/*` and no header at all accept JSON. `q=0` excludes.
 */
function checkAccept(accept: string | undefined, alsoAccepted: ReadonlySet<string>): void {
  // What nearly every client sends, exactly: no list, no parameters, nothing to weigh.
  if (accept === undefined || accept === '*/*' || JSON_TYPES.has(accept)) return;
  if (accept.trim() === '') return;
  const ranges = accept.split(',').map((r) => r.split(';').map((p) => p.trim().toLowerCase()));
  const takesJson = ranges.some(([range, ...params]) => {
    if (params.some((p) => /^q=0(?:\.0{0,3})?$/.test(p))) return false;
    return range === '*/*' || range === 'application/*' || JSON_TYPES.has(range ?? '') || JSON_FORMATS.has(range ?? '') || alsoAccepted.has(range ?? '');
  });
  if (!takesJson) fail('ERR_NOT_ACCEPTABLE', `Accept '${preview(accept)}' allows no JSON; fhirgate answers application/fhir+json only`, { actual: preview(accept), expected: ['application/fhir+json'] });
}

function requireMediaType(headers: HttpRequest['headers'], accepted: readonly string[], what: string): void {
  const type = mediaType(headers['content-type'] ?? '');
  if (!accepted.includes(type)) {
    fail('ERR_UNSUPPORTED_MEDIA_TYPE', `content-type '${preview(type)}' is not accepted for ${what} (expected ${accepted.join(' or ')})`, { actual: preview(type), expected: accepted });
  }
}

/** http.html#transaction: POST [base] carries a Bundle of type batch or transaction. */
function bundleInteraction(body: unknown): 'batch' | 'transaction' {
  const bundle = isRecord(body) ? body : {};
  if (bundle.resourceType !== 'Bundle') bad('POST to the base needs a Bundle (batch or transaction)');
  if (bundle.type !== 'batch' && bundle.type !== 'transaction') bad(`Bundle.type '${preview(String(bundle.type))}' is not batch or transaction`);
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) bad('Bundle.entry is not an array');
  return bundle.type;
}

/** http.html#create / #update: the body is a resource of the URL's type; update also names the URL's id. */
function checkResourceBody(body: unknown, resourceType: string, id: string | undefined): void {
  if (!isRecord(body)) bad('body is not a FHIR resource (a JSON object)');
  if (body.resourceType !== resourceType) {
    bad(`body resourceType '${preview(String(body.resourceType))}' does not match the URL type '${resourceType}'`, { resourceType, actual: preview(String(body.resourceType)) });
  }
  // http.html#update: "If no id element is provided, or the id disagrees with the id in the URL,
  // the server SHALL respond with an HTTP 400 error code".
  if (id !== undefined && body.id !== id) bad(`body id '${preview(String(body.id))}' does not match the URL id '${id}'`, { resourceType, actual: preview(String(body.id)), expected: id });
}

function bad(message: string, evidence: ErrorEvidence = {}): never {
  return fail('ERR_BAD_REQUEST', message, evidence);
}

function fail(code: ErrorCode, message: string, evidence: ErrorEvidence = {}): never {
  throw new RequestError(code, message, evidence);
}
