import { deepClone } from '@medplum/core';
import type {
  AllergyIntolerance,
  Bundle,
  Condition,
  Device,
  Encounter,
  Medication,
  MedicationRequest,
  Observation,
  Organization,
  Location,
  Patient,
  Practitioner,
  RelatedPerson,
  Resource,
} from '@medplum/fhirtypes';
import type { FhirStoreRepository } from './repository';

/**
 * SYNTHETIC demo data: every name, identifier and value here is made up ("Alice Demo", MRN
 * DEMO-0001). No real person's data. Ids are fixed so tests can name them.
 */

/** A resource, or a Bundle whose entries' resources are stored (with their ids). */
export type SeedInput = Resource | Bundle;

export const DEMO_PATIENT_IDS = ['pat-alice', 'pat-bob', 'pat-carol', 'pat-dave'] as const;
export type DemoPatientId = (typeof DEMO_PATIENT_IDS)[number];

/** Shared, non-compartment resources every patient's records point at. */
export const DEMO_SHARED_IDS = {
  practitioner: 'prac-1',
  otherPractitioner: 'prac-2',
  organization: 'org-1',
  location: 'loc-1',
  medication: 'med-1',
  otherMedication: 'med-2',
} as const;

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const OBS_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const ref = (reference: string, display?: string): { reference: string; display?: string } =>
  display ? { reference, display } : { reference };

const shared: Resource[] = [
  {
    resourceType: 'Organization',
    id: 'org-1',
    name: 'Demo General Hospital',
    active: true,
  } satisfies Organization,
  {
    resourceType: 'Location',
    id: 'loc-1',
    name: 'Demo Clinic, Room 1',
    status: 'active',
    managingOrganization: ref('Organization/org-1'),
  } satisfies Location,
  {
    resourceType: 'Practitioner',
    id: 'prac-1',
    active: true,
    name: [{ prefix: ['Dr.'], given: ['Dana'], family: 'Demo' }],
    identifier: [{ system: 'urn:fhirgate:demo:npi', value: 'DEMO-PRAC-1' }],
  } satisfies Practitioner,
  {
    resourceType: 'Practitioner',
    id: 'prac-2',
    active: true,
    name: [{ prefix: ['Dr.'], given: ['Sam'], family: 'Example' }],
    identifier: [{ system: 'urn:fhirgate:demo:npi', value: 'DEMO-PRAC-2' }],
  } satisfies Practitioner,
  {
    resourceType: 'Medication',
    id: 'med-1',
    code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '860975', display: 'Demo metformin 500 mg tablet' }] },
  } satisfies Medication,
  {
    resourceType: 'Medication',
    id: 'med-2',
    code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '308182', display: 'Demo amoxicillin 250 mg capsule' }] },
  } satisfies Medication,
];

interface DemoPerson {
  key: string;
  given: string;
  gender: Patient['gender'];
  birthDate: string;
  mrn: string;
  gp: string;
  medication: string;
  visit: string;
}

const people: DemoPerson[] = [
  { key: 'alice', given: 'Alice', gender: 'female', birthDate: '1980-04-12', mrn: 'DEMO-0001', gp: 'prac-1', medication: 'med-1', visit: '2021-03-01' },
  { key: 'bob', given: 'Bob', gender: 'male', birthDate: '1975-09-30', mrn: 'DEMO-0002', gp: 'prac-2', medication: 'med-1', visit: '2022-07-15' },
  // Carol is a child (guardian scenarios): Alice Demo is her mother, see the RelatedPerson below.
  { key: 'carol', given: 'Carol', gender: 'female', birthDate: '2016-06-01', mrn: 'DEMO-0003', gp: 'prac-1', medication: 'med-2', visit: '2023-01-20' },
  { key: 'dave', given: 'Dave', gender: 'male', birthDate: '1990-01-15', mrn: 'DEMO-0004', gp: 'prac-2', medication: 'med-1', visit: '2022-11-05' },
];

function recordsFor(p: DemoPerson): Resource[] {
  const patient = `Patient/pat-${p.key}`;
  const encounter = `Encounter/enc-${p.key}-1`;
  const observation = (
    id: string,
    category: 'vital-signs' | 'laboratory',
    code: { code: string; display: string },
    value: { value: number; unit: string; code: string },
    date: string,
    performer?: string
  ): Observation => ({
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [{ coding: [{ system: OBS_CATEGORY, code: category }] }],
    code: { coding: [{ system: LOINC, ...code }], text: code.display },
    subject: ref(patient),
    encounter: ref(encounter),
    effectiveDateTime: date,
    valueQuantity: { ...value, system: 'http://unitsofmeasure.org' },
    ...(performer ? { performer: [ref(performer)] } : {}),
  });

  return [
    {
      resourceType: 'Patient',
      id: `pat-${p.key}`,
      active: true,
      identifier: [{ system: 'urn:fhirgate:demo:mrn', value: p.mrn }],
      name: [{ use: 'official', given: [p.given], family: 'Demo' }],
      gender: p.gender,
      birthDate: p.birthDate,
      generalPractitioner: [ref(`Practitioner/${p.gp}`)],
      managingOrganization: ref('Organization/org-1'),
    } satisfies Patient,
    {
      resourceType: 'Encounter',
      id: `enc-${p.key}-1`,
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
      subject: ref(patient),
      participant: [{ individual: ref(`Practitioner/${p.gp}`) }],
      period: { start: `${p.visit}T09:00:00Z`, end: `${p.visit}T09:30:00Z` },
      location: [{ location: ref('Location/loc-1') }],
      serviceProvider: ref('Organization/org-1'),
    } satisfies Encounter,
    observation(`obs-${p.key}-heart-rate`, 'vital-signs', { code: '8867-4', display: 'Heart rate' },
      { value: 72, unit: 'beats/minute', code: '/min' }, `${p.visit}T09:10:00Z`, `Practitioner/${p.gp}`),
    observation(`obs-${p.key}-glucose`, 'laboratory', { code: '2339-0', display: 'Glucose [Mass/volume] in Blood' },
      { value: 98, unit: 'mg/dL', code: 'mg/dL' }, `${p.visit}T09:20:00Z`),
    {
      resourceType: 'Condition',
      id: `cond-${p.key}-1`,
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
      code: { coding: [{ system: SNOMED, code: '38341003', display: 'Demo hypertensive disorder' }] },
      subject: ref(patient),
      encounter: ref(encounter),
      recorder: ref(`Practitioner/${p.gp}`),
      onsetDateTime: p.visit,
    } satisfies Condition,
    {
      resourceType: 'MedicationRequest',
      id: `medrx-${p.key}-1`,
      status: 'active',
      intent: 'order',
      medicationReference: ref(`Medication/${p.medication}`),
      subject: ref(patient),
      encounter: ref(encounter),
      requester: ref(`Practitioner/${p.gp}`),
      authoredOn: p.visit,
    } satisfies MedicationRequest,
    {
      resourceType: 'Device',
      id: `device-${p.key}-1`,
      status: 'active',
      deviceName: [{ name: 'Demo glucose meter', type: 'user-friendly-name' }],
      patient: ref(patient),
      owner: ref('Organization/org-1'),
    } satisfies Device,
    {
      resourceType: 'AllergyIntolerance',
      id: `allergy-${p.key}-1`,
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
      code: { coding: [{ system: SNOMED, code: '91935009', display: 'Demo peanut allergy' }] },
      patient: ref(patient),
      recorder: ref(`Practitioner/${p.gp}`),
      recordedDate: p.visit,
    } satisfies AllergyIntolerance,
  ];
}

const extras: Resource[] = [
  // An older vital sign, so date searches (`date=ge2020-01-01`) have something to exclude.
  {
    resourceType: 'Observation',
    id: 'obs-alice-weight-2019',
    status: 'final',
    category: [{ coding: [{ system: OBS_CATEGORY, code: 'vital-signs' }] }],
    code: { coding: [{ system: LOINC, code: '29463-7', display: 'Body weight' }], text: 'Body weight' },
    subject: ref('Patient/pat-alice'),
    effectiveDateTime: '2019-05-01T10:00:00Z',
    valueQuantity: { value: 61, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  } satisfies Observation,
  {
    resourceType: 'RelatedPerson',
    id: 'rp-carol-mother',
    active: true,
    patient: ref('Patient/pat-carol'),
    relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'MTH', display: 'mother' }] }],
    name: [{ given: ['Alice'], family: 'Demo' }],
  } satisfies RelatedPerson,
];

const demo: Resource[] = [...shared, ...people.flatMap(recordsFor), ...extras];

/** The synthetic demo resources (fresh copies: callers may change them). */
export function demoResources(): Resource[] {
  return deepClone(demo);
}

/**
 * The demo data as a Bundle of `PUT Type/id` entries (create-as-update keeps the fixed ids).
 * `batch` by default: Medplum refuses transactions with more than 50 updates.
 */
export function demoBundle(type: 'batch' | 'transaction' = 'batch'): Bundle {
  return {
    resourceType: 'Bundle',
    type,
    entry: demoResources().map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    })),
  };
}

/** Flattens seed input into resources (a Bundle contributes its entries' resources). */
export function flattenSeed(inputs: SeedInput[]): Resource[] {
  return inputs.flatMap((input) =>
    input.resourceType === 'Bundle' ? (input.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : [])) : [input]
  );
}

/** Stores seed resources directly in a repository, keeping their ids (as create-as-update). */
export async function loadSeed(repo: FhirStoreRepository, inputs: SeedInput[]): Promise<void> {
  for (const resource of flattenSeed(inputs)) {
    if (!resource.id) {
      throw new TypeError(`Seed ${resource.resourceType} has no id; seed data needs fixed ids`);
    }
    await repo.updateResource(resource);
  }
}

/**
 * Seeds a store with the demo data (or the given resources): directly into a repository, or over
 * HTTP to any FHIR base URL as a batch of PUTs. Throws if any entry is not stored.
 */
export async function seedStore(target: string | FhirStoreRepository, resources: SeedInput[] = demoResources()): Promise<void> {
  if (typeof target !== 'string') {
    await loadSeed(target, resources);
    return;
  }
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'batch',
    entry: flattenSeed(resources).map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    })),
  };
  const response = await fetch(target, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(bundle),
  });
  const result = (await response.json()) as Bundle;
  const failed = (result.entry ?? []).filter((e) => !/^20[01]/.test(e.response?.status ?? ''));
  if (!response.ok || failed.length > 0) {
    throw new Error(`Seeding ${target} failed: HTTP ${response.status}, ${failed.length} entries not stored`);
  }
}
