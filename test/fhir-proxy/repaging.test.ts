/**
 * A page too large for one Lambda response (6 MB) is asked for again with a smaller `_count`; the
 * caller gets a page that fits and a signed next link, and paging on returns every entry once.
 * A single resource over the bound still gets the handler's clear 500 (too-costly), never a
 * bare 502 from API Gateway.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Principal } from '../../functions/core/principal';
import { parseScopeString } from '../../functions/core/scopes';
import { MAX_RESPONSE_BYTES } from '../../functions/fhir-proxy/response-bound';
import { demoResources } from '../../local/fhir-store/seed';
import { inProcessStore, proxyFor } from '../support/store-backend';

const alice: Principal = { kind: 'patient', sub: 'u-alice', clientId: 'web', patients: ['pat-alice'], scopes: parseScopeString('patient/*.rs').resource };
// The store refuses strings over 1 MB, so a large resource carries several notes of up to 512 KiB.
const big = (id: string, kb: number): Resource =>
  ({
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { text: 'scan' },
    subject: { reference: 'Patient/pat-alice' },
    note: Array.from({ length: Math.ceil(kb / 512) }, (_, i) => ({ text: 'x'.repeat(Math.min(512, kb - i * 512) * 1024) })),
  }) as Resource;

let call: ReturnType<typeof proxyFor>;
beforeAll(async () => {
  const large = Array.from({ length: 12 }, (_, i) => big(`obs-large-${i}`, 600));
  const { backend } = await inProcessStore([...demoResources(), ...large, big('obs-huge', 7 * 1024)]);
  call = proxyFor(backend);
}, 60_000);

test('Observation?_id=<12 large ones>&_count=12 (about 7.2 MB) → a page that fits, then the rest by the next link', async () => {
  const seen: string[] = [];
  let url: string | undefined = 'Observation?_id=' + Array.from({ length: 12 }, (_, i) => `obs-large-${i}`).join(',') + '&_count=12';
  let pages = 0;
  while (url) {
    const r = await call(alice, 'GET', url);
    expect(r.status).toBe(200);
    expect(Buffer.byteLength(JSON.stringify(r.body))).toBeLessThan(MAX_RESPONSE_BYTES);
    const body = r.body as { entry?: { resource: { id: string } }[]; link?: { relation: string; url: string }[] };
    seen.push(...(body.entry ?? []).map((e) => e.resource.id));
    const next = body.link?.find((l) => l.relation === 'next')?.url;
    url = next ? next.replace(/^https:\/\/gw\.test\/local\/fhir\//, '') : undefined;
    pages += 1;
  }
  expect(pages).toBeGreaterThan(1);
  expect([...seen].sort()).toEqual(Array.from({ length: 12 }, (_, i) => `obs-large-${i}`).sort());
}, 60_000);

test('one resource over the bound → 500 too-costly with advice, not a bare 502', async () => {
  const r = await call(alice, 'GET', 'Observation?_id=obs-huge');
  expect(r.status).toBe(500);
  expect(JSON.stringify(r.body)).toMatch(/too-costly/);
}, 60_000);

test('a backend that ignores _count is asked again once, then the caller gets too-costly (no loop)', async () => {
  const entry = Array.from({ length: 12 }, (_, i) => ({ resource: big(`obs-large-${i}`, 600), search: { mode: 'match' } }));
  const body = JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry });
  let calls = 0;
  const stubborn = proxyFor({
    baseUrl: 'http://store.test/datastore/0123456789abcdef0123456789abcdef/r4',
    async send() {
      calls += 1;
      return { status: 200, headers: { 'content-type': 'application/fhir+json' }, body };
    },
  });
  const r = await stubborn(alice, 'GET', 'Observation?_count=12');
  expect(calls).toBe(2);
  expect(r.status).toBe(500);
  expect(JSON.stringify(r.body)).toMatch(/too-costly/);
}, 60_000);
