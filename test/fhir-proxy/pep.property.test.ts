/**
 * Property: whatever a patient-scoped caller asks, and whatever the backend answers, no resource
 * outside the caller's compartments (or the shared types) ever reaches the caller.
 *
 * The backend here is adversarial on purpose: it ignores the narrowing and answers every request
 * with an arbitrary selection from a random store — wrong resources for reads, other patients'
 * records in searches, includes and history, references written absolute, relative, versioned or
 * as look-alikes (`Patient/p1x`, another server's base). Only the proxy stands in the way.
 */
import fc from 'fast-check';
import { fhirPolicy } from '../../functions/authorizer/policy';
import { principalToContext } from '../../functions/core/principal-context';
import { Principal } from '../../functions/core/principal';
import { parseScopeString } from '../../functions/core/scopes';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { BackendRequest, FhirBackend } from '../../functions/fhir-proxy/backend';
import { createProxyHandler } from '../../functions/fhir-proxy/handler';
import { createHmacPageSigner } from '../../functions/fhir-proxy/page-signer';
import { GatewayEmulator } from '../../local/gateway/gateway';
import { resourcesIn } from '../support/in-process-stack';

const BACKEND = 'http://backend.test/r4';
const PATIENTS = ['p1', 'p2', 'p3', 'p4'];
const SHARED = new Set(DEFAULT_SETTINGS.sharedResourceTypes);

const patientRef = fc.oneof(
  fc.constantFrom(...PATIENTS).map((id) => `Patient/${id}`),
  fc.constantFrom(...PATIENTS).map((id) => `${BACKEND}/Patient/${id}`),
  fc.constantFrom(...PATIENTS).map((id) => `Patient/${id}/_history/2`),
  fc.constantFrom(...PATIENTS).map((id) => `https://evil.test/r4/Patient/${id}`),
  fc.constantFrom(...PATIENTS).map((id) => `Patient/${id}x`),
  fc.constant('Practitioner/d1'),
);

const resource = fc.oneof(
  fc.record({ resourceType: fc.constant('Patient'), id: fc.constantFrom(...PATIENTS), link: fc.option(fc.array(fc.record({ other: fc.record({ reference: patientRef }) }), { maxLength: 2 }), { nil: undefined }) }),
  fc.record({ resourceType: fc.constant('Observation'), id: fc.string({ minLength: 1, maxLength: 4 }).map((s) => `o${s.replace(/[^a-z0-9]/gi, 'x')}`), subject: fc.record({ reference: patientRef }), performer: fc.option(fc.array(fc.record({ reference: patientRef }), { maxLength: 2 }), { nil: undefined }), category: fc.constant([{ coding: [{ code: 'laboratory' }] }]) }),
  fc.record({ resourceType: fc.constant('Encounter'), id: fc.constant('e1'), subject: fc.record({ reference: patientRef }), participant: fc.constant([{ individual: { reference: 'Practitioner/d1' } }]) }),
  fc.record({ resourceType: fc.constant('AllergyIntolerance'), id: fc.constant('a1'), patient: fc.record({ reference: patientRef }), recorder: fc.record({ reference: patientRef }) }),
  fc.record({ resourceType: fc.constantFrom('Practitioner', 'Organization', 'Medication'), id: fc.constant('d1') }),
  fc.record({ resourceType: fc.constantFrom('Device', 'Task', 'Questionnaire'), id: fc.constant('x1'), patient: fc.record({ reference: patientRef }) }),
);

const request = fc.oneof(
  fc.constantFrom('Observation', 'Patient', 'Encounter', 'AllergyIntolerance', 'Practitioner').map((t) => `${t}`),
  fc.constantFrom(
    'Observation?_include=Observation:subject&_include=Observation:performer',
    'Patient?_revinclude=Observation:subject',
    'Patient?_revinclude=AllergyIntolerance:recorder&_include=Patient:link',
    'Encounter?_include=Encounter:subject',
    'Observation?_include=*', // refused (403) since wildcard includes cannot be scope-checked; kept to prove the refusal leaks nothing
  ),
  fc.tuple(fc.constantFrom('Patient', 'Observation', 'Encounter'), fc.constantFrom('p1', 'p2', 'o1', 'e1')).map(([t, id]) => `${t}/${id}`),
  fc.tuple(fc.constantFrom('Patient', 'Observation'), fc.constantFrom('p1', 'p2', 'o1')).map(([t, id]) => `${t}/${id}/_history`),
  fc.constantFrom(...PATIENTS).map((id) => `Patient/${id}/$everything`),
);

const principal = fc.record({
  patients: fc.subarray(PATIENTS, { minLength: 1, maxLength: 2 }),
  scopes: fc.constantFrom('patient/*.rs', 'patient/Observation.rs patient/Patient.r', 'patient/*.read', 'patient/Observation.rs?category=laboratory'),
  kind: fc.constantFrom('patient', 'guardian'),
});

/** An adversarial backend: answers anything with anything from the store. */
function backendFor(store: Record<string, unknown>[], pick: number[]): FhirBackend {
  return {
    baseUrl: BACKEND,
    async send(req: BackendRequest) {
      const chosen = pick.map((i) => store[i % store.length]!);
      const isInstance = /^[A-Z][A-Za-z]+\/[^/?$]+$/.test(req.path);
      const body = isInstance
        ? chosen[0] ?? { resourceType: 'OperationOutcome', issue: [] }
        : {
            resourceType: 'Bundle',
            type: 'searchset',
            total: chosen.length,
            entry: chosen.map((r, i) => ({ fullUrl: `${BACKEND}/${String(r.resourceType)}/${String(r.id)}`, resource: r, search: { mode: i % 2 ? 'include' : 'match' } })),
          };
      return { status: 200, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) };
    },
  };
}

/** True when this resource may be shown to a caller holding `patients`. */
function visible(r: any, patients: string[]): boolean {
  if (SHARED.has(r.resourceType)) return true;
  if (r.resourceType === 'OperationOutcome') return true;
  const refs = JSON.stringify(r).match(/"reference":"([^"]+)"/g) ?? [];
  const owners = new Set<string>();
  if (r.resourceType === 'Patient') owners.add(r.id);
  for (const m of refs) {
    const ref = m.slice(13, -1);
    const match = /^(?:http:\/\/backend\.test\/r4\/)?Patient\/([a-z0-9]+)(?:\/_history\/\d+)?$/.exec(ref);
    if (match) owners.add(match[1]!);
  }
  // Visible only if it belongs to one of the caller's patients (and is a compartment type).
  return ['Patient', 'Observation', 'Encounter', 'AllergyIntolerance'].includes(r.resourceType) && [...owners].some((o) => patients.includes(o));
}

test('no resource outside the caller\'s compartments ever reaches a patient-scoped caller', async () => {
  const signer = createHmacPageSigner(Buffer.alloc(32, 7));
  await fc.assert(
    fc.asyncProperty(fc.array(resource, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 8 }), principal, request, async (store, pick, who, path) => {
      const p: Principal = { kind: who.kind as Principal['kind'], sub: 'u', clientId: 'web', patients: who.patients, scopes: parseScopeString(who.scopes).resource };
      const gateway = new GatewayEmulator({
        domainName: 'gw.test',
        authorizerCacheTtlSeconds: 0,
        authorizer: async (e) => fhirPolicy('Allow', 'u', e.methodArn, principalToContext(p)),
        proxy: createProxyHandler({ backend: backendFor(store, pick), settings: DEFAULT_SETTINGS, signer, discovery: { issuer: 'x', tokenEndpoint: 'x', jwksUri: 'x', backendServices: false, clientSecrets: false, scopesSupported: [] }, log: () => {} }),
      });
      const url = new URL(`http://x/fhir/${path}`);
      const res = await gateway.handle({ method: 'GET', path: decodeURIComponent(url.pathname), query: [...url.searchParams], headers: { authorization: 'Bearer t' } });
      const body = res.body ? JSON.parse(res.body) : undefined;
      for (const r of resourcesIn(body)) {
        if (!visible(r, who.patients)) throw new Error(`leaked ${r.resourceType}/${r.id} to ${who.patients.join(',')} via ${path}: ${JSON.stringify(r)}`);
      }
    }),
    { seed: 20261126, numRuns: Number(process.env.FHIRGATE_PROPERTY_RUNS ?? 10_000) },
  );
});
