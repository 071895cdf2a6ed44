/**
 * Noninterference, tested the way the promise is stated: what a confined caller observes never
 * depends on data that caller may not see.
 *
 * For a patient, a guardian, a practitioner and a delegated token: record the normalized answers
 * (status, headers, body) to a broad corpus — reads of own, foreign, deleted and missing ids;
 * searches with includes, revincludes, counts, sorting and paging (the next link followed);
 * `$everything` and compartment searches; batch and transaction; conditional probes — then add,
 * change and delete *other* patients' records through the store (new references from them to the
 * shared Practitioner, Medication, Location and Organization the caller's records use; the caller's
 * patient named as a mere performer or asserter on someone else's record; a Group and a Provenance
 * spanning others), replay the corpus, and require the very same answers.
 *
 * Normalized: only the Bundle's own id, meta and timestamp (new per response).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Principal } from '../../functions/core/principal';
import { parseScopeString } from '../../functions/core/scopes';
import { demoResources } from '../../local/fhir-store/seed';
import { CallResult, inProcessStore, proxyFor, STORE_BASE } from '../support/store-backend';

const principal = (kind: Principal['kind'], patients: string[], scopes: string): Principal => ({
  kind,
  sub: `u-${kind}`,
  clientId: 'web',
  patients,
  scopes: parseScopeString(scopes).resource,
  ...(kind === 'delegated' ? { actor: 'api-server' } : {}),
});

const CALLERS: [string, Principal][] = [
  ['patient alice', principal('patient', ['pat-alice'], 'patient/*.cruds')],
  ['guardian of carol', principal('guardian', ['pat-carol'], 'patient/*.rs')],
  ['practitioner with alice on the panel', principal('practitioner', ['pat-alice'], 'user/*.cruds')],
  ['api-server for alice (delegated)', principal('delegated', ['pat-alice'], 'patient/*.rs')],
];

type Request = { method: string; url: string; body?: unknown };

function corpus(own: string): Request[] {
  const get = (url: string): Request => ({ method: 'GET', url });
  const reads = ['Patient/pat-bob', 'Observation/obs-bob-glucose', 'Observation/obs-dave-glucose', 'Observation/obs-bob-new', 'Observation/never-there', 'Group/grp-others'];
  return [
    get(`Patient/${own}`),
    get(`Patient/${own}/_history`),
    ...reads.map(get),
    ...reads.map((r) => get(`${r}/_history`)),
    ...reads.map((r) => get(`${r}/_history/1`)),
    get(`Patient?_id=${own}&_include=Patient:general-practitioner&_include=Patient:organization`),
    get(`Patient?_id=${own}&_revinclude=Observation:subject`),
    get(`Patient?_id=${own}&_revinclude=Observation:performer`),
    get(`Patient?_id=${own}&_revinclude=AllergyIntolerance:asserter`),
    get(`Patient?_id=${own}&_revinclude=Observation:subject&_revinclude:iterate=Observation:performer`),
    get('Observation'),
    get('Observation?_include=Observation:performer'),
    get('Observation?_include=Observation:subject&_include=Observation:encounter'),
    get('Observation?code=2339-0'),
    get('Observation?performer=Practitioner/prac-1'),
    get('Observation?_sort=-date'),
    get('Observation?_summary=count'),
    get('Observation?_count=0'),
    get('Observation?_count=1'),
    get('MedicationRequest?_include=MedicationRequest:medication'),
    get('Medication?_id=med-bob-only'),
    get('Medication'),
    get('Medication?_id=med-1'),
    get('Medication?_id=med-1&_revinclude=MedicationRequest:medication'),
    get('Practitioner'),
    get('Practitioner?_id=prac-1'),
    get('Organization'),
    get('Location'),
    get('Encounter?_include=Encounter:location&_include=Encounter:participant'),
    get('Condition?_include=Condition:recorder'),
    get('AllergyIntolerance'),
    get('Group'),
    get('Provenance'),
    get(`Patient/${own}/$everything`),
    get(`Patient/${own}/$everything?_count=0`),
    get(`Patient/${own}/Observation`),
    get('Patient/pat-bob/Observation'),
    get('Patient/pat-bob/$everything'),
    {
      method: 'POST',
      url: '',
      body: { resourceType: 'Bundle', type: 'batch', entry: [`Patient/${own}`, 'Observation/obs-bob-glucose', 'Observation/obs-bob-new', 'Observation?_count=1', `Patient/${own}/_history`].map((url) => ({ request: { method: 'GET', url } })) },
    },
    { method: 'POST', url: '', body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'GET', url: `Patient/${own}` } }, { request: { method: 'GET', url: 'Observation/obs-bob-new' } }] } },
    // Conditional probes: criteria only another patient's (new) record matches.
    { method: 'DELETE', url: 'Observation?code=probe-code' },
    { method: 'PATCH', url: 'Observation?code=probe-code', body: [{ op: 'add', path: '/language', value: 'en' }] },
    { method: 'PUT', url: 'Observation/obs-bob-new', body: { resourceType: 'Observation', id: 'obs-bob-new', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${own}` } } },
  ];
}

/** Other patients' records change: bob and dave are held by none of the callers. */
async function changeOtherPatients(repo: Awaited<ReturnType<typeof inProcessStore>>['repo']): Promise<void> {
  const add = (r: Record<string, unknown>) => repo.createResource(r as unknown as Resource);
  const ref = (reference: string) => ({ reference });
  await repo.createResource({ resourceType: 'Observation', id: 'obs-bob-new', status: 'final', code: { coding: [{ code: 'probe-code' }], text: 'probe' }, subject: ref('Patient/pat-bob'), performer: [ref('Practitioner/prac-1')], encounter: ref('Encounter/enc-bob-1') } as Resource);
  await add({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '2339-0' }] }, subject: ref('Patient/pat-dave'), performer: [ref('Patient/pat-alice'), ref('Patient/pat-carol'), ref('Practitioner/prac-1')] });
  await add({ resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: ref('Patient/pat-dave'), medicationReference: ref('Medication/med-2'), requester: ref('Practitioner/prac-1') });
  await add({ resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: ref('Patient/pat-bob'), medicationReference: ref('Medication/med-bob-only') });
  await add({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: ref('Patient/pat-bob'), participant: [{ individual: ref('Practitioner/prac-1') }], location: [{ location: ref('Location/loc-1') }] });
  await add({ resourceType: 'AllergyIntolerance', clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] }, patient: ref('Patient/pat-dave'), asserter: ref('Patient/pat-alice'), recorder: ref('Practitioner/prac-1') });
  await repo.createResource({ resourceType: 'Group', id: 'grp-others', type: 'person', actual: true, member: [{ entity: ref('Patient/pat-bob') }, { entity: ref('Patient/pat-dave') }] } as Resource);
  await add({ resourceType: 'Provenance', target: [ref('Observation/obs-bob-glucose')], recorded: '2026-01-01T00:00:00Z', agent: [{ who: ref('Practitioner/prac-1') }] });
  const bob = (await repo.readResource('Patient', 'pat-bob')) as unknown as Record<string, unknown>;
  await repo.updateResource({ ...bob, generalPractitioner: [ref('Practitioner/prac-1')] } as unknown as Resource);
  const condition = (await repo.readResource('Condition', 'cond-bob-1')) as unknown as Record<string, unknown>;
  await repo.updateResource({ ...condition, recorder: ref('Practitioner/prac-1') } as unknown as Resource);
  await repo.deleteResource('Observation', 'obs-dave-glucose');
}

function normalize(res: CallResult): string {
  return JSON.stringify({ status: res.status, headers: res.headers, body: res.body }, function (key, value) {
    // Only the Bundle's own id, meta and timestamp are new per response.
    if ((key === 'id' || key === 'meta' || key === 'timestamp') && (this as { resourceType?: unknown }).resourceType === 'Bundle') return undefined;
    return value;
  });
}

/** Every request of the corpus, plus the next page of every Bundle that has one. */
async function observe(call: ReturnType<typeof proxyFor>, who: Principal, requests: Request[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of requests) {
    const res = await call(who, r.method, r.url, r.body);
    out.push(`${r.method} ${r.url} → ${normalize(res)}`);
    const next = (res.body as { link?: { relation: string; url: string }[] } | undefined)?.link?.find((l) => l.relation === 'next');
    if (next) {
      const url = new URL(next.url);
      const page = await call(who, 'GET', `${url.pathname.replace(/^\/local\/fhir\//, '')}${url.search}`);
      out.push(`  next ${next.url} → ${normalize(page)}`);
    }
  }
  return out;
}

describe.each(CALLERS)('noninterference: %s', (_name, who) => {
  test('changing other patients\' records changes nothing the caller observes', async () => {
    // A shared Medication nobody takes yet: readable by everyone (shared data), and after the
    // change named only by bob's new MedicationRequest (which must not pull it into an include).
    const { backend, repo } = await inProcessStore([...demoResources(), { resourceType: 'Medication', id: 'med-bob-only', code: { text: 'synthetic drug' } } as Resource]);
    expect(backend.baseUrl).toBe(STORE_BASE);
    const call = proxyFor(backend);
    const requests = corpus(who.patients[0]!);
    const before = await observe(call, who, requests);
    // The corpus itself must observe something: own data, paging, refusals.
    expect(before.some((line) => line.includes('"status":200') && line.includes(who.patients[0]!))).toBe(true);
    expect(before.some((line) => line.startsWith('  next'))).toBe(true);
    await changeOtherPatients(repo);
    const after = await observe(call, who, requests);
    expect(after).toEqual(before);
  });
});
