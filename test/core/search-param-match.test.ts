/**
 * Contract for matchesConstraints: does one resource satisfy a SMART v2 scope's search-parameter
 * constraints under FHIR R4 token semantics? Each case names the scope it applies; anything the
 * matcher cannot evaluate exactly must come out `false` (fail closed).
 */
import { matchesConstraints } from '../../functions/core/search-param-match';
import { parseScope } from '../../functions/core/scopes';
import type { ScopeConstraint } from '../../functions/core/scopes';

const OBS_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const LOINC = 'http://loinc.org';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const MRN = 'http://hospital.example.org/mrn';
const TAGS = 'http://example.org/tags';
const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';

/** The constraints of one scope, through the real parser (values percent-decoded). */
function constraintsOf(scope: string): readonly ScopeConstraint[] {
  const parsed = parseScope(scope);
  if (!parsed.ok || parsed.kind !== 'resource') throw new Error(`test scope does not parse: ${scope}`);
  return parsed.scope.constraints;
}

const category = (code: string) => ({ coding: [{ system: OBS_CATEGORY, code }] });

const labObservation = {
  resourceType: 'Observation',
  status: 'final',
  category: [category('laboratory')],
  code: { coding: [{ system: LOINC, code: '2339-0' }], text: 'Glucose' },
  subject: { reference: 'Patient/1' },
};
const vitalSigns = {
  resourceType: 'Observation',
  status: 'final',
  category: [category('vital-signs')],
  code: { coding: [{ system: LOINC, code: '85354-9' }] },
  component: [{ code: { coding: [{ system: LOINC, code: '8480-6' }] } }],
};
const bothCategories = { ...labObservation, category: [category('laboratory'), category('vital-signs')] };
const activeCondition = {
  resourceType: 'Condition',
  clinicalStatus: { coding: [{ system: CLINICAL, code: 'active' }] },
  category: [{ coding: [{ code: 'problem-list-item' }] }],
};
const medicationRequest = {
  resourceType: 'MedicationRequest',
  status: 'active',
  medicationCodeableConcept: { coding: [{ system: RXNORM, code: '197361' }] },
};
const patient = {
  resourceType: 'Patient',
  active: true,
  identifier: [{ system: MRN, value: '12345' }, { value: 'no-system' }],
  telecom: [{ system: 'phone', value: '555-0100' }],
  meta: {
    tag: [{ system: TAGS, code: 'research' }],
    security: [{ system: CONFIDENTIALITY, code: 'R' }],
  },
};

// [scope applied, resource, expected]. The name is the scope; a comment says what is exercised.
const cases: ReadonlyArray<[string, string, unknown, boolean]> = [
  // Plain code: any system.
  ['lab scope, lab Observation', 'patient/Observation.rs?category=laboratory', labObservation, true],
  ['lab scope refuses vital signs', 'patient/Observation.rs?category=laboratory', vitalSigns, false],
  ['codes compare case-sensitively', 'patient/Observation.rs?category=Laboratory', labObservation, false],
  // system|code
  ['system|code', `patient/Observation.rs?category=${OBS_CATEGORY}|laboratory`, labObservation, true],
  ['system|code, other system', 'patient/Observation.rs?category=http://other.example/cs|laboratory', labObservation, false],
  ['system|code, percent-encoded', `patient/Observation.rs?category=${encodeURIComponent(`${OBS_CATEGORY}|laboratory`)}`, labObservation, true],
  // system| : any code in the system.
  ['system| matches any code of the system', `patient/Observation.rs?category=${OBS_CATEGORY}|`, vitalSigns, true],
  ['system| needs that system', 'patient/Observation.rs?category=http://other.example/cs|', vitalSigns, false],
  // |code : the coding must have no system.
  ['|code refuses a coding with a system', 'patient/Observation.rs?category=|laboratory', labObservation, false],
  [
    '|code matches a coding without a system',
    'patient/Observation.rs?category=|laboratory',
    { ...labObservation, category: [{ coding: [{ code: 'laboratory' }] }] },
    true,
  ],
  // Comma = OR within one constraint.
  ['comma OR, second alternative', 'patient/Observation.rs?category=laboratory,vital-signs', vitalSigns, true],
  ['comma OR, no alternative matches', 'patient/Observation.rs?category=survey,social-history', labObservation, false],
  // Several constraints = AND.
  ['two constraints, both hold', 'patient/Observation.rs?category=laboratory&status=final', labObservation, true],
  ['two constraints, one fails', 'patient/Observation.rs?category=laboratory&status=preliminary', labObservation, false],
  ['same param twice: AND', 'patient/Observation.rs?category=laboratory&category=vital-signs', bothCategories, true],
  ['same param twice: AND, one missing', 'patient/Observation.rs?category=laboratory&category=vital-signs', labObservation, false],
  // Paths beyond the obvious.
  ['combo-code reads component.code too', `patient/Observation.rs?combo-code=${LOINC}|8480-6`, vitalSigns, true],
  ['code does not read component.code', `patient/Observation.rs?code=${LOINC}|8480-6`, vitalSigns, false],
  // Condition: CodeableConcept.
  ['Condition clinical-status=active', 'patient/Condition.rs?clinical-status=active', activeCondition, true],
  ['Condition clinical-status system|code', `patient/Condition.rs?clinical-status=${CLINICAL}|active`, activeCondition, true],
  ['Condition clinical-status=resolved', 'patient/Condition.rs?clinical-status=resolved', activeCondition, false],
  // MedicationRequest: `code` datatype and a choice element.
  ['MedicationRequest status=active (code)', 'patient/MedicationRequest.rs?status=active', medicationRequest, true],
  ['MedicationRequest status=stopped', 'patient/MedicationRequest.rs?status=stopped', medicationRequest, false],
  ['|code on a code element (no system to have)', 'patient/MedicationRequest.rs?status=|active', medicationRequest, true],
  // A primitive code has only the value set's implicit system, which we cannot verify.
  [
    'system|code on a code element',
    'patient/MedicationRequest.rs?status=http://hl7.org/fhir/CodeSystem/medicationrequest-status|active',
    medicationRequest,
    false,
  ],
  ['medication[x] as CodeableConcept', `patient/MedicationRequest.rs?code=${RXNORM}|197361`, medicationRequest, true],
  [
    'medication[x] as Reference is not a token',
    `patient/MedicationRequest.rs?code=${RXNORM}|197361`,
    { resourceType: 'MedicationRequest', medicationReference: { reference: 'Medication/1' } },
    false,
  ],
  // Identifier: system / value.
  ['Patient identifier system|value', `patient/Patient.rs?identifier=${MRN}|12345`, patient, true],
  ['Patient identifier other system', 'patient/Patient.rs?identifier=http://other.example/ids|12345', patient, false],
  ['Patient identifier value only', 'patient/Patient.rs?identifier=12345', patient, true],
  ['Patient identifier system| any value', `patient/Patient.rs?identifier=${MRN}|`, patient, true],
  ['Patient identifier |value (no system)', 'patient/Patient.rs?identifier=|no-system', patient, true],
  // boolean
  ['Patient active=true', 'patient/Patient.rs?active=true', patient, true],
  ['Patient active=false on an active patient', 'patient/Patient.rs?active=false', patient, false],
  ['Patient active=false', 'patient/Patient.rs?active=false', { resourceType: 'Patient', active: false }, true],
  ['boolean as a JSON string is not a boolean', 'patient/Patient.rs?active=true', { resourceType: 'Patient', active: 'true' }, false],
  ['absent boolean matches neither value', 'patient/Patient.rs?active=false', { resourceType: 'Patient' }, false],
  // ContactPoint: value only.
  ['Patient telecom value', 'patient/Patient.rs?telecom=555-0100', patient, true],
  ['ContactPoint.system is not a token system', 'patient/Patient.rs?telecom=phone|555-0100', patient, false],
  // _tag / _security: Resource.meta, on every type (and under a wildcard scope).
  ['_tag system|code', `patient/Patient.rs?_tag=${TAGS}|research`, patient, true],
  ['_tag under a wildcard scope', `patient/*.rs?_tag=${TAGS}|research`, { ...labObservation, meta: patient.meta }, true],
  ['_tag absent', `patient/Observation.rs?_tag=${TAGS}|research`, labObservation, false],
  ['_security', `patient/Patient.rs?_security=${CONFIDENTIALITY}|R`, patient, true],
  ['_security other code', `patient/Patient.rs?_security=${CONFIDENTIALITY}|N`, patient, false],
  // Escapes (R4 search.html#escaping).
  [
    'escaped comma is part of the code',
    'patient/Observation.rs?status=a%5C%2Cb',
    { resourceType: 'Observation', status: 'a,b' },
    true,
  ],
  ['escaped comma is not an OR', 'patient/Observation.rs?status=final%5C%2Cb', labObservation, false],
];

// Constraints the matcher cannot evaluate exactly: all must refuse, even on a resource that would
// match the unmodified parameter.
const failClosed: ReadonlyArray<[string, string, unknown]> = [
  ['unknown param', 'patient/Observation.rs?colour=red', labObservation],
  ['string param (not a token)', 'patient/Patient.rs?family=Smith', { resourceType: 'Patient', name: [{ family: 'Smith' }] }],
  ['reference param', 'patient/Observation.rs?subject=Patient/1', labObservation],
  ['_id is excluded', 'patient/Observation.rs?_id=1', { ...labObservation, id: '1' }],
  [
    'skipped param (email has a where() filter)',
    'patient/Patient.rs?email=a@example.org',
    { resourceType: 'Patient', telecom: [{ system: 'email', value: 'a@example.org' }] },
  ],
  ['modifier :not', 'patient/Observation.rs?category:not=vital-signs', labObservation],
  ['modifier :text', 'patient/Observation.rs?code:text=Glucose', labObservation],
  ['modifier :in', 'patient/Observation.rs?code:in=http://example.org/vs', labObservation],
  ['modifier :below', 'patient/Observation.rs?code:below=2339-0', labObservation],
  ['modifier :exact', 'patient/Observation.rs?category:exact=laboratory', labObservation],
  ['modifier :missing', 'patient/Observation.rs?category:missing=false', labObservation],
  ['chain', 'patient/Observation.rs?subject.identifier=12345', labObservation],
  // A constraint on a param of another type: Observation has no clinical-status.
  [
    'Condition param on an Observation',
    'patient/Observation.rs?clinical-status=active',
    { ...labObservation, clinicalStatus: activeCondition.clinicalStatus },
  ],
  [
    'wildcard category scope on a Patient (no category param)',
    'patient/*.rs?category=laboratory',
    { ...patient, category: [category('laboratory')] },
  ],
  ['param name constructor', 'patient/Observation.rs?constructor=x', labObservation],
  ['param name __proto__', 'patient/Observation.rs?__proto__=x', labObservation],
  // Malformed token values.
  ['trailing comma', 'patient/Observation.rs?category=laboratory,', labObservation],
  ['two bars', 'patient/Observation.rs?category=a|b|laboratory', labObservation],
  ['bare bar', 'patient/Observation.rs?category=%7C', labObservation],
  ['stray backslash escape', 'patient/Observation.rs?category=laborator%5Cy', labObservation],
  ['trailing backslash', 'patient/Observation.rs?category=laboratory%5C', labObservation],
];

describe('matchesConstraints: token semantics', () => {
  test.each(cases)('%s: %s', (_name, scope, resource, expected) => {
    expect(matchesConstraints(resource, constraintsOf(scope))).toBe(expected);
  });
});

describe('matchesConstraints: fails closed', () => {
  test.each(failClosed)('%s: %s', (_name, scope, resource) => {
    expect(matchesConstraints(resource, constraintsOf(scope))).toBe(false);
  });
});

describe('matchesConstraints: untrusted resources', () => {
  const lab = constraintsOf('patient/Observation.rs?category=laboratory');
  const labCoding = `{"system":"${OBS_CATEGORY}","code":"laboratory"}`;

  test.each<[string, unknown]>([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'Observation'],
    ['an array holding the resource', [labObservation]],
    ['no resourceType', { category: labObservation.category }],
    ['resourceType not a string', { ...labObservation, resourceType: ['Observation'] }],
    ['resourceType constructor', { ...labObservation, resourceType: 'constructor' }],
    ['resourceType __proto__', JSON.parse(`{"resourceType":"__proto__","category":[{"coding":[${labCoding}]}]}`)],
    // JSON.parse makes `__proto__` an own property; nothing under it may count.
    ['resourceType only under __proto__', JSON.parse(`{"__proto__":{"resourceType":"Observation"},"category":[{"coding":[${labCoding}]}]}`)],
    ['category under __proto__', JSON.parse(`{"resourceType":"Observation","__proto__":{"category":[{"coding":[${labCoding}]}]}}`)],
    ['coding under __proto__', JSON.parse(`{"resourceType":"Observation","category":[{"__proto__":{"coding":[${labCoding}]}}]}`)],
    ['code under __proto__', JSON.parse(`{"resourceType":"Observation","category":[{"coding":[{"__proto__":{"code":"laboratory"}}]}]}`)],
    ['code under constructor', JSON.parse(`{"resourceType":"Observation","category":[{"coding":[{"constructor":{"code":"laboratory"}}]}]}`)],
    // Arrays nested in arrays are not FHIR JSON: never read as a match.
    ['category nested in two arrays', { resourceType: 'Observation', category: [[category('laboratory')]] }],
    ['coding nested in two arrays', { resourceType: 'Observation', category: [{ coding: [[{ code: 'laboratory' }]] }] }],
    ['code not a string', { resourceType: 'Observation', category: [{ coding: [{ code: ['laboratory'] }] }] }],
    ['CodeableConcept given as a bare string', { resourceType: 'Observation', category: ['laboratory'] }],
    ['category null', { resourceType: 'Observation', category: null }],
  ])('%s -> false', (_name, resource) => {
    expect(matchesConstraints(resource, lab)).toBe(false);
  });

  test('a prototype-less object is read like any other', () => {
    const resource = Object.assign(Object.create(null) as Record<string, unknown>, labObservation);
    expect(matchesConstraints(resource, lab)).toBe(true);
  });

  test('a single element where an array is expected is read as one element', () => {
    // The server reads `"category": {...}` as a one-element list or rejects the body; either way
    // it holds a laboratory category, so counting it widens nothing.
    expect(matchesConstraints({ resourceType: 'Observation', category: category('laboratory') }, lab)).toBe(true);
  });

  test('no constraints: any resource matches; a non-resource still does not', () => {
    expect(matchesConstraints(vitalSigns, [])).toBe(true);
    expect(matchesConstraints(null, [])).toBe(false);
  });
});
