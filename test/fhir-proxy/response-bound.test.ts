/**
 * Lambda answers at most 6 MB synchronously; past that API Gateway says 502 while the audit line
 * said 200. The proxy measures its own result: exactly at the bound it is returned, one byte over
 * it becomes a clear OperationOutcome — and the audit line records what was really sent.
 * Runs the real handler behind the API Gateway emulator, with the real 6,000,000-byte bound.
 */
import { fhirPolicy } from '../../functions/authorizer/policy';
import { principalToContext } from '../../functions/core/principal-context';
import type { Principal } from '../../functions/core/principal';
import { parseScopeString } from '../../functions/core/scopes';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import type { FhirBackend } from '../../functions/fhir-proxy/backend';
import { createProxyHandler } from '../../functions/fhir-proxy/handler';
import { createHmacPageSigner } from '../../functions/fhir-proxy/page-signer';
import { MAX_RESPONSE_BYTES, resultBytes } from '../../functions/fhir-proxy/response-bound';
import type { LogRecord } from '../../functions/common/log';
import { GatewayEmulator } from '../../local/gateway/gateway';

const BACKEND = 'http://backend.test/r4';
const system: Principal = { kind: 'system', sub: 'etl', clientId: 'etl', patients: [], scopes: parseScopeString('system/Patient.rs').resource };

/** The stack with a backend whose one Patient carries `filler` characters of narrative. */
function stackWith(filler: () => number) {
  const logs: LogRecord[] = [];
  const backend: FhirBackend = {
    baseUrl: BACKEND,
    async send() {
      const patient = { resourceType: 'Patient', id: 'p1', text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(filler())}</div>` } };
      return { status: 200, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(patient) };
    },
  };
  const handler = createProxyHandler({
    backend,
    settings: DEFAULT_SETTINGS,
    signer: createHmacPageSigner(Buffer.alloc(32, 1)),
    discovery: { issuer: 'x', tokenEndpoint: 'x', jwksUri: 'x', backendServices: false, clientSecrets: false, scopesSupported: [] },
    log: (r) => logs.push(r),
  });
  let lastBytes = 0;
  const gateway = new GatewayEmulator({
    domainName: 'gw.test',
    authorizerCacheTtlSeconds: 0,
    authorizer: async (e) => fhirPolicy('Allow', 'etl', e.methodArn, principalToContext(system)),
    proxy: async (event) => {
      const result = await handler(event);
      lastBytes = resultBytes(result);
      return result;
    },
  });
  const read = () => gateway.handle({ method: 'GET', path: '/fhir/Patient/p1', query: [], headers: { authorization: 'Bearer t' } });
  return { read, logs, bytes: () => lastBytes };
}

test('exactly at the bound the resource is returned; one byte over, a too-costly OperationOutcome, audited as sent', async () => {
  let n = 1000;
  const stack = stackWith(() => n);
  await stack.read();
  // Each filler character adds exactly one byte to the serialized result: land on the bound.
  n += MAX_RESPONSE_BYTES - stack.bytes();

  const atBound = await stack.read();
  expect(stack.bytes()).toBe(MAX_RESPONSE_BYTES);
  expect(atBound.status).toBe(200);
  expect(JSON.parse(atBound.body).id).toBe('p1');

  n += 1;
  const over = await stack.read();
  expect(over.status).toBe(500);
  const body = JSON.parse(over.body);
  expect(body.resourceType).toBe('OperationOutcome');
  expect(body.issue[0]).toMatchObject({ code: 'too-costly', details: { coding: [{ code: 'ERR_PAYLOAD_TOO_LARGE' }] } });
  expect(body.issue[0].details.text).toMatch(/exceeds .*6000000 bytes.*_count/);
  expect(over.body).not.toContain('xxxx'); // nothing of the oversized body
  expect(over.body.length).toBeLessThan(1000);

  const audits = stack.logs.filter((l) => l.event === 'fhir.request' || l.status !== undefined);
  expect(audits.at(-2)).toMatchObject({ status: 200 });
  expect(audits.at(-1)).toMatchObject({ status: 500 });
  expect(audits.at(-1)).toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE' });
});
