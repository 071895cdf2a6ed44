/**
 * Hostile input over HTTP through the gateway emulation: every case gets a clear 4xx with an
 * OperationOutcome (or the refusal its status names), and no response ever carries another
 * patient's data. Each case states the request it sends.
 */
import { request as httpRequest } from 'node:http';
import { InProcessStack, resourcesIn, startInProcessStack } from '../support/in-process-stack';

jest.setTimeout(30_000);

let stack: InProcessStack;
let alice: string;

beforeAll(async () => {
  stack = await startInProcessStack({ faults: true });
  alice = stack.userToken('alice', 'patient/*.cruds');
});
afterAll(() => stack.close());

/** Raw HTTP so that paths, methods and headers reach the gateway exactly as written. */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; text: string }> {
  const url = new URL(stack.faults!.gatewayUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: { authorization: `Bearer ${alice}`, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Data that exists only in other patients' records (MRNs and birth dates of the demo data). */
const OTHERS_DATA = /DEMO-000[234]|1975-09-30|2016-06-01|1990-01-15/;

function expectRefusal(r: { status: number; text: string }, status: number | number[]) {
  expect([status].flat()).toContain(r.status);
  if (r.text) expect(JSON.parse(r.text).resourceType).toBe('OperationOutcome');
  expect(r.text).not.toMatch(OTHERS_DATA);
}

const json = { 'content-type': 'application/fhir+json' };
const observation = (extra = '') => `{"resourceType":"Observation","status":"final","code":{},"subject":{"reference":"Patient/pat-alice"}${extra}}`;

describe('sizes', () => {
  test('headers over 16 KiB → 431', async () => expectRefusal(await raw('GET', '/fhir/Patient', { 'x-padding': 'a'.repeat(20_000) }), 431));
  test('a 1 MB JWT → 431 (refused before anything parses it)', async () => expectRefusal(await raw('GET', '/fhir/Patient', { authorization: `Bearer ${'a'.repeat(1_000_000)}` }), 431));
  test('a token with 10 000 scopes → 4xx, never allowed', async () => {
    const scopes = Array.from({ length: 10_000 }, (_, i) => `patient/Type${i}.rs`).join(' ');
    const r = await raw('GET', '/fhir/Patient', { authorization: `Bearer ${stack.userToken('alice', scopes)}` });
    expectRefusal(r, [401, 431]);
  });
  test('a 12 MB body → 413', async () => expectRefusal(await raw('POST', '/fhir/Observation', json, observation(`,"note":[{"text":"${'a'.repeat(12 * 1024 * 1024)}"}]`)), 413));
  test('a 6 MB body (over the PEP limit) → 413', async () => expectRefusal(await raw('POST', '/fhir/Observation', json, observation(`,"note":[{"text":"${'a'.repeat(6 * 1024 * 1024)}"}]`)), 413));
});

describe('bodies', () => {
  test('deeply nested JSON (100 000 levels) → 400', async () => expectRefusal(await raw('POST', '/fhir/Observation', json, `${'['.repeat(100_000)}${']'.repeat(100_000)}`), 400));
  test('duplicate "subject" keys → 400', async () => expectRefusal(await raw('POST', '/fhir/Observation', json, observation(',"subject":{"reference":"Patient/pat-bob"}')), 400));
  test('"__proto__" key → 400', async () => expectRefusal(await raw('POST', '/fhir/Observation', json, observation(',"__proto__":{"admin":true}')), 400));
  test('"constructor" key nested → 400', async () => expectRefusal(await raw('POST', '/fhir/Observation', json, observation(',"code":{"constructor":{"prototype":{}}}')), 400));
});

describe('paths', () => {
  test.each([
    ['/fhir/Patient/pat-alice%2F..%2Fpat-bob', 400],
    ['/fhir/Patient/pat-alice/../pat-bob', [400, 404]],
    ['/fhir/patient/pat-bob', 400],
    ['/fhir//Patient/pat-bob', 400],
    ['/fhir/Patient/pat-bob;jsessionid=1', 400],
    ['/fhir/Patient/pat-b%C3%B6b', 400],
    ['/fhir/Patient/%70at-bob', 404],
  ])('GET %s → %s', async (path, status) => expectRefusal(await raw('GET', path), status as number));
});

describe('parameters', () => {
  test('GET Observation?subject=Patient/pat-alice&subject=Patient/pat-bob (duplicates AND) → 200, nothing of Bob', async () => {
    const r = await raw('GET', '/fhir/Observation?subject=Patient/pat-alice&subject=Patient/pat-bob');
    expect(r.status).toBe(200);
    expect(resourcesIn(JSON.parse(r.text))).toEqual([]);
  });
  test('GET Observation?patient=pat-bob → 200, empty', async () => {
    const r = await raw('GET', '/fhir/Observation?patient=pat-bob');
    expect(r.status).toBe(200);
    expect(resourcesIn(JSON.parse(r.text))).toEqual([]);
  });
  test.each([
    ['_format=xml', 406],
    ['_format=json&_format=xml', 406],
    ['_elements=code', 403],
    ['_summary=true', 403],
    ['_summary=text&_elements=id', 403],
    ['_method=DELETE', 400],
    ['_contained=true', 403],
    ['_query=everything', 403],
  ])('GET Observation?%s → %i', async (query, status) => expectRefusal(await raw('GET', `/fhir/Observation?${query}`), status));
  test('GET Observation?_summary=count → 200 with only the caller\'s count', async () => {
    const r = await raw('GET', '/fhir/Observation?_summary=count');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).total).toBe(3);
  });
  test('GET Observation?_format=json → 200', async () => expect((await raw('GET', '/fhir/Observation?_format=json')).status).toBe(200));
});

describe('methods', () => {
  test('X-HTTP-Method-Override: DELETE on a GET → 400, nothing deleted', async () => {
    expectRefusal(await raw('GET', '/fhir/Observation/obs-alice-glucose', { 'x-http-method-override': 'DELETE' }), 400);
    expect((await raw('GET', '/fhir/Observation/obs-alice-glucose')).status).toBe(200);
  });
  test.each(['HEAD', 'TRACE', 'PROPFIND'])('%s /fhir/Patient/pat-alice → 405, nothing served', async (method) => {
    expectRefusal(await raw(method, '/fhir/Patient/pat-alice'), 405);
  });
});
