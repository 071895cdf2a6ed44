/**
 * Property: no write outside the caller's compartments ever reaches the store.
 *
 * Random patient-scoped principals send random writes (create, update, patch, delete, their
 * conditional forms, transactions) whose bodies name random patients, against a backend whose
 * stored versions belong to random patients. The backend records every write it receives; each
 * recorded write must touch only the caller's patients — the new body, and the stored version it
 * replaces or deletes.
 */
import fc from 'fast-check';
import { fhirPolicy } from '../../functions/authorizer/policy';
import { Principal } from '../../functions/core/principal';
import { principalToContext } from '../../functions/core/principal-context';
import { parseScopeString } from '../../functions/core/scopes';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { BackendRequest, FhirBackend } from '../../functions/fhir-proxy/backend';
import { createProxyHandler } from '../../functions/fhir-proxy/handler';
import { createHmacPageSigner } from '../../functions/fhir-proxy/page-signer';
import { GatewayEmulator } from '../../local/gateway/gateway';

const BACKEND = 'http://backend.test/r4';
const PATIENTS = ['p1', 'p2', 'p3'];
const IDS = ['o1', 'o2', 'o3'];

/** Patients a resource names (an independent oracle: any Patient reference, relative or on the backend base). */
function owners(resource: unknown): string[] {
  const text = JSON.stringify(resource ?? null);
  const found = [...text.matchAll(/"reference":"(?:http:\/\/backend\.test\/r4\/)?Patient\/([a-z0-9]+)"/g)].map((m) => m[1]!);
  const r = resource as { resourceType?: string; id?: string } | null;
  if (r?.resourceType === 'Patient' && r.id) found.push(r.id);
  return found;
}

const patientRef = fc.constantFrom(...PATIENTS, 'p1x').map((id) => ({ reference: `Patient/${id}` }));
const observation = fc.record({
  resourceType: fc.constant('Observation'),
  status: fc.constant('final'),
  code: fc.constant({ text: 'x' }),
  subject: patientRef,
  performer: fc.option(fc.array(patientRef, { maxLength: 2 }), { nil: undefined }),
});

type Write = { method: string; path: string; body?: unknown; headers?: Record<string, string> };
const write: fc.Arbitrary<Write> = fc.oneof(
  observation.map((body) => ({ method: 'POST', path: 'Observation', body })),
  fc.tuple(observation, fc.constantFrom(...PATIENTS)).map(([body, p]) => ({ method: 'POST', path: 'Observation', body, headers: { 'if-none-exist': `subject=Patient/${p}` } })),
  fc.tuple(fc.constantFrom(...IDS), observation).map(([id, body]) => ({ method: 'PUT', path: `Observation/${id}`, body: { ...body, id } })),
  fc.tuple(fc.constantFrom(...PATIENTS), observation).map(([p, body]) => ({ method: 'PUT', path: `Observation?subject=Patient/${p}`, body })),
  fc.tuple(fc.constantFrom(...IDS), fc.constantFrom(...PATIENTS)).map(([id, p]) => ({
    method: 'PATCH',
    path: `Observation/${id}`,
    body: [{ op: 'replace', path: '/subject', value: { reference: `Patient/${p}` } }],
    headers: { 'content-type': 'application/json-patch+json' },
  })),
  fc.constantFrom(...IDS).map((id) => ({ method: 'DELETE', path: `Observation/${id}` })),
  fc.constantFrom(...PATIENTS).map((p) => ({ method: 'DELETE', path: `Observation?subject=Patient/${p}` })),
  fc.array(fc.tuple(observation, fc.constantFrom('POST', 'PUT', 'DELETE'), fc.constantFrom(...IDS)), { minLength: 1, maxLength: 3 }).map((entries) => ({
    method: 'POST',
    path: '',
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: entries.map(([resource, method, id]) =>
        method === 'DELETE'
          ? { request: { method, url: `Observation/${id}` } }
          : { resource: method === 'PUT' ? { ...resource, id } : resource, request: { method, url: method === 'PUT' ? `Observation/${id}` : 'Observation' } },
      ),
    },
  })),
);

/** A backend over a random store that records every write it receives. */
function recordingBackend(stored: Map<string, Record<string, unknown>>, writes: { req: BackendRequest; replaced?: unknown }[]): FhirBackend {
  const ok = (body: unknown, status = 200) => ({ status, headers: { 'content-type': 'application/fhir+json', etag: 'W/"1"' }, body: JSON.stringify(body) });
  return {
    baseUrl: BACKEND,
    async send(req) {
      const key = req.path.split('?')[0]!;
      if (req.method === 'GET') {
        if (stored.has(key)) return ok(stored.get(key));
        if (/^Observation\/[^/]+$/.test(key)) return { status: 404, headers: {}, body: '{"resourceType":"OperationOutcome","issue":[]}' };
        // A search: answer with everything, as a careless backend would; the proxy must filter.
        return ok({ resourceType: 'Bundle', type: 'searchset', entry: [...stored.values()].map((r) => ({ resource: r, search: { mode: 'match' } })) });
      }
      writes.push({ req, replaced: stored.get(key) });
      return req.method === 'DELETE' ? ok({ resourceType: 'OperationOutcome', issue: [] }) : ok(JSON.parse(req.body ?? 'null'), 201);
    },
  };
}

test('no write outside the caller\'s compartments ever reaches the store', async () => {
  const signer = createHmacPageSigner(Buffer.alloc(32, 9));
  await fc.assert(
    fc.asyncProperty(
      fc.subarray(PATIENTS, { minLength: 1, maxLength: 2 }),
      fc.tuple(fc.constantFrom(...PATIENTS), fc.constantFrom(...PATIENTS), fc.constantFrom(...PATIENTS)),
      write,
      async (patients, storeOwners, w) => {
        const stored = new Map(IDS.map((id, i) => [`Observation/${id}`, { resourceType: 'Observation', id, meta: { versionId: '1' }, status: 'final', code: {}, subject: { reference: `Patient/${storeOwners[i]}` } }]));
        const writes: { req: BackendRequest; replaced?: unknown }[] = [];
        const p: Principal = { kind: 'patient', sub: 'u', clientId: 'web', patients, scopes: parseScopeString('patient/*.cruds').resource };
        const gateway = new GatewayEmulator({
          domainName: 'gw.test',
          authorizerCacheTtlSeconds: 0,
          authorizer: async (e) => fhirPolicy('Allow', 'u', e.methodArn, principalToContext(p)),
          proxy: createProxyHandler({ backend: recordingBackend(stored, writes), settings: DEFAULT_SETTINGS, signer, discovery: { issuer: 'x', tokenEndpoint: 'x', jwksUri: 'x', backendServices: false, clientSecrets: false, scopesSupported: [] }, log: () => {} }),
        });
        const url = new URL(`http://x/fhir/${w.path}`);
        await gateway.handle({
          method: w.method,
          path: decodeURIComponent(url.pathname),
          query: [...url.searchParams],
          headers: { authorization: 'Bearer t', 'content-type': 'application/fhir+json', ...w.headers },
          body: w.body === undefined ? undefined : JSON.stringify(w.body),
        });
        for (const { req, replaced } of writes) {
          const bodies = req.path === '' ? ((JSON.parse(req.body!).entry ?? []) as { resource?: unknown; request: { url: string } }[]) : [{ resource: req.body ? JSON.parse(req.body) : undefined, request: { url: req.path } }];
          for (const entry of bodies) {
            const touched = [...owners(entry.resource), ...owners(replaced ?? stored.get(entry.request.url.split('?')[0]!))];
            const foreign = touched.filter((o) => !patients.includes(o));
            if (foreign.length > 0) throw new Error(`${w.method} ${w.path} by ${patients} reached the store touching ${foreign}: ${req.method} ${req.path} ${req.body ?? ''}`);
            if (entry.resource !== undefined && owners(entry.resource).length === 0) throw new Error(`write outside any compartment reached the store: ${req.body}`);
          }
        }
      },
    ),
    { seed: 26112026, numRuns: Number(process.env.FHIRGATE_PROPERTY_RUNS ?? 10_000) },
  );
});
