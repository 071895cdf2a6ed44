import {
  compartmentParams,
  ownedOnlyBy,
  ownersOf,
  isCompartmentType,
  patientsOf,
} from '../../functions/core/compartment';

const BASE = 'https://fhir.example.com/r4';
const BASES = [BASE];
const ref = (reference: string) => ({ reference });
const ids = (resource: unknown) => [...patientsOf(resource, BASES)].sort();

// Membership cases: [name, resource, expected patient ids]. Each name says which rule is exercised.
const cases: ReadonlyArray<[string, unknown, string[]]> = [
  ['Observation.subject -> Patient', { resourceType: 'Observation', subject: ref('Patient/1') }, ['1']],
  [
    'Observation.performer -> Patient (a patient-reported observation)',
    { resourceType: 'Observation', subject: ref('Group/g'), performer: [ref('Patient/2')] },
    ['2'],
  ],
  [
    'Observation.performer -> Practitioner is not a patient',
    { resourceType: 'Observation', subject: ref('Patient/1'), performer: [ref('Practitioner/1')] },
    ['1'],
  ],
  [
    'Observation subject and performer, two patients',
    { resourceType: 'Observation', subject: ref('Patient/1'), performer: [ref('Practitioner/9'), ref('Patient/3')] },
    ['1', '3'],
  ],
  ['Observation.subject -> Group is not a patient', { resourceType: 'Observation', subject: ref('Group/1') }, []],
  ['Observation.focus is not a compartment param', { resourceType: 'Observation', focus: [ref('Patient/1')] }, []],
  // R4 lists Encounter by `patient` (= Encounter.subject) only; participant.individual is for the
  // Practitioner/RelatedPerson compartments and cannot place an Encounter in a patient's.
  ['Encounter.subject (param `patient`)', { resourceType: 'Encounter', subject: ref('Patient/5') }, ['5']],
  [
    'Encounter.participant.individual is not a Patient-compartment path',
    {
      resourceType: 'Encounter',
      subject: ref('Patient/5'),
      participant: [{ individual: ref('Patient/6') }, { individual: ref('Practitioner/7') }],
    },
    ['5'],
  ],
  [
    'AllergyIntolerance.recorder and asserter',
    {
      resourceType: 'AllergyIntolerance',
      patient: ref('Patient/1'),
      recorder: ref('Patient/2'),
      asserter: ref('Patient/3'),
    },
    ['1', '2', '3'],
  ],
  ['MedicationRequest.subject', { resourceType: 'MedicationRequest', subject: ref('Patient/mr') }, ['mr']],
  ['Condition.subject (param `patient`)', { resourceType: 'Condition', subject: ref('Patient/c') }, ['c']],
  ['Condition.asserter', { resourceType: 'Condition', asserter: ref('Patient/a') }, ['a']],
  // R4: Device is listed without params, so Device.patient does not make it compartment data.
  ['Device.patient: Device is never in the compartment', { resourceType: 'Device', patient: ref('Patient/1') }, []],
  [
    'Group.member.entity (param `member`)',
    {
      resourceType: 'Group',
      member: [{ entity: ref('Patient/1') }, { entity: ref('Patient/2') }, { entity: ref('Device/3') }],
    },
    ['1', '2'],
  ],
  [
    'Appointment.participant.actor through an array',
    { resourceType: 'Appointment', participant: [{ actor: ref('Practitioner/1') }, { actor: ref('Patient/8') }] },
    ['8'],
  ],
  [
    'CarePlan.activity.detail.performer: arrays at two steps',
    {
      resourceType: 'CarePlan',
      activity: [{ detail: { performer: [ref('Patient/x'), ref('Patient/y')] } }, { detail: {} }, {}],
    },
    ['x', 'y'],
  ],
  [
    'AuditEvent.agent.who and entity.what (param `patient`)',
    { resourceType: 'AuditEvent', agent: [{ who: ref('Patient/a') }], entity: [{ what: ref('Patient/b') }] },
    ['a', 'b'],
  ],
  [
    'Coverage.policyHolder (param `policy-holder`)',
    { resourceType: 'Coverage', policyHolder: ref('Patient/ph') },
    ['ph'],
  ],
  // R4 lists Task without params; the Medplum copy adds `patient`/`focus`, the generator restores R4.
  ['Task.for: Task is never in the compartment in R4', { resourceType: 'Task', for: ref('Patient/1') }, []],
  ['Practitioner is not compartment data', { resourceType: 'Practitioner', id: '1' }, []],
  ['Medication is not compartment data', { resourceType: 'Medication', id: 'm' }, []],
  ['Organization is not compartment data', { resourceType: 'Organization', id: 'o' }, []],
  ['unknown resource type', { resourceType: 'Widget', subject: ref('Patient/1') }, []],

  // The Patient itself: its own id, plus Patient.link.other (param `link`).
  ['Patient is in its own compartment', { resourceType: 'Patient', id: '42' }, ['42']],
  [
    'Patient.link.other adds the linked patient',
    { resourceType: 'Patient', id: '42', link: [{ other: ref('Patient/43'), type: 'seealso' }] },
    ['42', '43'],
  ],
  ['Patient with an invalid id is not its own compartment', { resourceType: 'Patient', id: '../1' }, []],
  ['Patient with a numeric id', { resourceType: 'Patient', id: 42 }, []],

  // Reference forms.
  ['absolute reference with our base', { resourceType: 'Observation', subject: ref(`${BASE}/Patient/1`) }, ['1']],
  [
    'versioned reference Patient/1/_history/2',
    { resourceType: 'Observation', subject: ref('Patient/1/_history/2') },
    ['1'],
  ],
  ['foreign base', { resourceType: 'Observation', subject: ref('https://other.example.com/r4/Patient/1') }, []],
  ['lookalike base', { resourceType: 'Observation', subject: ref(`${BASE}x/Patient/1`) }, []],
  ['contained reference', { resourceType: 'Observation', subject: ref('#p1') }, []],
  ['urn:uuid reference', { resourceType: 'Observation', subject: ref('urn:uuid:0f3b-11') }, []],
  ['identifier-only Reference', { resourceType: 'Observation', subject: { identifier: { value: '1' } } }, []],
  ['reference that is not a string', { resourceType: 'Observation', subject: { reference: ['Patient/1'] } }, []],
  ['subject that is a bare string', { resourceType: 'Observation', subject: 'Patient/1' }, []],
  ['nested arrays are flattened, not ignored', { resourceType: 'Observation', subject: [[ref('Patient/n')]] }, ['n']],

  // Malformed input.
  ['null', null, []],
  ['array', [{ resourceType: 'Patient', id: '1' }], []],
  ['string', 'Patient/1', []],
  ['number', 7, []],
  ['missing resourceType', { subject: ref('Patient/1') }, []],
  ['non-string resourceType', { resourceType: ['Observation'], subject: ref('Patient/1') }, []],
  [
    '__proto__ key from JSON.parse is not walked',
    JSON.parse('{"resourceType":"Observation","__proto__":{"subject":{"reference":"Patient/1"}}}'),
    [],
  ],
  [
    'resourceType only on the prototype',
    Object.create({ resourceType: 'Patient', id: '1' }) as unknown,
    [],
  ],
  [
    'inherited subject is not an own property',
    Object.assign(Object.create({ subject: ref('Patient/1') }) as object, { resourceType: 'Observation' }),
    [],
  ],
  [
    'inherited reference is not an own property',
    { resourceType: 'Observation', subject: Object.create({ reference: 'Patient/1' }) as unknown },
    [],
  ],
  ['resourceType __proto__', JSON.parse('{"resourceType":"__proto__","subject":{"reference":"Patient/1"}}'), []],
  ['resourceType constructor', { resourceType: 'constructor', subject: ref('Patient/1') }, []],
];

describe('patientsOf', () => {
  test.each(cases)('%s', (_name, resource, expected) => {
    expect(ids(resource)).toEqual(expected);
  });

  test('ids are compared exactly: Patient/12 is not patient 123', () => {
    const observation = { resourceType: 'Observation', subject: ref('Patient/12') };
    expect(patientsOf(observation, BASES).has('123')).toBe(false);
    expect(patientsOf(observation, BASES).has('1')).toBe(false);
    expect(ownedOnlyBy(observation, ['123'], BASES)).toBe(false);
    expect(ownedOnlyBy(observation, ['12'], BASES)).toBe(true);
  });

  test('an absolute reference only counts for the configured bases', () => {
    const observation = { resourceType: 'Observation', subject: ref(`${BASE}/Patient/1`) };
    expect(ids(observation)).toEqual(['1']);
    expect([...patientsOf(observation, [])]).toEqual([]);
    expect([...patientsOf(observation, ['https://other.example.com/r4'])]).toEqual([]);
  });

  test('a large resource is walked completely (no truncation that could hide a patient)', () => {
    const member = Array.from({ length: 50_000 }, (_, i) => ({ entity: ref(`Practitioner/${i}`) }));
    member.push({ entity: ref('Patient/last') });
    expect(ids({ resourceType: 'Group', member })).toEqual(['last']);
  });
});

describe('ownedOnlyBy (the one membership rule)', () => {
  const observation = { resourceType: 'Observation', subject: ref('Patient/1'), performer: [ref('Patient/2')] };

  test('accepts a Set or an array of patient ids', () => {
    expect(ownedOnlyBy(observation, new Set(['1']), BASES)).toBe(true);
    expect(ownedOnlyBy(observation, ['9', '1'], BASES)).toBe(true);
    expect(ownedOnlyBy(observation, ['3'], BASES)).toBe(false);
  });

  test('a role reference (performer) grants nothing on its own', () => {
    // GET Observation/x as patient 2, who only performed it: not theirs.
    expect(ownedOnlyBy(observation, ['2'], BASES)).toBe(false);
    expect(ownersOf(observation, BASES)).toEqual(new Set(['1']));
    // The published R4 compartment still lists both (what the server's $everything walks).
    expect(patientsOf(observation, BASES)).toEqual(new Set(['1', '2']));
  });

  test('a record that also owns another patient is not visible (a Group listing both)', () => {
    const group = { resourceType: 'Group', member: [{ entity: ref('Patient/1') }, { entity: ref('Patient/2') }] };
    expect(ownedOnlyBy(group, ['1'], BASES)).toBe(false);
    expect(ownedOnlyBy(group, ['1', '2'], BASES)).toBe(true);
  });

  test('a Patient is owned by itself, not by the patients it links to', () => {
    const patient = { resourceType: 'Patient', id: '1', link: [{ other: ref('Patient/2'), type: 'seealso' }] };
    expect(ownedOnlyBy(patient, ['1'], BASES)).toBe(true);
    expect(ownedOnlyBy(patient, ['2'], BASES)).toBe(false);
  });

  test('no patients means no compartment', () => {
    expect(ownedOnlyBy(observation, [], BASES)).toBe(false);
    expect(ownedOnlyBy(observation, new Set(), BASES)).toBe(false);
  });

  test('shared and malformed resources are in no compartment', () => {
    expect(ownedOnlyBy({ resourceType: 'Practitioner', id: '1' }, ['1'], BASES)).toBe(false);
    expect(ownedOnlyBy(null, ['1'], BASES)).toBe(false);
  });

  test('a Patient is in its own compartment', () => {
    expect(ownedOnlyBy({ resourceType: 'Patient', id: '1' }, ['1'], BASES)).toBe(true);
    expect(ownedOnlyBy({ resourceType: 'Patient', id: '1' }, ['11'], BASES)).toBe(false);
  });
});

describe('isCompartmentType / compartmentParams', () => {
  test.each([
    ['Observation', ['subject', 'performer']],
    ['Encounter', ['patient']],
    ['AllergyIntolerance', ['patient', 'recorder', 'asserter']],
    ['MedicationRequest', ['subject']],
    ['Condition', ['patient', 'asserter']],
    ['Group', ['member']],
    ['Coverage', ['policy-holder', 'subscriber', 'beneficiary', 'payor']],
    ['Patient', ['link']],
  ])('%s -> %j', (type, params) => {
    expect(isCompartmentType(type)).toBe(true);
    expect(compartmentParams(type)).toEqual(params);
  });

  const outside = ['Practitioner', 'Organization', 'Medication', 'Device', 'Task', 'Widget'];
  test.each([...outside, 'constructor', '__proto__', 'toString', ''])('%j has no patient-compartment params', (type) => {
    expect(isCompartmentType(type)).toBe(false);
    expect(compartmentParams(type)).toEqual([]);
  });

  test('returned params cannot be mutated by callers', () => {
    expect(Object.isFrozen(compartmentParams('Observation'))).toBe(true);
    expect(Object.isFrozen(compartmentParams('Widget'))).toBe(true);
  });
});
