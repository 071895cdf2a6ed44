/**
 * Property: for a confined caller, "exists but not yours" and "does not exist" are one answer.
 *
 * For random confined principals (patient, guardian, practitioner, delegated; random patients held,
 * random scopes) and random interactions — read, vread, history, update, patch, delete,
 * conditional update and delete, search by id, compartment search, `$everything` — each issued
 * standalone, as a batch entry and as a transaction entry, the normalized response for another
 * patient's id (live, deleted, or shared with another patient) equals the response for an id that
 * was never there. Normalized: only ids, versions and timestamps (a conditional update with no
 * match creates a resource with a fresh server id, in both cases).
 *
 * Against the real proxy and the real local store (in-process). FHIRGATE_PROPERTY_RUNS overrides
 * the run count (default 10 000).
 */
import fc from 'fast-check';
import type { Resource } from '@medplum/fhirtypes';
import type { Principal } from '../../functions/core/principal';
import { parseScopeString } from '../../functions/core/scopes';
import { loadSeed } from '../../local/fhir-store/seed';
import { inProcessStore, proxyFor } from '../support/store-backend';

const HELD = ['pA', 'pB'];
const FOREIGN_PATIENT = 'pF';
const patient = (id: string): Resource => ({ resourceType: 'Patient', id, name: [{ family: `Synthetic-${id}` }] }) as Resource;
const observation = (id: string, subject: string, extra: Record<string, unknown> = {}): Resource =>
  ({ resourceType: 'Observation', id, status: 'final', code: { text: 'glucose' }, subject: { reference: `Patient/${subject}` }, ...extra }) as Resource;

const SEED: Resource[] = [
  patient('pA'),
  patient('pB'),
  patient(FOREIGN_PATIENT),
  observation('obs-a', 'pA'),
  observation('obs-b', 'pB'),
  observation('obs-f', FOREIGN_PATIENT),
  observation('obs-fd', FOREIGN_PATIENT), // deleted below: the store answers 410 for it
  // Another patient's record where a held patient is only the performer: a role grants nothing.
  observation('obs-perf', FOREIGN_PATIENT, { performer: [{ reference: 'Patient/pA' }] }),
  { resourceType: 'Encounter', id: 'enc-f', status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${FOREIGN_PATIENT}` } } as Resource,
];

/** [type, another patient's id, an id that never existed] */
const TARGETS: readonly (readonly [string, string, string])[] = [
  ['Observation', 'obs-f', 'obs-never'],
  ['Observation', 'obs-fd', 'obs-never'],
  ['Observation', 'obs-perf', 'obs-never'],
  ['Encounter', 'enc-f', 'enc-never'],
  ['Patient', FOREIGN_PATIENT, 'pat-never'],
];

type Interaction = (type: string, id: string, holder: string) => { method: string; url: string; body?: unknown } | undefined;

const body = (type: string, id: string | undefined, holder: string) =>
  type === 'Patient'
    ? { resourceType: 'Patient', ...(id ? { id } : {}), name: [{ family: 'Changed' }] }
    : { resourceType: type, ...(id ? { id } : {}), status: type === 'Encounter' ? 'finished' : 'amended', ...(type === 'Encounter' ? { class: { code: 'AMB' } } : { code: { text: 'x' } }), subject: { reference: `Patient/${holder}` } };

const INTERACTIONS: Record<string, Interaction> = {
  read: (t, id) => ({ method: 'GET', url: `${t}/${id}` }),
  vread: (t, id) => ({ method: 'GET', url: `${t}/${id}/_history/1` }),
  history: (t, id) => ({ method: 'GET', url: `${t}/${id}/_history` }),
  update: (t, id, h) => ({ method: 'PUT', url: `${t}/${id}`, body: body(t, id, h) }),
  patch: (t, id) => ({ method: 'PATCH', url: `${t}/${id}`, body: [{ op: 'add', path: '/language', value: 'en' }] }),
  delete: (t, id) => ({ method: 'DELETE', url: `${t}/${id}` }),
  conditionalUpdate: (t, id, h) => ({ method: 'PUT', url: `${t}?_id=${id}`, body: body(t, undefined, h) }),
  conditionalDelete: (t, id) => ({ method: 'DELETE', url: `${t}?_id=${id}` }),
  search: (t, id) => ({ method: 'GET', url: `${t}?_id=${id}` }),
  compartment: (t, id) => (t === 'Patient' ? { method: 'GET', url: `Patient/${id}/Observation` } : undefined),
  everything: (t, id) => (t === 'Patient' ? { method: 'GET', url: `Patient/${id}/$everything` } : undefined),
};

const principalArb = fc.record({
  kind: fc.constantFrom('patient', 'guardian', 'practitioner', 'delegated'),
  patients: fc.subarray(HELD, { minLength: 1 }),
  scopes: fc.constantFrom('patient/*.cruds', 'patient/*.rs', 'patient/Observation.cruds patient/Patient.rs', 'user/*.cruds'),
});

/** Ids, versions, timestamps, paging MACs and the target id itself become placeholders; everything else must match byte for byte. */
function normalize(value: unknown, target: string): string {
  return JSON.stringify(value, (key, v) => {
    if (['id', 'versionId', 'lastUpdated', 'lastModified', 'timestamp', 'etag', 'location', 'last-modified', 'fullUrl'].includes(key)) return 'X';
    // A paging link's MAC covers its query, which names the id asked for.
    if (typeof v === 'string') return v.split(target).join('TARGET').replace(/_fhirgate_page=[\w-]+/g, '_fhirgate_page=MAC');
    return v;
  });
}

test('a foreign id and a missing id get one answer: standalone, in a batch, in a transaction', async () => {
  const { backend, repo } = await inProcessStore(SEED);
  const reset = async () => {
    repo.clear();
    await loadSeed(repo, SEED);
    await repo.deleteResource('Observation', 'obs-fd');
  };
  await reset();
  // A write that went through (a conditional update with no match creates) changes the world the
  // next run compares in: note it and start the next run from the seed again.
  let written = false;
  const call = proxyFor({
    baseUrl: backend.baseUrl,
    async send(req) {
      const res = await backend.send(req);
      if (req.method !== 'GET' && res.status < 300) written = true;
      return res;
    },
  });
  await fc.assert(
    fc.asyncProperty(
      principalArb,
      fc.constantFrom(...TARGETS),
      fc.constantFrom(...Object.keys(INTERACTIONS)),
      fc.constantFrom('standalone', 'batch', 'transaction'),
      async (who, [type, foreign, missing], name, mode) => {
        const principal: Principal = { kind: who.kind as Principal['kind'], sub: 'u', clientId: 'web', patients: who.patients, scopes: parseScopeString(who.scopes).resource, ...(who.kind === 'delegated' ? { actor: 'api-server' } : {}) };
        const answers: string[] = [];
        for (const id of [foreign, missing]) {
          const request = INTERACTIONS[name]!(type, id, who.patients[0]!);
          if (!request) return;
          const res =
            mode === 'standalone'
              ? await call(principal, request.method, request.url, request.body)
              : await call(principal, 'POST', '', { resourceType: 'Bundle', type: mode, entry: [{ request: { method: request.method, url: request.url }, ...(request.body !== undefined ? { resource: entryResource(request.method, request.body) } : {}) }] });
          answers.push(normalize({ status: res.status, headers: res.headers, body: res.body }, id));
        }
        if (written) {
          written = false;
          await reset();
        }
        expect(answers[0]).toEqual(answers[1]);
      },
    ),
    { seed: 20261130, numRuns: Number(process.env.FHIRGATE_PROPERTY_RUNS ?? 10_000) },
  );
}, 300_000);

/** A Bundle entry's resource: the body, or for PATCH the JSON Patch as a Binary (R4 http.html#transaction). */
function entryResource(method: string, body: unknown): unknown {
  if (method !== 'PATCH') return body;
  return { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify(body)).toString('base64') };
}
