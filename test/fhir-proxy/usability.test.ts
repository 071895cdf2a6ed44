/**
 * Standard FHIR a confined caller may use on their own data (refused before this round), and the
 * guarantee that refused traversals never make the backend walk anyone's records.
 */
import type { Principal } from '../../functions/core/principal';
import { parseScopeString } from '../../functions/core/scopes';
import type { BackendRequest } from '../../functions/fhir-proxy/backend';
import { demoResources } from '../../local/fhir-store/seed';
import { inProcessStore, proxyFor } from '../support/store-backend';

const alice: Principal = { kind: 'patient', sub: 'u-alice', clientId: 'web', patients: ['pat-alice'], scopes: parseScopeString('patient/*.rs').resource };
const system: Principal = { kind: 'system', sub: 'api', clientId: 'api', patients: [], scopes: parseScopeString('system/*.rs').resource };

let call: ReturnType<typeof proxyFor>;
const sent: BackendRequest[] = [];
beforeAll(async () => {
  const { backend } = await inProcessStore(demoResources());
  call = proxyFor({ baseUrl: backend.baseUrl, send: (req) => (sent.push(req), backend.send(req)) });
});
const ids = (body: any): string[] => (body?.entry ?? []).map((e: any) => `${e.resource.resourceType}/${e.resource.id}`);

test('GET Patient/pat-alice/Observation → her Observations (compartment search)', async () => {
  const r = await call(alice, 'GET', 'Patient/pat-alice/Observation');
  expect(r.status).toBe(200);
  expect(ids(r.body)).toEqual(expect.arrayContaining(['Observation/obs-alice-glucose', 'Observation/obs-alice-heart-rate']));
  expect(ids(r.body).every((id) => id.startsWith('Observation/obs-alice'))).toBe(true);
});

test('GET Patient/pat-bob/Observation → an empty Bundle, as for a patient that does not exist', async () => {
  const bob = await call(alice, 'GET', 'Patient/pat-bob/Observation');
  const nobody = await call(alice, 'GET', 'Patient/pat-nobody/Observation');
  expect(bob.status).toBe(200);
  expect(ids(bob.body)).toEqual([]);
  expect(JSON.stringify(bob.body).replace(/pat-bob/g, 'X').replace(/_fhirgate_page=[\w-]+/g, '')).toBe(JSON.stringify(nobody.body).replace(/pat-nobody/g, 'X').replace(/_fhirgate_page=[\w-]+/g, ''));
});

test('GET Patient/pat-alice/$everything?_count=0 → a count-only Bundle of what she may see', async () => {
  const count = await call(alice, 'GET', 'Patient/pat-alice/$everything?_count=0');
  const all = await call(alice, 'GET', 'Patient/pat-alice/$everything');
  expect(count.status).toBe(200);
  expect((count.body as any).entry).toBeUndefined();
  // total counts matches (FHIR search.html#total); the shared resources $everything adds are includes.
  expect((count.body as any).total).toBe((all.body as any).entry.filter((e: any) => e.search.mode === 'match').length);
  expect((count.body as any).total).toBeGreaterThan(3);
});

test('POST Patient/pat-alice/$everything with a Parameters body → the same as GET', async () => {
  const post = await call(alice, 'POST', 'Patient/pat-alice/$everything', { resourceType: 'Parameters', parameter: [{ name: '_count', valueInteger: 50 }] });
  const get = await call(alice, 'GET', 'Patient/pat-alice/$everything?_count=50');
  expect(post.status).toBe(200);
  expect(ids(post.body)).toEqual(ids(get.body));
});

test('instance history inside a batch → the filtered history Bundle, as alone', async () => {
  const alone = await call(alice, 'GET', 'Observation/obs-alice-glucose/_history');
  const batch = await call(alice, 'POST', '', { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Observation/obs-alice-glucose/_history' } }] });
  const entry = (batch.body as any).entry[0];
  expect(entry.response.status).toBe('200 OK');
  expect(ids(entry.resource)).toEqual(ids(alone.body));
  expect(ids(entry.resource)).toContain('Observation/obs-alice-glucose');
});

test('a paging cursor inside a batch needs the same signed link as alone', async () => {
  const batch = await call(alice, 'POST', '', { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Observation?_offset=1&_count=1' } }] });
  expect((batch.body as any).entry[0].response.status).toBe('403 Forbidden');
});

test.each<[string, Principal, string]>([
  ['a hub revinclude', alice, 'Practitioner?_id=prac-1&_revinclude=Observation:performer'],
  ['an :iterate walk', alice, 'Patient?_id=pat-alice&_include=Patient:general-practitioner&_revinclude:iterate=Observation:performer'],
  ['wildcards, for a system client too', system, 'Observation?_count=1000&_include=*&_revinclude=*'],
])('%s is refused before the backend is asked anything', async (_name, who, path) => {
  sent.length = 0;
  const r = await call(who, 'GET', path);
  expect(r.status).toBe(403);
  expect(sent).toEqual([]);
});

test('a system client\'s _count=1000 reaches the backend as 100', async () => {
  sent.length = 0;
  await call(system, 'GET', 'Observation?_count=1000');
  expect(sent.map((r) => r.path)).toEqual(['Observation?_count=100']);
});

test('a transaction of reads only asks the backend once per read (the decision pass is the answer)', async () => {
  sent.length = 0;
  const r = await call(alice, 'POST', '', { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'GET', url: 'Patient/pat-alice' } }, { request: { method: 'GET', url: 'Observation/obs-alice-glucose' } }] });
  expect((r.body as any).entry.map((e: any) => e.response.status)).toEqual(['200 OK', '200 OK']);
  expect(sent.map((q) => q.path)).toEqual(['Patient/pat-alice', 'Observation/obs-alice-glucose']);
});
