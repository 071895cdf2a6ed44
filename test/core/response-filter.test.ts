/**
 * The post-filter (core/response-filter.ts): visibility, then reference closure over what is kept,
 * then a `total` that depends only on what the caller sees. Table rows, then a property with an
 * adversarial backend: whatever it returns, no entry comes back that no visible record reaches.
 */
import fc from 'fast-check';
import type { Principal } from '../../functions/core/principal';
import { AccessContext } from '../../functions/core/resource-access';
import { filterBundle, referencedKeys } from '../../functions/core/response-filter';
import { parseScopeString } from '../../functions/core/scopes';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';

const BASE = 'https://fhir.test/r4';
const ctxFor = (kind: Principal['kind'], patients: string[], scopes = 'patient/*.rs'): AccessContext => ({
  principal: { kind, sub: 'u', clientId: 'c', patients: kind === 'system' ? [] : patients, scopes: parseScopeString(scopes).resource },
  settings: DEFAULT_SETTINGS,
  ownBaseUrls: Object.freeze([BASE]),
});
const ALICE = ctxFor('patient', ['alice']);
const keep = (url: string) => url;
const match = (resource: unknown) => ({ resource, search: { mode: 'match' } });
const include = (resource: unknown) => ({ resource, search: { mode: 'include' } });
const bundle = (entry: unknown[], extra: Record<string, unknown> = {}) => ({ resourceType: 'Bundle', type: 'searchset', entry, ...extra });
const keys = (b: Record<string, unknown>) => ((b.entry as { resource: { resourceType: string; id: string } }[] | undefined) ?? []).map((e) => `${e.resource.resourceType}/${e.resource.id}`);

const patient = (id: string, org?: string) => ({ resourceType: 'Patient', id, ...(org ? { managingOrganization: { reference: `Organization/${org}` } } : {}) });
const medRequest = (id: string, who: string, med: string) => ({ resourceType: 'MedicationRequest', id, status: 'active', intent: 'order', subject: { reference: `Patient/${who}` }, medicationReference: { reference: `Medication/${med}` } });
const medication = (id: string, org?: string) => ({ resourceType: 'Medication', id, ...(org ? { manufacturer: { reference: `Organization/${org}` } } : {}) });
const organization = (id: string) => ({ resourceType: 'Organization', id });

describe('reference closure', () => {
  test('Patient?_id=alice&_include=Patient:organization&…:iterate: a Medication only Bob\'s MedicationRequest names is removed', () => {
    // What a backend that iterated through Bob's records answers.
    const input = bundle([
      match(patient('alice', 'org-1')),
      include(organization('org-1')),
      include(patient('bob', 'org-1')),
      include(medRequest('mr-bob', 'bob', 'med-x')),
      include(medication('med-x')),
    ]);
    const out = filterBundle(ALICE, input, 's', keep, { closure: 'fixed-point' });
    expect(keys(out.bundle)).toEqual(['Patient/alice', 'Organization/org-1']);
    expect(out.removed).toBe(3);
  });

  test('a Medication Alice\'s own MedicationRequest names stays (two hops with :iterate)', () => {
    const input = bundle([match(patient('alice')), include(medRequest('mr-a', 'alice', 'med-a')), include(medication('med-a'))]);
    expect(keys(filterBundle(ALICE, input, 's', keep, { closure: 'fixed-point' }).bundle)).toEqual(['Patient/alice', 'MedicationRequest/mr-a', 'Medication/med-a']);
  });

  test('one hop without :iterate: the second hop is not kept', () => {
    const input = bundle([match(patient('alice')), include(medRequest('mr-a', 'alice', 'med-a')), include(medication('med-a'))]);
    expect(keys(filterBundle(ALICE, input, 's', keep).bundle)).toEqual(['Patient/alice', 'MedicationRequest/mr-a']);
  });

  test('an included resource that only points at a kept include (not at a match) is not kept in one hop', () => {
    // Medication manufactured by the clinic Alice is registered at: reachable from nothing she sees.
    const input = bundle([match(patient('alice', 'org-1')), include(organization('org-1')), include(medication('med-y', 'org-1'))]);
    expect(keys(filterBundle(ALICE, input, 's', keep).bundle)).toEqual(['Patient/alice', 'Organization/org-1']);
  });

  test('absolute references with the server\'s base count; another server\'s do not', () => {
    const mine = { resourceType: 'Observation', id: 'o1', subject: { reference: 'Patient/alice' }, performer: [{ reference: `${BASE}/Practitioner/d1` }, { reference: 'https://evil.test/r4/Practitioner/d2' }] };
    const input = bundle([match(mine), include({ resourceType: 'Practitioner', id: 'd1' }), include({ resourceType: 'Practitioner', id: 'd2' })]);
    expect(keys(filterBundle(ALICE, input, 's', keep).bundle)).toEqual(['Observation/o1', 'Practitioner/d1']);
  });
});

describe('total says nothing about what was removed', () => {
  test('confined: the count of kept matches when the page is the whole answer', () => {
    const input = bundle([match(patient('alice')), match(patient('bob'))], { total: 2 });
    expect(filterBundle(ALICE, input, 's', keep).bundle.total).toBe(1);
  });

  test('confined: no total when more pages follow (it could not be computed from what is seen)', () => {
    const input = bundle([match(patient('alice'))], { total: 7, link: [{ relation: 'next', url: `${BASE}/Patient?page=2` }] });
    expect(filterBundle(ALICE, input, 's', keep).bundle.total).toBeUndefined();
  });

  test('confined: removed includes do not change total (Medication?_id=x&_revinclude: does anyone else take it?)', () => {
    const mine = bundle([match(medication('med-x')), include(medRequest('mr-a', 'alice', 'med-x'))], { total: 1 });
    const withBob = bundle([match(medication('med-x')), include(medRequest('mr-a', 'alice', 'med-x')), include(medRequest('mr-b', 'bob', 'med-x'))], { total: 1 });
    expect(filterBundle(ALICE, withBob, 's', keep).bundle).toEqual(filterBundle(ALICE, mine, 's', keep).bundle);
  });

  test('count-only: entries are counted, then dropped', () => {
    const input = bundle([match(patient('alice')), match(patient('bob'))]);
    const out = filterBundle(ALICE, input, 's', keep, { countOnly: true }).bundle;
    expect(out).toEqual({ resourceType: 'Bundle', type: 'searchset', total: 1 });
  });

  test('unconfined: the backend\'s total unless a match was removed', () => {
    const system = ctxFor('system', [], 'system/Observation.rs');
    const obs = { resourceType: 'Observation', id: 'o', subject: { reference: 'Patient/alice' } };
    expect(filterBundle(system, bundle([match(obs)], { total: 40 }), 's', keep).bundle.total).toBe(40);
    expect(filterBundle(system, bundle([match(obs), match(patient('p'))], { total: 40 }), 's', keep).bundle.total).toBeUndefined();
  });
});

test('entries without a resource, and outcomes, reach only unconfined callers', () => {
  const input = bundle([{ request: { method: 'DELETE', url: 'Patient/alice' } }, { resource: { resourceType: 'OperationOutcome', issue: [] }, search: { mode: 'outcome' } }]);
  expect(filterBundle(ALICE, input, 'r', keep).kept).toBe(0);
  expect(filterBundle(ctxFor('system', [], 'system/*.rs'), input, 'r', keep).kept).toBe(2);
});

test('referencedKeys reads every literal reference, at any depth, and nothing else', () => {
  const resource = { resourceType: 'X', a: [{ b: { reference: 'Patient/1' } }], c: { reference: '#contained' }, d: { reference: 'urn:uuid:1' }, e: { reference: `${BASE}/Group/g/_history/2` } };
  expect([...referencedKeys(resource, [BASE])].sort()).toEqual(['Group/g', 'Patient/1']);
});

/**
 * Property (adversarial backend): the backend returns any mix of matches and includes, with
 * references between them in any direction. Whatever it returns, every kept include is adjacent
 * (by reference, either way) to a kept match — or, with `:iterate`, to a kept entry — and every
 * kept entry is visible.
 */
describe('property: no entry is unreachable from a visible record', () => {
  const PATIENTS = ['alice', 'bob', 'carol'];
  const TYPES = ['Patient', 'Observation', 'MedicationRequest', 'Medication', 'Practitioner', 'Organization', 'Location'];
  const ids = ['1', '2', '3'];
  const refArb = fc.oneof(
    fc.tuple(fc.constantFrom(...TYPES), fc.constantFrom(...ids)).map(([t, i]) => `${t}/${i}`),
    fc.constantFrom(...PATIENTS).map((p) => `Patient/${p}`),
    fc.tuple(fc.constantFrom(...TYPES), fc.constantFrom(...ids)).map(([t, i]) => `${BASE}/${t}/${i}`),
  );
  const resourceArb = fc.record({
    resourceType: fc.constantFrom(...TYPES),
    id: fc.oneof(fc.constantFrom(...ids), fc.constantFrom(...PATIENTS)),
    subject: fc.option(fc.record({ reference: refArb }), { nil: undefined }),
    performer: fc.option(fc.array(fc.record({ reference: refArb }), { maxLength: 2 }), { nil: undefined }),
    medicationReference: fc.option(fc.record({ reference: refArb }), { nil: undefined }),
    managingOrganization: fc.option(fc.record({ reference: refArb }), { nil: undefined }),
  });
  const entryArb = fc.record({ resource: resourceArb, search: fc.record({ mode: fc.constantFrom('match', 'include') }) });

  test.each(['one-hop', 'fixed-point'] as const)('%s', (closure) => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 14 }), fc.subarray(PATIENTS, { minLength: 1 }), (entries, held) => {
        const ctx = ctxFor('patient', held);
        const out = filterBundle(ctx, bundle(entries), 's', keep, { closure }).bundle;
        const kept = (out.entry as { resource: any; search: { mode: string } }[] | undefined) ?? [];
        const keyOf = (r: any) => `${r.resourceType}/${r.id}`;
        const refs = (r: any) => referencedKeys(r, [BASE]);
        const anchors = kept.filter((e) => e.search.mode === 'match').map((e) => e.resource);
        const reached = (r: any, set: any[]) => set.some((a) => refs(a).has(keyOf(r)) || refs(r).has(keyOf(a)));
        // Grow the anchor set the way a fixed point may; one hop may only use the matches.
        const allowed = [...anchors];
        let grew = true;
        while (grew) {
          grew = false;
          for (const e of kept) {
            if (e.search.mode === 'include' && !allowed.includes(e.resource) && reached(e.resource, closure === 'one-hop' ? anchors : allowed)) {
              allowed.push(e.resource);
              grew = true;
            }
          }
        }
        for (const e of kept) {
          expect(allowed).toContain(e.resource);
        }
      }),
      { seed: 20261130, numRuns: 2_000 },
    );
  });
});
