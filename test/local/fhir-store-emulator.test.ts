/**
 * The local FHIR R4 store (HealthLake stand-in), exercised over real HTTP on 127.0.0.1.
 * Each case names the request it sends.
 */
import type { Bundle, CapabilityStatement, Observation, OperationOutcome, Patient, Resource } from '@medplum/fhirtypes';
import type { FhirStoreServer } from '../../local/fhir-store';
import { createFhirStoreServer, DEFAULT_DATASTORE_ID, demoBundle, demoResources, seedStore } from '../../local/fhir-store';

interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Sends one request; `path` is relative to the store's base URL unless it starts with `http` or `/`. */
async function call<T = any>(
  server: FhirStoreServer,
  method: string,
  path: string,
  init: { body?: unknown; raw?: string; headers?: Record<string, string> } = {}
): Promise<Reply<T>> {
  const url = path.startsWith('http')
    ? path
    : path.startsWith('/')
      ? `http://127.0.0.1:${server.port}${path}`
      : `${server.baseUrl}/${path}`;
  const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  const response = await fetch(url, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}), ...init.headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

const ids = (bundle: Bundle, mode?: 'match' | 'include'): string[] =>
  (bundle.entry ?? []).filter((e) => !mode || e.search?.mode === mode).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`).sort();

const link = (bundle: Bundle, relation: string): string | undefined => bundle.link?.find((l) => l.relation === relation)?.url;

describe('local FHIR store: protocol and routing', () => {
  let server: FhirStoreServer;
  beforeAll(async () => {
    server = await createFhirStoreServer({ seed: [demoBundle()] });
  });
  afterAll(() => server.close());

  test('the base URL is HealthLake-shaped on loopback with a 32-hex datastore id', () => {
    expect(server.baseUrl).toBe(`http://127.0.0.1:${server.port}/datastore/${DEFAULT_DATASTORE_ID}/r4`);
    expect(DEFAULT_DATASTORE_ID).toMatch(/^[0-9a-f]{32}$/);
  });

  test('a datastore id that is not 32 hex characters is refused', async () => {
    await expect(createFhirStoreServer({ datastoreId: 'not-hex' })).rejects.toThrow(TypeError);
  });

  test('GET metadata → CapabilityStatement listing interactions, search params and $everything', async () => {
    const reply = await call<CapabilityStatement>(server, 'GET', 'metadata');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(reply.body.resourceType).toBe('CapabilityStatement');
    expect(reply.body.fhirVersion).toBe('4.0.1');
    const patient = reply.body.rest?.[0].resource?.find((r) => r.type === 'Patient');
    expect(patient?.interaction?.map((i) => i.code)).toEqual(expect.arrayContaining(['read', 'vread', 'search-type', 'patch']));
    expect(patient?.searchParam?.map((p) => p.name)).toContain('name');
    expect(patient?.operation?.[0].name).toBe('everything');
    expect(reply.body.rest?.[0].interaction?.map((i) => i.code)).toEqual(['transaction', 'batch', 'history-system']);
  });

  test.each([
    ['/Patient/pat-alice', 'no datastore prefix'],
    [`/datastore/${'f'.repeat(32)}/r4/Patient/pat-alice`, 'another datastore id'],
    [`/datastore/${DEFAULT_DATASTORE_ID}/r5/Patient/pat-alice`, 'wrong FHIR version segment'],
    [`/datastore/${DEFAULT_DATASTORE_ID}/r4extra/Patient`, 'prefix followed by more characters'],
    [`/datastore/${DEFAULT_DATASTORE_ID}/r4/Unicorn/1`, 'unknown resource type'],
    [`/datastore/${DEFAULT_DATASTORE_ID}/r4/$graphql`, 'a Medplum-only endpoint'],
  ])('GET %s (%s) → 404 OperationOutcome', async (path) => {
    const reply = await call<OperationOutcome>(server, 'GET', path);
    expect(reply.status).toBe(404);
    expect(reply.body.resourceType).toBe('OperationOutcome');
  });

  test('POST Patient with invalid JSON → 400 OperationOutcome', async () => {
    const reply = await call<OperationOutcome>(server, 'POST', 'Patient', { raw: '{"resourceType": "Patient",' });
    expect(reply.status).toBe(400);
    expect(reply.body.resourceType).toBe('OperationOutcome');
  });

  test('POST Patient with a body over 10 MB → 413', async () => {
    const huge = JSON.stringify({ resourceType: 'Patient', text: { status: 'generated', div: 'x'.repeat(10 * 1024 * 1024 + 1) } });
    const reply = await call<OperationOutcome>(server, 'POST', 'Patient', { raw: huge });
    expect(reply.status).toBe(413);
    expect(reply.body.resourceType).toBe('OperationOutcome');
  });

  test('POST Patient as text/plain → 415; OPTIONS → 405', async () => {
    const text = await call(server, 'POST', 'Patient', { raw: '{}', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    const options = await call(server, 'OPTIONS', 'Patient');
    expect(options.status).toBe(405);
  });

  test('application/json bodies are accepted like application/fhir+json', async () => {
    const reply = await call<Patient>(server, 'POST', 'Patient', {
      body: { resourceType: 'Patient', name: [{ family: 'Jsonbody' }] },
      headers: { 'content-type': 'application/json' },
    });
    expect(reply.status).toBe(201);
  });

  test('bodies that are not what the interaction needs → 400, never a crash', async () => {
    expect((await call(server, 'POST', 'Patient', { body: [1, 2] })).status).toBe(400);
    expect((await call(server, 'POST', 'Patient', { body: { resourceType: 'Observation' } })).status).toBe(400);
    expect((await call(server, 'PUT', 'Patient/pat-alice', { body: 'text' })).status).toBe(400);
    expect((await call(server, 'PATCH', 'Patient/pat-alice', { body: { op: 'replace' } })).status).toBe(400);
    expect((await call(server, 'POST', '', { body: { resourceType: 'Patient' } })).status).toBe(400);
    expect((await call(server, 'POST', 'Patient', { body: { resourceType: 'Patient', birthDate: 'yesterday' } })).status).toBe(400);
    expect((await call(server, 'GET', '/%E0%A4%A')).status).toBe(404);
    expect((await call(server, 'GET', 'Observation?_count=abc')).status).toBe(400);
    expect((await call(server, 'GET', 'metadata')).status).toBe(200); // still alive
  });

  test('the request log records method, path, raw query, headers and body of every request, rejected ones included', async () => {
    server.requests.length = 0;
    await call(server, 'GET', 'Observation?patient=pat-alice&_count=1', { headers: { 'x-probe': 'yes' } });
    await call(server, 'POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Logged' }] } });
    await call(server, 'GET', '/outside?x=1');
    expect(server.requests).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: `/datastore/${DEFAULT_DATASTORE_ID}/r4/Observation`,
        query: 'patient=pat-alice&_count=1',
        headers: expect.objectContaining({ 'x-probe': 'yes' }),
      }),
      expect.objectContaining({ method: 'POST', body: { resourceType: 'Patient', name: [{ family: 'Logged' }] } }),
      expect.objectContaining({ method: 'GET', path: '/outside', query: 'x=1' }),
    ]);
  });
});

describe('local FHIR store: CRUD, versions and history', () => {
  let server: FhirStoreServer;
  beforeAll(async () => {
    server = await createFhirStoreServer({ seed: demoResources() });
  });
  afterAll(() => server.close());

  test('POST Patient → 201 with Location, ETag W/"1"; a client-sent id is ignored, never overwriting pat-alice', async () => {
    const reply = await call<Patient>(server, 'POST', 'Patient', {
      body: { resourceType: 'Patient', id: 'pat-alice', name: [{ given: ['Created'], family: 'Demo' }] },
    });
    expect(reply.status).toBe(201);
    expect(reply.body.id).not.toBe('pat-alice');
    expect(reply.body.meta?.versionId).toBe('1');
    expect(reply.headers.get('etag')).toBe('W/"1"');
    expect(reply.headers.get('location')).toBe(`${server.baseUrl}/Patient/${reply.body.id}/_history/1`);
    const alice = await call<Patient>(server, 'GET', 'Patient/pat-alice');
    expect(alice.body.name?.[0].given).toEqual(['Alice']);
  });

  test('GET Patient/pat-alice → 200 with ETag and Last-Modified; GET Patient/nobody → 404 OperationOutcome', async () => {
    const alice = await call<Patient>(server, 'GET', 'Patient/pat-alice');
    expect(alice.status).toBe(200);
    expect(alice.headers.get('etag')).toBe(`W/"${alice.body.meta?.versionId}"`);
    expect(alice.headers.get('last-modified')).toBeTruthy();
    const missing = await call<OperationOutcome>(server, 'GET', 'Patient/nobody');
    expect(missing.status).toBe(404);
    expect(missing.body.resourceType).toBe('OperationOutcome');
  });

  test('PUT update bumps the version; If-Match with a stale ETag → 412 and nothing written', async () => {
    const created = (await call<Patient>(server, 'POST', 'Patient', { body: { resourceType: 'Patient', gender: 'other' } })).body;
    const path = `Patient/${created.id}`;
    const updated = await call<Patient>(server, 'PUT', path, {
      body: { ...created, gender: 'female' },
      headers: { 'if-match': 'W/"1"' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.meta?.versionId).toBe('2');
    expect(updated.headers.get('etag')).toBe('W/"2"');

    const stale = await call<OperationOutcome>(server, 'PUT', path, {
      body: { ...created, gender: 'male' },
      headers: { 'if-match': 'W/"1"' },
    });
    expect(stale.status).toBe(412);
    expect((await call<Patient>(server, 'GET', path)).body.gender).toBe('female');

    const wrongId = await call(server, 'PUT', path, { body: { ...created, id: 'other' } });
    expect(wrongId.status).toBe(400);
  });

  test('PUT Patient/new-id on an unknown id creates it (update-as-create) → 201', async () => {
    const reply = await call<Patient>(server, 'PUT', 'Patient/pat-new', { body: { resourceType: 'Patient', id: 'pat-new' } });
    expect(reply.status).toBe(201);
    expect(reply.body.meta?.versionId).toBe('1');
  });

  test('vread returns each version; an unknown version → 404', async () => {
    const created = (await call<Patient>(server, 'POST', 'Patient', { body: { resourceType: 'Patient', gender: 'male' } })).body;
    await call(server, 'PUT', `Patient/${created.id}`, { body: { ...created, gender: 'female' } });
    const v1 = await call<Patient>(server, 'GET', `Patient/${created.id}/_history/1`);
    const v2 = await call<Patient>(server, 'GET', `Patient/${created.id}/_history/2`);
    expect([v1.status, v1.body.gender, v2.body.gender]).toEqual([200, 'male', 'female']);
    expect((await call(server, 'GET', `Patient/${created.id}/_history/9`)).status).toBe(404);
  });

  test('DELETE → 200; read → 410; old versions still vread; history shows the delete; search no longer matches', async () => {
    const created = (await call<Patient>(server, 'POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Doomed' }] } })).body;
    const path = `Patient/${created.id}`;
    expect((await call(server, 'DELETE', path)).status).toBe(200);
    expect((await call<OperationOutcome>(server, 'GET', path)).status).toBe(410);
    expect((await call(server, 'GET', `${path}/_history/1`)).status).toBe(200);
    expect((await call(server, 'GET', `${path}/_history/2`)).status).toBe(410);
    const history = (await call<Bundle>(server, 'GET', `${path}/_history`)).body;
    expect(history.entry?.map((e) => e.request?.method)).toEqual(['DELETE', 'POST']);
    expect(history.entry?.[0].fullUrl).toBe(`${server.baseUrl}/${path}`);
    expect((await call<Bundle>(server, 'GET', 'Patient?name=Doomed')).body.total).toBe(0);
    expect((await call(server, 'DELETE', path)).status).toBe(200); // deleting again succeeds
    expect((await call(server, 'DELETE', 'Patient/never-existed')).status).toBe(404);
  });

  test('DELETE with a stale If-Match → 412 and the resource stays', async () => {
    const created = (await call<Patient>(server, 'POST', 'Patient', { body: { resourceType: 'Patient' } })).body;
    const reply = await call(server, 'DELETE', `Patient/${created.id}`, { headers: { 'if-match': 'W/"7"' } });
    expect(reply.status).toBe(412);
    expect((await call(server, 'GET', `Patient/${created.id}`)).status).toBe(200);
  });

  test('instance history is newest first with fullUrls, request and response; GET Patient/_history is type history', async () => {
    const created = (await call<Patient>(server, 'POST', 'Patient', { body: { resourceType: 'Patient', gender: 'male' } })).body;
    await call(server, 'PUT', `Patient/${created.id}`, { body: { ...created, gender: 'female' } });
    const history = (await call<Bundle<Patient>>(server, 'GET', `Patient/${created.id}/_history`)).body;
    expect(history.type).toBe('history');
    expect(history.entry?.map((e) => e.resource?.meta?.versionId)).toEqual(['2', '1']);
    expect(history.entry?.map((e) => e.request?.method)).toEqual(['PUT', 'POST']);
    expect(history.entry?.[0].response?.etag).toBe('W/"2"');
    expect(history.entry?.[0].fullUrl).toBe(`${server.baseUrl}/Patient/${created.id}`);
    // Asked twice: Medplum's own readHistory reversed its array in place, flipping the order each call.
    const again = (await call<Bundle<Patient>>(server, 'GET', `Patient/${created.id}/_history`)).body;
    expect(again.entry?.map((e) => e.resource?.meta?.versionId)).toEqual(['2', '1']);

    const typeHistory = (await call<Bundle>(server, 'GET', 'Patient/_history')).body;
    expect(typeHistory.type).toBe('history');
    expect(typeHistory.entry?.every((e) => e.resource === undefined || e.resource.resourceType === 'Patient')).toBe(true);
    expect(typeHistory.entry?.some((e) => e.resource?.id === 'pat-alice')).toBe(true);
  });

  test('history pages with _count and a next link', async () => {
    const first = (await call<Bundle>(server, 'GET', 'Patient/_history?_count=2')).body;
    expect(first.entry).toHaveLength(2);
    const next = link(first, 'next');
    expect(next).toBe(`${server.baseUrl}/Patient/_history?_count=2&_offset=2`);
    const second = (await call<Bundle>(server, 'GET', next!)).body;
    expect(second.entry).toHaveLength(2);
    expect(ids(second)).not.toEqual(ids(first));
  });

  test('PATCH (JSON Patch) → 200 with a new version; stale If-Match → 412; missing resource → 404', async () => {
    const created = (await call<Patient>(server, 'POST', 'Patient', { body: { resourceType: 'Patient', gender: 'male' } })).body;
    const patch = [{ op: 'replace', path: '/gender', value: 'female' }];
    const reply = await call<Patient>(server, 'PATCH', `Patient/${created.id}`, {
      body: patch,
      headers: { 'content-type': 'application/json-patch+json' },
    });
    expect(reply.status).toBe(200);
    expect([reply.body.gender, reply.body.meta?.versionId]).toEqual(['female', '2']);
    const stale = await call(server, 'PATCH', `Patient/${created.id}`, {
      body: [{ op: 'replace', path: '/gender', value: 'other' }],
      headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' },
    });
    expect(stale.status).toBe(412);
    const missing = await call(server, 'PATCH', 'Patient/nobody', {
      body: patch,
      headers: { 'content-type': 'application/json-patch+json' },
    });
    expect(missing.status).toBe(404);
  });
});

describe('local FHIR store: search', () => {
  let server: FhirStoreServer;
  const search = async (query: string): Promise<Bundle> => {
    const reply = await call<Bundle>(server, 'GET', query);
    expect(reply.status).toBe(200);
    return reply.body;
  };
  const aliceObservations = ['Observation/obs-alice-glucose', 'Observation/obs-alice-heart-rate', 'Observation/obs-alice-weight-2019'];

  beforeAll(async () => {
    server = await createFhirStoreServer();
    await seedStore(server.baseUrl); // over HTTP, as the local stack would
  });
  afterAll(() => server.close());

  test.each([
    ['Observation?subject=Patient/pat-alice', 'typed reference'],
    ['Observation?patient=pat-alice', 'bare id on a single-target parameter'],
    ['Observation?subject=pat-alice', 'bare id on a multi-target parameter'],
    ['Observation?subject:Patient=pat-alice', 'type modifier'],
  ])('%s (%s) → only alice observations, marked match, with fullUrls on the store base', async (query) => {
    const bundle = await search(query);
    expect(bundle.type).toBe('searchset');
    expect(ids(bundle, 'match')).toEqual(aliceObservations);
    expect(bundle.total).toBe(3);
    expect(bundle.entry?.[0].fullUrl).toBe(`${server.baseUrl}/${bundle.entry?.[0].resource?.resourceType}/${bundle.entry?.[0].resource?.id}`);
  });

  test('reference given as an absolute URL on the store base matches like the relative one', async () => {
    const bundle = await search(`Observation?subject=${encodeURIComponent(`${server.baseUrl}/Patient/pat-alice`)}`);
    expect(ids(bundle)).toEqual(aliceObservations);
  });

  test('token: category=laboratory, code=system|code, and combined with patient', async () => {
    expect(ids(await search('Observation?category=laboratory'))).toEqual(
      ['alice', 'bob', 'carol', 'dave'].map((p) => `Observation/obs-${p}-glucose`)
    );
    expect((await search('Observation?code=http://loinc.org|8867-4')).total).toBe(4);
    expect(ids(await search('Observation?patient=pat-alice&category=laboratory'))).toEqual(['Observation/obs-alice-glucose']);
  });

  test('string: Patient?name=alice (case-insensitive prefix) and family=Demo', async () => {
    expect(ids(await search('Patient?name=alice'))).toEqual(['Patient/pat-alice']);
    expect((await search('Patient?family=Demo')).total).toBe(4);
  });

  test('date: date=ge2020-01-01 excludes the 2019 weight; date=lt2020-01-01 finds only it', async () => {
    expect(ids(await search('Observation?patient=pat-alice&date=ge2020-01-01'))).toEqual([
      'Observation/obs-alice-glucose',
      'Observation/obs-alice-heart-rate',
    ]);
    expect(ids(await search('Observation?date=lt2020-01-01'))).toEqual(['Observation/obs-alice-weight-2019']);
  });

  test('_include=Observation:performer adds the practitioner as search.mode=include', async () => {
    const bundle = await search('Observation?patient=pat-alice&_include=Observation:performer');
    expect(ids(bundle, 'match')).toEqual(aliceObservations);
    expect(ids(bundle, 'include')).toEqual(['Practitioner/prac-1']);
    expect(bundle.total).toBe(3); // total counts matches only
  });

  test('_revinclude: Patient?_id=pat-alice&_revinclude=Observation:subject', async () => {
    const bundle = await search('Patient?_id=pat-alice&_revinclude=Observation:subject');
    expect(ids(bundle, 'match')).toEqual(['Patient/pat-alice']);
    expect(ids(bundle, 'include')).toEqual(aliceObservations);
  });

  test(':iterate follows includes of included resources; a plain include does not', async () => {
    // The glucose result has no performer: the practitioner is reachable only through its Encounter.
    const base = 'Observation?_id=obs-alice-glucose&_include=Observation:encounter';
    expect(ids(await search(`${base}&_include=Encounter:participant`), 'include')).toEqual(['Encounter/enc-alice-1']);
    expect(ids(await search(`${base}&_include:iterate=Encounter:participant`), 'include')).toEqual([
      'Encounter/enc-alice-1',
      'Practitioner/prac-1',
    ]);
    const rev = await search('Patient?_id=pat-alice&_revinclude=Encounter:subject&_revinclude:iterate=Condition:encounter');
    expect(ids(rev, 'include')).toEqual(['Condition/cond-alice-1', 'Encounter/enc-alice-1']);
  });

  test('_include=* includes every resource the matches reference through a search parameter', async () => {
    const bundle = await search('MedicationRequest?_id=medrx-alice-1&_include=*');
    expect(ids(bundle, 'include')).toEqual([
      'Encounter/enc-alice-1',
      'Medication/med-1',
      'Patient/pat-alice',
      'Practitioner/prac-1',
    ]);
  });

  test('chained parameter and _has', async () => {
    expect(ids(await search('Observation?subject:Patient.name=Carol'))).toEqual([
      'Observation/obs-carol-glucose',
      'Observation/obs-carol-heart-rate',
    ]);
    expect(ids(await search('Observation?patient.name=Nobody'))).toEqual([]);
    expect(ids(await search('Patient?_has:Observation:subject:code=29463-7'))).toEqual(['Patient/pat-alice']);
  });

  test('unknown parameters and unsupported modifiers → 400 instead of a silently empty result', async () => {
    expect((await call(server, 'GET', 'Observation?colour=blue')).status).toBe(400);
    expect((await call(server, 'GET', 'Patient?name:exact=Alice')).status).toBe(400);
    expect((await call(server, 'GET', 'Observation?value-quantity=gt50')).status).toBe(400);
    expect((await call(server, 'GET', 'Observation?_include=Observation:nothing')).status).toBe(400);
    expect((await call(server, 'GET', 'Observation?_sort=colour')).status).toBe(400);
  });

  test('paging: _count=2 gives a next link on the store base with _offset; following it ends the set', async () => {
    const first = await search('Observation?patient=pat-alice&_count=2');
    expect(first.entry).toHaveLength(2);
    expect(first.total).toBe(3);
    expect(link(first, 'self')).toBe(`${server.baseUrl}/Observation?patient=pat-alice&_count=2`);
    expect(link(first, 'next')).toBe(`${server.baseUrl}/Observation?patient=pat-alice&_count=2&_offset=2`);
    const second = await search(link(first, 'next')!);
    expect(second.entry).toHaveLength(1);
    expect(link(second, 'next')).toBeUndefined();
    expect(link(second, 'previous')).toBe(`${server.baseUrl}/Observation?patient=pat-alice&_count=2&_offset=0`);
    expect([...ids(first), ...ids(second)].sort()).toEqual(aliceObservations);
  });

  test('includes are computed per page: page 2 carries the includes of its own matches', async () => {
    const first = await search('Observation?category=vital-signs&_include=Observation:subject&_count=2');
    const second = await search(link(first, 'next')!);
    const subjects = (b: Bundle): string[] =>
      (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => (e.resource as Observation).subject!.reference!).sort();
    expect(ids(first, 'include')).toEqual([...new Set(subjects(first))]);
    expect(ids(second, 'include')).toEqual([...new Set(subjects(second))]);
  });

  test('default page size is 20 and _summary=count returns only the total', async () => {
    const all = await search('Observation');
    expect(all.total).toBe(9);
    expect(link(all, 'next')).toBeUndefined();
    const counted = await search('Observation?_summary=count');
    expect([counted.total, counted.entry]).toEqual([9, undefined]);
  });

  test('POST Observation/_search with a form body is the same search', async () => {
    const reply = await call<Bundle>(server, 'POST', 'Observation/_search', {
      raw: 'patient=pat-alice&_count=2',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.total).toBe(3);
    expect(link(reply.body, 'next')).toBe(`${server.baseUrl}/Observation?patient=pat-alice&_count=2&_offset=2`);
  });

  test("GET Patient/pat-alice/$everything → alice's compartment as matches, shared resources as includes, nobody else", async () => {
    // Membership follows the official R4 Patient CompartmentDefinition, where Device has no
    // parameters: alice's glucose meter (Device.patient = alice) is NOT in her compartment.
    const bundle = await search('Patient/pat-alice/$everything?_count=100');
    expect(ids(bundle, 'match')).toEqual(
      [
        'AllergyIntolerance/allergy-alice-1',
        'Condition/cond-alice-1',
        'Encounter/enc-alice-1',
        'MedicationRequest/medrx-alice-1',
        'Patient/pat-alice',
        ...aliceObservations,
      ].sort()
    );
    expect(ids(bundle, 'include')).toEqual(['Location/loc-1', 'Medication/med-1', 'Organization/org-1', 'Practitioner/prac-1']);
    expect(ids(bundle)).not.toContain('Device/device-alice-1');
    const text = JSON.stringify(bundle);
    for (const other of ['bob', 'carol', 'dave']) {
      expect(text).not.toContain(`pat-${other}`);
    }
  });

  test('$everything honours _type and pages like search; an unknown patient → 404', async () => {
    const observations = await search('Patient/pat-alice/$everything?_type=Observation');
    expect(ids(observations)).toEqual(aliceObservations);
    const paged = await search('Patient/pat-alice/$everything?_count=2');
    expect(paged.entry?.filter((e) => e.search?.mode === 'match')).toHaveLength(2);
    expect(link(paged, 'next')).toBe(`${server.baseUrl}/Patient/pat-alice/$everything?_count=2&_offset=2`);
    expect((await call(server, 'GET', 'Patient/nobody/$everything')).status).toBe(404);
  });
});

describe('local FHIR store: conditional interactions, batch and transaction', () => {
  let server: FhirStoreServer;
  beforeEach(async () => {
    server = await createFhirStoreServer({ seed: demoResources() });
  });
  afterEach(() => server.close());

  const count = async (query: string): Promise<number> => (await call<Bundle>(server, 'GET', `${query}&_summary=count`)).body.total!;

  test('conditional create: If-None-Exist matching pat-alice → 200 with alice, nothing written; no match → 201', async () => {
    const ifNoneExist = { 'if-none-exist': 'identifier=urn:fhirgate:demo:mrn|DEMO-0001' };
    const existing = await call<Patient>(server, 'POST', 'Patient', {
      body: { resourceType: 'Patient', name: [{ family: 'Duplicate' }] },
      headers: ifNoneExist,
    });
    expect([existing.status, existing.body.id]).toEqual([200, 'pat-alice']);
    expect(await count('Patient?name=Duplicate')).toBe(0);

    const fresh = await call<Patient>(server, 'POST', 'Patient', {
      body: { resourceType: 'Patient', identifier: [{ system: 'urn:fhirgate:demo:mrn', value: 'DEMO-9999' }] },
      headers: { 'if-none-exist': 'identifier=urn:fhirgate:demo:mrn|DEMO-9999' },
    });
    expect(fresh.status).toBe(201);
  });

  test('conditional update: PUT Patient?identifier=… updates the one match; no match creates', async () => {
    const dave = (await call<Patient>(server, 'GET', 'Patient/pat-dave')).body;
    const updated = await call<Patient>(server, 'PUT', 'Patient?identifier=urn:fhirgate:demo:mrn|DEMO-0004', {
      body: { ...dave, id: undefined, gender: 'other' },
    });
    expect([updated.status, updated.body.id, updated.body.gender, updated.body.meta?.versionId]).toEqual([200, 'pat-dave', 'other', '2']);
    const created = await call<Patient>(server, 'PUT', 'Patient?identifier=urn:fhirgate:demo:mrn|DEMO-7777', {
      body: { resourceType: 'Patient', identifier: [{ system: 'urn:fhirgate:demo:mrn', value: 'DEMO-7777' }] },
    });
    expect(created.status).toBe(201);
  });

  test('conditional delete: one match is deleted; several matches → 412 and nothing deleted', async () => {
    expect((await call(server, 'DELETE', 'Device?patient=pat-dave')).status).toBe(200);
    expect((await call(server, 'GET', 'Device/device-dave-1')).status).toBe(410);
    expect((await call(server, 'DELETE', 'Observation?patient=pat-bob')).status).toBe(412);
    expect(await count('Observation?patient=pat-bob')).toBe(2);
    // DELETE Patient (no criteria) → 400, not "delete whatever single Patient there is"
    expect((await call(server, 'DELETE', 'Patient')).status).toBe(400);
  });

  test('batch: entries succeed or fail independently', async () => {
    const reply = await call<Bundle>(server, 'POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { request: { method: 'GET', url: 'Patient/pat-bob' } },
          { request: { method: 'GET', url: 'Patient/nobody' } },
          { resource: { resourceType: 'Patient', name: [{ family: 'Batched' }] }, request: { method: 'POST', url: 'Patient' } },
        ],
      },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.type).toBe('batch-response');
    expect(reply.body.entry?.map((e) => e.response?.status)).toEqual(['200', '404', '201']);
    const created = reply.body.entry?.[2];
    expect(created?.response?.location).toBe(`Patient/${created?.resource?.id}/_history/1`);
    expect(created?.fullUrl).toBe(`${server.baseUrl}/Patient/${created?.resource?.id}`);
  });

  test('transaction: urn:uuid references are resolved to the ids the store assigned', async () => {
    const patientUrn = 'urn:uuid:7b0f1e4c-1d2a-4c3b-9e8f-0a1b2c3d4e5f';
    const reply = await call<Bundle>(server, 'POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:00000000-1111-4222-8333-444444444444',
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'Transaction demo' },
              subject: { reference: patientUrn },
            },
            request: { method: 'POST', url: 'Observation' },
          },
          {
            fullUrl: patientUrn,
            resource: { resourceType: 'Patient', name: [{ family: 'Transacted' }] },
            request: { method: 'POST', url: 'Patient' },
          },
        ],
      },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.type).toBe('transaction-response');
    const [observation, patient] = reply.body.entry!.map((e) => e.resource!);
    expect((observation as Observation).subject?.reference).toBe(`Patient/${patient.id}`);
    expect((await call(server, 'GET', `Patient/${patient.id}`)).status).toBe(200);
  });

  test('a failing transaction leaves nothing written', async () => {
    server.requests.length = 0;
    const historyBefore = (await call<Bundle>(server, 'GET', '_history?_count=0')).body.total;
    const reply = await call<OperationOutcome>(server, 'POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Patient', name: [{ family: 'Rolledback' }] }, request: { method: 'POST', url: 'Patient' } },
          { request: { method: 'DELETE', url: 'Observation/obs-bob-glucose' } },
          {
            resource: { resourceType: 'Patient', id: 'pat-bob', gender: 'other' },
            request: { method: 'PUT', url: 'Patient/pat-bob', ifMatch: 'W/"99"' },
          },
        ],
      },
    });
    expect(reply.status).toBe(412);
    expect(reply.body.resourceType).toBe('OperationOutcome');
    expect(await count('Patient?name=Rolledback')).toBe(0);
    expect((await call(server, 'GET', 'Observation/obs-bob-glucose')).status).toBe(200);
    expect((await call<Patient>(server, 'GET', 'Patient/pat-bob')).body.gender).toBe('male');
    expect((await call<Bundle>(server, 'GET', '_history?_count=0')).body.total).toBe(historyBefore);
  });

  test('seedStore(repo) and seed options keep the fixed ids', async () => {
    const other = await createFhirStoreServer();
    try {
      await seedStore(other.repo);
      const ids = ['Patient/pat-alice', 'Patient/pat-bob', 'Patient/pat-carol', 'Patient/pat-dave', 'Practitioner/prac-1'];
      for (const id of ids) {
        expect((await call<Resource>(other, 'GET', id)).status).toBe(200);
      }
      expect((await call<Patient>(other, 'GET', 'Patient/pat-carol')).body.birthDate! > '2010').toBe(true);
    } finally {
      await other.close();
    }
  });
});
