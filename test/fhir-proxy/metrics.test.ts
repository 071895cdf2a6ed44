/**
 * The proxy's metrics through the real handler behind the gateway emulator: a decision per
 * request by outcome code, removed entries when the post-filter drops something, backend latency
 * per call — and no id, patient or search value in any dimension.
 */
import { fhirPolicy } from '../../functions/authorizer/policy';
import { principalToContext } from '../../functions/core/principal-context';
import type { Principal } from '../../functions/core/principal';
import { parseScopeString } from '../../functions/core/scopes';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import type { FhirBackend } from '../../functions/fhir-proxy/backend';
import { createProxyHandler } from '../../functions/fhir-proxy/handler';
import { timedBackend } from '../../functions/fhir-proxy/metrics';
import { createHmacPageSigner } from '../../functions/fhir-proxy/page-signer';
import type { Metrics } from '../../functions/common/metrics';
import { GatewayEmulator } from '../../local/gateway/gateway';

const BACKEND = 'http://backend.test/r4';
const alice: Principal = { kind: 'patient', sub: 'u-alice', clientId: 'web', patients: ['pat-alice'], scopes: parseScopeString('patient/*.rs').resource };
const obs = (id: string, patient: string) => ({ resourceType: 'Observation', id, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patient}` } });

function setup() {
  const recorded: { name: string; unit: string; value: number; dimensions: Record<string, string> }[] = [];
  const metrics: Metrics = { record: (name, unit, value, dimensions = {}) => recorded.push({ name, unit, value, dimensions: { ...dimensions } }) };
  let t = 0;
  // A backend that answers searches with one of Alice's Observations and two of Bob's (the post-filter's job).
  const raw: FhirBackend = {
    baseUrl: BACKEND,
    async send(req) {
      t += 7;
      const body = req.path.startsWith('Observation/_search') || req.path.startsWith('Observation?')
        ? { resourceType: 'Bundle', type: 'searchset', entry: [obs('o1', 'pat-alice'), obs('o2', 'pat-bob'), obs('o3', 'pat-bob')].map((r) => ({ fullUrl: `${BACKEND}/Observation/${r.id}`, resource: r, search: { mode: 'match' } })) }
        : obs('o2', 'pat-bob');
      return { status: 200, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) };
    },
  };
  const backend = timedBackend(raw, metrics, () => t);
  const gateway = new GatewayEmulator({
    domainName: 'gw.test',
    authorizerCacheTtlSeconds: 0,
    authorizer: async (e) => fhirPolicy('Allow', 'u-alice', e.methodArn, principalToContext(alice)),
    proxy: createProxyHandler({ backend, settings: DEFAULT_SETTINGS, signer: createHmacPageSigner(Buffer.alloc(32, 2)), discovery: { issuer: 'x', tokenEndpoint: 'x', jwksUri: 'x', backendServices: false, clientSecrets: false, scopesSupported: [] }, log: () => {}, metrics }),
  });
  const get = (path: string, query: [string, string][] = []) => gateway.handle({ method: 'GET', path, query, headers: { authorization: 'Bearer t' } });
  return { recorded, get };
}

test('a search that lost two entries to the post-filter: allow, RemovedEntries 2, backend latency', async () => {
  const { recorded, get } = setup();
  // GET /fhir/Observation?code=x
  const res = await get('/fhir/Observation', [['code', 'x']]);
  expect(res.status).toBe(200);
  expect(recorded).toEqual([
    { name: 'BackendLatency', unit: 'Milliseconds', value: 7, dimensions: { method: 'GET', outcome: 'ok' } }, // the PEP's call, before the adapter sends it as POST _search
    { name: 'Decisions', unit: 'Count', value: 1, dimensions: { interaction: 'search-type', decision: 'allow', code: 'OK' } },
    { name: 'RemovedEntries', unit: 'Count', value: 2, dimensions: { interaction: 'search-type' } },
  ]);
});

test('a read of another patient\'s record: deny by its real code (as audited; the caller saw 404), no id or patient in any dimension', async () => {
  const { recorded, get } = setup();
  // GET /fhir/Observation/o2 (Bob's)
  const res = await get('/fhir/Observation/o2');
  expect(res.status).toBe(404);
  expect(recorded.find((r) => r.name === 'Decisions')).toEqual({ name: 'Decisions', unit: 'Count', value: 1, dimensions: { interaction: 'read', decision: 'deny', code: 'ERR_OUT_OF_COMPARTMENT' } });
  expect(JSON.stringify(recorded)).not.toMatch(/o2|pat-|u-alice/);
});
