/**
 * Writes, bundles, scopes and headers through the PEP, end to end in one process. Every write
 * refusal is verified in the store itself: nothing was written.
 */
import { InProcessStack, keysIn, startInProcessStack } from '../support/in-process-stack';

let stack: InProcessStack;
let alice: string;

beforeAll(async () => {
  stack = await startInProcessStack();
  alice = stack.userToken('alice', 'patient/*.cruds');
});
afterAll(() => stack.close());

const obs = (patient: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'demo step count' },
  subject: { reference: `Patient/${patient}` },
  ...extra,
});

/** Resources of a type currently in the store, read straight from it (bypassing the proxy). */
async function storeSearch(query: string): Promise<any[]> {
  const res = await fetch(`${stack.store.baseUrl}/${query}`);
  const body = (await res.json()) as any;
  return (body.entry ?? []).map((e: any) => e.resource);
}

describe('create', () => {
  test('POST Observation for Alice as Alice → 201', async () => {
    const r = await stack.call(alice, 'POST', 'Observation', { body: obs('pat-alice') });
    expect(r.status).toBe(201);
    expect(r.headers.location).toMatch(/^https:\/\/gateway\.test\/local\/fhir\/Observation\//);
  });

  test('POST Observation for Bob as Alice → 403, nothing written', async () => {
    const before = (await storeSearch('Observation?subject=Patient/pat-bob')).length;
    const r = await stack.call(alice, 'POST', 'Observation', { body: obs('pat-bob') });
    expect(r.status).toBe(403);
    expect(r.body.resourceType).toBe('OperationOutcome');
    expect(await storeSearch('Observation?subject=Patient/pat-bob')).toHaveLength(before);
  });

  test('POST Observation naming both Alice and Bob as Alice → 403', async () => {
    const r = await stack.call(alice, 'POST', 'Observation', { body: obs('pat-alice', { performer: [{ reference: 'Patient/pat-bob' }] }) });
    expect(r.status).toBe(403);
  });

  test('POST Patient as Alice → 403 (patient-scoped callers cannot create Patients)', async () => {
    expect((await stack.call(alice, 'POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'New' }] } })).status).toBe(403);
  });

  test('POST Observation with a malformed JSON body → 400', async () => {
    const r = await stack.call(alice, 'POST', 'Observation', { body: '{"resourceType": "Observation", ' });
    expect(r.status).toBe(400);
    expect(r.body.resourceType).toBe('OperationOutcome');
  });

  test('POST Observation with "subject" twice (duplicate keys) → 400', async () => {
    const body = '{"resourceType":"Observation","status":"final","code":{},"subject":{"reference":"Patient/pat-alice"},"subject":{"reference":"Patient/pat-bob"}}';
    expect((await stack.call(alice, 'POST', 'Observation', { body })).status).toBe(400);
  });
});

describe('update, patch, delete', () => {
  test('PUT Observation/obs-alice-glucose moving subject to Bob → 403, stored version unchanged', async () => {
    const current = (await stack.call(alice, 'GET', 'Observation/obs-alice-glucose')).body;
    const r = await stack.call(alice, 'PUT', 'Observation/obs-alice-glucose', { body: { ...current, subject: { reference: 'Patient/pat-bob' } } });
    expect(r.status).toBe(403);
    const stored = await (await fetch(`${stack.store.baseUrl}/Observation/obs-alice-glucose`)).json();
    expect((stored as any).subject.reference).toBe('Patient/pat-alice');
  });

  test('PUT Observation/obs-alice-glucose keeping Alice → 200 with a new version', async () => {
    const current = (await stack.call(alice, 'GET', 'Observation/obs-alice-glucose')).body;
    const r = await stack.call(alice, 'PUT', 'Observation/obs-alice-glucose', { body: { ...current, status: 'amended' } });
    expect(r.status).toBe(200);
    expect(r.body.meta.versionId).not.toBe(current.meta.versionId);
  });

  test('PUT Observation/obs-bob-glucose (Bob\'s) as Alice with an Alice body → 404 (stored version is checked first)', async () => {
    const r = await stack.call(alice, 'PUT', 'Observation/obs-bob-glucose', { body: obs('pat-alice', { id: 'obs-bob-glucose' }) });
    expect(r.status).toBe(404);
    const stored = await (await fetch(`${stack.store.baseUrl}/Observation/obs-bob-glucose`)).json();
    expect((stored as any).subject.reference).toBe('Patient/pat-bob');
  });

  test('PUT with a stale If-Match → 412', async () => {
    const current = (await stack.call(alice, 'GET', 'Condition/cond-alice-1')).body;
    const r = await stack.call(alice, 'PUT', 'Condition/cond-alice-1', { body: current, headers: { 'if-match': 'W/"999"' } });
    expect(r.status).toBe(412);
  });

  test('PATCH Observation/obs-alice-heart-rate replacing subject with Bob → 403; a harmless patch → 200', async () => {
    const moving = [{ op: 'replace', path: '/subject/reference', value: 'Patient/pat-bob' }];
    const headers = { 'content-type': 'application/json-patch+json' };
    expect((await stack.call(alice, 'PATCH', 'Observation/obs-alice-heart-rate', { body: moving, headers })).status).toBe(403);
    const harmless = [{ op: 'replace', path: '/status', value: 'amended' }];
    const ok = await stack.call(alice, 'PATCH', 'Observation/obs-alice-heart-rate', { body: harmless, headers });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('amended');
  });

  test('DELETE Observation/obs-bob-heart-rate as Alice → 404, still stored', async () => {
    expect((await stack.call(alice, 'DELETE', 'Observation/obs-bob-heart-rate')).status).toBe(404);
    expect((await fetch(`${stack.store.baseUrl}/Observation/obs-bob-heart-rate`)).status).toBe(200);
  });

  test('DELETE Patient/pat-alice as Alice → 403', async () => {
    expect((await stack.call(alice, 'DELETE', 'Patient/pat-alice')).status).toBe(403);
  });

  test('DELETE own Observation → 204', async () => {
    const created = await stack.call(alice, 'POST', 'Observation', { body: obs('pat-alice') });
    expect((await stack.call(alice, 'DELETE', `Observation/${created.body.id}`)).status).toBe(204);
  });
});

describe('conditional writes', () => {
  test('PUT Observation?identifier=bob-secret (matches only Bob\'s resource) as Alice → Bob\'s resource untouched', async () => {
    await fetch(`${stack.store.baseUrl}/Observation/obs-bob-cond`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ ...obs('pat-bob'), id: 'obs-bob-cond', identifier: [{ system: 'urn:demo', value: 'bob-secret' }] }),
    });
    // Moving it to Bob is refused outright …
    const toBob = await stack.call(alice, 'PUT', 'Observation?identifier=urn:demo|bob-secret', { body: obs('pat-bob', { identifier: [{ system: 'urn:demo', value: 'bob-secret' }] }) });
    expect(toBob.status).toBe(403);
    // … and resolving inside Alice's compartment finds nothing of Bob's: a new resource of Alice's is created instead.
    const mine = await stack.call(alice, 'PUT', 'Observation?identifier=urn:demo|bob-secret', { body: obs('pat-alice', { identifier: [{ system: 'urn:demo', value: 'bob-secret' }] }) });
    expect(mine.status).toBe(201);
    const stored = await (await fetch(`${stack.store.baseUrl}/Observation/obs-bob-cond`)).json();
    expect((stored as any).subject.reference).toBe('Patient/pat-bob');
    expect((stored as any).meta.versionId).toBe('1');
  });

  test('DELETE Observation?identifier=urn:demo|bob-secret as Alice deletes only Alice\'s match', async () => {
    const r = await stack.call(alice, 'DELETE', 'Observation?identifier=urn:demo|bob-secret');
    expect(r.status).toBe(204);
    expect((await fetch(`${stack.store.baseUrl}/Observation/obs-bob-cond`)).status).toBe(200);
  });

  test('POST Observation with If-None-Exist matching only Bob\'s resource → creates Alice\'s, never returns Bob\'s', async () => {
    const r = await stack.call(alice, 'POST', 'Observation', {
      body: obs('pat-alice'),
      headers: { 'if-none-exist': 'identifier=urn:demo|bob-secret' },
    });
    expect(r.status).toBe(201);
    expect(r.body.subject.reference).toBe('Patient/pat-alice');
  });
});

describe('transactions', () => {
  test('transaction with one entry for Bob → 403 and nothing written', async () => {
    const before = (await storeSearch('Observation?code:text=tx-marker')).length;
    const body = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111', resource: obs('pat-alice', { code: { text: 'tx-marker' } }), request: { method: 'POST', url: 'Observation' } },
        { resource: obs('pat-bob', { code: { text: 'tx-marker' } }), request: { method: 'POST', url: 'Observation' } },
      ],
    };
    const r = await stack.call(alice, 'POST', '', { body });
    expect(r.status).toBe(403);
    expect(r.body.issue[0].details.text).toMatch(/entry 1/);
    expect(await storeSearch('Observation?code:text=tx-marker')).toHaveLength(before);
    expect(stack.store.requests.some((q) => q.method === 'POST' && q.path.endsWith('/r4') && JSON.stringify(q.body ?? '').includes('tx-marker'))).toBe(false);
  });

  test('transaction of own entries → 200, entries created; a read entry of Bob\'s reads as 404', async () => {
    const body = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:22222222-2222-4222-8222-222222222222', resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/pat-alice' } }, request: { method: 'POST', url: 'Encounter' } },
        { resource: obs('pat-alice', { encounter: { reference: 'urn:uuid:22222222-2222-4222-8222-222222222222' } }), request: { method: 'POST', url: 'Observation' } },
      ],
    };
    const r = await stack.call(alice, 'POST', '', { body });
    expect(r.status).toBe(200);
    expect(r.body.entry.map((e: any) => e.response.status)).toEqual([expect.stringMatching(/^201/), expect.stringMatching(/^201/)]);
    const batch = await stack.call(alice, 'POST', '', {
      body: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Observation/obs-bob-glucose' } }, { request: { method: 'GET', url: 'Observation/obs-alice-glucose' } }] },
    });
    expect(batch.status).toBe(200);
    expect(batch.body.entry[0].response.status).toMatch(/^404/);
    expect(batch.body.entry[0].resource).toBeUndefined();
    expect(batch.body.entry[1].resource.id).toBe('obs-alice-glucose');
  });

  test('a Bundle nested in a transaction → 400', async () => {
    const body = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Bundle', type: 'collection' }, request: { method: 'POST', url: 'Bundle' } }] };
    expect((await stack.call(alice, 'POST', '', { body })).status).toBe(400);
  });
});

describe('scopes', () => {
  test('patient/Observation.rs?category=laboratory: search returns labs only; a vital-signs read is refused (403)', async () => {
    const labs = stack.userToken('alice', 'patient/Observation.rs?category=laboratory');
    const search = await stack.call(labs, 'GET', 'Observation');
    expect(search.status).toBe(200);
    expect(keysIn(search.body).length).toBeGreaterThan(0);
    for (const r of search.body.entry) expect(JSON.stringify(r.resource.category)).toContain('laboratory');
    expect((await stack.call(labs, 'GET', 'Observation/obs-alice-heart-rate')).status).toBe(403);
    expect((await stack.call(labs, 'GET', 'Observation/obs-alice-glucose')).status).toBe(200);
  });

  test('patient/Observation.r: read ok, search 403', async () => {
    const readOnly = stack.userToken('alice', 'patient/Observation.r');
    expect((await stack.call(readOnly, 'GET', 'Observation/obs-alice-glucose')).status).toBe(200);
    expect((await stack.call(readOnly, 'GET', 'Observation')).status).toBe(403);
  });

  test('v1 patient/Observation.write without read: cannot read, can create', async () => {
    const writeOnly = stack.userToken('alice', 'patient/Observation.write');
    expect((await stack.call(writeOnly, 'GET', 'Observation/obs-alice-glucose')).status).toBe(403);
    expect((await stack.call(writeOnly, 'POST', 'Observation', { body: obs('pat-alice') })).status).toBe(201);
  });

  test('default patient scopes (patient/*.rs) cannot write', async () => {
    expect((await stack.call(stack.userToken('alice'), 'POST', 'Observation', { body: obs('pat-alice') })).status).toBe(403);
  });

  test('system token (api-server, system/*.rs) reads any patient', async () => {
    const sys = stack.machineToken('system/*.rs');
    expect((await stack.call(sys, 'GET', 'Patient/pat-bob')).status).toBe(200);
    expect((await stack.call(sys, 'GET', 'Observation/obs-carol-glucose')).status).toBe(200);
  });

  test('analytics (system/Observation.rs) cannot read Patient → 403', async () => {
    expect((await stack.call(stack.machineToken('system/Observation.rs', 'analytics'), 'GET', 'Patient/pat-bob')).status).toBe(403);
  });

  test('the practitioner reads their panel patient and not others', async () => {
    const doc = stack.userToken('doctor');
    expect((await stack.call(doc, 'GET', 'Patient/pat-alice')).status).toBe(200);
    expect((await stack.call(doc, 'GET', 'Patient/pat-bob')).status).toBe(404);
  });
});

describe('headers and identity', () => {
  test('spoofed identity headers are ignored and never reach the backend', async () => {
    const r = await stack.call(alice, 'GET', 'Patient/pat-bob', {
      headers: { 'x-on-behalf-of': 'Patient/pat-bob', 'x-authorization-patient': 'pat-bob', 'x-forwarded-for': '10.0.0.1', 'x-fhirgate-principal': 'system' },
    });
    expect(r.status).toBe(404);
    const seen = stack.store.requests.at(-1)!;
    expect(Object.keys(seen.headers)).not.toEqual(expect.arrayContaining(['x-on-behalf-of']));
    for (const name of ['authorization', 'x-on-behalf-of', 'x-authorization-patient', 'x-forwarded-for', 'x-fhirgate-principal']) {
      expect(seen.headers[name]).toBeUndefined();
    }
  });

  test('no token → 401 OperationOutcome; garbage token → 401', async () => {
    const none = await stack.call(undefined, 'GET', 'Patient/pat-alice');
    expect(none.status).toBe(401);
    expect(none.body.resourceType).toBe('OperationOutcome');
    expect((await stack.call('garbage', 'GET', 'Patient/pat-alice')).status).toBe(401);
  });

  test('discovery is public: smart-configuration and metadata need no token', async () => {
    const smart = await stack.call(undefined, 'GET', '.well-known/smart-configuration');
    expect(smart.status).toBe(200);
    expect(smart.body.capabilities).toEqual(expect.arrayContaining(['permission-v1', 'permission-v2']));
    expect(smart.body.capabilities).not.toContain('launch-standalone');
    const meta = await stack.call(undefined, 'GET', 'metadata');
    expect(meta.status).toBe(200);
    expect(meta.body.rest[0].security.service[0].coding[0].code).toBe('SMART-on-FHIR');
    expect(meta.body.implementation.url).toBe('https://gateway.test/local/fhir');
  });
});

describe('the FHIR base route', () => {
  test('POST /fhir (no trailing slash) with a batch is authorized by the same policy as /fhir/*', async () => {
    const r = await stack.gateway.handle({
      method: 'POST',
      path: '/fhir',
      query: [],
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/pat-alice' } }] }),
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).entry[0].resource.id).toBe('pat-alice');
  });
});
