/**
 * Synthetic searchset Bundles shaped like a FHIR server's answer: Observations (60 %), Encounters
 * (30 %) and Patients (10 %) with the elements real records carry (codings, references to
 * practitioners, encounters, organizations, periods, quantities), exactly half of them in the
 * caller's compartment and half in other patients' compartments, in a seeded random order.
 *
 * The Bundle is returned through a JSON round trip, so its objects have the shapes `JSON.parse`
 * gives a proxy that just read a backend response.
 */

/** Deterministic PRNG (mulberry32): the same bundle on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LOINC = [
  { code: '2339-0', display: 'Glucose [Mass/volume] in Blood', unit: 'mg/dL', value: 98 },
  { code: '718-7', display: 'Hemoglobin [Mass/volume] in Blood', unit: 'g/dL', value: 13.9 },
  { code: '2093-3', display: 'Cholesterol [Mass/volume] in Serum or Plasma', unit: 'mg/dL', value: 182 },
  { code: '8867-4', display: 'Heart rate', unit: '/min', value: 72 },
];

function observation(id: string, patient: string, i: number, rand: () => number): Record<string, unknown> {
  const code = LOINC[i % LOINC.length]!;
  const day = String(1 + (i % 28)).padStart(2, '0');
  const vital = code.code === '8867-4';
  return {
    resourceType: 'Observation',
    id,
    meta: { versionId: '1', lastUpdated: `2024-03-${day}T10:15:00.000Z` },
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: vital ? 'vital-signs' : 'laboratory', display: vital ? 'Vital Signs' : 'Laboratory' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: code.code, display: code.display }], text: code.display },
    subject: { reference: `Patient/${patient}` },
    encounter: { reference: `Encounter/enc-${patient}-${i % 7}` },
    effectiveDateTime: `2024-03-${day}T09:20:00Z`,
    issued: `2024-03-${day}T10:15:00.000Z`,
    performer: [{ reference: `Practitioner/prac-${i % 5}` }, { reference: 'Organization/org-1' }],
    valueQuantity: { value: Math.round(code.value * (0.8 + 0.4 * rand()) * 10) / 10, unit: code.unit, system: 'http://unitsofmeasure.org', code: code.unit },
    referenceRange: [{ low: { value: code.value * 0.7, unit: code.unit }, high: { value: code.value * 1.3, unit: code.unit } }],
  };
}

function encounter(id: string, patient: string, i: number): Record<string, unknown> {
  const day = String(1 + (i % 28)).padStart(2, '0');
  return {
    resourceType: 'Encounter',
    id,
    meta: { versionId: '2', lastUpdated: `2024-02-${day}T12:00:00.000Z` },
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
    type: [{ coding: [{ system: 'http://snomed.info/sct', code: '185349003', display: 'Encounter for check up' }] }],
    subject: { reference: `Patient/${patient}` },
    participant: [{ type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PPRF' }] }], individual: { reference: `Practitioner/prac-${i % 5}` } }],
    period: { start: `2024-02-${day}T09:00:00Z`, end: `2024-02-${day}T09:30:00Z` },
    reasonCode: [{ coding: [{ system: 'http://snomed.info/sct', code: '38341003', display: 'Hypertensive disorder' }] }],
    location: [{ location: { reference: 'Location/loc-1' } }],
    serviceProvider: { reference: 'Organization/org-1' },
  };
}

function patient(id: string, i: number): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    id,
    meta: { versionId: '1', lastUpdated: '2024-01-05T08:00:00.000Z' },
    active: true,
    identifier: [{ system: 'urn:fhirgate:demo:mrn', value: `MRN-${100000 + i}` }],
    name: [{ use: 'official', family: 'Synthetic', given: [`Person${i}`] }],
    telecom: [{ system: 'phone', value: `+1-555-01${String(i % 100).padStart(2, '0')}`, use: 'home' }],
    gender: i % 2 ? 'female' : 'male',
    birthDate: `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`,
    address: [{ line: [`${i} Main St`], city: 'Springfield', postalCode: '12345', country: 'US' }],
    generalPractitioner: [{ reference: `Practitioner/prac-${i % 5}` }],
    managingOrganization: { reference: 'Organization/org-1' },
  };
}

/**
 * A searchset of `size` entries; `inPatient`'s compartment holds `insideShare` of them (by count; half unless told).
 * Out-of-compartment resources belong to 50 other patients.
 */
export function syntheticSearchset(size: number, inPatient: string, backendBase: string, seed = 42, insideShare = 0.5): Record<string, unknown> {
  const rand = prng(seed);
  const inside: boolean[] = Array.from({ length: size }, (_, i) => i < size * insideShare);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [inside[i], inside[j]] = [inside[j]!, inside[i]!];
  }
  const entry = inside.map((isIn, i) => {
    const owner = isIn ? inPatient : `pat-other-${i % 50}`;
    const kind = i % 10;
    const resource =
      kind < 6 ? observation(`obs-${i}`, owner, i, rand) : kind < 9 ? encounter(`enc-${i}`, owner, i) : patient(isIn ? inPatient : owner, i);
    return { fullUrl: `${backendBase}/${resource.resourceType as string}/${resource.id as string}`, resource, search: { mode: 'match' } };
  });
  const bundle = {
    resourceType: 'Bundle',
    id: `bench-${size}`,
    meta: { lastUpdated: '2024-03-30T12:00:00.000Z' },
    type: 'searchset',
    total: size,
    link: [{ relation: 'self', url: `${backendBase}/Observation?_count=${size}` }],
    entry,
  };
  return JSON.parse(JSON.stringify(bundle)) as Record<string, unknown>;
}
