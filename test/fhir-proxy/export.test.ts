/**
 * The proxy's `$export` against a scripted backend (functions/fhir-proxy/export.ts): what is sent
 * to HealthLake, and what of the backend's answers reaches the caller. The local-stack suite
 * (test/local/bulk-export.e2e.test.ts) covers the happy paths over HTTP; this one covers backend
 * answers a real store rarely gives: foreign URLs, quota, smuggled lines, S3 locations.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { principalToContext } from '../../functions/core/principal-context';
import type { Principal } from '../../functions/core/principal';
import { parseScopeString } from '../../functions/core/scopes';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import type { BackendRequest, BackendResponse, FhirBackend } from '../../functions/fhir-proxy/backend';
import type { ExportConfig } from '../../functions/fhir-proxy/export-config';
import { createProxyHandler } from '../../functions/fhir-proxy/handler';
import { createHmacPageSigner } from '../../functions/fhir-proxy/page-signer';

const BACKEND = 'https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4';
const PUBLIC = 'https://api.example.com/fhir';
const system = (clientId: string, scope: string): Principal => ({ kind: 'system', sub: clientId, clientId, patients: [], scopes: parseScopeString(scope).resource });

type Script = (req: BackendRequest) => BackendResponse | Promise<BackendResponse>;

function proxy(script: Script, exports?: ExportConfig) {
  const sent: BackendRequest[] = [];
  const logs: Record<string, unknown>[] = [];
  const backend: FhirBackend = { baseUrl: BACKEND, send: async (req) => (sent.push(req), script(req)) };
  const handler = createProxyHandler({
    backend,
    settings: DEFAULT_SETTINGS,
    signer: createHmacPageSigner(Buffer.alloc(32, 1)),
    discovery: { issuer: 'https://issuer', tokenEndpoint: 'https://issuer/token', jwksUri: 'https://issuer/jwks.json', backendServices: true, clientSecrets: false, scopesSupported: [] },
    publicBaseUrl: PUBLIC,
    log: (r) => logs.push(r),
    exports,
  });
  const call = async (principal: Principal, method: string, url: string, headers: Record<string, string> = {}, body?: string) => {
    const [path, query = ''] = url.split('?');
    const params = new URLSearchParams(query);
    const multi: Record<string, string[]> = {};
    for (const [k, v] of params) (multi[k] ??= []).push(v);
    const event = {
      httpMethod: method,
      path: `/fhir/${path}`,
      resource: '/fhir/{proxy+}',
      pathParameters: { proxy: path },
      headers,
      multiValueHeaders: {},
      queryStringParameters: null,
      multiValueQueryStringParameters: Object.keys(multi).length ? multi : null,
      body: body ?? null,
      isBase64Encoded: false,
      requestContext: { requestId: 'r1', domainName: 'api.example.com', stage: 'prod', authorizer: principalToContext(principal) },
    } as unknown as APIGatewayProxyEvent;
    const res = await handler(event);
    return { status: res.statusCode, headers: res.headers as Record<string, string>, text: res.body, json: () => JSON.parse(res.body) };
  };
  return { call, sent, logs };
}

const OWNER = system('client-a', 'system/*.rs');
const ASYNC = { prefer: 'respond-async' };
const accepted = (location = `${BACKEND}/export/abc123`): BackendResponse => ({ status: 202, headers: { 'content-location': location }, body: '' });

/** Kick off against a backend that accepts, and return the public status URL's path+query. */
async function started(p: ReturnType<typeof proxy>, principal = OWNER, url = '$export') {
  const res = await p.call(principal, 'GET', url, ASYNC);
  expect(res.status).toBe(202);
  return res.headers['content-location']!.slice(PUBLIC.length + 1);
}

test('HealthLake: POST $export with the S3 target, KMS key and data-access role; _type from the plan', async () => {
  const healthLake = { s3Uri: 's3://exports-bucket/fhirgate/', kmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/k', dataAccessRoleArn: 'arn:aws:iam::111122223333:role/export' };
  const p = proxy(() => accepted(), { healthLake });
  await started(p, system('client-a', 'system/Observation.rs'), 'Group/g1/$export');
  expect(p.sent[0]).toMatchObject({ method: 'POST', path: 'Group/g1/$export?_type=Observation', headers: { prefer: 'respond-async', 'content-type': 'application/json' } });
  expect(JSON.parse(p.sent[0]!.body!)).toEqual({
    JobName: 'fhirgate-client-a',
    OutputDataConfig: { S3Configuration: { S3Uri: 's3://exports-bucket/fhirgate/', KmsKeyId: healthLake.kmsKeyId } },
    DataAccessRoleArn: healthLake.dataAccessRoleArn,
  });
});

test('any other FHIR server: the IG GET kick-off, with only the planned parameters', async () => {
  const p = proxy(() => accepted());
  await started(p, OWNER, '$export?_type=Patient&_since=2024-01-01T00:00:00Z&_outputFormat=ndjson');
  expect(p.sent[0]).toEqual({ method: 'GET', path: '$export?_type=Patient&_since=2024-01-01T00:00:00Z', headers: { prefer: 'respond-async' } });
});

test.each<[string, number, BackendResponse]>([
  ['a status URL on another host', 502, accepted('https://evil.example/export/1')],
  ['no Content-Location', 502, { status: 202, headers: {}, body: '' }],
  ['a 200 instead of 202', 502, { status: 200, headers: {}, body: '{}' }],
  ['a dot segment', 502, accepted(`${BACKEND}/export/../Patient`)],
])('backend kick-off answers %s → %i (never passed on)', async (_name, status, answer) => {
  const p = proxy(() => answer);
  expect((await p.call(OWNER, 'GET', '$export', ASYNC)).status).toBe(status);
});

test('export operations are refused inside a batch (asynchronous, never an entry\'s answer)', async () => {
  const p = proxy(() => accepted());
  const handle = (await started(p)).split('_jobId=')[1];
  const batch = { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `$export-poll-status?_jobId=${handle}` } }, { request: { method: 'GET', url: '$export' } }] };
  const sentBefore = p.sent.length;
  const res = await p.call(OWNER, 'POST', '', { 'content-type': 'application/fhir+json' }, JSON.stringify(batch));
  const statuses = res.status === 200 ? res.json().entry.map((e: any) => e.response.status) : [String(res.status)];
  for (const status of statuses) expect(status).toMatch(/^400/);
  expect(p.sent.length).toBe(sentBefore); // nothing reached the backend
});

test('quota full: 429 with a sane Retry-After, on kick-off and on status', async () => {
  const p = proxy(() => ({ status: 429, headers: { 'retry-after': '30' }, body: '' }));
  const res = await p.call(OWNER, 'GET', '$export', ASYNC);
  expect(res.status).toBe(429);
  expect(res.headers['retry-after']).toBe('30');
  expect(res.json().resourceType).toBe('OperationOutcome');
  const odd = proxy(() => ({ status: 429, headers: { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }, body: '' }));
  expect((await odd.call(OWNER, 'GET', '$export', ASYNC)).headers['retry-after']).toBe('5');
});

test('running: 202 with X-Progress (printable, short) and Retry-After; a hostile X-Progress is dropped', async () => {
  let progress = 'in progress (50%)';
  const p = proxy((req) => (req.path.startsWith('$export') ? accepted() : { status: 202, headers: { 'x-progress': progress, 'retry-after': '3' }, body: '' }));
  const status = await started(p);
  let res = await p.call(OWNER, 'GET', status);
  expect(res).toMatchObject({ status: 202, headers: { 'x-progress': 'in progress (50%)', 'retry-after': '3' } });
  progress = 'x'.repeat(500);
  res = await p.call(OWNER, 'GET', status);
  expect(res.headers['x-progress']).toBeUndefined();
});

describe('manifest and files from a completed backend job', () => {
  const manifest = {
    transactionTime: '2026-01-01T00:00:00Z',
    request: `${BACKEND}/$export`,
    requiresAccessToken: true,
    output: [
      { type: 'Observation', url: `${BACKEND}/export/abc123/Observation-1.ndjson` },
      { type: 'Patient', url: `${BACKEND}/export/abc123/Patient-1.ndjson` },
      { type: 'Observation', url: 's3://exports-bucket/fhirgate/abc123/Observation-2.ndjson' },
      { type: 'Observation', url: 's3://other-bucket/fhirgate/abc123/Observation-3.ndjson' },
      { type: 'Observation', url: 's3://exports-bucket/elsewhere/Observation-4.ndjson' }, // outside the export prefix
    ],
    error: [],
  };
  const files: Record<string, string> = {
    'export/abc123/Observation-1.ndjson': [
      JSON.stringify({ resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' } }),
      JSON.stringify({ resourceType: 'Patient', id: 'smuggled' }), // another type in an Observation file
      '{not json',
    ].join('\n'),
    'export/abc123/Patient-1.ndjson': JSON.stringify({ resourceType: 'Patient', id: 'p1' }),
  };
  const script: Script = (req) => {
    if (req.path.startsWith('$export')) return accepted();
    if (req.path === 'export/abc123') return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(manifest) };
    const file = files[req.path];
    return file ? { status: 200, headers: {}, body: file } : { status: 404, headers: {}, body: '' };
  };
  const s3Bodies: string[] = [];
  const s3: ExportConfig['s3'] = {
    baseUrl: 'https://exports-bucket.s3.us-east-1.amazonaws.com',
    bucket: 'exports-bucket',
    prefix: 'fhirgate/',
    send: async (req) => (s3Bodies.push(req.path), { status: 200, headers: {}, body: JSON.stringify({ resourceType: 'Observation', id: 'o2', status: 'final', code: { text: 'y' } }) }),
  };

  test('the analytics client (system/Observation.rs) sees only Observation files, at fhirgate URLs', async () => {
    const analytics = system('analytics', 'system/Observation.rs');
    const p = proxy(script, { s3 });
    const status = await started(p, analytics);
    const res = await p.call(analytics, 'GET', status);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json();
    expect(body.output.map((o: { type: string }) => o.type)).toEqual(['Observation', 'Observation', 'Observation', 'Observation']);
    expect(res.text).not.toContain(BACKEND);
    expect(res.text).not.toContain('s3://');
    expect(body.request).toBe(`${PUBLIC}/$export`);
    // The Patient file's index (o1) is not served to it even when asked for directly.
    const jobId = new URLSearchParams(status.split('?')[1]).get('_jobId')!;
    expect((await p.call(analytics, 'GET', `$export-file?_jobId=${jobId}&_file=o1`)).status).toBe(404);
  });

  test('files: lines of another type and garbage are removed; S3 only in the export bucket and prefix', async () => {
    const p = proxy(script, { s3 });
    const status = await started(p);
    const body = (await p.call(OWNER, 'GET', status)).json();
    const path = (url: string) => url.slice(PUBLIC.length + 1);
    const first = await p.call(OWNER, 'GET', path(body.output[0].url));
    expect(first).toMatchObject({ status: 200, headers: { 'content-type': 'application/fhir+ndjson' } });
    expect(first.text.trim().split('\n').map((l) => JSON.parse(l).id)).toEqual(['o1']);
    expect(p.logs.at(-1)).toMatchObject({ removed: 2, export: { step: 'download', type: 'Observation', file: 'o0', job: 'export/abc123' } });
    const fromS3 = await p.call(OWNER, 'GET', path(body.output[2].url));
    expect(fromS3.status).toBe(200);
    expect(s3Bodies).toEqual(['fhirgate/abc123/Observation-2.ndjson']);
    expect((await p.call(OWNER, 'GET', path(body.output[3].url))).status).toBe(404); // another bucket
    expect((await p.call(OWNER, 'GET', path(body.output[4].url))).status).toBe(404); // outside the prefix
    expect(s3Bodies).toHaveLength(1);
  });

  test('a file larger than one response can carry is a 413 that says how to narrow the export', async () => {
    const p = proxy(script, { maxFileBytes: 50 });
    const status = await started(p);
    const body = (await p.call(OWNER, 'GET', status)).json();
    const res = await p.call(OWNER, 'GET', body.output[0].url.slice(PUBLIC.length + 1));
    expect(res.status).toBe(413);
    expect(res.text).toMatch(/_type, _since or _typeFilter/);
  });

  test('without an S3 reader, s3:// files are 404, never fetched some other way', async () => {
    const p = proxy(script);
    const status = await started(p);
    const body = (await p.call(OWNER, 'GET', status)).json();
    expect((await p.call(OWNER, 'GET', body.output[2].url.slice(PUBLIC.length + 1))).status).toBe(404);
  });

  test('a handle older than maxAgeSeconds is a 404 like any unknown job', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const p = proxy(script, { maxAgeSeconds: 60, now: () => now });
    const status = await started(p);
    expect((await p.call(OWNER, 'GET', status)).status).toBe(200);
    now += 61_000;
    const expired = await p.call(OWNER, 'GET', status);
    const unknown = await p.call(OWNER, 'GET', '$export-poll-status?_jobId=' + 'A'.repeat(40) + '.' + 'B'.repeat(43));
    expect(expired.status).toBe(404);
    expect(expired.text).toBe(unknown.text);
  });

  test('status URL parameters: exactly one _jobId, nothing else', async () => {
    const p = proxy(script);
    const status = await started(p);
    expect((await p.call(OWNER, 'GET', `${status}&_jobId=x`)).status).toBe(400);
    expect((await p.call(OWNER, 'GET', `${status}&extra=1`)).status).toBe(400);
    expect((await p.call(OWNER, 'POST', status, { 'content-type': 'application/fhir+json' }, '{}')).status).toBe(405);
  });
});
