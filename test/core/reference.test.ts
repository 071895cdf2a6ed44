import {
  formatReference,
  isFhirId,
  isResourceTypeName,
  parseReference,
  ResourceRef,
} from '../../functions/core/reference';

const BASE = 'https://fhir.example.com/r4';
const BASES = [BASE, 'http://localhost:4000/fhir/'];
const id64 = 'a'.repeat(64);

// [reference, expected] — each case is named by the reference it sends.
const accepted: ReadonlyArray<[string, ResourceRef]> = [
  ['Patient/123', { resourceType: 'Patient', id: '123' }],
  ['Observation/a-b.c', { resourceType: 'Observation', id: 'a-b.c' }],
  ['Patient/1/_history/2', { resourceType: 'Patient', id: '1' }],
  [`Patient/${id64}`, { resourceType: 'Patient', id: id64 }],
  [`${BASE}/Patient/123`, { resourceType: 'Patient', id: '123' }],
  [`${BASE}/Patient/123/_history/7`, { resourceType: 'Patient', id: '123' }],
  // configured with a trailing slash: one slash is removed before comparing
  ['http://localhost:4000/fhir/Encounter/e1', { resourceType: 'Encounter', id: 'e1' }],
];

const rejected: ReadonlyArray<[string, string]> = [
  ['', 'empty'],
  ['Patient', 'type only'],
  ['Patient/', 'empty id'],
  ['/Patient/1', 'leading slash (empty base)'],
  ['Patient/1/', 'trailing slash'],
  ['Patient//1', 'empty segment'],
  ['Patient/1/extra', 'extra segment'],
  ['Patient/1/_history', 'history without version'],
  ['Patient/_history', 'history without id'],
  ['Patient/1/_history/', 'history with empty version'],
  ['Patient/1/_history/2/x', 'segment after version'],
  ['Patient/1/_history/2?x=1', 'query after version'],
  ['patient/1', 'lower-case type'],
  ['Pat1ent/1', 'digit in type'],
  [`Patient/${id64}a`, 'id longer than 64'],
  ['Patient/a_b', 'underscore in id'],
  ['Patient/.', 'dot segment id'],
  ['Patient/..', 'dot-dot id'],
  ['Patient/1?_format=json', 'query'],
  ['Patient/1#frag', 'fragment'],
  ['#contained1', 'contained reference'],
  ['urn:uuid:9d9f4a2e-4a8e-4f0e-9c3b-1f2a3b4c5d6e', 'urn:uuid'],
  ['urn:oid:1.2.3', 'urn:oid'],
  ['Patient/%31', 'percent-encoding'],
  ['Patient/1 ', 'trailing space'],
  [' Patient/1', 'leading space'],
  ['Patient/1\n', 'newline'],
  ['Patient/a\\b', 'backslash'],
  [`${BASE}/../r4/Patient/1`, 'dot-dot in absolute URL'],
  [`${BASE}x/Patient/1`, 'lookalike base (prefix of it matches)'],
  ['https://fhir.example.com/Patient/1', 'shorter base'],
  [`${BASE}/extra/Patient/1`, 'base plus extra segment'],
  ['https://evil.example.com/r4/Patient/1', 'foreign host'],
  ['https://fhir.example.com.evil.com/r4/Patient/1', 'host suffix trick'],
  ['http://fhir.example.com/r4/Patient/1', 'other scheme'],
  ['HTTPS://fhir.example.com/r4/Patient/1', 'case differs: compared exactly'],
  [`${BASE}/Patient/1`.replace('r4', 'R4'), 'path case differs'],
  ['x'.repeat(3000) + '/Patient/1', 'over-long'],
];

describe('parseReference', () => {
  test.each(accepted)('accepts %s', (reference, expected) => {
    expect(parseReference(reference, BASES)).toEqual(expected);
  });

  const shown = (reference: string) =>
    JSON.stringify(reference.length > 60 ? `${reference.slice(0, 40)}…` : reference);
  test.each(rejected.map(([reference, why]) => ({ reference, why, shown: shown(reference) })))(
    'rejects $shown ($why)',
    ({ reference }) => {
      expect(parseReference(reference, BASES)).toBeUndefined();
    },
  );

  test('an absolute reference to our base is not accepted when no base is configured', () => {
    expect(parseReference(`${BASE}/Patient/1`, [])).toBeUndefined();
    expect(parseReference('Patient/1', [])).toEqual({ resourceType: 'Patient', id: '1' });
  });

  test('only one trailing slash is removed from a base', () => {
    expect(parseReference('https://h.example/fhir/Patient/1', ['https://h.example/fhir/'])).toEqual({
      resourceType: 'Patient',
      id: '1',
    });
    expect(parseReference('https://h.example/fhir/Patient/1', ['https://h.example/fhir//'])).toBeUndefined();
  });

  test('non-string input is not a reference', () => {
    for (const value of [undefined, null, 1, {}, ['Patient/1']]) {
      expect(parseReference(value as unknown as string, BASES)).toBeUndefined();
    }
  });

  test.each([
    [['https://h.example/r4?x=1']],
    [['fhir.example.com/r4']],
    [['']],
    [['https://h.example/a/../r4']],
    [[42]],
  ])('a malformed base %j is a programming error', (bases) => {
    expect(() => parseReference('Patient/1', bases as string[])).toThrow(TypeError);
  });
});

describe('formatReference', () => {
  test('formats type/id and round-trips through parseReference', () => {
    const ref = { resourceType: 'Patient', id: 'p-1.2' };
    expect(formatReference(ref)).toBe('Patient/p-1.2');
    expect(parseReference(formatReference(ref), [])).toEqual(ref);
  });

  test.each([
    { resourceType: 'patient', id: '1' },
    { resourceType: 'Patient', id: '' },
    { resourceType: 'Patient', id: '1/_history/2' },
    { resourceType: 'Patient', id: '1&subject=Patient/2' },
  ])('refuses to format %j', (ref) => {
    expect(() => formatReference(ref)).toThrow(TypeError);
  });
});

describe('isFhirId / isResourceTypeName', () => {
  test('follow the R4 id datatype and type-name shape', () => {
    expect(isFhirId('A-z.0')).toBe(true);
    expect(isFhirId(id64)).toBe(true);
    expect(isFhirId(`${id64}a`)).toBe(false);
    expect(isFhirId('..')).toBe(false);
    expect(isFhirId(12)).toBe(false);
    expect(isResourceTypeName('MedicationRequest')).toBe(true);
    expect(isResourceTypeName('medicationRequest')).toBe(false);
  });
});
