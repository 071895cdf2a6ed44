/**
 * Scopes cover every type a request touches, for every principal kind: each hop of a chain, each
 * `_has` type, each include target or source named in the request, each `_type`. Rows: principal ×
 * parameter × allowed or the type the refusal names.
 */
import { AccessDeniedError, FhirgateError } from '../../functions/core/errors';
import type { Principal } from '../../functions/core/principal';
import { parseScopeString } from '../../functions/core/scopes';
import { checkSearchParams } from '../../functions/core/search-policy';
import { parseSearchParam } from '../../functions/core/search-params';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';

const principal = (kind: Principal['kind'], scopes: string): Principal => ({
  kind,
  sub: 'u',
  clientId: 'c',
  patients: kind === 'system' ? [] : ['p1'],
  scopes: parseScopeString(scopes).resource,
  ...(kind === 'delegated' ? { actor: 'api-server' } : {}),
});

function outcome(p: Principal, type: string | undefined, key: string, value: string): 'ok' | string {
  try {
    checkSearchParams(p, DEFAULT_SETTINGS, type, [parseSearchParam(key, value)]);
    return 'ok';
  } catch (err) {
    if (!(err instanceof FhirgateError)) throw err;
    return `${err.status} ${err.evidence.resourceType ?? err.code}`;
  }
}

describe('system principals: chains, _has, _type and includes need scopes on every type they read', () => {
  const obsOnly = principal('system', 'system/Observation.rs');
  const obsAndPatient = principal('system', 'system/Observation.rs system/Patient.rs');
  const everything = principal('system', 'system/*.rs');

  test.each([
    // Observation?subject:Patient.identifier=MRN — reads Patient identifiers
    [obsOnly, 'Observation', 'subject:Patient.identifier', 'MRN-1', '403 Patient'],
    [obsAndPatient, 'Observation', 'subject:Patient.identifier', 'MRN-1', 'ok'],
    // Observation?subject:Patient.birthdate=… — birthdate by bisection
    [obsOnly, 'Observation', 'subject:Patient.birthdate', 'lt1980', '403 Patient'],
    // Observation?subject.identifier=… — an untyped hop could reach any type
    [obsAndPatient, 'Observation', 'subject.identifier', 'MRN-1', '403 ERR_SCOPE_INSUFFICIENT'],
    [everything, 'Observation', 'subject.identifier', 'MRN-1', 'ok'],
    // Observation?subject:Patient.organization:Organization.name=x — two hops, two types
    [obsAndPatient, 'Observation', 'subject:Patient.organization:Organization.name', 'x', '403 Organization'],
    // Observation?_has:Condition:subject:code=x — reads Conditions
    [obsOnly, 'Observation', '_has:Condition:subject:code', 'x', '403 Condition'],
    [everything, 'Patient', '_has:Observation:subject:code', 'x', 'ok'],
    // ?_type=Observation,Patient
    [obsOnly, undefined, '_type', 'Observation,Patient', '403 Patient'],
    [obsOnly, undefined, '_type', 'Observation', 'ok'],
    // Observation?_revinclude=Provenance:target — the backend walks Provenance
    [obsOnly, 'Observation', '_revinclude', 'Provenance:target', '403 Provenance'],
    // Observation?_include=Observation:subject:Patient — a named include target
    [obsOnly, 'Observation', '_include', 'Observation:subject:Patient', '403 Patient'],
    // Observation?_include=Observation:subject — untyped: entries of uncovered types are dropped on return
    [obsOnly, 'Observation', '_include', 'Observation:subject', 'ok'],
  ])('%#: %o %s?%s=%s → %s', (p, type, key, value, expected) => {
    expect(outcome(p, type, key, value)).toBe(expected);
  });
});

describe('confined principals (patient, practitioner as user, delegated)', () => {
  const confined = [principal('patient', 'patient/*.rs'), principal('practitioner', 'user/*.rs'), principal('delegated', 'patient/*.rs')];

  test.each(confined)('%o: chains and _has are refused whatever the scopes', (p) => {
    expect(outcome(p, 'Observation', 'subject:Patient.identifier', 'x')).toBe('403 ERR_FORBIDDEN');
    expect(outcome(p, 'Patient', '_has:Observation:subject:code', 'x')).toBe('403 ERR_FORBIDDEN');
  });

  test.each(confined)('%o: include targets and sources need scopes', (p) => {
    const narrow = { ...p, scopes: parseScopeString('patient/Observation.rs').resource };
    expect(outcome(narrow, 'Observation', '_include', 'Observation:subject:Patient')).toBe('403 Patient');
    expect(outcome(narrow, 'Patient', '_revinclude', 'Provenance:target')).toBe('403 Provenance');
    expect(outcome(p, 'Observation', '_include', 'Observation:subject:Patient')).toBe('ok');
  });

  test.each(confined)('%o: :iterate and wildcards are refused', (p) => {
    expect(outcome(p, 'Patient', '_revinclude:iterate', 'Observation:subject')).toBe('403 ERR_FORBIDDEN');
    expect(outcome(p, 'Observation', '_include', '*')).toBe('403 ERR_FORBIDDEN');
  });
});

test('refusals never quote the value the caller typed', () => {
  const p = principal('patient', 'patient/*.rs');
  try {
    checkSearchParams(p, DEFAULT_SETTINGS, 'Observation', [parseSearchParam('subject:Patient.name', 'Alice Demo')]);
  } catch (err) {
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect((err as Error).message).not.toContain('Alice');
    return;
  }
  throw new Error('expected a refusal');
});
