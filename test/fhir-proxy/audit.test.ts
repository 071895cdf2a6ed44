/**
 * The audit line keeps the real reason as a code; the caller's answer does not carry it, and the
 * line never carries what the caller typed (a refused `GET Patient/Alice%20Demo` must not write a
 * patient's name into the logs).
 */
import type { Principal } from '../../functions/core/principal';
import { parseScopeString } from '../../functions/core/scopes';
import type { LogRecord } from '../../functions/common/log';
import { demoResources } from '../../local/fhir-store/seed';
import { inProcessStore, proxyFor } from '../support/store-backend';

const alice: Principal = { kind: 'patient', sub: 'u-alice', clientId: 'web', patients: ['pat-alice'], scopes: parseScopeString('patient/*.cruds').resource };

let call: ReturnType<typeof proxyFor>;
const logs: LogRecord[] = [];
beforeAll(async () => {
  const { backend } = await inProcessStore(demoResources());
  call = proxyFor(backend, { logs });
});
const lastAudit = () => logs.filter((l) => l.event === 'fhir.access').at(-1)!;

test('foreign and missing: one answer to the caller, two codes in the audit line', async () => {
  const foreign = await call(alice, 'GET', 'Observation/obs-bob-glucose');
  const foreignAudit = lastAudit();
  const missing = await call(alice, 'GET', 'Observation/obs-nobody');
  const missingAudit = lastAudit();
  expect(foreign).toEqual(missing);
  expect(JSON.stringify(foreign.body)).not.toMatch(/COMPARTMENT/);
  expect(foreignAudit).toMatchObject({ status: 404, code: 'ERR_OUT_OF_COMPARTMENT' });
  expect(missingAudit).toMatchObject({ status: 404, code: 'ERR_NOT_FOUND' });
});

test.each([
  ['GET', 'Patient/Alice%20Demo'],
  ['GET', 'Observation?subject:Patient.name=Alice%20Demo'],
  ['GET', 'Observation?_filter=name%20eq%20Alice'],
  ['GET', 'Observation?_format=Alice%20Demo'],
])('a refused %s %s: the audit line names the code and no value', async (method, path) => {
  const res = await call(alice, method, path);
  expect(res.status).toBeGreaterThanOrEqual(400);
  const line = JSON.stringify(lastAudit());
  expect(lastAudit().code).toMatch(/^ERR_[A-Z_]+$/);
  expect(line).not.toContain('Alice');
});

test('a batch: each refused entry\'s code, in order', async () => {
  const entry = ['Observation/obs-bob-glucose', 'Patient/pat-alice', 'Observation/obs-nobody'].map((url) => ({ request: { method: 'GET', url } }));
  const res = await call(alice, 'POST', '', { resourceType: 'Bundle', type: 'batch', entry });
  expect((res.body as { entry: { response: { status: string } }[] }).entry.map((e) => e.response.status)).toEqual(['404 Not Found', '200 OK', '404 Not Found']);
  expect(lastAudit()).toMatchObject({ status: 200, entryCodes: ['ERR_OUT_OF_COMPARTMENT', 'ERR_NOT_FOUND'] });
});
