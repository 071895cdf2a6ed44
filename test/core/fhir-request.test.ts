/**
 * Contract suite for the FHIR request model (FHIR R4 RESTful API, http://hl7.org/fhir/R4/http.html).
 * Every case names the request it sends (`METHOD path?query`); tables are grouped by outcome.
 */
import { RequestError } from '../../functions/core/errors';
import { parseFhirRequest } from '../../functions/core/fhir-request';
import type { FhirRequest, HttpRequest, ParseOptions } from '../../functions/core/fhir-request';

const FHIR_JSON = { 'content-type': 'application/fhir+json' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_PATCH = { 'content-type': 'application/json-patch+json' };

/** `GET /Observation?code=1` → an HttpRequest; query pairs are taken as already decoded. */
function http(line: string, extra: { headers?: Record<string, string>; body?: string } = {}): HttpRequest {
  const space = line.indexOf(' ');
  const method = line.slice(0, space);
  const target = line.slice(space + 1);
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? [] : target.slice(q + 1).split('&').map((kv): [string, string] => {
    const eq = kv.indexOf('=');
    return eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)];
  });
  return { method, path, query, headers: extra.headers ?? {}, ...(extra.body !== undefined && { body: extra.body }) };
}

const json = (value: unknown) => JSON.stringify(value);
const patient = (id?: string) => json({ resourceType: 'Patient', ...(id && { id }), name: [{ family: 'Doe' }] });

/** Run the parser and return the RequestError it throws. */
function refusal(req: HttpRequest, options?: ParseOptions): RequestError {
  try {
    parseFhirRequest(req, options);
  } catch (e) {
    if (e instanceof RequestError) return e;
    throw e;
  }
  throw new Error(`expected a RequestError for ${req.method} ${req.path}`);
}

describe('every interaction is recognised (positive)', () => {
  test.each<[string, HttpRequest, Partial<FhirRequest>]>([
    ['GET /metadata', http('GET /metadata'), { interaction: 'capabilities', params: [] }],
    ['GET /metadata?mode=terminology', http('GET /metadata?mode=terminology'), { interaction: 'capabilities' }],
    ['GET /?_type=Patient (empty-slash base)', http('GET /?_type=Patient'), { interaction: 'search-system' }],
    ['GET ?_type=Patient (no path)', { method: 'GET', path: '', query: [['_type', 'Patient']], headers: {} }, { interaction: 'search-system' }],
    ['GET /Observation?code=1234-5', http('GET /Observation?code=1234-5'), { interaction: 'search-type', resourceType: 'Observation' }],
    ['GET /Patient/123', http('GET /Patient/123'), { interaction: 'read', resourceType: 'Patient', id: '123', conditional: false }],
    ['GET /Patient/123?_elements=name', http('GET /Patient/123?_elements=name'), { interaction: 'read', id: '123' }],
    ['GET /Patient/123/_history/2', http('GET /Patient/123/_history/2'), { interaction: 'vread', id: '123', versionId: '2' }],
    ['GET /Patient/123/_history', http('GET /Patient/123/_history?_count=10'), { interaction: 'history-instance', id: '123' }],
    ['GET /Patient/_history', http('GET /Patient/_history?_since=2020-01-01'), { interaction: 'history-type', resourceType: 'Patient' }],
    ['GET /_history', http('GET /_history'), { interaction: 'history-system' }],
    ['POST /Patient', http('POST /Patient', { headers: FHIR_JSON, body: patient() }), { interaction: 'create', resourceType: 'Patient', conditional: false }],
    // Accept headers that allow JSON (browsers, fhirclient, fhir-kit-client, curl)
    ['GET /Patient/1 with Accept: */*', http('GET /Patient/1', { headers: { accept: '*/*' } }), { interaction: 'read' }],
    ['GET /Patient/1 with Accept: xml, json at q=0.5', http('GET /Patient/1', { headers: { accept: 'application/fhir+xml, application/fhir+json;q=0.5' } }), { interaction: 'read' }],
    ['GET /Patient/1 with Accept: application/json', http('GET /Patient/1', { headers: { accept: 'application/json' } }), { interaction: 'read' }],
    [
      'POST /Patient (application/json; charset=utf-8, _format=json)',
      http('POST /Patient?_format=json', { headers: { 'content-type': 'application/json; charset=utf-8' }, body: patient() }),
      { interaction: 'create', params: [] },
    ],
    ['PUT /Patient/123', http('PUT /Patient/123', { headers: FHIR_JSON, body: patient('123') }), { interaction: 'update', id: '123', conditional: false }],
    [
      'PUT /Patient/123 with If-Match: W/"4"',
      http('PUT /Patient/123', { headers: { ...FHIR_JSON, 'if-match': 'W/"4"' }, body: patient('123') }),
      { interaction: 'update', ifMatch: 'W/"4"' },
    ],
    [
      'PUT /Patient?identifier=x|1 (conditional update)',
      http('PUT /Patient?identifier=x|1', { headers: FHIR_JSON, body: patient() }),
      { interaction: 'update', resourceType: 'Patient', conditional: true, params: [{ key: 'identifier', name: 'identifier', value: 'x|1' }] },
    ],
    [
      'PATCH /Patient/123 (JSON Patch)',
      http('PATCH /Patient/123', { headers: JSON_PATCH, body: json([{ op: 'replace', path: '/active', value: false }]) }),
      { interaction: 'patch', id: '123', body: [{ op: 'replace', path: '/active', value: false }] },
    ],
    [
      'PATCH /Patient?identifier=x|1 (conditional patch)',
      http('PATCH /Patient?identifier=x|1', { headers: JSON_PATCH, body: json([{ op: 'remove', path: '/active' }]) }),
      { interaction: 'patch', conditional: true },
    ],
    ['DELETE /Patient/123', http('DELETE /Patient/123', { headers: { 'if-match': '"7"' } }), { interaction: 'delete', id: '123', ifMatch: '"7"' }],
    ['DELETE /Observation?subject=Patient/1 (conditional delete)', http('DELETE /Observation?subject=Patient/1'), { interaction: 'delete', conditional: true }],
    ['GET /$meta (system operation)', http('GET /$meta'), { interaction: 'operation', operation: 'meta' }],
    ['GET /Patient/$match', http('GET /Patient/$match'), { interaction: 'operation', resourceType: 'Patient', operation: 'match' }],
    [
      'GET /Patient/123/$everything?_count=50',
      http('GET /Patient/123/$everything?_count=50'),
      { interaction: 'operation', resourceType: 'Patient', id: '123', operation: 'everything', params: [{ key: '_count', name: '_count', value: '50' }] },
    ],
    ['POST /Patient/123/$everything (no body)', http('POST /Patient/123/$everything'), { interaction: 'operation', operation: 'everything' }],
    [
      'POST /ValueSet/$validate-code (Parameters body)',
      http('POST /ValueSet/$validate-code', { headers: FHIR_JSON, body: json({ resourceType: 'Parameters', parameter: [] }) }),
      { interaction: 'operation', operation: 'validate-code', body: { resourceType: 'Parameters', parameter: [] } },
    ],
    ['POST / (batch Bundle)', http('POST /', { headers: FHIR_JSON, body: json({ resourceType: 'Bundle', type: 'batch', entry: [] }) }), { interaction: 'batch' }],
    ['POST / (transaction Bundle)', http('POST /', { headers: FHIR_JSON, body: json({ resourceType: 'Bundle', type: 'transaction' }) }), { interaction: 'transaction' }],
    ['POST /_search (form body)', http('POST /_search', { headers: FORM, body: '_type=Patient' }), { interaction: 'search-system' }],
    ['POST /Observation/_search (no body)', http('POST /Observation/_search?code=1'), { interaction: 'search-type', resourceType: 'Observation' }],
  ])('%s', (_title, req, expected) => {
    const parsed = parseFhirRequest(req);
    expect(parsed).toMatchObject(expected);
    expect(Object.isFrozen(parsed)).toBe(true);
  });
});

describe('requests fhirgate does not understand are refused (status, message)', () => {
  const deep = '['.repeat(10_000) + ']'.repeat(10_000);
  test.each<[string, HttpRequest, number, string]>([
    // methods (405)
    ['HEAD /Patient/1', http('HEAD /Patient/1'), 405, "HTTP method 'HEAD' is not supported"],
    ['OPTIONS /metadata', http('OPTIONS /metadata'), 405, "'OPTIONS' is not supported"],
    ['TRACE /', http('TRACE /'), 405, "'TRACE' is not supported"],
    ['CONNECT /Patient', http('CONNECT /Patient'), 405, "'CONNECT' is not supported"],
    ['get /Patient/1 (lower-case method)', http('get /Patient/1'), 405, "'get' is not supported"],
    ['DELETE /metadata', http('DELETE /metadata'), 405, 'DELETE is not allowed on /metadata (allowed: GET)'],
    ['PUT /Patient/1/_history', http('PUT /Patient/1/_history'), 405, 'PUT is not allowed on /[type]/[id]/_history'],
    ['DELETE /Patient/1/_history/2', http('DELETE /Patient/1/_history/2'), 405, 'not allowed on /[type]/[id]/_history/[vid]'],
    ['POST /Patient/1', http('POST /Patient/1'), 405, 'POST is not allowed on /[type]/[id]'],
    ['GET /Patient/_search', http('GET /Patient/_search'), 405, 'GET is not allowed on /[type]/_search'],
    ['PUT /', http('PUT /'), 405, 'PUT is not allowed on [base]'],
    ['DELETE /Patient/$everything', http('DELETE /Patient/$everything'), 405, 'not allowed on /[type]/$op'],
    // verb tunnelling (400)
    ['GET /Patient/1 with X-HTTP-Method-Override: DELETE', http('GET /Patient/1', { headers: { 'x-http-method-override': 'DELETE' } }), 400, "header 'x-http-method-override' is refused"],
    ['GET /Patient?_method=DELETE', http('GET /Patient?_method=DELETE'), 400, "'_method' is refused"],
    ['POST /Patient/_search with form _method=DELETE', http('POST /Patient/_search', { headers: FORM, body: '_method=DELETE' }), 400, "'_method' is refused"],
    // paths (400)
    ['GET /patient/123 (lower-case type)', http('GET /patient/123'), 400, "'patient' is not a FHIR resource type"],
    ['GET //Patient', http('GET //Patient'), 400, 'empty segment'],
    ['GET /Patient/ (trailing slash)', http('GET /Patient/'), 400, 'empty segment'],
    ['GET /Patient/1;x=y (path parameter)', http('GET /Patient/1;x=y'), 400, "path segment '1;x=y' may hold only"],
    ['GET /Patient/123/../456 (decoded %2F..%2F)', http('GET /Patient/123/../456'), 400, "has a '..' segment"],
    ['GET /Patient/123%2F..%2F456 (encoded slash survives)', http('GET /Patient/123%2F..%2F456'), 400, 'no percent-encoding'],
    ['GET /./Patient', http('GET /./Patient'), 400, "has a '.' segment"],
    ['GET Patient/1 (no leading slash)', http('GET Patient/1'), 400, "does not start with '/'"],
    ['GET /Patient/1/extra', http('GET /Patient/1/extra'), 400, 'is not _history, an $operation or a resource type'],
    ['GET /Patient/1/_history/2/x', http('GET /Patient/1/_history/2/x'), 400, 'more segments than any FHIR interaction'],
    ['GET /Patient/1/_versions/2', http('GET /Patient/1/_versions/2'), 400, 'is not a FHIR interaction'],
    [`GET /Patient/${'a'.repeat(65)} (id too long)`, http(`GET /Patient/${'a'.repeat(65)}`), 400, 'is not a FHIR id'],
    ['GET /Patient/1/_history/v_1 (bad version id)', http('GET /Patient/1/_history/v_1'), 400, 'is not a FHIR id'],
    ['GET /Patient/$Everything (bad operation name)', http('GET /Patient/$Everything'), 400, 'is not an operation name'],
    ['GET /$ (empty operation name)', http('GET /$'), 400, 'is not an operation name'],
    // query (400)
    ['GET /Observation?=x (empty key)', http('GET /Observation?=x'), 400, 'empty search parameter name'],
    ['GET /Observation?co de=1', http('GET /Observation?co de=1'), 400, 'characters outside'],
    ['GET /Observation?_include=Observation', http('GET /Observation?_include=Observation'), 400, "is not '*', Type:param"],
    ['GET /Observation?_format=xml', http('GET /Observation?_format=xml'), 406, "_format 'xml' is not supported"],
    ['GET /Observation?_format=application/fhir+xml', http('GET /Observation?_format=application/fhir+xml'), 406, 'JSON only'],
    // Accept gets the same answer as _format (http.html#mime-type): 406, not JSON the client did not ask for
    ['GET /Observation with Accept: application/fhir+xml', http('GET /Observation', { headers: { accept: 'application/fhir+xml' } }), 406, "Accept 'application/fhir+xml' allows no JSON"],
    ['GET /Observation with Accept: text/html, json at q=0', http('GET /Observation', { headers: { accept: 'text/html, application/json;q=0' } }), 406, 'allows no JSON'],
    // not an R4 type (R4 http.html: 404 "resource type not supported"), whether or not it looks like one
    ['GET /SubscriptionStatus (R4B/R5 only)', http('GET /SubscriptionStatus'), 404, "resource type 'SubscriptionStatus' is not supported"],
    ['GET /Foo/1', http('GET /Foo/1'), 404, "resource type 'Foo' is not supported"],
    ['GET /Observation?_pretty=yes', http('GET /Observation?_pretty=yes'), 400, '_pretty must be true or false'],
    ['GET /Patient/1?_include=Patient:organization (not a read parameter)', http('GET /Patient/1?_include=Patient:organization'), 400, "'_include' is not accepted on read"],
    ['DELETE /Patient/1?foo=bar', http('DELETE /Patient/1?foo=bar'), 400, "'foo' is not accepted on delete"],
    ['DELETE /Observation (conditional delete without criteria)', http('DELETE /Observation'), 400, 'conditional delete needs search criteria'],
    ['DELETE /Observation?_format=json (only a dropped parameter)', http('DELETE /Observation?_format=json'), 400, 'needs search criteria'],
    // bodies (400 / 413)
    ['GET /Patient/1 with a body', http('GET /Patient/1', { headers: FHIR_JSON, body: '{}' }), 400, 'a GET request must not carry a body'],
    ['DELETE /Patient/1 with a body', http('DELETE /Patient/1', { headers: FHIR_JSON, body: '{}' }), 400, 'a DELETE request must not carry a body'],
    ['POST /Patient without a body', http('POST /Patient', { headers: FHIR_JSON }), 400, 'create needs a JSON body'],
    ['PUT /Patient/1 without a body', http('PUT /Patient/1'), 400, 'update needs a JSON body'],
    ['POST / without a body', http('POST /'), 400, 'batch/transaction needs a JSON body'],
    ['POST /Patient as XML', http('POST /Patient', { headers: { 'content-type': 'application/fhir+xml' }, body: '<Patient/>' }), 415, "content-type 'application/fhir+xml' is not accepted"],
    ['POST /Patient without content-type', http('POST /Patient', { body: patient() }), 415, "content-type '' is not accepted"],
    ['POST /Patient with invalid JSON', http('POST /Patient', { headers: FHIR_JSON, body: '{"resourceType":"Patient",' }), 400, 'body is not valid JSON'],
    ['POST /Patient with an unterminated key', http('POST /Patient', { headers: FHIR_JSON, body: '{"resource' }), 400, 'body is not valid JSON'],
    ['POST /Patient with {"subject":{},"subject":{}}', http('POST /Patient', { headers: FHIR_JSON, body: '{"resourceType":"Patient","subject":{},"subject":{}}' }), 400, "key 'subject' twice"],
    ['POST /Patient with a duplicate spelled \\u0073ubject', http('POST /Patient', { headers: FHIR_JSON, body: '{"resourceType":"Patient","subject":1,"\\u0073ubject":2}' }), 400, "key 'subject' twice"],
    [
      'POST /Observation with a duplicate key nested in an array',
      http('POST /Observation', { headers: FHIR_JSON, body: '{"resourceType":"Observation","code":{"coding":[{"code":"a","code":"b"}]}}' }),
      400,
      "key 'code' twice",
    ],
    ['POST /Patient with nested __proto__', http('POST /Patient', { headers: FHIR_JSON, body: '{"resourceType":"Patient","name":[{"__proto__":{"admin":true}}]}' }), 400, "'__proto__' key"],
    ['POST /Patient with "constructor"', http('POST /Patient', { headers: FHIR_JSON, body: '{"resourceType":"Patient","constructor":{"prototype":{}}}' }), 400, "'constructor' key"],
    ['POST /Patient with \\u005f_proto__ (escaped)', http('POST /Patient', { headers: FHIR_JSON, body: '{"resourceType":"Patient","\\u005f_proto__":{}}' }), 400, "'__proto__' key"],
    ['POST /Patient with 10 000 nested [', http('POST /Patient', { headers: FHIR_JSON, body: deep }), 400, 'nests deeper than 64 levels'],
    ['POST /Patient with an array body', http('POST /Patient', { headers: FHIR_JSON, body: '[]' }), 400, 'not a FHIR resource'],
    ['POST /Patient with an Observation body', http('POST /Patient', { headers: FHIR_JSON, body: json({ resourceType: 'Observation' }) }), 400, "resourceType 'Observation' does not match the URL type 'Patient'"],
    ['PUT /Patient/1 with body id 2', http('PUT /Patient/1', { headers: FHIR_JSON, body: patient('2') }), 400, "body id '2' does not match the URL id '1'"],
    ['PUT /Patient/1 with no body id', http('PUT /Patient/1', { headers: FHIR_JSON, body: patient() }), 400, "body id 'undefined' does not match"],
    ['POST / with a Patient', http('POST /', { headers: FHIR_JSON, body: patient() }), 400, 'needs a Bundle'],
    ['POST / with a searchset Bundle', http('POST /', { headers: FHIR_JSON, body: json({ resourceType: 'Bundle', type: 'searchset' }) }), 400, "Bundle.type 'searchset' is not batch or transaction"],
    ['PATCH /Patient/1 with FHIRPath Patch', http('PATCH /Patient/1', { headers: FHIR_JSON, body: json({ resourceType: 'Parameters' }) }), 415, 'JSON Patch only'],
    ['PATCH /Patient/1 with an object body', http('PATCH /Patient/1', { headers: JSON_PATCH, body: '{"op":"remove"}' }), 400, 'array of operations'],
    ['PATCH /Patient/1 without a body', http('PATCH /Patient/1', { headers: JSON_PATCH }), 400, 'needs a JSON Patch body'],
    ['POST /Patient/_search with a JSON body', http('POST /Patient/_search', { headers: FHIR_JSON, body: '{}' }), 415, "'application/fhir+json' is not accepted for POST _search"],
    // conditional headers (400)
    ['PUT /Patient/1 with If-Match: 4 (unquoted)', http('PUT /Patient/1', { headers: { ...FHIR_JSON, 'if-match': '4' }, body: patient('1') }), 400, 'is not W/"<versionId>"'],
    ['PUT /Patient/1 with If-Match: W/"a b"', http('PUT /Patient/1', { headers: { ...FHIR_JSON, 'if-match': 'W/"a b"' }, body: patient('1') }), 400, 'is not W/"<versionId>"'],
    ['PUT /Patient/1 with If-Match: *', http('PUT /Patient/1', { headers: { ...FHIR_JSON, 'if-match': '*' }, body: patient('1') }), 400, 'is not W/"<versionId>"'],
    ['GET /Patient/1 with If-Match', http('GET /Patient/1', { headers: { 'if-match': 'W/"1"' } }), 400, 'If-Match is only meaningful on update'],
    ['PUT /Patient/1 with If-None-Exist', http('PUT /Patient/1', { headers: { ...FHIR_JSON, 'if-none-exist': 'identifier=1' }, body: patient('1') }), 400, 'If-None-Exist is only meaningful on create'],
    ['POST /Patient with empty If-None-Exist', http('POST /Patient', { headers: { ...FHIR_JSON, 'if-none-exist': '&' }, body: patient() }), 400, 'If-None-Exist has no search criteria'],
    ['POST /Patient with If-None-Exist: _method=GET', http('POST /Patient', { headers: { ...FHIR_JSON, 'if-none-exist': 'identifier=1&_method=GET' }, body: patient() }), 400, "not '_method'"],
    ['POST /Patient with If-None-Exist: bad key', http('POST /Patient', { headers: { ...FHIR_JSON, 'if-none-exist': 'a b=1' }, body: patient() }), 400, 'characters outside'],
  ])('%s', (_title, req, status, fragment) => {
    const e = refusal(req);
    expect(e.status).toBe(status);
    expect(e.message).toContain(fragment);
  });
});

describe('limits', () => {
  test('POST /Patient with a body over maxBodyBytes → 413', () => {
    const e = refusal(http('POST /Patient', { headers: FHIR_JSON, body: patient() }), { maxBodyBytes: 20 });
    expect(e.status).toBe(413);
    expect(e.code).toBe('ERR_PAYLOAD_TOO_LARGE');
  });

  test('POST /Patient with multi-byte text: bytes, not characters, are counted', () => {
    const body = json({ resourceType: 'Patient', text: 'ü'.repeat(40) }); // 76 characters, 116 bytes
    expect(refusal(http('POST /Patient', { headers: FHIR_JSON, body }), { maxBodyBytes: 100 }).status).toBe(413);
    expect(parseFhirRequest(http('POST /Patient', { headers: FHIR_JSON, body }), { maxBodyBytes: 116 }).interaction).toBe('create');
  });

  test('GET /Observation with 101 query parameters → 400', () => {
    const query = Array.from({ length: 101 }, (_, i): [string, string] => ['code', String(i)]);
    const e = refusal({ method: 'GET', path: '/Observation', query, headers: {} });
    expect(e.status).toBe(400);
    expect(e.message).toContain('more than 100 query parameters');
  });

  test('POST /Observation/_search with query + form over maxParams → 400', () => {
    const e = refusal(http('POST /Observation/_search?a=1&b=2', { headers: FORM, body: 'c=3&d=4' }), { maxParams: 3 });
    expect(e.message).toContain('more than 3 parameters (query and form together)');
  });

  test('POST /Patient nesting exactly maxJsonDepth is accepted, one more is not', () => {
    const nested = (n: number) => `{"resourceType":"Patient","x":${'['.repeat(n - 1)}${']'.repeat(n - 1)}}`;
    expect(parseFhirRequest(http('POST /Patient', { headers: FHIR_JSON, body: nested(5) }), { maxJsonDepth: 5 }).interaction).toBe('create');
    expect(refusal(http('POST /Patient', { headers: FHIR_JSON, body: nested(6) }), { maxJsonDepth: 5 }).message).toContain('deeper than 5');
  });

  test('a hostile path is echoed at most ~80 characters', () => {
    expect(refusal(http(`GET /Patient/${'x;'.repeat(5000)}`)).message.length).toBeLessThan(200);
  });
});

describe('parameters', () => {
  test('GET /Observation?code=1&code=2&subject:Patient.name=Al: duplicates kept in order, chains parsed', () => {
    const r = parseFhirRequest(http('GET /Observation?code=1&code=2&subject:Patient.name=Al'));
    expect(r.params).toEqual([
      { key: 'code', name: 'code', value: '1' },
      { key: 'code', name: 'code', value: '2' },
      { key: 'subject:Patient.name', name: 'subject', modifier: 'Patient', chain: ['name'], value: 'Al' },
    ]);
  });

  test('POST /Observation/_search?code=1 with form body: form params merged after query params, _format dropped', () => {
    const r = parseFhirRequest(
      http('POST /Observation/_search?code=1&_format=json', {
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
        body: 'subject=Patient%2F7&_format=application/fhir+json&code=2&_has:Observation:patient:code=x',
      }),
    );
    expect(r.interaction).toBe('search-type');
    expect(r.params.map((p) => `${p.key}=${p.value}`)).toEqual(['code=1', 'subject=Patient/7', 'code=2', '_has:Observation:patient:code=x']);
  });

  test('GET /Observation?_format=application/fhir+json;charset=utf-8&_pretty=true: both validated and dropped', () => {
    const r = parseFhirRequest(http('GET /Observation?_format=application/fhir+json;charset=utf-8&_pretty=true&code=1'));
    expect(r.params).toEqual([{ key: 'code', name: 'code', value: '1' }]);
  });

  test('POST /Patient with If-None-Exist: identifier=http://x|1&active=true → conditional create', () => {
    const r = parseFhirRequest(
      http('POST /Patient', { headers: { ...FHIR_JSON, 'if-none-exist': 'identifier=http%3A%2F%2Fx%7C1&active=true' }, body: patient() }),
    );
    expect(r).toMatchObject({ interaction: 'create', conditional: true, params: [] });
    expect(r.ifNoneExist).toEqual([
      { key: 'identifier', name: 'identifier', value: 'http://x|1' },
      { key: 'active', name: 'active', value: 'true' },
    ]);
  });

  test('POST /Patient?identifier=1 (criteria belong in If-None-Exist, not the query) → 400', () => {
    expect(refusal(http('POST /Patient?identifier=1', { headers: FHIR_JSON, body: patient() })).message).toContain("'identifier' is not accepted on create");
  });

  test('PUT /Patient?identifier=1: conditional update body may omit id', () => {
    expect(parseFhirRequest(http('PUT /Patient?identifier=1', { headers: FHIR_JSON, body: patient() })).conditional).toBe(true);
  });
});

describe('compartment search (R4 http.html#vsearch)', () => {
  test('GET /Patient/p1/Observation → a type search on Observation inside Patient p1\'s compartment', () => {
    expect(parseFhirRequest(http('GET /Patient/p1/Observation?code=x'))).toMatchObject({
      interaction: 'search-type',
      resourceType: 'Observation',
      compartment: { resourceType: 'Patient', id: 'p1' },
      params: [{ key: 'code', value: 'x' }],
    });
  });

  test('GET /Encounter/e1/Observation → 400 not-supported (only the Patient compartment)', () => {
    expect(refusal(http('GET /Encounter/e1/Observation'))).toMatchObject({ status: 400, code: 'ERR_UNSUPPORTED' });
  });

  test('POST /Patient/p1/Observation → 405', () => {
    expect(refusal(http('POST /Patient/p1/Observation')).status).toBe(405);
  });
});
