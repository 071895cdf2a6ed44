/**
 * Contract suite for SMART scope parsing (SMART App Launch 2.x, scopes-and-launch-context).
 * Every case names the scope text it parses; tables are grouped by outcome.
 */
import {
  formatScope,
  MAX_SCOPE_STRING_LENGTH,
  MAX_SCOPES,
  mixesSystemWithUserScopes,
  parseScope,
  parseScopeString,
  parseScopeStringShared,
  PERMISSIONS,
} from '../../functions/core/scopes';
import type { Permission, ResourceScope } from '../../functions/core/scopes';
import { grantFor } from '../../functions/core/scope-check';

/** Parse `raw` and insist it is a resource scope. */
function resource(raw: string): ResourceScope {
  const p = parseScope(raw);
  if (!p.ok || p.kind !== 'resource') throw new Error(`expected a resource scope: ${raw} -> ${JSON.stringify(p)}`);
  return p.scope;
}

describe('parseScope rejects malformed resource scopes, with a reason', () => {
  test.each([
    // permission letters: order, repeats, unknown, empty (§Clinical Scope Syntax)
    ['patient/Observation.sr', "permissions 'sr' are not in c,r,u,d,s order"],
    ['patient/Observation.dus', "permissions 'dus' are not in c,r,u,d,s order"],
    ['user/Patient.rc', "permissions 'rc' are not in c,r,u,d,s order"],
    ['patient/Observation.rr', "permission 'r' is repeated"],
    ['patient/Observation.crudsc', "permission 'c' is repeated"],
    ['patient/Observation.x', "unknown permission 'x'"],
    ['patient/Observation.rw', "unknown permission 'w'"],
    ['patient/Observation.RS', "unknown permission 'R'"],
    ['patient/Observation.Read', "unknown permission 'R'"],
    ['patient/Observation.reads', "unknown permission 'e'"],
    ['patient/Observation.**', "unknown permission '*'"],
    ['patient/Observation.rs.x', "unknown permission '.'"],
    ['patient/Observation.', "missing permissions after '.'"],
    // structure
    ['patient/Observation', "missing '.'"],
    ['patient/.rs', 'missing resource type'],
    ['patient/', "missing '.'"],
    ['system/.read', 'missing resource type'],
    // resource type: syntax only
    ['patient/observation.rs', "resource type 'observation'"],
    ['patient/OBSERVATION1.rs', "resource type 'OBSERVATION1'"],
    ['patient/Obs-ervation.rs', "resource type 'Obs-ervation'"],
    ['patient/**.rs', "resource type '**'"],
    ['patient//Observation.rs', "resource type '/Observation'"],
    [`patient/A${'b'.repeat(64)}.rs`, 'is not'],
    // constraints are v2 only, and must be well-formed
    ['patient/Observation.read?category=laboratory', "v1 permission 'read' cannot carry"],
    ['patient/Observation.*?category=laboratory', "v1 permission '*' cannot carry"],
    ['patient/Observation.rs?', 'empty constraint suffix'],
    ['patient/Observation.rs?category', "constraint 'category' has no '='"],
    ['patient/Observation.rs?category=', "constraint 'category' has an empty value"],
    ['patient/Observation.rs?=laboratory', "constraint name ''"],
    ['patient/Observation.rs?category=laboratory&', 'empty constraint'],
    ['patient/Observation.rs?a=1&&b=2', 'empty constraint'],
    ['patient/Observation.rs?1category=lab', "constraint name '1category'"],
    ['patient/Observation.rs?cat%65gory=lab', "constraint name 'cat%65gory'"],
    ['patient/Observation.rs?code=%E0%A4%A', 'malformed percent-encoding'],
    ['patient/Observation.rs?code=%zz', 'malformed percent-encoding'],
    ['patient/Observation.rs?code=%', 'malformed percent-encoding'],
    // not a scope-token at all (RFC 6749 §3.3 NQCHAR)
    ['patient/Observation.rs?code="x"', 'RFC 6749'],
    ['patient/Observation.rs\tuser/Patient.r', 'RFC 6749'],
    ['openid\nprofile', 'RFC 6749'],
    ['patient/Obsérvation.rs', 'RFC 6749'],
    ['', 'empty scope'],
  ])('%j is an error: %s', (raw, reason) => {
    const p = parseScope(raw);
    expect(p).toEqual({ ok: false, raw, reason: expect.stringContaining(reason) });
  });
});

describe('parseScope accepts resource scopes', () => {
  test.each([
    // v1 words map to v2 letters (§Scope Equivalence)
    ['patient/Observation.read', 'patient', 'Observation', 'rs', [], 1],
    ['user/Observation.write', 'user', 'Observation', 'cud', [], 1],
    ['system/Observation.*', 'system', 'Observation', 'cruds', [], 1],
    ['patient/*.read', 'patient', '*', 'rs', [], 1],
    ['user/*.*', 'user', '*', 'cruds', [], 1],
    // v2 letters, spot checks across the 31 subsequences
    ['patient/Observation.c', 'patient', 'Observation', 'c', [], 2],
    ['patient/Observation.r', 'patient', 'Observation', 'r', [], 2],
    ['patient/Observation.u', 'patient', 'Observation', 'u', [], 2],
    ['patient/Observation.d', 'patient', 'Observation', 'd', [], 2],
    ['patient/Observation.s', 'patient', 'Observation', 's', [], 2],
    ['patient/Observation.rs', 'patient', 'Observation', 'rs', [], 2],
    ['user/Encounter.cu', 'user', 'Encounter', 'cu', [], 2],
    ['user/Encounter.cud', 'user', 'Encounter', 'cud', [], 2],
    ['system/Patient.crs', 'system', 'Patient', 'crs', [], 2],
    ['system/Patient.uds', 'system', 'Patient', 'uds', [], 2],
    ['user/*.cruds', 'user', '*', 'cruds', [], 2],
    ['patient/*.rs', 'patient', '*', 'rs', [], 2],
    // resource type is syntax-only: an unknown type parses and simply never matches a request
    ['patient/NotAFhirType.r', 'patient', 'NotAFhirType', 'r', [], 2],
    ['patient/X.r', 'patient', 'X', 'r', [], 2],
    [`patient/A${'b'.repeat(63)}.r`, 'patient', `A${'b'.repeat(63)}`, 'r', [], 2],
    // constraints (§Finer-grained resource constraints using search parameters)
    ['patient/Observation.rs?category=laboratory', 'patient', 'Observation', 'rs', [['category', 'laboratory']], 2],
    [
      'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory',
      'patient', 'Observation', 'rs',
      [['category', 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory']], 2,
    ],
    [
      'patient/Observation.rs?category=laboratory&status=final',
      'patient', 'Observation', 'rs', [['category', 'laboratory'], ['status', 'final']], 2,
    ],
    // repeated names AND together, order kept
    ['patient/Observation.rs?code=a&code=b', 'patient', 'Observation', 'rs', [['code', 'a'], ['code', 'b']], 2],
    // percent-decoding; '+' is literal (decodeURIComponent, not form decoding)
    ['patient/Observation.rs?code=a%26b%3Dc', 'patient', 'Observation', 'rs', [['code', 'a&b=c']], 2],
    ['patient/Observation.rs?code=caf%C3%A9', 'patient', 'Observation', 'rs', [['code', 'café']], 2],
    ['patient/Observation.rs?code=a+b', 'patient', 'Observation', 'rs', [['code', 'a+b']], 2],
    ['patient/Observation.rs?code=a%20b', 'patient', 'Observation', 'rs', [['code', 'a b']], 2],
    // value split at the first '=' only; names may carry modifiers and chains
    ['patient/Observation.rs?code=a=b', 'patient', 'Observation', 'rs', [['code', 'a=b']], 2],
    ['patient/Observation.rs?code:not=x', 'patient', 'Observation', 'rs', [['code:not', 'x']], 2],
    ['patient/Observation.rs?_tag=x', 'patient', 'Observation', 'rs', [['_tag', 'x']], 2],
    ['user/*.rs?_security=R', 'user', '*', 'rs', [['_security', 'R']], 2],
  ])('%j', (raw, context, resourceType, letters, constraints, version) => {
    const s = resource(raw);
    expect(s.raw).toBe(raw);
    expect(s.context).toBe(context);
    expect(s.resourceType).toBe(resourceType);
    expect([...s.permissions].join('')).toBe(letters);
    expect(s.constraints).toEqual(constraints.map(([name, value]) => ({ name, value })));
    expect(s.version).toBe(version);
  });
});

describe('parseScope: non-resource scopes', () => {
  test.each(['openid', 'fhirUser', 'profile', 'launch', 'launch/patient', 'launch/encounter', 'offline_access', 'online_access'])(
    'SMART named scope %j',
    (raw) => expect(parseScope(raw)).toEqual({ ok: true, kind: 'smart', name: raw }),
  );

  test.each([
    'aws.cognito.signin.user.admin',
    'email',
    'phone',
    'fhirgate/delegate',
    'https://api.example.com/read',
    'OpenID', // SMART names are exact, case-sensitive
    'launch/Patient',
    // contexts are case-sensitive and closed: these are someone else's scopes and grant nothing
    'admin/Patient.r',
    'Patient/Observation.rs',
    'USER/*.read',
    'patientObservation.rs',
  ])('foreign scope %j grants nothing', (raw) => {
    expect(parseScope(raw)).toEqual({ ok: true, kind: 'foreign', name: raw });
    const set = parseScopeString(raw);
    expect(set.resource).toEqual([]);
    expect(set.errors).toEqual([]);
    expect(set.foreign).toEqual([raw]);
  });
});

describe('v1 words grant exactly what their v2 letters grant (§Scope Equivalence)', () => {
  const pairs: [string, string][] = [
    ['read', 'rs'],
    ['write', 'cud'],
    ['*', 'cruds'],
  ];
  const cases = pairs.flatMap(([v1, v2]) => PERMISSIONS.map((letter) => [v1, v2, letter] as [string, string, Permission]));
  test.each(cases)('patient/Observation.%s vs .%s for %s', (v1, v2, letter) => {
    const expected = v2.includes(letter) ? 'all' : 'none';
    expect(grantFor([resource(`patient/Observation.${v1}`)], 'Observation', letter).kind).toBe(expected);
    expect(grantFor([resource(`patient/Observation.${v2}`)], 'Observation', letter).kind).toBe(expected);
    expect(grantFor([resource(`patient/*.${v1}`)], 'Condition', letter).kind).toBe(expected);
  });
});

describe('formatScope', () => {
  test.each([
    ['patient/Observation.read', 'patient/Observation.rs'],
    ['user/Observation.write', 'user/Observation.cud'],
    ['system/*.*', 'system/*.cruds'],
    ['patient/Observation.rs?category=laboratory', 'patient/Observation.rs?category=laboratory'],
    [
      'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory&status=final',
      'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory&status=final',
    ],
    ['patient/Observation.rs?code=a%26b%25c%23d', 'patient/Observation.rs?code=a%26b%25c%23d'],
    ['patient/Observation.rs?code=caf%C3%A9%20x', 'patient/Observation.rs?code=caf%C3%A9%20x'],
  ])('%j -> %j, and parses back to the same grant', (raw, canonical) => {
    const s = resource(raw);
    expect(formatScope(s)).toBe(canonical);
    const back = resource(canonical);
    expect(back.permissions).toEqual(s.permissions);
    expect(back.constraints).toEqual(s.constraints);
    expect(back.resourceType).toBe(s.resourceType);
    expect(back.context).toBe(s.context);
  });
});

describe('mixesSystemWithUserScopes', () => {
  test.each([
    ['system/*.rs', false],
    ['system/Patient.rs system/Observation.rs openid', false],
    ['patient/*.rs user/Practitioner.r', false],
    ['system/*.rs patient/Observation.rs', true],
    ['user/Practitioner.r system/Observation.rs', true],
    ['system/*.rs fhirgate/delegate openid', false], // foreign and SMART named scopes have no context
    ['system/*.rs patient/observation.rs', false], // the patient/ scope is an error, not a context
    ['', false],
  ])('%j -> %s', (scope, expected) => {
    expect(mixesSystemWithUserScopes(parseScopeString(scope))).toBe(expected);
  });
});

describe('parseScopeString', () => {
  test('sorts tokens into resource, smart, foreign and errors, and reports contexts', () => {
    const set = parseScopeString('openid fhirUser patient/Observation.rs patient/Observation.sr fhirgate/delegate user/*.read');
    expect(set.resource.map((s) => s.raw)).toEqual(['patient/Observation.rs', 'user/*.read']);
    expect(set.smart).toEqual(['openid', 'fhirUser']);
    expect(set.foreign).toEqual(['fhirgate/delegate']);
    expect(set.errors).toEqual([{ raw: 'patient/Observation.sr', reason: "permissions 'sr' are not in c,r,u,d,s order" }]);
    expect([...set.contexts].sort()).toEqual(['patient', 'user']);
  });

  test.each([
    ['undefined', undefined],
    ['empty string', ''],
    ['only spaces', '    '],
  ])('%s -> empty set', (_name, scope) => {
    const set = parseScopeString(scope);
    expect(set).toEqual({ resource: [], smart: [], foreign: [], errors: [], contexts: new Set() });
  });

  test('splits on runs of spaces, ignoring leading and trailing ones', () => {
    const set = parseScopeString('  openid    patient/Observation.rs  launch/patient ');
    expect(set.smart).toEqual(['openid', 'launch/patient']);
    expect(set.resource.map((s) => s.raw)).toEqual(['patient/Observation.rs']);
    expect(set.errors).toEqual([]);
  });

  test('a tab is not a delimiter (RFC 6749 §3.3): the token is an error, not two scopes', () => {
    const set = parseScopeString('openid\tpatient/*.rs');
    expect(set.resource).toEqual([]);
    expect(set.smart).toEqual([]);
    expect(set.errors).toEqual([{ raw: 'openid\tpatient/*.rs', reason: expect.stringContaining('RFC 6749') }]);
  });

  test('a repeated token counts once', () => {
    const set = parseScopeString('patient/Observation.rs openid patient/Observation.rs openid');
    expect(set.resource).toHaveLength(1);
    expect(set.smart).toEqual(['openid']);
  });

  test(`exactly ${MAX_SCOPES} scopes are parsed`, () => {
    const scope = Array.from({ length: MAX_SCOPES }, (_, i) => `patient/T${String.fromCharCode(97 + (i % 26))}${'x'.repeat(Math.floor(i / 26))}.r`).join(' ');
    const set = parseScopeString(scope);
    expect(set.errors).toEqual([]);
    expect(set.resource).toHaveLength(MAX_SCOPES);
  });

  test(`${MAX_SCOPES + 1} scopes: one error, no scopes of any kind`, () => {
    const scope = Array.from({ length: MAX_SCOPES + 1 }, () => 'patient/*.rs').join(' ');
    const set = parseScopeString(scope);
    expect(set.resource).toEqual([]);
    expect(set.smart).toEqual([]);
    expect(set.foreign).toEqual([]);
    expect(set.contexts.size).toBe(0);
    expect(set.errors).toHaveLength(1);
    expect(set.errors[0].reason).toBe(`scope string has ${MAX_SCOPES + 1} scopes; the limit is ${MAX_SCOPES}`);
    expect(set.errors[0].raw.length).toBeLessThan(100); // never echo the whole hostile string
  });

  test('a string longer than 64 KiB: one error, no scopes', () => {
    const scope = `patient/*.rs ${'x'.repeat(MAX_SCOPE_STRING_LENGTH)}`;
    const set = parseScopeString(scope);
    expect(set.resource).toEqual([]);
    expect(set.foreign).toEqual([]);
    expect(set.errors).toEqual([{ raw: expect.any(String), reason: expect.stringContaining('the limit is 65536') }]);
  });

  test('a string of exactly 64 KiB is parsed', () => {
    const head = 'patient/*.rs ';
    const set = parseScopeString(head + 'x'.repeat(MAX_SCOPE_STRING_LENGTH - head.length));
    expect(set.errors).toEqual([]);
    expect(set.resource).toHaveLength(1);
    expect(set.foreign).toHaveLength(1);
  });
});

describe('parseScopeStringShared: parseScopeString through a bounded memo', () => {
  test.each(['', 'patient/*.rs openid', 'user/Observation.rs?category=laboratory x', 'patient/Observation.sr', 'system/*.cruds system/*.cruds'])('%j parses as parseScopeString does', (text) => {
    expect(parseScopeStringShared(text)).toEqual(parseScopeString(text));
    expect(parseScopeStringShared(text)).toBe(parseScopeStringShared(text));
  });

  test('a shared set cannot be changed by one caller for the next', () => {
    const set = parseScopeStringShared('patient/*.rs openid launch-x');
    for (const list of [set.resource, set.smart, set.foreign, set.errors]) expect(Object.isFrozen(list)).toBe(true);
    expect(Object.isFrozen(set.resource[0])).toBe(true);
  });

  test('undefined and very long texts are parsed each time, never kept', () => {
    expect(parseScopeStringShared(undefined)).toEqual(parseScopeString(undefined));
    const long = Array.from({ length: 600 }, (_, i) => `patient/Type${String.fromCharCode(65 + (i % 26))}.rs`).join(' ');
    expect(parseScopeStringShared(long)).not.toBe(parseScopeStringShared(long));
  });
});
