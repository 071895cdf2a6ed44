/**
 * The per-resource rule every path ends in (core/resource-access.ts): rows of principal ×
 * resource × permission → allowed, or which gate refuses (compartment → read as "not found",
 * scope → 403). Each row names the resource it checks.
 */
import type { Principal } from '../../functions/core/principal';
import { AccessContext, checkResource, checkWriteBody, ResourceVerdict } from '../../functions/core/resource-access';
import { parseScopeString } from '../../functions/core/scopes';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';

const BASE = 'https://fhir.test/r4';
const ctx = (kind: Principal['kind'], patients: string[], scopes: string): AccessContext => ({
  principal: { kind, sub: 'u', clientId: 'c', patients: kind === 'system' ? [] : patients, scopes: parseScopeString(scopes).resource },
  settings: DEFAULT_SETTINGS,
  ownBaseUrls: Object.freeze([BASE]),
});
const ALICE = ctx('patient', ['alice'], 'patient/*.cruds');
const GUARDIAN = ctx('guardian', ['carol', 'dan'], 'patient/*.rs');
const LAB_ONLY = ctx('patient', ['alice'], 'patient/Observation.rs?category=laboratory');
const SYSTEM = ctx('system', [], 'system/Observation.rs');
const ref = (reference: string) => ({ reference });
const obs = (subject: string, extra: Record<string, unknown> = {}) => ({ resourceType: 'Observation', id: 'o', subject: ref(subject), ...extra });
const lab = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }];
const gate = (v: ResourceVerdict) => (v.ok ? 'ok' : v.gate);

describe('reading', () => {
  test.each<[string, AccessContext, unknown, string]>([
    ['Alice reads her Observation', ALICE, obs('Patient/alice'), 'ok'],
    ['…written with the absolute base', ALICE, obs(`${BASE}/Patient/alice`), 'ok'],
    ['…versioned', ALICE, obs('Patient/alice/_history/3'), 'ok'],
    ['Bob\'s Observation', ALICE, obs('Patient/bob'), 'compartment'],
    ['Bob\'s Observation that Alice performed (a role grants nothing)', ALICE, obs('Patient/bob', { performer: [ref('Patient/alice')] }), 'compartment'],
    ['Alice\'s Observation Bob performed (roles take nothing away either)', ALICE, obs('Patient/alice', { performer: [ref('Patient/bob')] }), 'ok'],
    ['a look-alike id (Patient/alicex)', ALICE, obs('Patient/alicex'), 'compartment'],
    ['another server\'s Patient/alice', ALICE, obs('https://evil.test/r4/Patient/alice'), 'compartment'],
    ['a Group listing Alice and Bob', ALICE, { resourceType: 'Group', id: 'g', member: [{ entity: ref('Patient/alice') }, { entity: ref('Patient/bob') }] }, 'compartment'],
    ['a Group listing both of a guardian\'s children', GUARDIAN, { resourceType: 'Group', id: 'g', member: [{ entity: ref('Patient/carol') }, { entity: ref('Patient/dan') }] }, 'ok'],
    ['Alice\'s own Patient', ALICE, { resourceType: 'Patient', id: 'alice' }, 'ok'],
    ['Bob\'s Patient, which links to Alice', ALICE, { resourceType: 'Patient', id: 'bob', link: [{ other: ref('Patient/alice'), type: 'seealso' }] }, 'compartment'],
    ['a shared Practitioner', ALICE, { resourceType: 'Practitioner', id: 'd' }, 'ok'],
    ['a Device (in no compartment, not shared)', ALICE, { resourceType: 'Device', id: 'd', patient: ref('Patient/alice') }, 'compartment'],
    ['not a resource', ALICE, { id: 'x' }, 'compartment'],
    ['a lab Observation, lab-only scope', LAB_ONLY, obs('Patient/alice', { category: lab }), 'ok'],
    ['a vital sign, lab-only scope', LAB_ONLY, obs('Patient/alice'), 'scope'],
    ['Bob\'s vital sign, lab-only scope (compartment first: not found)', LAB_ONLY, obs('Patient/bob'), 'compartment'],
    ['system: any patient\'s Observation', SYSTEM, obs('Patient/bob'), 'ok'],
    ['system: a Patient without Patient scope', SYSTEM, { resourceType: 'Patient', id: 'bob' }, 'scope'],
  ])('%s', (_name, context, resource, expected) => {
    expect(gate(checkResource(context, resource, 'r'))).toBe(expected);
  });
});

describe('writing', () => {
  test.each<[string, AccessContext, unknown, 'c' | 'u', string]>([
    ['Alice creates her Observation', ALICE, obs('Patient/alice'), 'c', 'ok'],
    ['…naming Bob as performer (no other patient anywhere in a write)', ALICE, obs('Patient/alice', { performer: [ref('Patient/bob')] }), 'c', 'scope'],
    ['…for Bob', ALICE, obs('Patient/bob'), 'c', 'compartment'],
    ['…with a conditional reference (resolved across all patients)', ALICE, obs('Patient/alice', { encounter: ref('Encounter?identifier=x') }), 'c', 'scope'],
    ['a Patient', ALICE, { resourceType: 'Patient', id: 'alice' }, 'c', 'scope'],
    ['her Patient, updated', ALICE, { resourceType: 'Patient', id: 'alice' }, 'u', 'ok'],
    ['a shared Practitioner', ALICE, { resourceType: 'Practitioner', id: 'd' }, 'u', 'scope'],
    ['read-only scopes', GUARDIAN, obs('Patient/carol'), 'u', 'scope'],
  ])('%s', (_name, context, resource, permission, expected) => {
    expect(gate(checkWriteBody(context, resource, permission))).toBe(expected);
  });
});
