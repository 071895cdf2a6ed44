/**
 * SMART Backend Services (private_key_jwt) end to end on the local stack: the demo backend client
 * signs a client assertion with its ES384 key, trades it at /auth/token for a system/ token, and
 * reads FHIR through the gateway. Discovery advertises the method; a replayed assertion is refused.
 */
import { backendServicesRequest, clientAssertion } from '../../local/stack/clients';
import { spawnLocalStack, SpawnedStack } from '../../local/stack/spawn';

jest.setTimeout(90_000);

let stack: SpawnedStack;
beforeAll(async () => {
  stack = await spawnLocalStack();
});
afterAll(() => stack.stop());

const assertion = (claims: Record<string, unknown> = {}) => clientAssertion(stack.info, claims);
const tokenRequest = (signed: string, scope?: string) => backendServicesRequest(stack.info, signed, scope);

test('a signed ES384 assertion gets a system/ token that reads any patient through the gateway', async () => {
  const r = await tokenRequest(assertion(), 'system/Patient.rs');
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ token_type: 'Bearer', scope: 'system/Patient.rs' });
  expect(r.body.expires_in).toBeLessThanOrEqual(300);
  expect(r.body.refresh_token).toBeUndefined();
  const res = await fetch(`${stack.info.fhirBaseUrl}/Patient`, { headers: { authorization: `Bearer ${r.body.access_token}` } });
  expect(res.status).toBe(200);
  const ids = ((await res.json()) as any).entry.map((e: any) => e.resource.id).sort();
  expect(ids).toEqual(stack.info.patients.map((p) => p.id).sort());
  // Scope narrowed to Patient: Observations are refused.
  expect((await fetch(`${stack.info.fhirBaseUrl}/Observation`, { headers: { authorization: `Bearer ${r.body.access_token}` } })).status).toBe(403);
});

test('the same assertion twice → invalid_client (replay); wrong aud, far exp → invalid_client', async () => {
  const once = assertion();
  expect((await tokenRequest(once)).status).toBe(200);
  expect(await tokenRequest(once)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  expect(await tokenRequest(assertion({ aud: `${stack.info.fhirBaseUrl}` }))).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  expect(await tokenRequest(assertion({ exp: Math.floor(Date.now() / 1000) + 3600 }))).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  expect(await tokenRequest(assertion(), 'system/*.cruds')).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
});

test('the SMART configuration advertises private_key_jwt with RS384/ES384 and client-confidential-asymmetric', async () => {
  const res = await fetch(`${stack.info.fhirBaseUrl}/.well-known/smart-configuration`);
  const config = (await res.json()) as any;
  expect(config.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
  expect(config.token_endpoint_auth_signing_alg_values_supported).toEqual(expect.arrayContaining(['RS384', 'ES384']));
  expect(config.capabilities).toContain('client-confidential-asymmetric');
  expect(config.token_endpoint).toBe(stack.info.backendClients[0]!.tokenUrl);
});
