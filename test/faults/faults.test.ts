/**
 * Faults injected for real between the components, over HTTP: the JWKS endpoint, DynamoDB and
 * the FHIR backend each sit behind a TCP fault proxy that can close its port, hang, reset, or
 * answer with an error. Expected every time: a 401/5xx OperationOutcome, never data, never a hung
 * request (each call is bounded), and service again once the fault clears.
 */
import { generateRsaKey } from '../support/jwt-issuer';
import { InProcessStack, resourcesIn, startInProcessStack } from '../support/in-process-stack';

jest.setTimeout(60_000);

let stack: InProcessStack;
const f = () => stack.faults!;

beforeAll(async () => {
  stack = await startInProcessStack({ faults: true, backendTimeoutMs: 1000, unknownKidWaitSeconds: 1 });
});
afterAll(() => stack.close());

/** A call that must finish well within the deadlines (no hung requests). */
async function bounded(token: string | undefined, path: string): Promise<{ status: number; body: any }> {
  const started = Date.now();
  const r = await stack.call(token, 'GET', path);
  expect(Date.now() - started).toBeLessThan(8000);
  if (r.status >= 400) expect(r.body?.resourceType).toBe('OperationOutcome');
  return r;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('JWKS endpoint', () => {
  test('down at cold start → 401 (not verifiable, not allowed); recovers when it returns', async () => {
    await f().jwks.set({ kind: 'refuse' });
    const token = stack.userToken('alice');
    expect((await bounded(token, 'Patient/pat-alice')).status).toBe(401);
    await f().jwks.set({ kind: 'pass' });
    await pause(1100); // aws-jwt-verify's penalty box after a failed fetch
    expect((await bounded(token, 'Patient/pat-alice')).status).toBe(200);
  });

  test('hanging during key rotation → tokens with the new kid 401, the cached key keeps working; recovers', async () => {
    const rotated = generateRsaKey('rotated-during-outage');
    stack.issuer.keys = [...stack.issuer.keys, rotated];
    await f().jwks.set({ kind: 'hang' });
    const oldKeyToken = stack.userToken('alice');
    const newKeyToken = stack.issuer.token({ sub: 'u-alice', username: 'u-alice', client_id: 'web' }, { key: rotated });
    expect((await bounded(newKeyToken, 'Patient/pat-alice')).status).toBe(401);
    expect((await bounded(oldKeyToken, 'Patient/pat-alice')).status).toBe(200);
    await f().jwks.set({ kind: 'pass' });
    await pause(1100);
    expect((await bounded(newKeyToken, 'Patient/pat-alice')).status).toBe(200);
  });
});

describe('DynamoDB (link records)', () => {
  const throttled = {
    kind: 'respond' as const,
    status: 400,
    headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'Rate exceeded' }),
  };
  test.each([
    ['down (port closed)', { kind: 'refuse' as const }],
    ['slow past the timeout', { kind: 'hang' as const }],
    ['throttling', throttled],
  ])('%s → 500 OperationOutcome, never allowed; recovers', async (_name, mode) => {
    const token = stack.userToken('alice');
    await f().dynamo.set(mode);
    const r = await bounded(token, 'Patient/pat-alice');
    expect(r.status).toBe(500);
    expect(JSON.stringify(r.body)).not.toContain('pat-alice');
    await f().dynamo.set({ kind: 'pass' });
    expect((await bounded(token, 'Patient/pat-alice')).status).toBe(200);
  });

  test('machine tokens need no link and keep working while DynamoDB is down', async () => {
    await f().dynamo.set({ kind: 'refuse' });
    expect((await bounded(stack.machineToken('system/*.rs'), 'Patient/pat-bob')).status).toBe(200);
    await f().dynamo.set({ kind: 'pass' });
  });
});

describe('FHIR backend', () => {
  const respond = (status: number, body: string) => ({ kind: 'respond' as const, status, headers: { 'content-type': 'application/fhir+json' }, body });
  test.each([
    ['500', 502, respond(500, '{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"secret backend detail pat-bob"}]}')],
    ['503', 502, respond(503, 'Service Unavailable')],
    ['timeout (hangs)', 504, { kind: 'hang' as const }],
    ['connection reset', 502, { kind: 'reset' as const }],
    ['port closed', 502, { kind: 'refuse' as const }],
    ['invalid JSON', 502, respond(200, '{"resourceType":"Patient","id":"pat-alice",')],
  ] as const)('%s → %i OperationOutcome without the backend body; recovers', async (_name, expected, mode) => {
    const token = stack.userToken('alice');
    await f().fhir.set(mode);
    const r = await bounded(token, 'Patient/pat-alice');
    expect(r.status).toBe(expected);
    expect(JSON.stringify(r.body)).not.toMatch(/secret backend detail|pat-bob|Service Unavailable/);
    await f().fhir.set({ kind: 'pass' });
    expect((await bounded(token, 'Patient/pat-alice')).status).toBe(200);
  });

  test('a 50 MB response → 502, and the proxy stops reading', async () => {
    await f().fhir.set(respond(200, `{"resourceType":"Bundle","type":"searchset","entry":[${'{"resource":{"resourceType":"Observation","id":"x","subject":{"reference":"Patient/pat-bob"}}},'.repeat(600_000)}{}]}`));
    const r = await bounded(stack.userToken('alice'), 'Observation');
    expect(r.status).toBe(502);
    await f().fhir.set({ kind: 'pass' });
  });

  test('a search Bundle whose entries lack `resource` → those entries dropped, nothing else leaks', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: 3,
      entry: [{ fullUrl: 'x', search: { mode: 'match' } }, { resource: { resourceType: 'Observation', id: 'obs-bob', subject: { reference: 'Patient/pat-bob' } } }, { response: { status: '200' } }],
    };
    await f().fhir.set(respond(200, JSON.stringify(bundle)));
    const r = await bounded(stack.userToken('alice'), 'Observation');
    expect(r.status).toBe(200);
    expect(resourcesIn(r.body)).toEqual([]);
    // Not the backend's 3: the count of what Alice sees on this (only) page.
    expect(r.body.total).toBe(0);
    await f().fhir.set({ kind: 'pass' });
  });
});
