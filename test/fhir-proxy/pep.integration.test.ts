/**
 * The PEP end to end in one process: real authorizer output → real proxy handler → local FHIR
 * store over HTTP, through the API Gateway emulation. Each test names the request it sends.
 * Demo world: Alice (patient), Bob (patient), a guardian of Carol, a practitioner whose panel is
 * Alice; machine clients api-server and analytics.
 */
import { BackendResponse } from '../../functions/fhir-proxy/backend';
import { InProcessStack, keysIn, resourcesIn, startInProcessStack } from '../support/in-process-stack';

let stack: InProcessStack;
let alice: string;

beforeAll(async () => {
  stack = await startInProcessStack();
  alice = stack.userToken('alice');
});
afterAll(() => stack.close());
afterEach(() => {
  stack.tamper = undefined;
});

const otherPatients = (body: unknown, own: string[]) =>
  resourcesIn(body).filter((r) => JSON.stringify(r).match(/Patient\/pat-[a-z]+/g)?.some((ref) => !own.includes(ref.slice(8))) || (r.resourceType === 'Patient' && !own.includes(r.id)));

/** Replace a backend JSON body (for crafted-response tests). */
function withBody(res: BackendResponse, change: (body: any) => any): BackendResponse {
  return { ...res, body: JSON.stringify(change(JSON.parse(res.body))) };
}

describe('reads', () => {
  test('GET Patient/pat-alice as Alice → 200', async () => {
    const r = await stack.call(alice, 'GET', 'Patient/pat-alice');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ resourceType: 'Patient', id: 'pat-alice' });
    expect(r.headers.etag).toMatch(/^W\/"/);
  });

  test('GET Patient/pat-bob as Alice → 404, same body as a missing id', async () => {
    const other = await stack.call(alice, 'GET', 'Patient/pat-bob');
    const missing = await stack.call(alice, 'GET', 'Patient/does-not-exist');
    expect(other.status).toBe(404);
    expect(other.body).toEqual(missing.body);
    expect(other.body.resourceType).toBe('OperationOutcome');
  });

  test('GET Observation/obs-bob-glucose as Alice → 404', async () => {
    expect((await stack.call(alice, 'GET', 'Observation/obs-bob-glucose')).status).toBe(404);
  });

  test('GET Practitioner/prac-2 (shared type) as Alice → 200', async () => {
    const r = await stack.call(alice, 'GET', 'Practitioner/prac-2');
    expect(r.status).toBe(200);
    expect(r.body.id).toBe('prac-2');
  });

  test('GET Device/device-alice-1 as Alice → 403: Device is in no R4 patient compartment and not shared', async () => {
    expect((await stack.call(alice, 'GET', 'Device/device-alice-1')).status).toBe(403);
  });

  test('GET Observation/obs-alice-glucose/_history/1 (vread) as Alice → 200; Bob\'s → 404', async () => {
    expect((await stack.call(alice, 'GET', 'Observation/obs-alice-glucose/_history/1')).status).toBe(200);
    expect((await stack.call(alice, 'GET', 'Observation/obs-bob-glucose/_history/1')).status).toBe(404);
  });

  test('GET Observation/obs-bob-glucose/_history as Alice → 404 (history of another patient)', async () => {
    expect((await stack.call(alice, 'GET', 'Observation/obs-bob-glucose/_history')).status).toBe(404);
  });

  test('a backend that answers a read with another patient\'s resource is caught → 404', async () => {
    stack.tamper = (req, res) => (req.path === 'Observation/obs-alice-glucose' ? withBody(res, (b) => ({ ...b, subject: { reference: 'Patient/pat-bob' } })) : res);
    expect((await stack.call(alice, 'GET', 'Observation/obs-alice-glucose')).status).toBe(404);
  });
});

describe('searches', () => {
  test('GET Observation (no patient) as Alice → only Alice\'s', async () => {
    const r = await stack.call(alice, 'GET', 'Observation');
    expect(r.status).toBe(200);
    expect(keysIn(r.body).length).toBeGreaterThanOrEqual(3);
    expect(otherPatients(r.body, ['pat-alice'])).toEqual([]);
  });

  test('GET Observation?subject=Patient/pat-bob as Alice → 200 with no entries (narrowing is AND-ed)', async () => {
    const r = await stack.call(alice, 'GET', 'Observation?subject=Patient/pat-bob');
    expect(r.status).toBe(200);
    expect(keysIn(r.body)).toEqual([]);
  });

  test('GET Patient as the guardian → only Carol', async () => {
    const r = await stack.call(stack.userToken('guardian'), 'GET', 'Patient');
    expect(keysIn(r.body)).toEqual(['Patient/pat-carol']);
  });

  test('GET Observation?_include=Observation:subject&_include=Observation:performer → includes own Patient and Practitioner only', async () => {
    const r = await stack.call(alice, 'GET', 'Observation?_include=Observation:subject&_include=Observation:performer');
    expect(keysIn(r.body)).toEqual(expect.arrayContaining(['Patient/pat-alice', 'Practitioner/prac-1']));
    expect(otherPatients(r.body, ['pat-alice'])).toEqual([]);
  });

  test('GET Patient?_revinclude=Observation:subject → own only', async () => {
    const r = await stack.call(alice, 'GET', 'Patient?_revinclude=Observation:subject');
    expect(keysIn(r.body)).toContain('Observation/obs-alice-glucose');
    expect(otherPatients(r.body, ['pat-alice'])).toEqual([]);
  });

  test('GET Patient?_revinclude:iterate=Observation:performer → 403 (:iterate walks other patients\' records)', async () => {
    const r = await stack.call(alice, 'GET', 'Patient?_revinclude=Observation:subject&_revinclude:iterate=Observation:performer');
    expect(r.status).toBe(403);
    expect(r.body.issue[0].details.text).toContain(':iterate');
  });

  test('GET Practitioner?_revinclude=Observation:performer (a shared hub) → 403, the backend never walks it', async () => {
    const r = await stack.call(alice, 'GET', 'Practitioner?_revinclude=Observation:performer');
    expect(r.status).toBe(403);
    expect(r.body.issue[0].details.text).toContain('shared Practitioner');
  });

  test('post-filter: a crafted backend search answer with Bob\'s Observation as match and include → removed, total counts only what is kept', async () => {
    stack.tamper = (req, res) =>
      req.path.startsWith('Observation?')
        ? withBody(res, (b) => ({
            ...b,
            total: 99,
            entry: [
              ...(b.entry ?? []),
              { fullUrl: `${stack.store.baseUrl}/Observation/obs-bob-glucose`, resource: { resourceType: 'Observation', id: 'obs-bob-glucose', status: 'final', code: {}, subject: { reference: 'Patient/pat-bob' } }, search: { mode: 'match' } },
              { resource: { resourceType: 'Patient', id: 'pat-bob' }, search: { mode: 'include' } },
              { resource: { resourceType: 'Observation', id: 'x', subject: { reference: `${stack.store.baseUrl}/Patient/pat-bob` } }, search: { mode: 'include' } },
              { search: { mode: 'match' } },
            ],
          }))
        : res;
    const r = await stack.call(alice, 'GET', 'Observation?_include=Observation:subject');
    expect(r.status).toBe(200);
    expect(otherPatients(r.body, ['pat-alice'])).toEqual([]);
    expect(keysIn(r.body)).not.toContain('Patient/pat-bob');
    // Not the backend's 99: the number of matches Alice sees (this page is the whole answer).
    expect(r.body.total).toBe(r.body.entry.filter((e: any) => e.search?.mode !== 'include').length);
    expect(keysIn(r.body)).toContain('Observation/obs-alice-glucose');
    expect(stack.logs.at(-1)).toMatchObject({ event: 'fhir.access', removed: 4 });
  });

  test('fullUrls point at the public base, never the backend', async () => {
    const r = await stack.call(alice, 'GET', 'Observation');
    const text = JSON.stringify(r.body);
    expect(text).not.toContain(stack.store.baseUrl);
    expect(r.body.entry[0].fullUrl).toMatch(/^https:\/\/gateway\.test\/local\/fhir\/Observation\//);
  });

  test('GET Patient?_has:Observation:patient:code=2339-0 as Alice → 403 (reverse chaining refused for patient-scoped callers)', async () => {
    const r = await stack.call(alice, 'GET', 'Patient?_has:Observation:patient:code=2339-0');
    expect(r.status).toBe(403);
    expect(r.body.issue[0].details.text).toMatch(/_has/);
  });

  test('GET Observation?subject.name=Bob as Alice → 403 (chained parameters refused for patient-scoped callers)', async () => {
    expect((await stack.call(alice, 'GET', 'Observation?subject.name=Bob')).status).toBe(403);
  });

  test('GET Observation?subject.name=Alice as api-server (system) → 200', async () => {
    const r = await stack.call(stack.machineToken('system/*.rs'), 'GET', 'Observation?subject.name=Alice');
    expect(r.status).toBe(200);
  });

  test('POST Observation/_search (form body) as Alice → only Alice\'s', async () => {
    const r = await stack.call(alice, 'POST', 'Observation/_search', { body: 'category=laboratory', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r.status).toBe(200);
    expect(keysIn(r.body)).toEqual(['Observation/obs-alice-glucose']);
  });
});

describe('paging', () => {
  test('next link is public, signed, and re-authorized on use; a tampered link is refused', async () => {
    const first = await stack.call(alice, 'GET', 'Observation?_count=1');
    const next = first.body.link.find((l: any) => l.relation === 'next').url as string;
    expect(next).toMatch(/^https:\/\/gateway\.test\/local\/fhir\/Observation\?.*_fhirgate_page=/);
    const path = next.replace('https://gateway.test/local/fhir/', '');
    const second = await stack.call(alice, 'GET', path);
    expect(second.status).toBe(200);
    expect(keysIn(second.body)).toHaveLength(1);
    expect(keysIn(second.body)).not.toEqual(keysIn(first.body));
    // Tampered: same signature, different narrowing.
    const tampered = path.replace('pat-alice', 'pat-bob');
    expect((await stack.call(alice, 'GET', tampered)).status).toBe(403);
    // Replayed by another caller.
    expect((await stack.call(stack.userToken('bob'), 'GET', path)).status).toBe(403);
    // Cursor without any signature.
    expect((await stack.call(alice, 'GET', 'Observation?_count=1&_offset=1')).status).toBe(403);
  });
});

describe('$everything', () => {
  test('GET Patient/pat-alice/$everything as Alice → own compartment plus shared', async () => {
    const r = await stack.call(alice, 'GET', 'Patient/pat-alice/$everything');
    expect(r.status).toBe(200);
    expect(keysIn(r.body)).toEqual(expect.arrayContaining(['Patient/pat-alice', 'Observation/obs-alice-glucose']));
    expect(otherPatients(r.body, ['pat-alice'])).toEqual([]);
  });
  test('GET Patient/pat-bob/$everything as Alice → 404', async () => {
    expect((await stack.call(alice, 'GET', 'Patient/pat-bob/$everything')).status).toBe(404);
  });
  test('GET Patient/pat-alice/$lastn (an operation fhirgate does not serve) → 501 not-supported, not 403', async () => {
    const r = await stack.call(alice, 'GET', 'Patient/pat-alice/$lastn');
    expect({ status: r.status, code: r.body.issue[0].code }).toEqual({ status: 501, code: 'not-supported' });
  });

  test('POST Patient/pat-alice/$everything with a Parameters body = the GET with those parameters', async () => {
    const body = { resourceType: 'Parameters', parameter: [{ name: '_count', valueInteger: 2 }] };
    const post = await stack.call(alice, 'POST', 'Patient/pat-alice/$everything', { body });
    const get = await stack.call(alice, 'GET', 'Patient/pat-alice/$everything?_count=2');
    expect(post.status).toBe(200);
    expect(post.body.entry.map((e: any) => e.fullUrl)).toEqual(get.body.entry.map((e: any) => e.fullUrl));
    // For someone else's patient, POST reads as missing exactly like GET.
    expect((await stack.call(alice, 'POST', 'Patient/pat-bob/$everything', { body })).status).toBe(404);
    // A parameter with no URL form is refused.
    expect((await stack.call(alice, 'POST', 'Patient/pat-alice/$everything', { body: { resourceType: 'Parameters', parameter: [{ name: 'x', resource: { resourceType: 'Patient' } }] } })).status).toBe(400);
  });
});
